// The app test/throttler/throttler.spec.ts runs as separate processes (jest cannot load
// @nestjs/throttler): node dist/test/throttler/app/main.js, configured by its environment:
//   HTTP_ADAPTER   express | fastify
//   GUARD_ORDER    throttler-first | auth-first (both APP_GUARDs registered here, in that order)
//   DATABASE_PATH  an SQLite file with the api_keys table (migrated by the test)
//   API_SHARED_SECRET
//   REDIS_URL      optional: RedisAuthStateStore for the module and as ThrottlerModule's storage
//   THROTTLER_ERROR_MESSAGE=1  optional: ThrottlerModule's errorMessage, `<limit> per <ttl> s on <handler>`
import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApiKey, ApiKeyAuthModule, apiKeyAuthMigrations, ApiKeyGuard, type ApiKeyAuthModuleOptions } from '../../../lib/index.js';
import { createRedisClient, redisBackends, redisReady } from '../../../lib/redis/index.js';
import { ServiceAuthThrottlerGuard } from '../../../lib/throttler/index.js';
import { ThrottledController } from './throttled.controller.js';

const env = process.env;
const order = env.GUARD_ORDER === 'auth-first' ? 'auth-first' : 'throttler-first';

async function appModule(): Promise<DynamicModule> {
  let backends: Pick<ApiKeyAuthModuleOptions, 'nonces' | 'throttlerStorage' | 'keyInvalidation'> = {};
  if (env.REDIS_URL) {
    const client = createRedisClient(env.REDIS_URL);
    await redisReady(client);
    backends = redisBackends(client);
  }
  const guards = [
    { provide: APP_GUARD, useClass: ServiceAuthThrottlerGuard },
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
  ];
  if (order === 'auth-first') guards.reverse();

  @Module({})
  class ThrottledAppModule {}
  return {
    module: ThrottledAppModule,
    imports: [
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database: env.DATABASE_PATH!,
        entities: [ApiKey],
        migrations: apiKeyAuthMigrations,
        migrationsRun: true,
        logging: false,
      }),
      ApiKeyAuthModule.forRoot({
        secrets: [env.API_SHARED_SECRET!],
        rateLimit: false,
        failedAttempts: false,
        ...backends,
        globalGuard: false,
      }),
      ThrottlerModule.forRoot({
        throttlers: [
          { ttl: 60_000, limit: 5 },
          { name: 'long', ttl: 60_000, limit: 12 },
        ],
        storage: backends.throttlerStorage,
        ...(env.THROTTLER_ERROR_MESSAGE === '1' && {
          errorMessage: (context, detail) => `${detail.limit} per ${detail.ttl / 1000} s on ${context.getHandler().name}`,
        }),
      }),
    ],
    controllers: [ThrottledController],
    providers: guards,
  };
}

/** The class names of the app's global guards, in the order Nest runs them. */
function globalGuards(app: INestApplicationContext): string[] {
  // NestApplication keeps its ApplicationConfig in a private field; only this check reads it.
  const config = (app as unknown as { config: { getGlobalGuards(): object[] } }).config;
  return config.getGlobalGuards().map((guard) => guard.constructor.name);
}

const adapter = env.HTTP_ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(await appModule(), adapter, { rawBody: true, logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
console.log(`Guards: ${globalGuards(app).join(', ')}`);
console.log(`Listening on ${await app.getUrl()}`);
