import { Cluster, type Redis } from 'ioredis';
import type { KeyInvalidationBus } from '../stores/key-invalidation-bus.interface.js';
import { RedisClusterSubscriber } from './redis-cluster.subscriber.js';
import { DEFAULT_REDIS_KEY_PREFIX } from './redis-key-names.js';

/**
 * Key invalidations over Redis pub/sub (one Redis, a Sentinel group, or a
 * Cluster, where classic pub/sub reaches every node). Each instance
 * subscribes on its own connection; when that connection drops (a restart, a
 * failover), messages may be lost, so once subscribed again the subscriber
 * asks for the whole cache to be dropped.
 */
export class RedisKeyInvalidationBus implements KeyInvalidationBus {
  /**
   * @param client the app's ioredis `Redis` or `Cluster` (the subscriber uses a connection of its own).
   * @param channel the channel; `redisBackends()` makes it `<keyPrefix>invalidate`.
   */
  constructor(
    private readonly client: Redis | Cluster,
    readonly channel = `${DEFAULT_REDIS_KEY_PREFIX}invalidate`,
  ) {}

  /** Tells every subscribed instance to drop `apiKey` from its cache. */
  async publish(apiKey: string): Promise<void> {
    await this.client.publish(this.channel, apiKey);
  }

  /** Subscribes on a connection of its own; see `KeyInvalidationBus.subscribe`. */
  async subscribe(onInvalidate: (apiKey: string | null) => void): Promise<() => Promise<void>> {
    if (this.client instanceof Cluster) {
      const subscriber = new RedisClusterSubscriber(this.client, this.channel, onInvalidate, () => onInvalidate(null));
      await subscriber.start();
      return async () => subscriber.stop();
    }
    // A Sentinel client's duplicate follows the master through failovers too.
    const subscriber = this.client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    let interrupted = false;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) onInvalidate(message);
    });
    subscriber.on('close', () => {
      interrupted = true;
    });
    subscriber.on('ready', () => {
      if (interrupted) onInvalidate(null);
      interrupted = false;
    });
    subscriber.on('error', () => {
      // Reconnection is automatic; the 'ready' handler drops the cache once back.
    });
    await subscriber.subscribe(this.channel);
    return async () => {
      subscriber.disconnect();
    };
  }
}
