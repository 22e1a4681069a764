import { jest } from '@jest/globals';
import { DataSource, DataSourceOptions, type QueryRunner } from 'typeorm';
import {
  AddApiKeyRateLimit1764400000000,
  ApiKey,
  ApiKeyAuthConfigurationError,
  apiKeyAuthMigrations,
  CreateApiKeysTable1764300000000,
  UnsupportedDatabaseError,
} from '../../lib/index.js';
import { describeWithMysql, describeWithPostgres, postgresOptions, scratchDatabaseName, sqliteOptions } from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';
import { createScratchPostgresDatabase, dropScratchPostgresDatabase } from '../support/postgres-scratch.js';

const KEY = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const MIGRATIONS_TABLE = 'service_auth_migrations_test';

type Dialect = 'sqlite' | 'mysql' | 'postgres';

/**
 * What the first release's migration ran on SQLite and MySQL/MariaDB: tables
 * made by it are in use, so the migration must still run exactly this there.
 */
const FIRST_RELEASE_DDL: Partial<Record<Dialect, string[]>> = {
  sqlite: [
    'CREATE TABLE "api_keys" ("api_key" varchar(128) PRIMARY KEY NOT NULL, "service_name" varchar(64) NOT NULL, "created_at" datetime NOT NULL DEFAULT (CURRENT_TIMESTAMP), "revoked_at" datetime, "expires_at" datetime, "last_used_at" datetime)',
    'CREATE INDEX "idx_api_keys_service_name" ON "api_keys" ("service_name") ',
  ],
  mysql: [
    'CREATE TABLE `api_keys` (`api_key` varchar(128) CHARACTER SET "ascii" COLLATE "ascii_bin" NOT NULL, `service_name` varchar(64) NOT NULL, `created_at` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP, `revoked_at` datetime NULL, `expires_at` datetime NULL, `last_used_at` datetime NULL, PRIMARY KEY (`api_key`)) ENGINE=InnoDB',
    'CREATE INDEX `idx_api_keys_service_name` ON `api_keys` (`service_name`)',
  ],
};

const MIGRATIONS = ['CreateApiKeysTable1764300000000', 'AddApiKeyRateLimit1764400000000'];

/** The type each database reports for the four instant columns. */
const INSTANT_TYPE: Record<Dialect, string> = { sqlite: 'datetime', mysql: 'datetime', postgres: 'timestamp with time zone' };

