import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
// In your own app: import { ... } from 'nestjs-service-auth';
import { ApiKey, ApiKeyAuthModule, apiKeyAuthMigrations } from '../../../lib/index.js';
import { redisBackends } from '../../../lib/redis/index.js';
import { HealthController } from '../../../sample/health.controller.js';
import { InvoicesController } from '../../../sample/invoices.controller.js';
import { KeysController } from './keys.controller.js';
import { RedisConnection } from './redis.provider.js';
import { apiKeyAuthOptions, SAMPLE_CONFIG, type SampleConfig } from './sample.config.js';

/** Makes the parsed SampleConfig injectable everywhere (what @nestjs/config's ConfigModule would do). */
@Global()
@Module({})
class SampleConfigModule {
  static register(config: SampleConfig): DynamicModule {
    return {
      module: SampleConfigModule,
      providers: [{ provide: SAMPLE_CONFIG, useValue: config }, RedisConnection],
      exports: [SAMPLE_CONFIG, RedisConnection],
    };
  }
}

/** TypeORM: the ApiKey entity plus the module's migrations; never `synchronize`. */
function typeOrmOptions(config: SampleConfig): TypeOrmModuleOptions {
  const common = {
    entities: [ApiKey],
    migrations: apiKeyAuthMigrations,
    migrationsRun: true,
    synchronize: false,
    logging: false,
    // Fail fast when the database is unreachable (by default TypeORM keeps retrying for ~30 s).
    retryAttempts: 2,
    retryDelay: 1000,
  };
  if (config.database.type === 'mysql') {
    return { type: 'mysql', url: config.database.url, timezone: 'Z', ...common };
  }
  if (config.database.type === 'postgres') {
    return { type: 'postgres', url: config.database.url, ...common };
  }
  mkdirSync(dirname(config.database.path), { recursive: true });
  return { type: 'better-sqlite3', database: config.database.path, ...common };
}

@Module({})
export class AppModule {
  static forRoot(config: SampleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SampleConfigModule.register(config),
        TypeOrmModule.forRootAsync({
          inject: [SAMPLE_CONFIG],
          useFactory: (cfg: SampleConfig) => typeOrmOptions(cfg),
        }),
        ApiKeyAuthModule.forRootAsync({
          inject: [SAMPLE_CONFIG, RedisConnection],
          // With REDIS_URL, nonces, rate limits and revocations are shared by every instance.
          useFactory: async (cfg: SampleConfig, redis: RedisConnection) => {
            const client = await redis.ready();
            return { ...apiKeyAuthOptions(cfg), ...(client && redisBackends(client)) };
          },
          // Every route needs a signed request unless it is marked @Public().
          globalGuard: true,
          // ApiKeyService and SigningService can be injected in any module.
          isGlobal: true,
        }),
      ],
      controllers: [HealthController, InvoicesController, KeysController],
    };
  }
}
