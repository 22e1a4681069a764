import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  Admission,
  AdmissionResult,
  NonceAndRateLimitStore,
  ThrottlerRecord,
} from '../interfaces/nonce-and-rate-limit-store.interface.js';

// Fixed window per counter; going over the limit sets a separate block key and
// clears the counter, so counting starts over when the block ends.
// KEYS: counter, block. ARGV: ttlMs, limit, blockMs. Returns {hits, ttlMs, blocked, blockTtlMs}.
const THROTTLE = `
local function throttle(counterKey, blockKey, ttlMs, limit, blockMs)
  local blockTtl = redis.call('PTTL', blockKey)
  if blockTtl > 0 then
    return {limit + 1, blockTtl, 1, blockTtl}
  end
  local hits = redis.call('INCR', counterKey)
  local ttl = redis.call('PTTL', counterKey)
  if ttl < 0 then
    redis.call('PEXPIRE', counterKey, ttlMs)
    ttl = ttlMs
  end
  if hits > limit then
    redis.call('SET', blockKey, '1', 'PX', blockMs)
    redis.call('DEL', counterKey)
    return {hits, ttl, 1, blockMs}
  end
  return {hits, ttl, 0, 0}
end
`;

const INCREMENT = {
  source: `${THROTTLE}
return throttle(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))`,
  sha: '',
};

// PROTOCOL.md steps 6 and 7 in one script: a blocked key, or a request that
// would go over the limit, records no nonce; a replayed nonce is not counted.
// KEYS: nonce, counter, block. ARGV: nonce ttlMs, ttlMs, limit, blockMs.
// Returns {0} replayed, {1, ...record} admitted, {2, ...record} rate limited.
const ADMIT = {
  source: `${THROTTLE}
local limit = tonumber(ARGV[3])
local blockTtl = redis.call('PTTL', KEYS[3])
if blockTtl > 0 then
  return {2, limit + 1, blockTtl, 1, blockTtl}
end
local hits = tonumber(redis.call('GET', KEYS[2]) or '0')
if hits + 1 > limit then
  local r = throttle(KEYS[2], KEYS[3], tonumber(ARGV[2]), limit, tonumber(ARGV[4]))
  return {2, r[1], r[2], r[3], r[4]}
end
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then
  return {0}
end
local r = throttle(KEYS[2], KEYS[3], tonumber(ARGV[2]), limit, tonumber(ARGV[4]))
return {1, r[1], r[2], r[3], r[4]}`,
  sha: '',
};

for (const script of [INCREMENT, ADMIT]) {
  script.sha = createHash('sha1').update(script.source).digest('hex');
}

type Script = typeof INCREMENT;

/**
 * Nonces and rate-limit counters in one Redis, shared by every instance: a
 * nonce accepted by one instance is a replay to all others, and a limit of N
 * is N across all of them. Given as both `nonces.store` and
 * `throttlerStorage`, it records the nonce and counts the request in one
 * round trip (one script).
 */
export class RedisAuthStateStore implements NonceAndRateLimitStore {
  /**
   * @param client an ioredis client; `createRedisClient()` gives one that fails fast.
   * @param keyPrefix prefix of every key written, e.g. to share a Redis between apps.
   */
  constructor(
    private readonly client: Redis,
    private readonly keyPrefix = 'service-auth:',
  ) {}

  async recordOnce(key: string, expiresAtSeconds: number): Promise<boolean> {
    const result = await this.client.set(this.nonceKey(key), '1', 'PX', nonceTtlMs(expiresAtSeconds), 'NX');
    return result === 'OK';
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    const keys = this.counterKeys({ key, throttlerName });
    const reply = await this.run(INCREMENT, keys, [ttl, limit, blockDuration]);
    return toRecord(reply);
  }

  async admit(admission: Admission): Promise<AdmissionResult> {
    const keys = [
      this.nonceKey(`${admission.apiKey}:${admission.nonce}`),
      ...this.counterKeys({ key: admission.apiKey, throttlerName: admission.throttlerName }),
    ];
    const reply = await this.run(ADMIT, keys, [
      nonceTtlMs(admission.nonceExpiresAtSeconds),
      admission.ttlMs,
      admission.limit,
      admission.blockDurationMs,
    ]);
    if (reply[0] === 0) return { outcome: 'replayed' };
    return { outcome: reply[0] === 1 ? 'admitted' : 'rate_limited', record: toRecord(reply.slice(1)) };
  }

  private nonceKey(key: string): string {
    return `${this.keyPrefix}nonce:${key}`;
  }

  private counterKeys(counter: { key: string; throttlerName: string }): [string, string] {
    const base = `${this.keyPrefix}rate:${counter.throttlerName}:${counter.key}`;
    return [`${base}:hits`, `${base}:blocked`];
  }

  private async run(script: Script, keys: string[], args: (string | number)[]): Promise<number[]> {
    try {
      return (await this.client.evalsha(script.sha, keys.length, ...keys, ...args)) as number[];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await this.client.eval(script.source, keys.length, ...keys, ...args)) as number[];
    }
  }
}

/**
 * Time to keep a nonce, relative and by this app's clock: an absolute expiry
 * (`EXAT`) would be read on Redis's clock, and with the app behind Redis a
 * nonce would expire while its timestamp is still accepted here. Kept through
 * the whole second `expiresAtSeconds`.
 */
function nonceTtlMs(expiresAtSeconds: number): number {
  return Math.max(1_000, (expiresAtSeconds + 1) * 1000 - Date.now());
}

function toRecord([hits, ttlMs, blocked, blockTtlMs]: number[]): ThrottlerRecord {
  return {
    totalHits: hits,
    timeToExpire: Math.ceil(ttlMs / 1000),
    isBlocked: blocked === 1,
    timeToBlockExpire: Math.ceil(blockTtlMs / 1000),
  };
}