function migrationSuite(
  dialect: Dialect,
  connect: () => DataSourceOptions | Promise<DataSourceOptions>,
  cleanUp: () => Promise<void> = async () => {},
) {
  let dataSource: DataSource;
  const queries: string[] = [];

  beforeAll(async () => {
    dataSource = new DataSource({
      ...(await connect()),
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsTableName: MIGRATIONS_TABLE,
      synchronize: false,
      logging: false,
    });
    await dataSource.initialize();
    await dataSource.query('DROP TABLE IF EXISTS api_keys');
    await dataSource.query(`DROP TABLE IF EXISTS ${MIGRATIONS_TABLE}`);
    jest.spyOn(dataSource.logger, 'logQuery').mockImplementation((query: string) => {
      queries.push(query);
    });
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) {
      await dataSource.query('DROP TABLE IF EXISTS api_keys');
      await dataSource.query(`DROP TABLE IF EXISTS ${MIGRATIONS_TABLE}`);
      await dataSource.destroy();
    }
    await cleanUp();
  });

  const table = async () => {
    const runner = dataSource.createQueryRunner();
    try {
      return (await runner.getTable('api_keys'))!;
    } finally {
      await runner.release();
    }
  };

  it("creates the api_keys table with every column, this database's instant type, no secret column, and the service index", async () => {
    queries.length = 0;
    const ran = await dataSource.runMigrations();
    expect(ran.map((m) => m.name)).toEqual(MIGRATIONS);

    const created = await table();
    const column = (name: string) => created.columns.find((c) => c.name === name)!;
    expect(created.columns.map((c) => c.name).sort()).toEqual(
      ['api_key', 'created_at', 'expires_at', 'last_used_at', 'rate_limit', 'revoked_at', 'service_name'].sort(),
    );
    expect(column('rate_limit')).toMatchObject({ isNullable: true, length: '32' });
    expect(column('rate_limit').type).toMatch(/^(varchar|character varying)$/);
    expect(created.primaryColumns.map((c) => c.name)).toEqual(['api_key']);
    for (const name of ['created_at', 'revoked_at', 'expires_at', 'last_used_at']) {
      expect([name, column(name).type]).toEqual([name, INSTANT_TYPE[dialect]]);
      expect([name, column(name).isNullable]).toEqual([name, name !== 'created_at']);
    }
    expect(column('service_name').isNullable).toBe(false);
    expect(column('api_key').length).toBe('128');
    expect(created.indices.map((i) => i.columnNames)).toContainEqual(['service_name']);
    expect(created.columns.some((c) => /secret/i.test(c.name))).toBe(false);
    if (dialect === 'mysql') expect(column('api_key')).toMatchObject({ charset: 'ascii', collation: 'ascii_bin' });
  });

  if (FIRST_RELEASE_DDL[dialect]) {
    it('ran exactly the DDL of the first release (tables created by it stay as they are)', () => {
      const ddl = queries.filter((q) => /^\s*CREATE (TABLE|INDEX)\b/.test(q) && q.includes('api_keys'));
      expect(ddl).toEqual(FIRST_RELEASE_DDL[dialect]);
    });
  }

  it('is idempotent: running the migrations again does nothing', async () => {
    expect(await dataSource.runMigrations()).toEqual([]);
  });

  it('leaves the table out of synchronize and migration:generate (nothing to change)', async () => {
    const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
    expect(upQueries.map((q) => q.query).filter((q) => q.includes('api_keys'))).toEqual([]);
  });

  it('stores and reads keys through the entity, to the instant, matching keys case-sensitively', async () => {
    const repo = dataSource.getRepository(ApiKey);
    const expiresAt = new Date('2030-01-02T03:04:05Z');
    await repo.insert({ apiKey: KEY, serviceName: 'orders', expiresAt, revokedAt: null, lastUsedAt: null });
    const row = await repo.findOneByOrFail({ apiKey: KEY });
    expect(row.serviceName).toBe('orders');
    expect(row.expiresAt!.toISOString()).toBe(expiresAt.toISOString());
    expect(row.revokedAt).toBeNull();
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(row.createdAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    // The database compares, not only the store's second check.
    for (const variant of [KEY.toLowerCase(), KEY.toUpperCase(), KEY.replace('A', 'a')]) {
      expect(await repo.countBy({ apiKey: variant })).toBe(0);
    }
    expect(await repo.countBy({ apiKey: KEY })).toBe(1);
    // A key differing only in case is another key.
    await repo.insert({ apiKey: KEY.toLowerCase(), serviceName: 'billing', expiresAt: null, revokedAt: null, lastUsedAt: null });
    expect((await repo.findOneByOrFail({ apiKey: KEY.toLowerCase() })).serviceName).toBe('billing');
    expect((await repo.findOneByOrFail({ apiKey: KEY })).serviceName).toBe('orders');
  });

  it('reverts cleanly, one migration at a time, and migrates again after', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await dataSource.undoLastMigration();
      expect(await runner.hasTable('api_keys')).toBe(true);
      expect(await runner.hasColumn('api_keys', 'rate_limit')).toBe(false);
      await dataSource.undoLastMigration();
      expect(await runner.hasTable('api_keys')).toBe(false);
      expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual(MIGRATIONS);
      expect(await dataSource.getRepository(ApiKey).count()).toBe(0);
    } finally {
      await runner.release();
    }
  });

  it("adds rate_limit to a table the first release made, keeping its rows (NULL: the app's default), and drops it again", async () => {
    await dataSource.undoLastMigration();
    const expiresAt = new Date('2030-01-02T03:04:05Z');
    await dataSource.query(
      `INSERT INTO api_keys (api_key, service_name, expires_at) VALUES ('${KEY}', 'orders', ${dialect === 'postgres' ? "'2030-01-02T03:04:05Z'" : "'2030-01-02 03:04:05'"})`,
    );
    expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual(['AddApiKeyRateLimit1764400000000']);
    const repo = dataSource.getRepository(ApiKey);
    expect(await repo.findOneByOrFail({ apiKey: KEY })).toMatchObject({ serviceName: 'orders', expiresAt, rateLimit: null });
    await repo.update({ apiKey: KEY }, { rateLimit: { limit: 1000, ttlMs: 60_000 } });
    expect((await repo.findOneByOrFail({ apiKey: KEY })).rateLimit).toEqual({ limit: 1000, ttlMs: 60_000 });

    await dataSource.undoLastMigration();
    const [row] = await dataSource.query(`SELECT * FROM api_keys`);
    expect(Object.keys(row).sort()).toEqual(['api_key', 'created_at', 'expires_at', 'last_used_at', 'revoked_at', 'service_name']);
    expect(row.service_name).toBe('orders');
    await dataSource.query('DELETE FROM api_keys');
    await dataSource.undoLastMigration();
    expect(await dataSource.createQueryRunner().hasTable('api_keys')).toBe(false);
  });
}

describe('migrations on SQLite', () => migrationSuite('sqlite', () => sqliteOptions()));

