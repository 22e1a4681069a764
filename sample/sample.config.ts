import { randomBytes } from 'node:crypto';
import {
  ApiKeyAuthConfigurationError,
  resolveApiKeyAuthOptions,
  type ApiKeyAuthModuleOptions,
  type SecretMode,
  type protocol,
} from '../lib/index.js';

/** Injection token of the sample's configuration (see AppModule.forRoot). */
export const SAMPLE_CONFIG = Symbol('SAMPLE_CONFIG');

export type HttpAdapterName = 'express' | 'fastify';

export type DatabaseConfig =
  | { type: 'sqlite'; path: string }
  | { type: 'mysql'; url: string };

/** Everything the sample reads from the environment, parsed and checked. */
export interface SampleConfig {
  host: string;
  port: number;
  httpAdapter: HttpAdapterName;
  database: DatabaseConfig;
  /** The current shared secret (in `derived` mode: the master secret). */
  sharedSecret: string;
  /** True when API_SHARED_SECRET was unset and a throwaway secret was generated. */
  secretGenerated: boolean;
  /** Previous secrets still accepted during a rotation. */
  previousSecrets: string[];
  secretMode: SecretMode;
  schemes: protocol.SignatureScheme[];
  rateLimitPerMinute: number;
  /** How long a looked-up key is cached; undefined keeps the module's default. */
  keyCacheTtlMs?: number;
}

/** A bad environment value. Its message is one line that says what to fix. */
export class SampleConfigError extends Error {
  constructor(message: string) {
    super(`Invalid configuration: ${message}`);
    this.name = 'SampleConfigError';
  }
}

type Env = Record<string, string | undefined>;

export const DEFAULT_SQLITE_PATH = '.data/sample.sqlite';

/**
 * Reads the sample's configuration from environment variables:
 *
 * | variable | default |
 * | --- | --- |
 * | HOST, PORT | 127.0.0.1, 3000 |
 * | HTTP_ADAPTER | express (or fastify) |
 * | DATABASE_URL | sqlite:.data/sample.sqlite (or mysql://user:pass@host:port/db) |
 * | API_SHARED_SECRET | a random throwaway secret, development only |
 * | API_SHARED_SECRET_PREVIOUS | none (comma-separated list) |
 * | API_SECRET_MODE | shared (or derived) |
 * | API_AUTH_SCHEMES | v1 (comma-separated: v1, v0) |
 * | RATE_LIMIT_PER_MINUTE | 600 |
 * | KEY_CACHE_TTL_MS | the module's default (30000) |
 *
 * @throws SampleConfigError on the first bad value.
 */
export function loadSampleConfig(env: Env = process.env): SampleConfig {
  const value = (name: string): string | undefined => env[name]?.trim() || undefined;

  const currentSecret = value('API_SHARED_SECRET');
  const previousSecrets = list(value('API_SHARED_SECRET_PREVIOUS'));
  if (!currentSecret && previousSecrets.length > 0) {
    throw new SampleConfigError('API_SHARED_SECRET_PREVIOUS is set but API_SHARED_SECRET is not.');
  }
  if (!currentSecret && env.NODE_ENV === 'production') {
    throw new SampleConfigError('API_SHARED_SECRET must be set when NODE_ENV=production.');
  }

  const config: SampleConfig = {
    host: value('HOST') ?? '127.0.0.1',
    port: integer('PORT', value('PORT') ?? '3000', 0, 65_535),
    httpAdapter: oneOf('HTTP_ADAPTER', value('HTTP_ADAPTER') ?? 'express', ['express', 'fastify'] as const),
    database: parseDatabaseUrl(value('DATABASE_URL')),
    // The sample only: without a secret it invents one so that `npm start` just works.
    // The module itself refuses to start without a secret.
    sharedSecret: currentSecret ?? randomBytes(32).toString('base64url'),
    secretGenerated: !currentSecret,
    previousSecrets,
    secretMode: oneOf('API_SECRET_MODE', value('API_SECRET_MODE') ?? 'shared', ['shared', 'derived'] as const),
    schemes: parseSchemes(value('API_AUTH_SCHEMES') ?? 'v1'),
    rateLimitPerMinute: integer('RATE_LIMIT_PER_MINUTE', value('RATE_LIMIT_PER_MINUTE') ?? '600', 1),
    keyCacheTtlMs: value('KEY_CACHE_TTL_MS') === undefined ? undefined : integer('KEY_CACHE_TTL_MS', value('KEY_CACHE_TTL_MS')!, 1),
  };

  [config.sharedSecret, ...config.previousSecrets].forEach((secret, i) => {
    if (secret.length < 32) {
      const name = i === 0 ? 'API_SHARED_SECRET' : `API_SHARED_SECRET_PREVIOUS (entry ${i})`;
      // Never echo a secret, not even a wrong one.
      throw new SampleConfigError(`${name} must be at least 32 characters (it has ${secret.length}); try \`openssl rand -base64 48\`.`);
    }
  });

  // Let the module check the options it will get, so that a mistake shows up
  // here as one line rather than later as a stack trace from Nest's startup.
  try {
    resolveApiKeyAuthOptions(apiKeyAuthOptions(config), {});
  } catch (error) {
    if (error instanceof ApiKeyAuthConfigurationError) throw new SampleConfigError(error.message);
    throw error;
  }
  return config;
}

/** The options ApiKeyAuthModule gets (used by AppModule's `useFactory`). */
export function apiKeyAuthOptions(config: SampleConfig): ApiKeyAuthModuleOptions {
  return {
    secrets: [config.sharedSecret, ...config.previousSecrets],
    secretMode: config.secretMode,
    schemes: config.schemes,
    rateLimit: { limit: config.rateLimitPerMinute, ttlMs: 60_000 },
    ...(config.keyCacheTtlMs !== undefined && { keyCache: { ttlMs: config.keyCacheTtlMs } }),
  };
}

/** The database for log lines: never the password. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.type === 'sqlite') return `SQLite ${database.path}`;
  const url = new URL(database.url);
  return `MySQL/MariaDB ${url.host}${url.pathname}`;
}

function parseDatabaseUrl(raw: string | undefined): DatabaseConfig {
  if (raw === undefined) return { type: 'sqlite', path: DEFAULT_SQLITE_PATH };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (!path) throw new SampleConfigError('DATABASE_URL sqlite:<file> needs a file path, e.g. sqlite:.data/sample.sqlite.');
    return { type: 'sqlite', path };
  }
  if (raw.startsWith('mysql://')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SampleConfigError('DATABASE_URL is not a valid URL; expected mysql://user:pass@host:port/db.');
    }
    if (!url.hostname || url.pathname.length <= 1) {
      throw new SampleConfigError('DATABASE_URL needs a host and a database name: mysql://user:pass@host:port/db.');
    }
    return { type: 'mysql', url: raw };
  }
  throw new SampleConfigError('DATABASE_URL must be sqlite:<file> or mysql://user:pass@host:port/db.');
}

function parseSchemes(raw: string): protocol.SignatureScheme[] {
  const schemes = list(raw).map((s) => oneOf('API_AUTH_SCHEMES', s, ['v1', 'v0'] as const));
  if (schemes.length === 0) throw new SampleConfigError('API_AUTH_SCHEMES must list v1 and/or v0.');
  return [...new Set(schemes)];
}

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function integer(name: string, raw: string, min: number, max?: number): number {
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
    throw new SampleConfigError(`${name} must be an integer ${range}, got ${JSON.stringify(raw)}.`);
  }
  return n;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new SampleConfigError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}.`);
  }
  return raw as T;
}
