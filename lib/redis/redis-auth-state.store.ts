import type { Cluster, Redis } from 'ioredis';
import type {
  Admission,
  AdmissionResult,
  NonceAndRateLimitStore,
  ThrottlerRecord,
} from '../stores/nonce-and-rate-limit-store.interface.js';
import { RedisKeyNames } from './redis-key-names.js';
import { ADMIT_SCRIPT, INCREMENT_SCRIPT, runScript } from './redis-scripts.js';
import { RedisServerMonitor } from './redis-server.monitor.js';

/** Options of `RedisAuthStateStore` (and of `redisBackends`). */
export interface RedisAuthStateStoreOptions {
  /**
   * Prefix of every key and channel, e.g. to share a Redis between apps.
   * Default `sa:`. Must not contain `{` or `}` (the hash tags that keep one
   * request's keys in one Cluster slot).
   */
  keyPrefix?: string;
  /**
   * Set only when the Redis keeps every write through a restart and a
   * failover (AOF with `appendfsync always`, synchronous replication): then
   * a request signed before a restart is not refused. Default `false`: after
   * a restart or failover, requests signed before it answer `401
   * stale_timestamp` (`rememberedSinceSeconds`).
   */
  durable?: boolean;
}

/**
 * Nonces and rate-limit counters in Redis (one server, a Sentinel group or a
 * Cluster), shared by every instance: a nonce accepted by one instance is a
 * replay to all others, and a limit of N is N across all of them. Given as
 * both `nonces.store` and `throttlerStorage`, it admits a request in one
 * round trip (one script on one hash slot).
 *
 * It refuses (rejects every call) while a Redis it talks to may evict keys
 * (`maxmemory-policy` other than `noeviction`), checked at startup and after
 * every reconnect.
 */
export class RedisAuthStateStore implements NonceAndRateLimitStore {
  private readonly keys: RedisKeyNames;
  private readonly monitor: RedisServerMonitor;
  private readonly durable: boolean;

  /**
   * @param client an ioredis `Redis` or `Cluster`; `createRedisClient()` gives one that fails fast.
   */
  constructor(
    private readonly client: Redis | Cluster,
    options: RedisAuthStateStoreOptions = {},
  ) {
    this.keys = new RedisKeyNames(options.keyPrefix);
    this.monitor = RedisServerMonitor.of(client);
    this.durable = options.durable ?? false;
  }

  /**
   * Since when Redis holds every nonce recorded through it: the start of the
   * Redis processes seen at startup, then the last restart or failover seen.
   * `undefined` with `durable: true`.
   */
  get rememberedSinceSeconds(): number | undefined {
    // While disconnected every call of this store fails (503), so there is
    // nothing to refuse yet; the module asks again after an asynchronous admission.
    if (this.durable || this.client.status !== 'ready') return undefined;
    return this.monitor.rememberedSinceSeconds;
  }

  /** The client's connection status (`ready` when connected), as ioredis reports it; read by the Terminus health indicator. */
  get connectionStatus(): string {
    return this.client.status;
  }

  /**
   * Waits for the connection (up to 5 s) and checks every Redis node: rejects
   * with `RedisEvictionPolicyError` on one whose `maxmemory-policy` is not
   * `noeviction`, so the app does not start.
   */
  checkUsable(): Promise<void> {
    return this.monitor.checkAll();
  }

  /**
   * Reads every node's policy again now, even on a connection already
   * checked (a policy changed with `CONFIG SET` is otherwise seen at the
   * next reconnect): for health checks. Rejects as `checkUsable()` does.
   */
  probeUsable(): Promise<void> {
    return this.monitor.checkAll(5_000, true);
  }

  /** `NonceStore.recordOnce`: `SET NX` with a relative TTL, on the key `admit` uses for the same nonce. */
  async recordOnce(key: string, expiresAtSeconds: number): Promise<boolean> {
    await this.monitor.assertUsable();
    const result = await this.client.set(this.keys.nonceOfStoreKey(key), '1', 'PX', nonceTtlMs(expiresAtSeconds), 'NX');
    return result === 'OK';
  }

  /** `ThrottlerStorage.increment`: one script on `key`'s hash slot (a fixed window, then a block). */
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerRecord> {
    await this.monitor.assertUsable();
    const reply = await runScript(this.client, INCREMENT_SCRIPT, this.keys.counter(key, throttlerName), [ttl, limit, blockDuration]);
    return toRecord(reply);
  }

  /** `NonceAndRateLimitStore.admit`: the block, the limit, the nonce and the count in one script, one round trip. */
  async admit(admission: Admission): Promise<AdmissionResult> {
    await this.monitor.assertUsable();
    const keys = [this.keys.nonce(admission.apiKey, admission.nonce), ...this.keys.counter(admission.apiKey, admission.throttlerName)];
    const reply = await runScript(this.client, ADMIT_SCRIPT, keys, [
      nonceTtlMs(admission.nonceExpiresAtSeconds),
      admission.ttlMs,
      admission.limit,
      admission.blockDurationMs,
    ]);
    if (reply[0] === 0) return { outcome: 'replayed' };
    return { outcome: reply[0] === 1 ? 'admitted' : 'rate_limited', record: toRecord(reply.slice(1)) };
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
