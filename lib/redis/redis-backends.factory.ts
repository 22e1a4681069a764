import type { Redis } from 'ioredis';
import type { ApiKeyAuthModuleOptions } from '../interfaces/api-key-auth-options.interface.js';
import { RedisAuthStateStore } from './redis-auth-state.store.js';
import { RedisKeyInvalidationBus } from './redis-key-invalidation.bus.js';

/**
 * The options that move all shared state to one Redis: nonces and rate-limit
 * counters (one round trip per request) and key invalidations. Spread them
 * into the module options:
 *
 * ```ts
 * ApiKeyAuthModule.forRoot({ ...redisBackends(createRedisClient(process.env.REDIS_URL!)) })
 * ```
 */
export function redisBackends(
  client: Redis,
  options: { keyPrefix?: string } = {},
): Pick<ApiKeyAuthModuleOptions, 'nonces' | 'throttlerStorage' | 'keyInvalidation'> {
  const prefix = options.keyPrefix ?? 'service-auth:';
  const store = new RedisAuthStateStore(client, prefix);
  return {
    nonces: { store },
    throttlerStorage: store,
    keyInvalidation: new RedisKeyInvalidationBus(client, `${prefix}key-invalidated`),
  };
}
