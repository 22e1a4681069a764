import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';
import { databaseDialect, type DatabaseDialect } from '../supported-databases.constants.js';
import { API_KEYS_TABLE } from '../api-key.entity.js';

/**
 * Column types per dialect. MySQL/MariaDB and SQLite keep exactly what the
 * first release created there (tables made by it are in use); PostgreSQL
 * stores instants as `timestamptz`, whose default collation already compares
 * the key case-sensitively, as SQLite's BINARY does.
 */
const DIALECT_TYPES: Record<DatabaseDialect, { instant: string; key: Partial<TableColumnOptions> }> = {
  // API keys are case-sensitive; MySQL's default collations are not.
  mysql: { instant: 'datetime', key: { charset: 'ascii', collation: 'ascii_bin' } },
  sqlite: { instant: 'datetime', key: {} },
  postgres: { instant: 'timestamptz', key: {} },
};

/**
 * Creates the `api_keys` table on PostgreSQL, MySQL/MariaDB or SQLite, with
 * TypeORM's schema builder; does not rely on `synchronize`.
 * @throws UnsupportedDatabaseError on any other database, before creating anything.
 */
export class CreateApiKeysTable1764300000000 implements MigrationInterface {
  name = 'CreateApiKeysTable1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { instant, key } = DIALECT_TYPES[databaseDialect(queryRunner.connection.options.type)];
    await queryRunner.createTable(
      new Table({
        name: API_KEYS_TABLE,
        columns: [
          { name: 'api_key', type: 'varchar', length: '128', isPrimary: true, ...key },
          { name: 'service_name', type: 'varchar', length: '64' },
          { name: 'created_at', type: instant, default: 'CURRENT_TIMESTAMP' },
          { name: 'revoked_at', type: instant, isNullable: true },
          { name: 'expires_at', type: instant, isNullable: true },
          { name: 'last_used_at', type: instant, isNullable: true },
        ],
      }),
      true,
    );
    await queryRunner.createIndex(API_KEYS_TABLE, new TableIndex({ name: 'idx_api_keys_service_name', columnNames: ['service_name'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(API_KEYS_TABLE, true);
  }
}
