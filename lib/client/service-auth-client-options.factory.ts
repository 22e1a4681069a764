import { SIGNATURE_SCHEMES } from '../protocol/protocol.constants.js';
import { resolveSigningCredentials, type OptionErrorFactory, type SigningPeer, type SigningSetup } from './signing-credentials.resolver.js';
import { InvalidClientOptionError } from './client-option.error.js';
import type { ServiceAuthClientModuleOptions } from './service-auth-client-options.interface.js';

const OPTIONS = new Set(['apiKey', 'secret', 'scheme', 'peers']);
const PEER_OPTIONS = new Set(['baseUrl', 'apiKey', 'secret', 'scheme']);
const PEER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const fail: OptionErrorFactory = (option, problem) => new InvalidClientOptionError(option, problem);

/**
 * Validates the options of ServiceAuthClientModule and turns them into what
 * SigningService signs with.
 * @throws InvalidClientOptionError naming the first bad option.
 */
export function resolveServiceAuthClientOptions(options: ServiceAuthClientModuleOptions | undefined): SigningSetup {
  if (options === null || typeof options !== 'object') {
    throw fail('options', 'must be an object: { apiKey, secret, scheme? } or { peers: { name: { baseUrl, apiKey, secret } } }.');
  }
  rejectUnknown(options, OPTIONS, '');
  if (options.scheme !== undefined && !SIGNATURE_SCHEMES.includes(options.scheme)) {
    throw fail('scheme', `must be 'v1', 'rfc9421' or 'v0', got '${String(options.scheme).slice(0, 20)}'.`);
  }
  const single = options.apiKey !== undefined || options.secret !== undefined;
  if (options.peers === undefined) {
    if (!single) {
      throw fail('apiKey', 'is required: give `apiKey` and `secret` (one set of credentials for every call), or `peers`.');
    }
    return resolveSigningCredentials({ apiKey: options.apiKey, secret: options.secret, scheme: options.scheme }, '', fail);
  }
  if (single) {
    throw fail(
      'peers',
      'cannot be combined with `apiKey`/`secret`: credentials sent with every call would reach services that are not ' +
        'their peer. Give each called service its own entry in `peers`, or drop `peers`.',
    );
  }
  return { peers: resolvePeers(options.peers, options) };
}

function resolvePeers(peers: ServiceAuthClientModuleOptions['peers'], options: ServiceAuthClientModuleOptions): SigningPeer[] {
  if (peers === null || typeof peers !== 'object' || Array.isArray(peers) || Object.keys(peers).length === 0) {
    throw fail('peers', 'must be an object with at least one peer: { billing: { baseUrl, apiKey, secret } }.');
  }
  const resolved: SigningPeer[] = [];
  for (const [name, peer] of Object.entries(peers)) {
    const option = `peers.${name}`;
    if (!PEER_NAME_PATTERN.test(name)) {
      throw fail('peers', 'has a peer name that is not 1 to 64 characters of [A-Za-z0-9._-] starting with a letter or digit.');
    }
    if (peer === null || typeof peer !== 'object') throw fail(option, 'must be an object { baseUrl, apiKey, secret, scheme? }.');
    rejectUnknown(peer, PEER_OPTIONS, option);
    const origin = resolveOrigin(peer.baseUrl, `${option}.baseUrl`);
    const twin = resolved.find((other) => other.origin === origin);
    if (twin) {
      throw fail(
        `${option}.baseUrl`,
        `has the origin of peer \`${twin.name}\` (${origin}): requests are matched to credentials by origin, so each peer needs its own.`,
      );
    }
    const credentials = resolveSigningCredentials(
      { apiKey: peer.apiKey, secret: peer.secret, scheme: peer.scheme ?? options.scheme },
      option,
      fail,
    );
    resolved.push(Object.freeze({ name, origin, credentials }));
  }
  return resolved;
}

/** The origin of a peer's `baseUrl`, which must be an origin and nothing more. */
function resolveOrigin(baseUrl: unknown, option: string): string {
  const expected = "must be the peer's origin, http(s)://host[:port], e.g. http://billing:3000";
  if (typeof baseUrl !== 'string') throw fail(option, `is required and ${expected}.`);
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw fail(option, `is not a URL; it ${expected}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(option, `${expected} (not ${url.protocol}).`);
  // The URL itself is not quoted: it may carry a password.
  if (url.username || url.password) throw fail(option, `${expected}, without user or password.`);
  if (url.pathname !== '/' || url.search || url.hash || /[?#]/.test(baseUrl)) {
    throw fail(option, `${expected}, without a path, query or fragment (give paths to fetch()).`);
  }
  return url.origin;
}

function rejectUnknown(object: object, known: ReadonlySet<string>, option: string): void {
  for (const name of Object.keys(object)) {
    if (!known.has(name)) {
      const path = (option ? `${option}.${name}` : name).slice(0, 80);
      throw fail(path, `is not an option (known: ${[...known].join(', ')}).`);
    }
  }
}
