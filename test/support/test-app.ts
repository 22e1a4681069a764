import { Body, Controller, Delete, Get, Module, Param, Post, Type, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AllowServices,
  ApiKey,
  ApiKeyAuthModule,
  apiKeyAuthMigrations,
  ApiKeyGuard,
  ApiKeyService,
  Public,
  ServiceCaller,
  type ApiKeyAuthModuleExtras,
  type ApiKeyAuthModuleOptions,
  type NonceStore,
  type ServiceCallerInfo,
} from '../../lib/index.js';
import { MemoryNonceStore } from '../../lib/stores/memory-nonce.store.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];

export const TEST_SECRET = 'test-shared-secret-0123456789-abcdefghij';
export const TEST_PREVIOUS_SECRET = 'test-previous-secret-0123456789-abcdefgh';

/** Records every handler run, so tests can assert that a rejected request ran nothing. */
export class HandlerLog {
  readonly calls: string[] = [];
}

export function buildTestControllers(log: HandlerLog): Type[] {
  @Controller()
  class ProbeController {
    @Public()
    @Get('health')
    health() {
      log.calls.push('health');
      return { status: 'ok' };
    }

    @Get('items/:id')
    get(@Param('id') id: string, @ServiceCaller() caller: ServiceCallerInfo) {
      log.calls.push(`get:${id}`);
      return { id, caller };
    }

    @Post('items')
    create(@Body() body: unknown, @ServiceCaller() caller: ServiceCallerInfo) {
      log.calls.push('create');
      return { caller: caller.serviceName, body };
    }

    @AllowServices('billing-admin')
    @Delete('items/:id')
    remove(@Param('id') id: string) {
      log.calls.push(`delete:${id}`);
      return { deleted: id };
    }
  }

  @UseGuards(ApiKeyGuard)
  @Controller('scoped')
  class ScopedController {
    @Get()
    scoped(@ServiceCaller() caller: ServiceCallerInfo) {
      log.calls.push('scoped');
      return { caller: caller.serviceName };
    }
  }

  return [ProbeController, ScopedController];
}

export interface TestAppOptions {
  adapter: AdapterName;
  auth?: ApiKeyAuthModuleOptions;
  extras?: ApiKeyAuthModuleExtras;
  /** Create the app with `rawBody: true`. Default true. */
  rawBody?: boolean;
  /** Believe X-Forwarded-* headers (the adapter's trust-proxy setting). Default false. */
  trustProxy?: boolean;
  /** SQLite database path. Default in memory. */
  database?: string;
  /** A MySQL/MariaDB database instead of SQLite (e.g. `{ url: MYSQL_URL }`); timezone defaults to 'Z'. */
  mysql?: { url?: string; timezone?: string };
  /** A PostgreSQL database instead of SQLite (e.g. `{ url: POSTGRES_URL }`). */
  postgres?: { url?: string };
  /** NestFactory's `logger` option. Default `false` (no logs). */
  logger?: LoggerService | LogLevel[] | false;
  /** Runs on every request before the guard (an Express middleware, a Fastify onRequest hook), with the request the guard sees. */
  beforeGuard?: (request: Record<string, unknown>) => void;
  /** Port to listen on (127.0.0.1). Default: any free port. */
  port?: number;
  /** Controllers added to the probe controllers. */
  controllers?: Type[];
  /** Modules the app module imports besides TypeORM and ApiKeyAuthModule. */
  imports?: Type[];
  /** Runs on the created app before it listens (body parsers, for example). */
  configure?: (app: INestApplication) => void;
}

export interface TestApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  host: string;
  log: HandlerLog;
  keys: ApiKeyService;
  close(): Promise<void>;
}

/**
 * An in-memory nonce store that claims to outlive the app (it has no
 * `rememberedSinceSeconds`), for cases signed before the app started: the
 * module's default store refuses those (PROTOCOL.md step 2, restart rule).
 */
export function lastingNonceStore(): NonceStore {
  const store = new MemoryNonceStore(100_000);
  return { recordOnce: (key, expiresAtSeconds) => store.recordOnce(key, expiresAtSeconds) };
}

/** A real Nest app listening on 127.0.0.1 with the module, an SQLite key table and probe routes. */
export async function createTestApp(options: TestAppOptions): Promise<TestApp> {
  const log = new HandlerLog();
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...(options.mysql
          ? { type: 'mysql' as const, url: options.mysql.url, timezone: options.mysql.timezone ?? 'Z' }
          : options.postgres
            ? { type: 'postgres' as const, url: options.postgres.url }
            : { type: 'better-sqlite3' as const, database: options.database ?? ':memory:' }),
        entities: [ApiKey],
        migrations: apiKeyAuthMigrations,
        migrationsRun: true,
        synchronize: false,
        logging: false,
      }),
      ApiKeyAuthModule.forRoot({
        secrets: [TEST_SECRET],
        failedAttempts: false,
        ...options.auth,
        ...options.extras,
      }),
      ...(options.imports ?? []),
    ],
    controllers: [...buildTestControllers(log), ...(options.controllers ?? [])],
  })
  class TestAppModule {}

  const adapter = options.adapter === 'fastify' ? new FastifyAdapter({ trustProxy: options.trustProxy ?? false }) : new ExpressAdapter();
  if (options.trustProxy && adapter instanceof ExpressAdapter) adapter.set('trust proxy', true);
  const app = await NestFactory.create(TestAppModule, adapter, {
    rawBody: options.rawBody ?? true,
    logger: options.logger ?? false,
  });
  options.configure?.(app);
  const beforeGuard = options.beforeGuard;
  if (beforeGuard && adapter instanceof FastifyAdapter) {
    adapter.getInstance().addHook('onRequest', async (request) => beforeGuard(request as unknown as Record<string, unknown>));
  } else if (beforeGuard) {
    app.use((request: Record<string, unknown>, _response: unknown, next: () => void) => {
      beforeGuard(request);
      next();
    });
  }
  try {
    await app.listen(options.port ?? 0, '127.0.0.1');
  } catch (error) {
    // A refused startup (a startup hook that rejects) still closes what started before it.
    await app.close().catch(() => {});
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  const host = `127.0.0.1:${address.port}`;
  return {
    app,
    baseUrl: `http://${host}`,
    host,
    log,
    keys: app.get(ApiKeyService),
    close: () => app.close(),
  };
}
