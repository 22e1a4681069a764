import { describeWithMysql, describeWithPostgres, MYSQL_URL, POSTGRES_URL, scratchDatabaseName } from './databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from './mysql-scratch.js';
import { createScratchPostgresDatabase, dropScratchPostgresDatabase } from './postgres-scratch.js';
import type { TestAppOptions } from './test-app.js';

/** A database a test app can keep its key table in. */
export interface AppDatabase {
  /** For suite names: `SQLite`, `MySQL/MariaDB`, `PostgreSQL`. */
  label: string;
  /** `describe`, or the variant that skips the suite (saying why) when the server's URL is unset. */
  describe: jest.Describe;
  /** Whether the suites on it run here. */
  available: boolean;
  /** Creates the scratch database `name` (prefixed by TEST_DB_PREFIX) and returns the createTestApp options for it. */
  open(name: string): Promise<Partial<TestAppOptions>>;
  /** Drops what `open(name)` created. */
  drop(name: string): Promise<void>;
}

/** SQLite (in memory, always), MySQL/MariaDB with MYSQL_URL, PostgreSQL with POSTGRES_URL. */
export const APP_DATABASES: readonly AppDatabase[] = [
  { label: 'SQLite', describe, available: true, open: async () => ({}), drop: async () => {} },
  {
    label: 'MySQL/MariaDB',
    describe: describeWithMysql,
    available: MYSQL_URL !== undefined,
    open: async (name) => ({ mysql: { url: await createScratchMysqlDatabase(scratchDatabaseName(name)) } }),
    drop: (name) => dropScratchMysqlDatabase(scratchDatabaseName(name)),
  },
  {
    label: 'PostgreSQL',
    describe: describeWithPostgres,
    available: POSTGRES_URL !== undefined,
    open: async (name) => ({ postgres: { url: await createScratchPostgresDatabase(scratchDatabaseName(name)) } }),
    drop: (name) => dropScratchPostgresDatabase(scratchDatabaseName(name)),
  },
];
