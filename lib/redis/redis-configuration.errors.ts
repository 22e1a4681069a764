import { ApiKeyAuthConfigurationError } from '../api-key-auth-configuration.errors.js';

/**
 * A Redis (or a node of a Redis Cluster) that may evict keys under memory
 * pressure: an evicted nonce lets its request be replayed, and an evicted
 * block key lets a flood through. The app does not start on such a Redis, and
 * one found later (after a reconnect) refuses every request with 503.
 */
export class RedisEvictionPolicyError extends ApiKeyAuthConfigurationError {
  constructor(
    /** `host:port` of the Redis, as the client reaches it. */
    readonly node: string,
    /** The `maxmemory-policy` Redis reported. */
    readonly policy: string,
  ) {
    super(
      `Redis ${node} has maxmemory-policy ${policy}, so it may evict unexpired nonces (a captured request could ` +
        'be replayed) and rate-limit blocks. Set `maxmemory-policy noeviction` on every node (redis.conf, ' +
        '`CONFIG SET maxmemory-policy noeviction`, or the parameter group of a managed Redis), with enough ' +
        'maxmemory for about (requests/s) x toleranceSeconds nonces.',
    );
  }
}

/** Neither `CONFIG GET maxmemory-policy` nor `INFO memory` told the policy of a Redis. */
export class RedisEvictionPolicyUnknownError extends ApiKeyAuthConfigurationError {
  constructor(
    readonly node: string,
    reason: string,
  ) {
    super(
      `could not read the maxmemory-policy of Redis ${node} (${reason}). Allow \`CONFIG GET\` or \`INFO memory\` ` +
        'for this client (ACL: `+config|get` or `+info`), so that the module can check that Redis never evicts ' +
        'its keys (`maxmemory-policy noeviction`).',
    );
  }
}

/**
 * A Redis Cluster client that queues commands for nodes it is connecting to:
 * such a command would be sent, once connected, before the node's eviction
 * policy is checked, and it would wait instead of failing.
 */
export class RedisClusterOfflineQueueError extends ApiKeyAuthConfigurationError {
  constructor() {
    super(
      'the Redis Cluster client queues commands while nodes are connecting (enableOfflineQueue). Create it ' +
        'with `createRedisClient({ cluster: [...] })`, or pass `enableOfflineQueue: false` to `new Cluster()`.',
    );
  }
}

/** A key prefix that would break the hash tags of the keys in a Redis Cluster. */
export class RedisKeyPrefixError extends ApiKeyAuthConfigurationError {
  constructor(prefix: string) {
    super(
      `the Redis key prefix ${JSON.stringify(prefix)} contains \`{\` or \`}\`: the keys of one request would not ` +
        'share one hash slot on a Redis Cluster. Use a prefix without braces, e.g. `myapp:`.',
    );
  }
}
