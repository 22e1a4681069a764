import { createHash } from 'node:crypto';
import { RedisKeyPrefixError } from './redis-configuration.errors.js';

/** The prefix of every key and channel the module writes, unless `keyPrefix` says otherwise. */
export const DEFAULT_REDIS_KEY_PREFIX = 'sa:';

/** Short names of the module's own counters; any other throttler name is kept in full. */
const THROTTLER_TAGS: Readonly<Record<string, string>> = {
  'service-auth-key': 'k',
  'service-auth-failures': 'f',
};

/**
 * The names of the module's Redis keys. Every key of one API key (its nonces,
 * its counter and its block) carries the hash tag `{<apiKey>}`, so the script
 * that admits a request touches one hash slot, as Redis Cluster requires; a
 * failed-attempt counter carries its address as its own tag.
 *
 * - nonce: `sa:{<apiKey>}:n:<nonce>`
 * - counter and block: `sa:{<key>}:<k|f|t:name>:h` and `...:b`
 * - invalidation channel: `sa:invalidate`
 */
export class RedisKeyNames {
  /** The channel of key invalidations. */
  readonly channel: string;

  /** @throws RedisKeyPrefixError when `prefix` contains `{` or `}`. */
  constructor(readonly prefix: string = DEFAULT_REDIS_KEY_PREFIX) {
    if (/[{}]/.test(prefix)) throw new RedisKeyPrefixError(prefix);
    this.channel = `${prefix}invalidate`;
  }

  /** The key that records `nonce` of `apiKey`. */
  nonce(apiKey: string, nonce: string): string {
    return `${this.prefix}{${hashTag(apiKey)}}:n:${nonce}`;
  }

  /**
   * The nonce key of `NonceStore.recordOnce`'s `<apiKey>:<nonce>` (neither
   * contains `:`), the same key `admit` writes.
   */
  nonceOfStoreKey(key: string): string {
    const colon = key.indexOf(':');
    return colon < 0 ? this.nonce(key, '') : this.nonce(key.slice(0, colon), key.slice(colon + 1));
  }

  /** `[hits, block]` of `key`'s counter for one throttler. */
  counter(key: string, throttlerName: string): [string, string] {
    const base = `${this.prefix}{${hashTag(key)}}:${THROTTLER_TAGS[throttlerName] ?? `t:${throttlerName}`}`;
    return [`${base}:h`, `${base}:b`];
  }
}

/**
 * A hash tag ends at the first `}`, and an empty one hashes the whole key; an
 * id that would break it (an address is never one, an API key cannot be) is
 * replaced by its digest.
 */
function hashTag(id: string): string {
  return id.length > 0 && !/[{}]/.test(id) ? id : `#${createHash('sha256').update(id).digest('base64url')}`;
}
