import { Command } from 'commander';
import { describeDatabase, loadCliConfig } from '../cli-config.js';
import { print, printJson } from '../cli-output.js';
import { CliError, firstLine } from '../cli.error.js';

/** `service-auth migrate`: runs the module's migrations (`apiKeyAuthMigrations`) on the configured database. */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('create or upgrade the api_keys table in the DATABASE_URL database')
    .option('--json', 'print {"database", "applied": [migration names]}')
    .action(async (options: { json?: boolean }) => {
      const config = loadCliConfig();
      const where = describeDatabase(config.database);
      // TypeORM is loaded only when a command needs the database.
      const { openDataSource } = await import('../data-source.factory.js');
      const dataSource = await openDataSource(config, true);
      let applied: string[];
      try {
        applied = (await dataSource.runMigrations({ transaction: 'each' })).map((migration) => migration.name);
      } catch (error) {
        throw new CliError(`migrating ${where} failed: ${firstLine(error)}`);
      } finally {
        await dataSource.destroy();
      }
      if (options.json) printJson({ database: where, applied });
      else if (applied.length === 0) print(`${where} is up to date.`);
      else print([`Migrated ${where}:`, ...applied.map((name) => `  applied ${name}`)].join('\n'));
    });
}
