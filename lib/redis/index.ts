export {
  createRedisClient,
  FAIL_FAST_CLUSTER_OPTIONS,
  FAIL_FAST_REDIS_OPTIONS,
  redisReady,
  type RedisClusterConfig,
  type RedisSentinelConfig,
} from './redis-client.factory.js';
export { RedisAuthStateStore, type RedisAuthStateStoreOptions } from './redis-auth-state.store.js';
export { RedisKeyInvalidationBus } from './redis-key-invalidation.bus.js';
export { redisBackends } from './redis-backends.factory.js';
export { DEFAULT_REDIS_KEY_PREFIX, RedisKeyNames } from './redis-key-names.js';
export {
  RedisClusterOfflineQueueError,
  RedisEvictionPolicyError,
  RedisEvictionPolicyUnknownError,
  RedisKeyPrefixError,
} from './redis-configuration.errors.js';
