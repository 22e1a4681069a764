import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
// In your own app: import { ... } from 'nestjs-service-auth/redis';
import { createRedisClient, redisReady } from '../../../lib/redis/index.js';
import { SAMPLE_CONFIG, type SampleConfig } from './sample.config.js';

/** The sample's Redis connection (when REDIS_URL is set), closed on shutdown. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis | undefined;

  constructor(@Inject(SAMPLE_CONFIG) config: SampleConfig) {
    this.client = config.redisUrl ? createRedisClient(config.redisUrl) : undefined;
  }

  /** Waits until Redis answers, so the app does not start by refusing every request. */
  async ready(): Promise<Redis | undefined> {
    if (!this.client) return undefined;
    await redisReady(this.client, 5_000);
    return this.client;
  }

  onApplicationShutdown(): void {
    this.client?.disconnect();
    if (this.client) new Logger('Sample').log('Redis connection closed');
  }
}
