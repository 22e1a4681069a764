import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script and its SHA-1, sent with EVALSHA (EVAL only when Redis does not know it yet). */
export interface RedisScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// Fixed window per counter; going over the limit sets a separate block key and
// clears the counter, so counting starts over when the block ends.
// Returns {hits, ttlMs, blocked, blockTtlMs}.
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

/** ThrottlerStorage.increment. KEYS: counter, block. ARGV: ttlMs, limit, blockMs. */
export const INCREMENT_SCRIPT = script(`${THROTTLE}
return throttle(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))`);

/**
 * PROTOCOL.md steps 6 and 7 in one script: a blocked key, or a request that
 * would go over the limit, is counted (which blocks it) and records no
 * nonce; a replayed nonce is not counted; else the nonce is set and counted.
 * KEYS: nonce, counter, block (one hash slot). ARGV: nonce ttlMs, ttlMs, limit, blockMs.
 * Returns {0} replayed, {1, ...record} admitted, {2, ...record} rate limited.
 */
export const ADMIT_SCRIPT = script(`${THROTTLE}
local limit = tonumber(ARGV[3])
local blockTtl = redis.call('PTTL', KEYS[3])
if blockTtl > 0 then
  return {2, limit + 1, blockTtl, 1, blockTtl}
end
if tonumber(redis.call('GET', KEYS[2]) or '0') + 1 > limit then
  local r = throttle(KEYS[2], KEYS[3], tonumber(ARGV[2]), limit, tonumber(ARGV[4]))
  return {2, r[1], r[2], r[3], r[4]}
end
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then
  return {0}
end
local r = throttle(KEYS[2], KEYS[3], tonumber(ARGV[2]), limit, tonumber(ARGV[4]))
return {1, r[1], r[2], r[3], r[4]}`);

export const REDIS_SCRIPTS: readonly RedisScript[] = [INCREMENT_SCRIPT, ADMIT_SCRIPT];

/** Runs `script` in one round trip, or two when Redis has forgotten it (restart, SCRIPT FLUSH). */
export async function runScript(
  client: Redis | Cluster,
  script: RedisScript,
  keys: string[],
  args: (string | number)[],
): Promise<number[]> {
  try {
    return (await client.evalsha(script.sha, keys.length, ...keys, ...args)) as number[];
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return (await client.eval(script.source, keys.length, ...keys, ...args)) as number[];
  }
}
