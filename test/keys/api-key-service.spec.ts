import { jest } from '@jest/globals';
import { DataSource, Repository, type DataSourceOptions } from 'typeorm';
import {
  ApiKey,
  ApiKeyManagementError,
  apiKeyAuthMigrations,
  ApiKeyService,
  InvalidExpiryError,
  InvalidRateLimitError,
  InvalidServiceNameError,
  NoActiveKeyError,
  type ApiKeyAuthModuleOptions,
} from '../../lib/index.js';
import { ApiKeyCache } from '../../lib/stores/api-key.cache.js';
import { resolveApiKeyAuthOptions } from '../../lib/api-key-auth-options.factory.js';
import { TypeOrmApiKeyStore } from '../../lib/stores/typeorm-api-key.store.js';
import {
  describeWithMysql,
  describeWithPostgres,
  MYSQL_URL,
  POSTGRES_URL,
  postgresOptions,
  scratchDatabaseName,
  sqliteOptions,
} from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';
import { createScratchPostgresDatabase, dropScratchPostgresDatabase } from '../support/postgres-scratch.js';
import * as protocol from '../../lib/protocol/index.js';

const SECRET = 'a-shared-secret-for-the-key-service-tests-0123';
const HOUR = 3_600_000;

/** Whole seconds, as every database stores a DATETIME. */
const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

