import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  ApiKey,
  ApiKeyAuthConfigurationError,
  ApiKeyAuthModule,
  apiKeyAuthMigrations,
  InvalidOptionError,
  MissingSecretError,
  PreviousSecretWithoutCurrentError,
  WeakSecretError,
  type ApiKeyAuthModuleOptions,
} from '../../lib/index.js';
import { ADAPTERS, buildTestControllers, HandlerLog, TEST_SECRET, type AdapterName } from '../support/test-app.js';

type ErrorClass = new (...args: never[]) => Error;

/**
 * Boots a Nest app with the module configured by `auth` (forRoot) or by an
 * async factory (forRootAsync). `abortOnError: false`, or Nest would abort the
 * process on the expected startup failure.
 */
async function boot(adapter: AdapterName, auth: ApiKeyAuthModuleOptions | undefined, async = false): Promise<INestApplication> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database: ':memory:',
        entities: [ApiKey],
        migrations: apiKeyAuthMigrations,
        migrationsRun: true,
        logging: false,
      }),
      async ? ApiKeyAuthModule.forRootAsync({ useFactory: async () => auth ?? {} }) : ApiKeyAuthModule.forRoot(auth ?? {}),
    ],
    controllers: buildTestControllers(new HandlerLog()),
  })
  class ConfigurationTestModule {}

  return NestFactory.create(ConfigurationTestModule, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
    logger: false,
    abortOnError: false,
  });
}

/** Asserts that the app refuses to start with `errorClass` and a message naming the fix. */
async function expectRefusal(
  start: Promise<INestApplication>,
  errorClass: ErrorClass,
  ...messageParts: Array<string | RegExp>
): Promise<void> {
  const error = await start.then(
    async (app) => {
      await app.close();
      throw new Error('the app started although its configuration is invalid');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(errorClass);
  expect(error).toBeInstanceOf(ApiKeyAuthConfigurationError);
  const { name, message } = error as Error;
  expect(name).toBe(errorClass.name);
  expect(message).toMatch(/^nestjs-service-auth: /);
  for (const part of messageParts) expect(message).toMatch(part);
  // Never echoes the secret it refuses.
  expect(message).not.toContain('x'.repeat(31));
}

const SHORT = 'x'.repeat(31);

describe.each(ADAPTERS)('startup configuration (%s)', (adapter) => {
  describe.each([
    ['forRoot', false],
    ['forRootAsync', true],
  ])('%s', (_name, async) => {
    it.each<[string, ApiKeyAuthModuleOptions, ErrorClass, Array<string | RegExp>]>([
      ['secrets: []', { secrets: [] }, MissingSecretError, ['API_SHARED_SECRET', 'secrets', 'at least 32 characters']],
      ['a 31-character secret', { secrets: [SHORT] }, WeakSecretError, ['secret #1', 'at least 32 characters']],
      ['a 31-character previous secret', { secrets: [TEST_SECRET, SHORT] }, WeakSecretError, ['secret #2', 'at least 32 characters']],
      ["schemes: ['v2']", { schemes: ['v2' as never] }, InvalidOptionError, ['`schemes`', "'v1'", "'v0'"]],
      ['schemes: []', { schemes: [] }, InvalidOptionError, ['`schemes`']],
      ["secretMode: 'per-key'", { secretMode: 'per-key' as never }, InvalidOptionError, ['`secretMode`', "'shared'", "'derived'"]],
      ['toleranceSeconds: 0', { toleranceSeconds: 0 }, InvalidOptionError, ['`toleranceSeconds`', 'positive integer']],
      ['toleranceSeconds: 1.5', { toleranceSeconds: 1.5 }, InvalidOptionError, ['`toleranceSeconds`', 'positive integer']],
      ['rateLimit.limit: 0', { rateLimit: { limit: 0, ttlMs: 1000 } }, InvalidOptionError, ['`rateLimit.limit`', 'positive integer']],
      ['failedAttempts.ttlMs: -1', { failedAttempts: { limit: 3, ttlMs: -1 } }, InvalidOptionError, ['`failedAttempts.ttlMs`']],
      ['nonces.maxEntries: 0', { nonces: { maxEntries: 0 } }, InvalidOptionError, ['`nonces.maxEntries`']],
      ['keyCache.ttlMs: NaN', { keyCache: { ttlMs: Number.NaN } }, InvalidOptionError, ['`keyCache.ttlMs`']],
      [
        'a malformed signing.apiKey',
        { signing: { apiKey: 'short', secret: TEST_SECRET } },
        InvalidOptionError,
        ['`signing.apiKey`', '16 to 128'],
      ],
      [
        'a weak signing.secret',
        { signing: { apiKey: 'A'.repeat(32), secret: SHORT } },
        InvalidOptionError,
        ['`signing.secret`', 'at least 32'],
      ],
    ])('refuses %s', async (_case, options, errorClass, messageParts) => {
      await expectRefusal(boot(adapter, { secrets: [TEST_SECRET], ...options }, async), errorClass, ...messageParts);
    });
  });

  describe('secrets from the environment', () => {
    const saved = { current: process.env.API_SHARED_SECRET, previous: process.env.API_SHARED_SECRET_PREVIOUS };
    afterEach(() => {
      for (const [name, value] of [
        ['API_SHARED_SECRET', saved.current],
        ['API_SHARED_SECRET_PREVIOUS', saved.previous],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('refuses to start without secrets and without API_SHARED_SECRET', async () => {
      delete process.env.API_SHARED_SECRET;
      await expectRefusal(boot(adapter, undefined), MissingSecretError, 'API_SHARED_SECRET', 'openssl rand');
    });

    it('treats a blank API_SHARED_SECRET as missing', async () => {
      process.env.API_SHARED_SECRET = '   ';
      await expectRefusal(boot(adapter, undefined), MissingSecretError, 'API_SHARED_SECRET');
    });

    it('refuses API_SHARED_SECRET_PREVIOUS without API_SHARED_SECRET, saying what to set', async () => {
      delete process.env.API_SHARED_SECRET;
      process.env.API_SHARED_SECRET_PREVIOUS = 'p'.repeat(40);
      await expectRefusal(boot(adapter, undefined), PreviousSecretWithoutCurrentError, new PreviousSecretWithoutCurrentError().message);
      await expectRefusal(boot(adapter, undefined, true), PreviousSecretWithoutCurrentError, 'Set API_SHARED_SECRET to the current secret');
    });

    it('refuses a weak API_SHARED_SECRET_PREVIOUS entry', async () => {
      process.env.API_SHARED_SECRET = TEST_SECRET;
      process.env.API_SHARED_SECRET_PREVIOUS = `${'p'.repeat(40)},${SHORT}`;
      await expectRefusal(boot(adapter, undefined), WeakSecretError, 'secret #3');
    });

    it('starts with a valid API_SHARED_SECRET', async () => {
      process.env.API_SHARED_SECRET = TEST_SECRET;
      const app = await boot(adapter, undefined);
      await app.close();
    });
  });

  it('starts with a secret of exactly 32 characters and every option at its bound', async () => {
    const app = await boot(adapter, {
      secrets: ['s'.repeat(32)],
      secretMode: 'derived',
      schemes: ['v0'],
      toleranceSeconds: 1,
      rateLimit: false,
      failedAttempts: { limit: 1, ttlMs: 1 },
      nonces: { maxEntries: 1 },
      keyCache: { ttlMs: 1, negativeTtlMs: 1, maxEntries: 1 },
      signing: { apiKey: 'A'.repeat(16), secret: 's'.repeat(32), scheme: 'v0' },
    });
    await app.close();
  });
});
