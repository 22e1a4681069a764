import { UnsupportedDatabaseError } from './unsupported-database.error.js';

/** The SQL dialects the `api_keys` table and its migration are written for. */
export type DatabaseDialect = 'postgres' | 'mysql' | 'sqlite';

/** TypeORM `type` option -> dialect, with what the README and the error show for it. */
const SUPPORTED: Record<string, { dialect: DatabaseDialect; label: string }> = {
  postgres: { dialect: 'postgres', label: 'postgres (PostgreSQL, driver package pg)' },
  mysql: { dialect: 'mysql', label: 'mysql (MySQL, driver package mysql2)' },
  mariadb: { dialect: 'mysql', label: 'mariadb (MariaDB, driver package mysql2)' },
  'better-sqlite3': { dialect: 'sqlite', label: 'better-sqlite3 (SQLite, driver package better-sqlite3)' },
};

/** The TypeORM `type` values the key table runs on. */
export const SUPPORTED_DATABASE_TYPES: readonly string[] = Object.keys(SUPPORTED);

/**
 * The dialect of a TypeORM data source `type`.
 * @throws UnsupportedDatabaseError for any other type, naming the supported ones.
 */
export function databaseDialect(type: unknown): DatabaseDialect {
  const entry = typeof type === 'string' && Object.hasOwn(SUPPORTED, type) ? SUPPORTED[type] : undefined;
  if (!entry) {
    throw new UnsupportedDatabaseError(
      String(type),
      Object.values(SUPPORTED).map((s) => s.label),
    );
  }
  return entry.dialect;
}
