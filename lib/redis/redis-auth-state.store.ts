import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  CounterIncrement,
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

// KEYS: nonce, counter, block. ARGV: nonce expiry (unix s), ttlMs, limit, blockMs.
// Returns {0} for a replayed nonce, else {1, hits, ttlMs, blocked, blockTtlMs}.
const NONCE_AND_INCREMENT = {
  source: `${THROTTLE}
if not redis.call('SET', KEYS[1], '1', 'EXAT', ARGV[1], 'NX') then
  return {0}
end
local r = throttle(KEYS[2], KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return {1, r[1], r[2], r[3], r[4]}`,
  sha: '',
};

for (const script of [INCREMENT, NONCE_AND_INCREMENT]) {
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
    // Redis expires the key at the start of the second: keep it through `expiresAtSeconds`.
    const result = await this.client.set(this.nonceKey(key), '1', 'EXAT', expiresAtSeconds + 1, 'NX');
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

  async recordNonceAndIncrement(nonceKey: string, nonceExpiresAtSeconds: number, counter: CounterIncrement) {
    const keys = [this.nonceKey(nonceKey), ...this.counterKeys(counter)];
    const reply = await this.run(NONCE_AND_INCREMENT, keys, [
      nonceExpiresAtSeconds + 1,
      counter.ttlMs,
      counter.limit,
      counter.blockDurationMs,
    ]);
    if (reply[0] === 0) return { fresh: false as const };
    return { fresh: true as const, record: toRecord(reply.slice(1)) };
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

function toRecord([hits, ttlMs, blocked, blockTtlMs]: number[]): ThrottlerRecord {
  return {
    totalHits: hits,
    timeToExpire: Math.ceil(ttlMs / 1000),
    isBlocked: blocked === 1,
    timeToBlockExpire: Math.ceil(blockTtlMs / 1000),
  };
}
