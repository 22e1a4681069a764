import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ApiKey, apiKeyAuthMigrations } from '../lib/index.js';
import { describeDatabase, type CliConfig } from './cli-config.js';
import { CliError, firstLine } from './cli.error.js';

/**
 * Connects to the configured database, with the ApiKey entity and the
 * module's migrations (the same migrations table as an app using them).
 * `forMigrate`: a missing SQLite file (and its folder) is created and the
 * table need not exist yet; otherwise both must.
 * @throws CliError (exit 1) with one line when the database cannot be reached or has no key table.
 */
export async function openDataSource(config: CliConfig, forMigrate = false): Promise<DataSource> {
  const where = describeDatabase(config.database);
  const common = { entities: [ApiKey], migrations: apiKeyAuthMigrations, synchronize: false, logging: false };
  let options: DataSourceOptions;
  if (config.database.type === 'mysql') {
    options = { type: 'mysql', url: config.database.url, timezone: 'Z', connectTimeout: 5_000, ...common };
  } else if (config.database.type === 'postgres') {
    options = { type: 'postgres', url: config.database.url, connectTimeoutMS: 5_000, ...common };
  } else {
    const path = config.database.path;
    if (forMigrate) {
      mkdirSync(dirname(path), { recursive: true });
    } else if (!existsSync(path)) {
      throw new CliError(`${where} does not exist; create it with \`service-auth migrate\` (or set DATABASE_URL).`);
    }
    options = { type: 'better-sqlite3', database: path, timeout: 5_000, ...common };
  }

  let dataSource: DataSource;
  try {
    // The constructor loads the driver package (pg, mysql2): a missing one fails here, in one line.
    dataSource = new DataSource(options);
    await dataSource.initialize();
  } catch (error) {
    throw new CliError(`cannot connect to ${where}: ${firstLine(error)}`);
  }
  if (!forMigrate) {
    const table = dataSource.getMetadata(ApiKey).tableName;
    const runner = dataSource.createQueryRunner();
    let problem: string | undefined;
    try {
      if (!(await runner.hasTable(table))) {
        problem = `${where} has no ${table} table; create it with \`service-auth migrate\`.`;
      }
    } catch (error) {
      problem = `cannot read ${where}: ${firstLine(error)}`;
    } finally {
      await runner.release();
    }
    if (problem !== undefined) {
      await dataSource.destroy();
      throw new CliError(problem);
    }
  }
  return dataSource;
}
