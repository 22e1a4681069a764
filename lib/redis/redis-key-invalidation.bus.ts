import type { Redis } from 'ioredis';
import type { KeyInvalidationBus } from '../interfaces/key-invalidation-bus.interface.js';

/**
 * Key invalidations over Redis pub/sub. Each instance subscribes on its own
 * connection (a duplicate of the given client); when that connection drops,
 * messages may be lost, so on reconnecting the subscriber asks for the whole
 * cache to be dropped.
 */
export class RedisKeyInvalidationBus implements KeyInvalidationBus {
  constructor(
    private readonly client: Redis,
    readonly channel = 'service-auth:key-invalidated',
  ) {}

  async publish(apiKey: string): Promise<void> {
    await this.client.publish(this.channel, apiKey);
  }

  async subscribe(onInvalidate: (apiKey: string | null) => void): Promise<() => Promise<void>> {
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
