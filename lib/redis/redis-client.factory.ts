import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions, type SentinelAddress } from 'ioredis';

/**
 * Connection settings under which a dead or stalled Redis answers in well
 * under a second instead of queueing requests: commands fail at once while
 * disconnected, time out after `commandTimeout`, and the client keeps
 * reconnecting in the background so service resumes without a restart.
 */
export const FAIL_FAST_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 1_000,
  commandTimeout: 500,
  retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
};

/**
 * The same for a Redis Cluster: no queue while the cluster or a node is
 * connecting, a few quick retries when a node is lost (a failover moves its
 * slots), then an error; the per-node settings are `FAIL_FAST_REDIS_OPTIONS`.
 */
export const FAIL_FAST_CLUSTER_OPTIONS: ClusterOptions = {
  enableOfflineQueue: false,
  enableReadyCheck: true,
  clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  maxRedirections: 4,
  slotsRefreshTimeout: 1_000,
  redisOptions: {
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 500,
  },
};

/** A Redis Cluster (or a managed Redis in cluster mode). */
export interface RedisClusterConfig {
  /** Some of its nodes (`{ host, port }` or `'host:port'`); the client discovers the others. */
  cluster: ClusterNode[];
  /** ioredis `ClusterOptions`, over `FAIL_FAST_CLUSTER_OPTIONS` (`redisOptions` over its `redisOptions`). */
  options?: ClusterOptions;
}

/** A master and its replicas watched by Redis Sentinel. */
export interface RedisSentinelConfig {
  /** Some of the Sentinels (`{ host, port }`). */
  sentinels: Partial<SentinelAddress>[];
  /** The master's name, as in `sentinel monitor <name> ...`. */
  name: string;
  /** Other ioredis options (`password`, `sentinelPassword`, `tls`, `db`...), over `FAIL_FAST_REDIS_OPTIONS`. */
  options?: RedisOptions;
}

/**
 * An ioredis client that fails fast (see `FAIL_FAST_REDIS_OPTIONS`):
 * - `createRedisClient('redis://[:password@]host:port[/db]')`: one Redis;
 * - `createRedisClient({ sentinels, name })`: the current master of a
 *   Sentinel group, followed through failovers (`failoverDetector`);
 * - `createRedisClient({ cluster: [...] })`: a Redis Cluster.
 */
export function createRedisClient(url: string, overrides?: RedisOptions): Redis;
export function createRedisClient(config: RedisSentinelConfig): Redis;
export function createRedisClient(config: RedisClusterConfig): Cluster;
export function createRedisClient(
  target: string | RedisSentinelConfig | RedisClusterConfig,
  overrides: RedisOptions = {},
): Redis | Cluster {
  if (typeof target === 'string') return new Redis(target, { ...FAIL_FAST_REDIS_OPTIONS, ...overrides });
  if ('cluster' in target) {
    const options = target.options ?? {};
    return new Cluster(target.cluster, {
      ...FAIL_FAST_CLUSTER_OPTIONS,
      ...options,
      redisOptions: { ...FAIL_FAST_CLUSTER_OPTIONS.redisOptions, ...options.redisOptions },
    });
  }
  return new Redis({
    ...FAIL_FAST_REDIS_OPTIONS,
    // Without it, a client stays on an old master that was turned into a replica.
    failoverDetector: true,
    ...target.options,
    sentinels: target.sentinels,
    name: target.name,
  });
}

/**
 * Resolves once `client` is connected and ready. With the fail-fast options,
 * commands sent before that fail at once (and the guard answers 503), so an
 * app may await this before it starts listening.
 */
export async function redisReady(client: Redis | Cluster, timeoutMs = 5_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status: ${client.status}).`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('the Redis connection was closed and will not be retried.'));
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
    };
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}
