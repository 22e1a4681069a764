import type { Cluster, Redis } from 'ioredis';
import type { ApiKeyAuthModuleOptions } from '../api-key-auth-options.interface.js';
import { RedisAuthStateStore, type RedisAuthStateStoreOptions } from './redis-auth-state.store.js';
import { RedisKeyInvalidationBus } from './redis-key-invalidation.bus.js';
import { RedisKeyNames } from './redis-key-names.js';

/**
 * The options that move all shared state to Redis (one server, a Sentinel
 * group or a Cluster): nonces and rate-limit counters (one round trip per
 * request) and key invalidations. Spread them into the module options:
 *
 * ```ts
 * ApiKeyAuthModule.forRoot({ ...redisBackends(createRedisClient(process.env.REDIS_URL!)) })
 * ```
 */
export function redisBackends(
  client: Redis | Cluster,
  options: RedisAuthStateStoreOptions = {},
): Pick<ApiKeyAuthModuleOptions, 'nonces' | 'throttlerStorage' | 'keyInvalidation'> {
  const store = new RedisAuthStateStore(client, options);
  return {
    nonces: { store },
    throttlerStorage: store,
    keyInvalidation: new RedisKeyInvalidationBus(client, new RedisKeyNames(options.keyPrefix).channel),
  };
}
