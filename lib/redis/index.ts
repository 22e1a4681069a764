export { createRedisClient, FAIL_FAST_REDIS_OPTIONS, redisReady } from './redis-client.factory.js';
export { RedisAuthStateStore } from './redis-auth-state.store.js';
export { RedisKeyInvalidationBus } from './redis-key-invalidation.bus.js';
export { redisBackends } from './redis-backends.factory.js';
