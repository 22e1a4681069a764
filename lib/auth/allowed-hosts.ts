import { InvalidOptionError } from '../api-key-auth-configuration.errors.js';

const HOST_ENTRY = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::[0-9]{1,5})?$/;

/**
 * The `allowedHosts` option: the host names this service answers to. An
 * entry with a port (`billing.internal:8443`) allows that host on that port
 * only; an entry without one (`billing.internal`) allows the host on any port.
 * Matched case-insensitively against the host a request signed.
 */
export class AllowedHosts {
  private readonly withPort = new Set<string>();
  private readonly anyPort = new Set<string>();

  constructor(entries: readonly string[]) {
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new InvalidOptionError('allowedHosts', 'must list at least one host name (e.g. `["billing.internal:8443"]`), or be left out.');
    }
    for (const entry of entries) {
      const host = typeof entry === 'string' ? entry.trim().toLowerCase() : '';
      if (!HOST_ENTRY.test(host)) {
        throw new InvalidOptionError(
          'allowedHosts',
          `has ${JSON.stringify(entry)}, which is not a host name with an optional port (e.g. "api.internal" or "api.internal:8443").`,
        );
      }
      (splitPort(host).port === undefined ? this.anyPort : this.withPort).add(host);
    }
  }

  /** Whether a request that signed `host` (a Host header value) was meant for this service. */
  allows(host: string): boolean {
    const lower = host.toLowerCase();
    return this.withPort.has(lower) || this.anyPort.has(splitPort(lower).name);
  }

  /** The entries, for messages. */
  toString(): string {
    return [...this.withPort, ...this.anyPort].join(', ');
  }
}

function splitPort(host: string): { name: string; port: string | undefined } {
  const colon = host.lastIndexOf(':');
  if (colon === -1 || host.endsWith(']') || (host.indexOf(':') !== colon && !host.startsWith('['))) {
    return { name: host, port: undefined };
  }
  return { name: host.slice(0, colon), port: host.slice(colon + 1) };
}
