import { DataSource, DataSourceOptions } from 'typeorm';
import { ApiKey, apiKeyAuthMigrations } from '../../lib/index.js';
import { describeWithMysql, sqliteOptions } from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';

const KEY = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

function migrationSuite(connect: () => DataSourceOptions | Promise<DataSourceOptions>, cleanUp: () => Promise<void> = async () => {}) {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource({
      ...(await connect()),
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsTableName: 'service_auth_migrations_test',
      synchronize: false,
      logging: false,
    } as DataSourceOptions);
    await dataSource.initialize();
    await dataSource.query('DROP TABLE IF EXISTS api_keys');
    await dataSource.query('DROP TABLE IF EXISTS service_auth_migrations_test');
  });

  afterAll(async () => {
    await dataSource.query('DROP TABLE IF EXISTS api_keys');
    await dataSource.query('DROP TABLE IF EXISTS service_auth_migrations_test');
    await dataSource.destroy();
    await cleanUp();
  });

  it('creates the api_keys table with every column, no secret column, and the service index', async () => {
    const ran = await dataSource.runMigrations();
    expect(ran.map((m) => m.name)).toEqual(['CreateApiKeysTable1764300000000']);

    const table = await dataSource.createQueryRunner().getTable('api_keys');
    expect(table).toBeDefined();
    expect(table!.columns.map((c) => c.name).sort()).toEqual(
      ['api_key', 'created_at', 'expires_at', 'last_used_at', 'revoked_at', 'service_name'].sort(),
    );
    expect(table!.primaryColumns.map((c) => c.name)).toEqual(['api_key']);
    expect(table!.columns.find((c) => c.name === 'revoked_at')!.isNullable).toBe(true);
    expect(table!.columns.find((c) => c.name === 'expires_at')!.isNullable).toBe(true);
    expect(table!.columns.find((c) => c.name === 'service_name')!.isNullable).toBe(false);
    expect(table!.indices.map((i) => i.columnNames)).toContainEqual(['service_name']);
    expect(table!.columns.some((c) => /secret/i.test(c.name))).toBe(false);
  });

  it('is idempotent: running the migrations again does nothing', async () => {
    expect(await dataSource.runMigrations()).toEqual([]);
  });

  it('stores and reads keys through the entity, matching keys case-sensitively', async () => {
    const repo = dataSource.getRepository(ApiKey);
    const expiresAt = new Date('2030-01-02T03:04:05Z');
    await repo.insert({ apiKey: KEY, serviceName: 'orders', expiresAt, revokedAt: null, lastUsedAt: null });
    const row = await repo.findOneByOrFail({ apiKey: KEY });
    expect(row.serviceName).toBe('orders');
    expect(row.expiresAt!.toISOString()).toBe(expiresAt.toISOString());
    expect(row.revokedAt).toBeNull();
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(row.createdAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    expect(await repo.findOneBy({ apiKey: KEY.toLowerCase() })).toBeNull();
  });

  it('reverts cleanly', async () => {
    await dataSource.undoLastMigration();
    expect(await dataSource.createQueryRunner().hasTable('api_keys')).toBe(false);
  });
}

describe('migrations on SQLite', () => migrationSuite(() => sqliteOptions()));
const SCRATCH_DB = 'service_auth_test_migrations';
describeWithMysql('migrations on MySQL/MariaDB', () =>
  migrationSuite(
    async () => ({ type: 'mysql', url: await createScratchMysqlDatabase(SCRATCH_DB), timezone: 'Z' }),
    () => dropScratchMysqlDatabase(SCRATCH_DB),
  ),
);
