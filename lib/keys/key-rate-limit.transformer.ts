import type { ValueTransformer } from 'typeorm';
import { InvalidRateLimitError } from './key-management.errors.js';
import type { KeyRateLimit } from './api-key-record.interface.js';

/** Most requests a key's limit may allow per window. */
export const MAX_KEY_RATE_LIMIT = 1_000_000_000;
/** Longest window of a key's limit: 366 days. */
export const MAX_KEY_RATE_LIMIT_TTL_MS = 366 * 86_400_000;

/** How `api_keys.rate_limit` stores a limit: `<limit>/<ttlMs>`, e.g. `1000/60000`. */
const STORED = /^([1-9][0-9]{0,9})\/([1-9][0-9]{0,11})$/;

/**
 * A key rate limit checked and copied (only `limit` and `ttlMs`), or `null`.
 * @throws InvalidRateLimitError
 */
export function checkedKeyRateLimit(value: KeyRateLimit | null | undefined): KeyRateLimit | null {
  if (value === null || value === undefined) return null;
  const { limit, ttlMs } = value as Partial<KeyRateLimit>;
  const valid =
    Number.isSafeInteger(limit) &&
    limit! >= 1 &&
    limit! <= MAX_KEY_RATE_LIMIT &&
    Number.isSafeInteger(ttlMs) &&
    ttlMs! >= 1 &&
    ttlMs! <= MAX_KEY_RATE_LIMIT_TTL_MS;
  if (!valid) {
    throw new InvalidRateLimitError(
      `Invalid rate limit ${JSON.stringify({ limit, ttlMs })}: give { limit, ttlMs } as whole numbers, ` +
        `limit from 1 to ${MAX_KEY_RATE_LIMIT} and ttlMs from 1 to ${MAX_KEY_RATE_LIMIT_TTL_MS} (366 days), or null for the default.`,
    );
  }
  return { limit: limit!, ttlMs: ttlMs! };
}

/**
 * `api_keys.rate_limit` <-> `KeyRateLimit`: one short text column, the same
 * on every database, rather than two numeric columns whose types differ
 * between them.
 */
export const keyRateLimitTransformer: ValueTransformer = {
  to(value: KeyRateLimit | null | undefined): string | null | undefined {
    if (value === undefined) return undefined;
    const checked = checkedKeyRateLimit(value);
    return checked === null ? null : `${checked.limit}/${checked.ttlMs}`;
  },
  from(raw: unknown): KeyRateLimit | null {
    if (raw === null || raw === undefined) return null;
    const match = typeof raw === 'string' ? STORED.exec(raw) : null;
    const parsed = match ? { limit: Number(match[1]), ttlMs: Number(match[2]) } : undefined;
    if (!parsed || parsed.limit > MAX_KEY_RATE_LIMIT || parsed.ttlMs > MAX_KEY_RATE_LIMIT_TTL_MS) {
      throw new InvalidRateLimitError(
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a driver's non-string value, shown only as a hint
        `api_keys.rate_limit holds ${JSON.stringify(String(raw).slice(0, 40))}, which is not <limit>/<ttlMs>: ` +
          'set it with `service-auth keys update <apiKey> --rate-limit 1000/1m` (or `none`), or ApiKeyService.setRateLimit().',
      );
    }
    return parsed;
  },
};
