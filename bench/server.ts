// One benchmark server per process: `node dist/bench/server.js <auth> <adapter>`.
// Listens on 127.0.0.1 (port 0 unless --port), prints one JSON line {"port","apiKey","pid"}
// on stdout, and exits when its stdin closes (i.e. when the orchestrator goes away) or on SIGTERM.
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Body,
  CanActivate,
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Post,
  UnauthorizedException,
  type DynamicModule,
  type INestApplication,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { metrics } from '@opentelemetry/api';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { ApiKey, ApiKeyAuthModule, apiKeyAuthMigrations, ApiKeyService, type ApiKeyAuthModuleOptions } from '../lib/index.js';
import { generateApiKey } from '../lib/keys/api-key.generator.js';
import { ADAPTERS, AUTHS, BENCH_SECRET, BENCH_SERVICE, GUARDED_AUTHS, isMain, type AdapterName, type AuthName } from './common.js';
import { benchMeterProvider } from './otel.js';

/** The same two routes in every variant; the handlers do the same (tiny) work everywhere. */
@Controller()
class BenchController {
  @Get('items/:id')
  get(@Param('id') id: string) {
    return { id, status: 'open' };
  }

  @Post('items')
  create(@Body() body: { lines?: unknown[] }) {
    return { created: true, lines: Array.isArray(body?.lines) ? body.lines.length : 0 };
  }
}

/** Nest's floor: what any global guard costs before it does any work. */
@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/** The keys the passport variant accepts: an in-memory map, like the cached key of ApiKeyGuard. */
const passportKeys = new Map<string, { serviceName: string }>();

/** The usual Nest API-key setup: passport-headerapikey behind @nestjs/passport's AuthGuard. */
@Injectable()
class HeaderApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, 'api-key') {
  constructor() {
    super({ header: 'x-api-key', prefix: '' }, false);
  }

  validate(apiKey: string): { serviceName: string } {
    const user = passportKeys.get(apiKey);
    if (!user) throw new UnauthorizedException();
    return user;
  }
}

/** Module options of the ApiKeyGuard variants. */
export function authOptions(auth: 'v1' | 'metrics' | 'full' | 'v0' | 'rfc9421'): ApiKeyAuthModuleOptions {
  // The default capacity (1M) would fill in about 25 s at 40k req/s with the default 300 s window.
  const nonces: ApiKeyAuthModuleOptions['nonces'] =
    process.env.EXP_NONCE === 'noop' ? { store: { recordOnce: () => true } } : { maxEntries: 8_000_000 };
  const allowedHosts = ['127.0.0.1'];
  if (auth === 'v0') return { secrets: [BENCH_SECRET], schemes: ['v0'], rateLimit: false, failedAttempts: false, nonces, allowedHosts };
  if (auth === 'v1' || auth === 'metrics')
    return { secrets: [BENCH_SECRET], rateLimit: false, failedAttempts: false, nonces, allowedHosts };
  if (auth === 'rfc9421') {
    return { secrets: [BENCH_SECRET], schemes: ['v1', 'rfc9421'], rateLimit: false, failedAttempts: false, nonces, allowedHosts };
  }
  // Full stack: both limits on, the per-key one high enough never to answer 429 in a run.
  return { secrets: [BENCH_SECRET], rateLimit: { limit: 1_000_000_000, ttlMs: 60_000 }, nonces, allowedHosts };
}

/** The key table of every bench app: SQLite in memory, created by the module's migrations. */
export function inMemoryKeyTable(logging: { logger?: TypeOrmLogger } = {}): DynamicModule {
  return TypeOrmModule.forRoot({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: [ApiKey],
    migrations: apiKeyAuthMigrations,
    migrationsRun: true,
    synchronize: false,
    ...(logging.logger ? { logger: logging.logger } : { logging: false }),
  });
}

function benchModule(auth: AuthName): DynamicModule {
  const imports: DynamicModule['imports'] = [];
  const providers: Provider[] = [];
  if (auth === 'noop') providers.push({ provide: APP_GUARD, useClass: NoopGuard });
  if (auth === 'passport') {
    imports.push(PassportModule);
    providers.push(HeaderApiKeyStrategy, { provide: APP_GUARD, useClass: AuthGuard('api-key') });
  }
  if (auth !== 'bare' && auth !== 'noop' && auth !== 'passport') {
    imports.push(inMemoryKeyTable(), ApiKeyAuthModule.forRoot(authOptions(auth)));
  }
  @Module({})
  class BenchAppModule {}
  return { module: BenchAppModule, imports, providers, controllers: [BenchController] };
}

export interface BenchServer {
  app: INestApplication;
  port: number;
  apiKey: string;
}

/** Creates, keys and starts one variant's app on 127.0.0.1. */
export async function startBenchServer(auth: AuthName, adapter: AdapterName, port = 0): Promise<BenchServer> {
  const usesGuard = GUARDED_AUTHS.includes(auth);
  // As an app would: the SDK registered before the app starts (the module reads the global provider then).
  if (auth === 'metrics') metrics.setGlobalMeterProvider(benchMeterProvider());
  const app = await NestFactory.create(
    benchModule(auth),
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    // ApiKeyGuard needs the raw body (schemes v1 and rfc9421 sign it); an app without it does not keep it.
    { rawBody: usesGuard, logger: ['error', 'warn'] },
  );
  await app.listen(port, '127.0.0.1');
  let apiKey: string;
  if (usesGuard) {
    apiKey = (await app.get(ApiKeyService).create(BENCH_SERVICE)).apiKey;
  } else {
    apiKey = generateApiKey();
    passportKeys.set(apiKey, { serviceName: BENCH_SERVICE });
  }
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  return { app, port: address.port, apiKey };
}

async function main(): Promise<void> {
  const [auth, adapter] = process.argv.slice(2) as [AuthName, AdapterName];
  if (!AUTHS.includes(auth) || !ADAPTERS.includes(adapter)) {
    console.error(`usage: node dist/bench/server.js <${AUTHS.join('|')}> <${ADAPTERS.join('|')}>`);
    process.exit(2);
  }
  const server = await startBenchServer(auth, adapter, Number(process.env.BENCH_PORT ?? 0));
  let closing = false;
  const close = (): void => {
    if (closing) return;
    closing = true;
    void server.app
      .close()
      .catch(() => undefined)
      .then(() => process.exit(0));
  };
  process.stdin.on('end', close).on('close', close).resume();
  process.on('SIGTERM', close).on('SIGINT', close);
  process.stdout.write(`${JSON.stringify({ port: server.port, apiKey: server.apiKey, pid: process.pid })}\n`);
}

if (isMain(import.meta.url)) await main();
