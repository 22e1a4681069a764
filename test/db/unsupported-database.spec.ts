import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import {
  ApiKey,
  ApiKeyAuthConfigurationError,
  ApiKeyAuthModule,
  apiKeyAuthMigrations,
  ApiKeyService,
  SUPPORTED_DATABASE_TYPES,
  UnsupportedDatabaseError,
} from '../../lib/index.js';
import { TypeOrmApiKeyStore } from '../../lib/stores/typeorm-api-key.store.js';
import { assertCliBuilt } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'unsupported-database-test-secret-0123456789';
const SUPPORTED_LIST =
  'Use one of: postgres (PostgreSQL, driver package pg); mysql (MySQL, driver package mysql2); ' +
  'mariadb (MariaDB, driver package mysql2); better-sqlite3 (SQLite, driver package better-sqlite3).';

/**
 * A plain Node app (the built package, default Nest and TypeORM settings:
 * abortOnError, 10 connection attempts 3 s apart) that registers the module
 * with the given TypeORM options, through forRoot() or, `async`, through
 * forRootAsync() with options that take 200 ms to arrive.
 */
const APP = `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey, ApiKeyAuthModule, apiKeyAuthMigrations } from './dist/lib/index.js';

const typeorm = { ...JSON.parse(process.env.TYPEORM_OPTIONS), entities: [ApiKey], migrations: apiKeyAuthMigrations, migrationsRun: true };
const database = process.env.ASYNC
  ? TypeOrmModule.forRootAsync({ useFactory: () => new Promise((resolve) => setTimeout(() => resolve(typeorm), 200)) })
  : TypeOrmModule.forRoot(typeorm);
class AppModule {}
Module({ imports: [database, ApiKeyAuthModule.forRoot({ secrets: [${JSON.stringify(SECRET)}] })] })(AppModule);
const app = await NestFactory.create(AppModule, { logger: ['error', 'log'] });
console.log('APP STARTED');
await app.close();
`;

interface AppRun {
  code: number | null;
  output: string;
  ms: number;
}

function runApp(typeorm: Record<string, unknown>, async = false): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', APP], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, TYPEORM_OPTIONS: JSON.stringify(typeorm), ...(async && { ASYNC: '1' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    // The default retries take about 30 s: killed well after that, a hang fails the assertions below.
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('an app on an unsupported database fails at startup with UnsupportedDatabaseError, before any retry', () => {
  beforeAll(() => assertCliBuilt());

  it('the same app starts on SQLite (the control)', async () => {
    const run = await runApp({ type: 'better-sqlite3', database: ':memory:' });
    expect({ code: run.code, output: run.output }).toEqual({ code: 0, output: expect.stringContaining('APP STARTED') });
  }, 60_000);

  it.each<[string, () => Promise<Record<string, unknown>>, boolean]>([
    [
      'mssql through forRoot()',
      async () => ({ type: 'mssql', host: '127.0.0.1', port: await closedPort(), username: 'sa', password: 'x' }),
      false,
    ],
    ['sqljs through forRoot()', async () => ({ type: 'sqljs' }), false],
    [
      'cockroachdb (the pg driver, a closed port) through forRootAsync()',
      async () => ({ type: 'cockroachdb', host: '127.0.0.1', port: await closedPort(), username: 'root', database: 'x' }),
      true,
    ],
  ])(
    '%s',
    async (_name, options, async) => {
      const typeorm = await options();
      const run = await runApp(typeorm, async);
      expect(run.code).toBe(1);
      expect(run.output).not.toContain('APP STARTED');
      expect(run.output).toContain(
        `UnsupportedDatabaseError: nestjs-service-auth: the TypeORM data source of the api_keys table has type "${String(typeorm.type)}", which is not supported. ${SUPPORTED_LIST}`,
      );
      // TypeORM may log its first failed attempt; it never gets to a second one (3 s later).
      expect(run.output).not.toMatch(/Retrying \(2\)/);
      expect(run.ms).toBeLessThan(20_000);
    },
    60_000,
  );
});

describe('the startup check in the app (forRootAsync, named data sources)', () => {
  /** A data source that never connects: only the module's own check can end the startup. */
  const neverConnects = () => new Promise<DataSource>(() => undefined);

  it('refuses the default data source while its connection is still pending', async () => {
    @Module({
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: async () => ({ type: 'mssql', host: '127.0.0.1', entities: [ApiKey] }),
          dataSourceFactory: neverConnects,
        }),
        ApiKeyAuthModule.forRoot({ secrets: [SECRET] }),
      ],
    })
    class PendingModule {}
    const attempt = NestFactory.createApplicationContext(PendingModule, { logger: false, abortOnError: false });
    await expect(attempt).rejects.toThrow(UnsupportedDatabaseError);
    await expect(attempt).rejects.toBeInstanceOf(ApiKeyAuthConfigurationError);
    await expect(attempt).rejects.toThrow(`has type "mssql", which is not supported. ${SUPPORTED_LIST}`);
  });

  it('checks only the default data source, which holds the key table: another one may be anything', async () => {
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: ':memory:',
          entities: [ApiKey],
          migrations: apiKeyAuthMigrations,
          migrationsRun: true,
        }),
        TypeOrmModule.forRootAsync({
          name: 'reports',
          useFactory: async () => ({ type: 'mssql', host: '127.0.0.1' }),
          dataSourceFactory: async (options) => ({ options, isInitialized: true, destroy: async () => {} }) as unknown as DataSource,
        }),
        ApiKeyAuthModule.forRoot({ secrets: [SECRET] }),
      ],
    })
    class TwoDatabasesModule {}
    const app = await NestFactory.createApplicationContext(TwoDatabasesModule, { logger: false, abortOnError: false });
    try {
      const created = await app.get(ApiKeyService).create('orders');
      expect(created.serviceName).toBe('orders');
    } finally {
      await app.close();
    }
  });
});

describe('TypeOrmApiKeyStore on an unsupported data source', () => {
  const repositoryOn = (type: string) => ({ metadata: { connection: { options: { type } } } }) as unknown as Repository<ApiKey>;

  it.each(['mssql', 'sqljs', 'oracle', 'mongodb', 'spanner'])('refuses %s when created', (type) => {
    expect(() => new TypeOrmApiKeyStore(repositoryOn(type))).toThrow(UnsupportedDatabaseError);
  });

  it.each([...SUPPORTED_DATABASE_TYPES])('accepts %s', (type) => {
    expect(() => new TypeOrmApiKeyStore(repositoryOn(type))).not.toThrow();
  });

  it('supports exactly PostgreSQL, MySQL, MariaDB and SQLite (better-sqlite3)', () => {
    expect([...SUPPORTED_DATABASE_TYPES].sort()).toEqual(['better-sqlite3', 'mariadb', 'mysql', 'postgres']);
  });
});
