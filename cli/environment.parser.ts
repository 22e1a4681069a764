// Parsing of the environment variables that the CLI and the sample app share.
// Light on purpose (no Nest, no TypeORM), so that usage errors answer fast.
import type { SecretMode } from '../lib/index.js';
import { MIN_SECRET_LENGTH } from '../lib/protocol/index.js';
import { readSecretsFromEnv, type Env } from '../lib/config/environment.reader.js';

/** A bad environment variable. The message names it and never holds a secret. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

export { envList, envValue, type Env } from '../lib/config/environment.reader.js';

/** Where the key table lives. */
export type DatabaseConfig = { type: 'sqlite'; path: string } | { type: 'mysql'; url: string } | { type: 'postgres'; url: string };

/** DATABASE_URL's default (relative to the working directory): the file of the README's app, the CLI and the sample alike. */
export const DEFAULT_SQLITE_PATH = '.data/app.sqlite';

const DATABASE_URL_FORMS = 'sqlite:<file>, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db';

/** Server URL schemes of DATABASE_URL, and the database each names. */
const SERVER_SCHEMES: Record<string, 'mysql' | 'postgres'> = {
  'mysql:': 'mysql',
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
};

/**
 * DATABASE_URL: `sqlite:<file>`, `mysql://user:pass@host:port/db`, or
 * `postgres://` / `postgresql://user:pass@host:port/db`; default the SQLite file above.
 */
export function parseDatabaseUrl(raw: string | undefined): DatabaseConfig {
  if (raw === undefined) return { type: 'sqlite', path: DEFAULT_SQLITE_PATH };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (!path) throw new EnvironmentError('DATABASE_URL sqlite:<file> needs a file path, e.g. sqlite:.data/sample.sqlite.');
    return { type: 'sqlite', path };
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/.exec(raw)?.[0];
  const type = scheme !== undefined && Object.hasOwn(SERVER_SCHEMES, scheme) ? SERVER_SCHEMES[scheme] : undefined;
  if (type === undefined) throw new EnvironmentError(`DATABASE_URL must be ${DATABASE_URL_FORMS}.`);
  const example = `${scheme}//user:pass@host:port/db`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EnvironmentError(`DATABASE_URL is not a valid URL; expected ${example}.`);
  }
  if (!url.hostname || url.pathname.length <= 1) {
    throw new EnvironmentError(`DATABASE_URL needs a host and a database name: ${example}.`);
  }
  return { type, url: raw };
}

/** The database for messages: never the password. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.type === 'sqlite') return `SQLite ${database.path}`;
  const url = new URL(database.url);
  return `${database.type === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} ${url.host}${url.pathname}`;
}

/** REDIS_URL: `redis://[:password@]host:port[/db]` (or `rediss://`); undefined when unset. */
export function parseRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^rediss?:\/\/[^/\s]+/.test(raw)) {
    throw new EnvironmentError('REDIS_URL must look like redis://[:password@]host:port[/db].');
  }
  return raw;
}

/**
 * The library's readSecretsFromEnv (API_SHARED_SECRET then the comma-separated
 * API_SHARED_SECRET_PREVIOUS), each at least 32 characters, named in the error.
 * A previous secret without a current one is refused with the module's message.
 */
export function readSecrets(env: Env): string[] {
  let secrets: string[];
  try {
    secrets = readSecretsFromEnv(env);
  } catch (error) {
    // PreviousSecretWithoutCurrentError: a usage error here, with the same message.
    throw new EnvironmentError(error instanceof Error ? error.message : String(error));
  }
  secrets.forEach((secret, i) => {
    if (secret.length < MIN_SECRET_LENGTH) {
      const name = i === 0 ? 'API_SHARED_SECRET' : `API_SHARED_SECRET_PREVIOUS (entry ${i})`;
      throw new EnvironmentError(
        `${name} must be at least ${MIN_SECRET_LENGTH} characters (it has ${secret.length}); try \`openssl rand -base64 48\`.`,
      );
    }
  });
  return secrets;
}

/** API_SECRET_MODE: `shared` (default) or `derived`. */
export function parseSecretMode(raw: string | undefined): SecretMode {
  const mode = raw ?? 'shared';
  if (mode !== 'shared' && mode !== 'derived') {
    throw new EnvironmentError(`API_SECRET_MODE must be shared or derived, got ${JSON.stringify(mode)}.`);
  }
  return mode;
}
