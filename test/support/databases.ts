import type { DataSourceOptions } from 'typeorm';

/** MySQL/MariaDB under test, from MYSQL_URL (e.g. mysql://root@127.0.0.1:3306/test). */
export const MYSQL_URL = process.env.MYSQL_URL;

/**
 * `describe` for suites that need MySQL; skipped, with the reason in the
 * suite's name, when MYSQL_URL is not set.
 */
export const describeWithMysql: jest.Describe = MYSQL_URL
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} [SKIPPED: set MYSQL_URL=mysql://root@127.0.0.1:3306/test to run]`, fn)) as jest.Describe);

export function mysqlOptions(): DataSourceOptions {
  return { type: 'mysql', url: MYSQL_URL, timezone: 'Z', connectTimeout: 2000 };
}

/** PostgreSQL under test, from POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test). */
export const POSTGRES_URL = process.env.POSTGRES_URL;

/**
 * `describe` for suites that need PostgreSQL; skipped, with the reason in the
 * suite's name, when POSTGRES_URL is not set.
 */
export const describeWithPostgres: jest.Describe = POSTGRES_URL
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} [SKIPPED: set POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run]`, fn)) as jest.Describe);

/** TypeORM options for the POSTGRES_URL server, or for `url` (a scratch database on it). */
export function postgresOptions(url = POSTGRES_URL): DataSourceOptions {
  return { type: 'postgres', url, connectTimeoutMS: 2000 };
}

export function sqliteOptions(database = ':memory:'): DataSourceOptions {
  return { type: 'better-sqlite3', database };
}

/**
 * The name of a suite's scratch database, prefixed with TEST_DB_PREFIX when
 * set, so that two checkouts can run the database suites against one server
 * at the same time.
 */
export function scratchDatabaseName(name: string): string {
  return `${process.env.TEST_DB_PREFIX ?? ''}${name}`;
}

/** Redis under test, from REDIS_URL (e.g. redis://127.0.0.1:6379). */
export const REDIS_URL = process.env.REDIS_URL;

/** `describe` for suites that need Redis; skipped, with the reason in its name, when REDIS_URL is not set. */
export const describeWithRedis: jest.Describe = REDIS_URL
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} [SKIPPED: set REDIS_URL=redis://127.0.0.1:6379 to run]`, fn)) as jest.Describe);
