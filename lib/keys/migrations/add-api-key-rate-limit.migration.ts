import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { databaseDialect } from '../supported-databases.constants.js';
import { API_KEYS_TABLE } from '../api-key.entity.js';

const COLUMN = 'rate_limit';

/**
 * Adds `api_keys.rate_limit`, a key's own rate limit (`<limit>/<ttlMs>`,
 * nullable: `NULL` keeps the app's default), on PostgreSQL, MySQL/MariaDB
 * and SQLite. Rows are kept as they are.
 * @throws UnsupportedDatabaseError on any other database, before changing anything.
 */
export class AddApiKeyRateLimit1764400000000 implements MigrationInterface {
  name = 'AddApiKeyRateLimit1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (databaseDialect(queryRunner.connection.options.type) === 'sqlite') {
      // TypeORM's schema builder rebuilds the whole table on SQLite for any
      // column change; SQLite adds a nullable column in place.
      await queryRunner.query(`ALTER TABLE "${API_KEYS_TABLE}" ADD COLUMN "${COLUMN}" varchar(32)`);
      return;
    }
    await queryRunner.addColumn(API_KEYS_TABLE, new TableColumn({ name: COLUMN, type: 'varchar', length: '32', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (databaseDialect(queryRunner.connection.options.type) === 'sqlite') {
      await queryRunner.query(`ALTER TABLE "${API_KEYS_TABLE}" DROP COLUMN "${COLUMN}"`);
      return;
    }
    await queryRunner.dropColumn(API_KEYS_TABLE, COLUMN);
  }
}
