import { Redis, type RedisOptions } from 'ioredis';

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

/** An ioredis client for `url` (`redis://[:password@]host:port[/db]`) with `FAIL_FAST_REDIS_OPTIONS`. */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, { ...FAIL_FAST_REDIS_OPTIONS, ...overrides });
}

/**
 * Resolves once `client` is connected and ready. With the fail-fast options,
 * commands sent before that fail at once (and the guard answers 503), so an
 * app may await this before it starts listening.
 */
export async function redisReady(client: Redis, timeoutMs = 5_000): Promise<void> {
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