const MYSQL_DB = scratchDatabaseName('service_auth_test_migrations');
describeWithMysql('migrations on MySQL/MariaDB', () =>
  migrationSuite(
    'mysql',
    async () => ({ type: 'mysql', url: await createScratchMysqlDatabase(MYSQL_DB), timezone: 'Z' }),
    () => dropScratchMysqlDatabase(MYSQL_DB),
  ),
);

const MARIADB_DB = scratchDatabaseName('service_auth_test_migrations_mariadb');
describeWithMysql('migrations on MySQL/MariaDB with TypeORM type mariadb', () =>
  migrationSuite(
    'mysql',
    async () => ({ type: 'mariadb', url: await createScratchMysqlDatabase(MARIADB_DB), timezone: 'Z' }),
    () => dropScratchMysqlDatabase(MARIADB_DB),
  ),
);

const POSTGRES_DB = scratchDatabaseName('service_auth_test_migrations');
describeWithPostgres('migrations on PostgreSQL', () => {
  migrationSuite(
    'postgres',
    async () => postgresOptions(await createScratchPostgresDatabase(POSTGRES_DB)),
    () => dropScratchPostgresDatabase(POSTGRES_DB),
  );
});

describeWithPostgres('instants on PostgreSQL in a session time zone other than UTC', () => {
  const name = scratchDatabaseName('service_auth_test_migrations_tz');
  let dataSource: DataSource;
  beforeAll(async () => {
    dataSource = new DataSource({
      ...postgresOptions(await createScratchPostgresDatabase(name)),
      // Every pooled connection's session time zone.
      extra: { options: '-c TimeZone=Asia/Kolkata' },
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsRun: true,
    });
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await dropScratchPostgresDatabase(name);
  });

  it('stores the instant itself (timestamptz), whatever the session time zone', async () => {
    expect(await dataSource.query('SHOW TimeZone')).toEqual([{ TimeZone: 'Asia/Kolkata' }]);
    const expiresAt = new Date('2031-05-06T07:08:09Z');
    await dataSource.getRepository(ApiKey).insert({ apiKey: KEY, serviceName: 'orders', expiresAt, revokedAt: null, lastUsedAt: null });
    const [raw] = await dataSource.query(
      `SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS utc, extract(epoch FROM expires_at)::bigint AS epoch FROM api_keys`,
    );
    expect(raw).toEqual({ utc: '2031-05-06T07:08:09', epoch: String(expiresAt.getTime() / 1000) });
    const row = await dataSource.getRepository(ApiKey).findOneByOrFail({ apiKey: KEY });
    expect(row.expiresAt).toEqual(expiresAt);
    // created_at's default is the server's clock, as an instant too.
    expect(Math.abs(row.createdAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
  });
});

describe('the migrations on another database', () => {
  it.each(['mssql', 'sqljs', 'oracle', 'cockroachdb', 'aurora-mysql'])(
    'refuse %s with UnsupportedDatabaseError, changing nothing',
    async (type) => {
      const query = jest.fn(async () => undefined);
      const addColumn = jest.fn(async () => undefined);
      const runner = { connection: { options: { type } }, query, addColumn, dropColumn: addColumn } as unknown as QueryRunner;
      for (const step of [
        () => new AddApiKeyRateLimit1764400000000().up(runner),
        () => new AddApiKeyRateLimit1764400000000().down(runner),
      ]) {
        await expect(step()).rejects.toThrow(UnsupportedDatabaseError);
      }
      expect(query).not.toHaveBeenCalled();
      expect(addColumn).not.toHaveBeenCalled();
    },
  );

  it.each(['mssql', 'sqljs', 'oracle', 'cockroachdb', 'aurora-mysql'])(
    'the first refuses %s with UnsupportedDatabaseError naming the supported ones, and creates nothing',
    async (type) => {
      const createTable = jest.fn(async () => undefined);
      const runner = { connection: { options: { type } }, createTable, createIndex: createTable } as unknown as QueryRunner;
      const attempt = new CreateApiKeysTable1764300000000().up(runner);
      await expect(attempt).rejects.toThrow(UnsupportedDatabaseError);
      await expect(attempt).rejects.toBeInstanceOf(ApiKeyAuthConfigurationError);
      await expect(attempt).rejects.toThrow(
        `nestjs-service-auth: the TypeORM data source of the api_keys table has type "${type}", which is not supported. ` +
          'Use one of: postgres (PostgreSQL, driver package pg); mysql (MySQL, driver package mysql2); ' +
          'mariadb (MariaDB, driver package mysql2); better-sqlite3 (SQLite, driver package better-sqlite3).',
      );
      expect(createTable).not.toHaveBeenCalled();
    },
  );
});