function serviceSuite(connect: () => Promise<DataSourceOptions>, cleanup: () => Promise<void> = async () => {}) {
  let dataSource: DataSource;
  let repository: Repository<ApiKey>;

  function build(options: ApiKeyAuthModuleOptions = {}) {
    const resolved = resolveApiKeyAuthOptions({ secrets: [SECRET], ...options }, {});
    const cache = new ApiKeyCache(new TypeOrmApiKeyStore(repository), resolved);
    return { service: new ApiKeyService(repository, cache, resolved), cache };
  }

  beforeAll(async () => {
    dataSource = new DataSource({
      ...(await connect()),
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsRun: true,
      logging: false,
    });
    await dataSource.initialize();
    repository = dataSource.getRepository(ApiKey);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await cleanup();
  });

  beforeEach(async () => {
    await repository.clear();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('create', () => {
    it('issues a 32-character key of [A-Za-z0-9] and stores it, to the second, without any secret', async () => {
      const { service } = build();
      const before = seconds(Date.now());
      const created = await service.create('orders');
      expect(created).toEqual({
        apiKey: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
        serviceName: 'orders',
        createdAt: expect.any(Date),
        expiresAt: null,
        rateLimit: null,
        secret: null,
      });
      expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(created.createdAt.getTime() % 1000).toBe(0);
      const row = await repository.findOneByOrFail({ apiKey: created.apiKey });
      expect(row).toEqual({
        apiKey: created.apiKey,
        serviceName: 'orders',
        createdAt: created.createdAt,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        rateLimit: null,
      });
    });

    it.each([32, 48, 128])('issues keys of apiKeyLength = %i characters', async (apiKeyLength) => {
      const { service } = build({ apiKeyLength });
      const keys = await Promise.all(Array.from({ length: 20 }, () => service.create('orders')));
      for (const { apiKey } of keys) expect(apiKey).toMatch(new RegExp(`^[A-Za-z0-9]{${apiKeyLength}}$`));
      expect(new Set(keys.map((k) => k.apiKey)).size).toBe(20);
      expect(await repository.count()).toBe(20);
    });

    it("returns the key's derived secret in derived mode", async () => {
      const master = 'a-master-secret-for-derived-mode-0123456789';
      const { service } = build({ secrets: [master], secretMode: 'derived' });
      const created = await service.create('orders');
      expect(created.secret).toBe(protocol.deriveKeySecret(master, created.apiKey));
    });

    it('stores expiresAt rounded down to the second', async () => {
      const { service } = build();
      const expiresAt = new Date('2031-05-06T07:08:09.987Z');
      const created = await service.create('orders', { expiresAt });
      expect(created.expiresAt).toEqual(new Date('2031-05-06T07:08:09.000Z'));
      expect((await repository.findOneByOrFail({ apiKey: created.apiKey })).expiresAt).toEqual(created.expiresAt);
    });

    it.each([
      ['an empty name', ''],
      ['upper case', 'Orders'],
      ['a leading dash', '-orders'],
      ['a leading dot', '.orders'],
      ['a space', 'my service'],
      ['a slash', 'orders/v2'],
      ['a non-ASCII letter', 'bücher'],
      ['65 characters', 'a'.repeat(65)],
      ['a newline', 'orders\n'],
      ['a number', 42 as unknown as string],
      ['undefined', undefined as unknown as string],
    ])('rejects a service name with %s, and stores nothing', async (_name, serviceName) => {
      const { service } = build();
      const attempt = service.create(serviceName);
      await expect(attempt).rejects.toThrow(InvalidServiceNameError);
      await expect(attempt).rejects.toThrow(
        `Invalid service name ${JSON.stringify(String(serviceName))}: use 1 to 64 characters of [a-z0-9._-], starting with a letter or digit.`,
      );
      await expect(attempt).rejects.toBeInstanceOf(ApiKeyManagementError);
      expect(await repository.count()).toBe(0);
    });

    it.each(['a', '0', 'orders', 'billing-admin', 'svc.v2_x', 'a'.repeat(64)])('accepts the service name %p', async (name) => {
      const { service } = build();
      await expect(service.create(name)).resolves.toMatchObject({ serviceName: name });
    });

    it('rejects an invalid expiresAt', async () => {
      const { service } = build();
      await expect(service.create('orders', { expiresAt: new Date(Number.NaN) })).rejects.toThrow(InvalidExpiryError);
      await expect(service.create('orders', { expiresAt: '2030-01-01' as unknown as Date })).rejects.toThrow(
        'Invalid expiresAt 2030-01-01: give a valid Date, or null for no expiry.',
      );
      expect(await repository.count()).toBe(0);
    });
  });

  describe('lookups', () => {
    it('finds a key only with its exact case, in the service, the store and the database itself', async () => {
      const { service } = build();
      const store = new TypeOrmApiKeyStore(repository);
      const { apiKey } = await service.create('orders');
      const variants = [apiKey.toLowerCase(), apiKey.toUpperCase(), swapCase(apiKey)].filter((v) => v !== apiKey);
      expect(variants.length).toBeGreaterThan(0);
      for (const variant of variants) {
        expect(await service.findByKey(variant)).toBeNull();
        expect(await store.findByKey(variant)).toBeNull();
        expect(await repository.countBy({ apiKey: variant })).toBe(0);
        expect(await service.revoke(variant)).toBe(false);
      }
      expect((await store.findByKey(apiKey))?.serviceName).toBe('orders');
      expect((await service.findByKey(apiKey))?.revokedAt).toBeNull();
    });
  });

  describe('rate limits', () => {
    const perMinute = (limit: number) => ({ limit, ttlMs: 60_000 });

    it("create() stores a key's own limit as <limit>/<ttlMs>, and the store hands it to the guard", async () => {
      const { service } = build();
      const created = await service.create('orders', { rateLimit: perMinute(1000) });
      expect(created.rateLimit).toEqual(perMinute(1000));
      const [raw] = await dataSource.query(`SELECT rate_limit FROM api_keys WHERE api_key = '${created.apiKey}'`);
      expect(raw).toEqual({ rate_limit: '1000/60000' });
      expect((await new TypeOrmApiKeyStore(repository).findByKey(created.apiKey))?.rateLimit).toEqual(perMinute(1000));
      const plain = await service.create('orders');
      expect((await new TypeOrmApiKeyStore(repository).findByKey(plain.apiKey))?.rateLimit).toBeNull();
    });

    it("setRateLimit() sets and clears a key's limit, drops it from the cache, and is false for an unknown key", async () => {
      const { service, cache } = build();
      const { apiKey } = await service.create('orders');
      expect((await cache.get(apiKey))?.rateLimit).toBeNull();
      expect(await service.setRateLimit(apiKey, { limit: 5, ttlMs: 1_500 })).toBe(true);
      expect((await cache.get(apiKey))?.rateLimit).toEqual({ limit: 5, ttlMs: 1_500 });
      expect(await service.setRateLimit(apiKey, null)).toBe(true);
      expect((await cache.get(apiKey))?.rateLimit).toBeNull();
      expect((await service.findByKey(apiKey))?.rateLimit).toBeNull();
      expect(await service.setRateLimit('UnknownKey0123456789abcdefghijkl', perMinute(1))).toBe(false);
    });

    it("setServiceRateLimit() sets the limit of the service's active keys only", async () => {
      const { service } = build();
      const a = await service.create('orders');
      const b = await service.create('orders');
      const revoked = await service.create('orders');
      await service.revoke(revoked.apiKey);
      const other = await service.create('billing');
      expect((await service.setServiceRateLimit('orders', perMinute(50))).sort()).toEqual([a.apiKey, b.apiKey].sort());
      const limits = Object.fromEntries((await repository.find()).map((row) => [row.apiKey, row.rateLimit]));
      expect(limits).toEqual({ [a.apiKey]: perMinute(50), [b.apiKey]: perMinute(50), [revoked.apiKey]: null, [other.apiKey]: null });
      await expect(service.setServiceRateLimit('Orders!', null)).rejects.toThrow(InvalidServiceNameError);
    });

    it("rotate() gives the new key the limit of the service's newest active key", async () => {
      const { service } = build();
      await service.create('orders', { rateLimit: perMinute(10) });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await service.create('orders', { rateLimit: perMinute(20) });
      const rotated = await service.rotate('orders', { overlapMs: HOUR });
      expect(rotated.rateLimit).toEqual(perMinute(20));
      expect((await service.findByKey(rotated.apiKey))?.rateLimit).toEqual(perMinute(20));
    });

    it.each([
      [{ limit: 0, ttlMs: 60_000 }],
      [{ limit: 1.5, ttlMs: 60_000 }],
      [{ limit: 1_000_000_001, ttlMs: 60_000 }],
      [{ limit: 10, ttlMs: 0 }],
      [{ limit: 10, ttlMs: 367 * 86_400_000 }],
      [{ limit: 10 }],
      ['1000/1m'],
    ])('refuses the limit %j with InvalidRateLimitError, storing nothing', async (rateLimit) => {
      const { service } = build();
      const attempt = service.create('orders', { rateLimit: rateLimit as never });
      await expect(attempt).rejects.toThrow(InvalidRateLimitError);
      await expect(attempt).rejects.toBeInstanceOf(ApiKeyManagementError);
      await expect(attempt).rejects.toThrow(/^Invalid rate limit .*: give \{ limit, ttlMs \} as whole numbers/);
      expect(await repository.count()).toBe(0);
      const { apiKey } = await service.create('orders');
      await expect(service.setRateLimit(apiKey, rateLimit as never)).rejects.toThrow(InvalidRateLimitError);
      expect((await service.findByKey(apiKey))?.rateLimit).toBeNull();
    });

    it('a column holding something else fails the lookup with an error that says how to fix it', async () => {
      const { service } = build();
      const { apiKey } = await service.create('orders');
      await dataSource.query(`UPDATE api_keys SET rate_limit = '1000 per minute' WHERE api_key = '${apiKey}'`);
      const lookup = new TypeOrmApiKeyStore(repository).findByKey(apiKey);
      await expect(lookup).rejects.toThrow(InvalidRateLimitError);
      await expect(lookup).rejects.toThrow(
        'api_keys.rate_limit holds "1000 per minute", which is not <limit>/<ttlMs>: set it with ' +
          '`service-auth keys update <apiKey> --rate-limit 1000/1m` (or `none`), or ApiKeyService.setRateLimit().',
      );
    });
  });

  describe('list and revoke', () => {
    it('lists keys oldest first, by service, revoked ones only on request', async () => {
      const { service } = build();
      const a = await service.create('orders');
      const b = await service.create('billing');
      const c = await service.create('orders');
      expect(await service.revoke(c.apiKey)).toBe(true);
      expect((await service.list()).map((k) => k.apiKey).sort()).toEqual([a.apiKey, b.apiKey].sort());
      expect((await service.list({ serviceName: 'orders' })).map((k) => k.apiKey)).toEqual([a.apiKey]);
      const all = await service.list({ serviceName: 'orders', includeRevoked: true });
      expect(all.map((k) => k.apiKey).sort()).toEqual([a.apiKey, c.apiKey].sort());
      expect(all.find((k) => k.apiKey === c.apiKey)!.revokedAt).toBeInstanceOf(Date);
      await expect(service.list({ serviceName: 'Orders' })).rejects.toThrow(InvalidServiceNameError);
    });

    it('revoke() is true once, false afterwards and for an unknown key; it drops the cache entry', async () => {
      const { service, cache } = build();
      const invalidate = jest.spyOn(cache, 'invalidate');
      const { apiKey } = await service.create('orders');
      invalidate.mockClear();
      expect(await service.revoke(apiKey)).toBe(true);
      expect(invalidate).toHaveBeenCalledWith(apiKey);
      expect(await service.revoke(apiKey)).toBe(false);
      expect(await service.revoke('Z'.repeat(32))).toBe(false);
    });
  });

  describe('rotate', () => {
    it('issues a new key and lets every active key of the service expire after the overlap', async () => {
      const { service } = build();
      const old1 = await service.create('orders');
      const old2 = await service.create('orders');
      const other = await service.create('billing');
      const before = Date.now();
      const rotated = await service.rotate('orders', { overlapMs: 24 * HOUR });
      const after = Date.now();

      expect(rotated).toEqual({
        apiKey: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
        serviceName: 'orders',
        createdAt: expect.any(Date),
        expiresAt: null,
        rateLimit: null,
        secret: null,
        expiring: expect.any(Array),
      });
      const until = rotated.expiring[0].expiresAt.getTime();
      expect(until).toBeGreaterThanOrEqual(seconds(before + 24 * HOUR));
      expect(until).toBeLessThanOrEqual(seconds(after + 24 * HOUR));
      expect(rotated.expiring.map((k) => k.apiKey).sort()).toEqual([old1.apiKey, old2.apiKey].sort());
      expect(rotated.expiring.map((k) => k.expiresAt.getTime())).toEqual([until, until]);

      const rows = new Map((await repository.find()).map((row) => [row.apiKey, row]));
      expect(rows.get(old1.apiKey)!.expiresAt!.getTime()).toBe(until);
      expect(rows.get(old2.apiKey)!.expiresAt!.getTime()).toBe(until);
      expect(rows.get(rotated.apiKey)!.expiresAt).toBeNull();
      expect(rows.get(rotated.apiKey)!.serviceName).toBe('orders');
      expect(rows.get(other.apiKey)!.expiresAt).toBeNull();
    });

    it('keeps an earlier expiry, shortens a later one, and leaves revoked and expired keys alone', async () => {
      const { service } = build();
      const now = Date.now();
      const soon = await service.create('orders', { expiresAt: new Date(now + HOUR) });
      const late = await service.create('orders', { expiresAt: new Date(now + 100 * HOUR) });
      const revoked = await service.create('orders');
      await service.revoke(revoked.apiKey);
      const expired = await service.create('orders', { expiresAt: new Date(now - HOUR) });

      const rotated = await service.rotate('orders', { overlapMs: 2 * HOUR });
      const until = seconds(now + 2 * HOUR);
      const expiring = new Map(rotated.expiring.map((k) => [k.apiKey, k.expiresAt.getTime()]));
      expect([...expiring.keys()].sort()).toEqual([soon.apiKey, late.apiKey].sort());
      expect(expiring.get(soon.apiKey)).toBe(soon.expiresAt!.getTime());
      expect(Math.abs(expiring.get(late.apiKey)! - until)).toBeLessThanOrEqual(2000);

      const rows = new Map((await repository.find()).map((row) => [row.apiKey, row]));
      expect(rows.get(soon.apiKey)!.expiresAt).toEqual(soon.expiresAt);
      expect(rows.get(late.apiKey)!.expiresAt!.getTime()).toBe(expiring.get(late.apiKey));
      expect(rows.get(revoked.apiKey)!.expiresAt).toBeNull();
      expect(rows.get(expired.apiKey)!.expiresAt).toEqual(expired.expiresAt);
    });

    it('with overlap 0 the previous keys expire at once', async () => {
      const { service } = build();
      const old = await service.create('orders');
      const rotated = await service.rotate('orders', { overlapMs: 0 });
      expect(rotated.expiring).toEqual([{ apiKey: old.apiKey, expiresAt: expect.any(Date) }]);
      expect(rotated.expiring[0].expiresAt.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it('drops the cache entries of the new and the previous keys', async () => {
      const { service, cache } = build();
      const old = await service.create('orders');
      const invalidate = jest.spyOn(cache, 'invalidate');
      const rotated = await service.rotate('orders', { overlapMs: HOUR });
      expect(invalidate.mock.calls.map(([key]) => key).sort()).toEqual([old.apiKey, rotated.apiKey].sort());
    });

    it('returns the derived secret of the new key in derived mode', async () => {
      const master = 'a-master-secret-for-derived-mode-0123456789';
      const { service } = build({ secrets: [master], secretMode: 'derived' });
      await service.create('orders');
      const rotated = await service.rotate('orders', { overlapMs: HOUR });
      expect(rotated.secret).toBe(protocol.deriveKeySecret(master, rotated.apiKey));
    });

    it('refuses to rotate a service without an active key, and issues nothing', async () => {
      const { service } = build();
      const revoked = await service.create('orders');
      await service.revoke(revoked.apiKey);
      await expect(service.rotate('orders', { overlapMs: HOUR })).rejects.toThrow(NoActiveKeyError);
      await expect(service.rotate('nobody', { overlapMs: HOUR })).rejects.toThrow(
        'Service "nobody" has no active API key to rotate; issue its first key with create().',
      );
      expect(await repository.count()).toBe(1);
    });

    it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 11 * 366 * 24 * HOUR, undefined, '24h'])(
      'rejects an overlap of %p',
      async (overlapMs) => {
        const { service } = build();
        await service.create('orders');
        await expect(service.rotate('orders', { overlapMs: overlapMs as number })).rejects.toThrow(InvalidExpiryError);
        expect(await repository.count()).toBe(1);
      },
    );

    it('rejects a bad service name', async () => {
      const { service } = build();
      await expect(service.rotate('Orders', { overlapMs: HOUR })).rejects.toThrow(InvalidServiceNameError);
    });

    it('runs in one transaction: when setting an expiry fails, no new key is left behind', async () => {
      const { service } = build();
      const old = await service.create('orders');
      jest.spyOn(Repository.prototype, 'update').mockRejectedValueOnce(new Error('disk full'));
      await expect(service.rotate('orders', { overlapMs: HOUR })).rejects.toThrow('disk full');
      const rows = await repository.find();
      expect(rows.map((row) => row.apiKey)).toEqual([old.apiKey]);
      expect(rows[0].expiresAt).toBeNull();
    });
  });
}

describe('ApiKeyService on SQLite', () => serviceSuite(async () => sqliteOptions()));

const MYSQL_DB = scratchDatabaseName('service_auth_key_service_test');
describeWithMysql('ApiKeyService on MySQL/MariaDB', () =>
  serviceSuite(
    async () => ({ type: 'mysql', url: await createScratchMysqlDatabase(MYSQL_DB), timezone: 'Z', connectTimeout: 2000 }),
    () => (MYSQL_URL ? dropScratchMysqlDatabase(MYSQL_DB) : Promise.resolve()),
  ),
);

const POSTGRES_DB = scratchDatabaseName('service_auth_key_service_test');
describeWithPostgres('ApiKeyService on PostgreSQL', () =>
  serviceSuite(
    async () => postgresOptions(await createScratchPostgresDatabase(POSTGRES_DB)),
    () => (POSTGRES_URL ? dropScratchPostgresDatabase(POSTGRES_DB) : Promise.resolve()),
  ),
);

function swapCase(text: string): string {
  return text.replace(/[a-z]/gi, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
}
