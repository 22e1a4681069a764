import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { API_KEYS_TABLE } from '../entities/api-key.entity.js';

const MYSQL_FAMILY = new Set(['mysql', 'mariadb', 'aurora-mysql']);

/**
 * Creates the `api_keys` table. Written with TypeORM's schema builder so the
 * same migration runs on MySQL/MariaDB and SQLite; does not rely on `synchronize`.
 */
export class CreateApiKeysTable1764300000000 implements MigrationInterface {
  name = 'CreateApiKeysTable1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // API keys are case-sensitive; MySQL's default collations are not.
    const binaryKey = MYSQL_FAMILY.has(queryRunner.connection.options.type)
      ? { charset: 'ascii', collation: 'ascii_bin' }
      : {};
    await queryRunner.createTable(
      new Table({
        name: API_KEYS_TABLE,
        columns: [
          { name: 'api_key', type: 'varchar', length: '128', isPrimary: true, ...binaryKey },
          { name: 'service_name', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'datetime', default: 'CURRENT_TIMESTAMP' },
          { name: 'revoked_at', type: 'datetime', isNullable: true },
          { name: 'expires_at', type: 'datetime', isNullable: true },
          { name: 'last_used_at', type: 'datetime', isNullable: true },
        ],
      }),
      true,
    );
    await queryRunner.createIndex(
      API_KEYS_TABLE,
      new TableIndex({ name: 'idx_api_keys_service_name', columnNames: ['service_name'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(API_KEYS_TABLE, true);
  }
}

/** Every migration of this module, in order: add them to your DataSource's `migrations`. */
export const apiKeyAuthMigrations = [CreateApiKeysTable1764300000000];
