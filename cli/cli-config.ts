import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
// Light modules only (no Nest, no TypeORM), so that usage errors and --help answer fast.
import type { ApiKeyServiceOptions, SecretMode } from '../lib/index.js';
import { CliError, UsageError } from './cli.error.js';
import {
  envValue,
  EnvironmentError,
  parseDatabaseUrl,
  parseRedisUrl,
  parseSecretMode,
  readSecrets,
  type DatabaseConfig,
  type Env,
  DEFAULT_SQLITE_PATH,
} from './environment.parser.js';

export { describeDatabase, DEFAULT_SQLITE_PATH } from './environment.parser.js';

/** Where the key table lives. */
export type CliDatabase = DatabaseConfig;

/** The CLI's environment, parsed and checked: the same variables as the sample app. */
export interface CliConfig {
  database: CliDatabase;
  /** True when DATABASE_URL is unset, so that `database` is the default SQLite file. */
  databaseIsDefault: boolean;
  secretMode: SecretMode;
  /** API_SHARED_SECRET then API_SHARED_SECRET_PREVIOUS; empty when unset. */
  secrets: string[];
  /** REDIS_URL: where key changes are announced to running instances; undefined when unset. */
  redisUrl?: string;
}

/**
 * Reads DATABASE_URL (`sqlite:<file>` or `mysql://user:pass@host:port/db`,
 * default `sqlite:.data/app.sqlite`), API_SHARED_SECRET,
 * API_SHARED_SECRET_PREVIOUS (comma-separated), API_SECRET_MODE
 * (`shared` or `derived`) and REDIS_URL (optional).
 * @throws UsageError on the first bad value; its message never holds a secret.
 */
export function loadCliConfig(env: Env = process.env): CliConfig {
  try {
    return {
      database: parseDatabaseUrl(envValue(env, 'DATABASE_URL')),
      databaseIsDefault: envValue(env, 'DATABASE_URL') === undefined,
      secretMode: parseSecretMode(envValue(env, 'API_SECRET_MODE')),
      secrets: readSecrets(env),
      redisUrl: parseRedisUrl(envValue(env, 'REDIS_URL')),
    };
  } catch (error) {
    if (error instanceof EnvironmentError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The options ApiKeyService runs with (`ApiKeyService.forRepository` validates
 * them as the app does). `needsSecret`: the command hands out a key's secret,
 * which in `derived` mode needs the master secret.
 */
export function cliKeyServiceOptions(config: CliConfig, needsSecret: boolean): ApiKeyServiceOptions {
  if (config.secrets.length === 0 && needsSecret && config.secretMode === 'derived') {
    throw new UsageError(
      "API_SECRET_MODE=derived: set API_SHARED_SECRET to the master secret, from which the new key's secret is derived.",
    );
  }
  // Without a secret, nothing is derived or signed: a throwaway value only satisfies the validation.
  if (config.secrets.length === 0) return { secrets: [randomBytes(32).toString('base64url')], secretMode: 'shared' };
  return { secrets: config.secrets, secretMode: config.secretMode };
}

/**
 * Checks, before connecting, that the SQLite file of a key command exists:
 * a key written to a file the app does not read would be refused by the app.
 * The message names DATABASE_URL first and never suggests creating the
 * default file, which the app may not use.
 * @throws CliError (exit 1)
 */
export function assertKeyDatabaseExists(config: CliConfig, cwd: string = process.cwd()): void {
  if (config.database.type !== 'sqlite') return;
  const file = resolve(cwd, config.database.path);
  if (existsSync(file)) return;
  if (config.databaseIsDefault) {
    throw new CliError(
      `DATABASE_URL is not set, and the default database, the SQLite file ${DEFAULT_SQLITE_PATH} (here ${file}), does not exist. ` +
        "Set DATABASE_URL to your app's database (sqlite:<file> or mysql://user:pass@host:port/db), or run this in your app's " +
        'folder once the app has started (an app set up as in the README creates that file).',
    );
  }
  throw new CliError(
    `DATABASE_URL names the SQLite file ${file}, which does not exist. Set DATABASE_URL to your app's database; ` +
      'only if your app uses this very file, create it with `service-auth migrate`.',
  );
}
