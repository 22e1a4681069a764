import { randomBytes } from 'node:crypto';
import { ApiKeyAuthConfigurationError, type ApiKeyAuthModuleOptions, type SecretMode, type SignatureScheme } from '../../../lib/index.js';
import { resolveApiKeyAuthOptions } from '../../../lib/api-key-auth-options.factory.js';
import {
  describeDatabase,
  envList,
  envValue,
  EnvironmentError,
  parseDatabaseUrl,
  parseRedisUrl,
  parseSecretMode,
  readSecrets,
  type DatabaseConfig,
  type Env,
} from '../../../cli/environment.parser.js';

export { describeDatabase, type DatabaseConfig };

/** Injection token of the sample's configuration (see AppModule.forRoot). */
export const SAMPLE_CONFIG = Symbol('SAMPLE_CONFIG');

export type HttpAdapterName = 'express' | 'fastify';

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
  schemes: SignatureScheme[];
  rateLimitPerMinute: number;
  /** How long a looked-up key is cached; undefined keeps the module's default. */
  keyCacheTtlMs?: number;
  /** Redis for nonces, rate limits and revocations shared by instances; undefined keeps them in memory. */
  redisUrl?: string;
  /** Serve HTTPS with this certificate and key (PEM files); undefined serves plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Refuse plain-HTTP requests (the module's `requireHttps`). Default: true when serving HTTPS. */
  requireHttps: boolean;
  /** Host names signed requests must be meant for (the module's `allowedHosts`). */
  allowedHosts: string[];
}

/** A bad environment value. Its message is one line that says what to fix. */
export class SampleConfigError extends Error {
  constructor(message: string) {
    super(`Invalid configuration: ${message}`);
    this.name = 'SampleConfigError';
  }
}

/**
 * Reads the sample's configuration from environment variables:
 *
 * | variable | default |
 * | --- | --- |
 * | HOST, PORT | 127.0.0.1, 3000 |
 * | HTTP_ADAPTER | express (or fastify) |
 * | DATABASE_URL | sqlite:.data/app.sqlite (or mysql://, postgres://user:pass@host:port/db) |
 * | API_SHARED_SECRET | a random throwaway secret, development only |
 * | API_SHARED_SECRET_PREVIOUS | none (comma-separated list) |
 * | API_SECRET_MODE | shared (or derived) |
 * | API_AUTH_SCHEMES | v1 (comma-separated: v1, rfc9421, v0) |
 * | RATE_LIMIT_PER_MINUTE | 600 |
 * | KEY_CACHE_TTL_MS | the module's default (30000) |
 * | ALLOWED_HOSTS | HOST:PORT and localhost:PORT (comma-separated; with PORT=0, any port) |
 *
 * @throws SampleConfigError on the first bad value.
 */
export function loadSampleConfig(env: Env = process.env): SampleConfig {
  const value = (name: string) => envValue(env, name);
  let secrets: string[];
  let config: SampleConfig;
  try {
    secrets = readSecrets(env);
    if (secrets.length === 0 && env.NODE_ENV === 'production') {
      throw new SampleConfigError('API_SHARED_SECRET must be set when NODE_ENV=production.');
    }
    config = {
      host: value('HOST') ?? '127.0.0.1',
      port: integer('PORT', value('PORT') ?? '3000', 0, 65_535),
      httpAdapter: oneOf('HTTP_ADAPTER', value('HTTP_ADAPTER') ?? 'express', ['express', 'fastify'] as const),
      database: parseDatabaseUrl(value('DATABASE_URL')),
      // The harness only: without a secret it invents one, as the example of `npm start` does.
      // The module itself refuses to start without a secret.
      sharedSecret: secrets[0] ?? randomBytes(32).toString('base64url'),
      secretGenerated: secrets.length === 0,
      previousSecrets: secrets.slice(1),
      secretMode: parseSecretMode(value('API_SECRET_MODE')),
      schemes: parseSchemes(value('API_AUTH_SCHEMES') ?? 'v1'),
      rateLimitPerMinute: integer('RATE_LIMIT_PER_MINUTE', value('RATE_LIMIT_PER_MINUTE') ?? '600', 1),
      keyCacheTtlMs: value('KEY_CACHE_TTL_MS') === undefined ? undefined : integer('KEY_CACHE_TTL_MS', value('KEY_CACHE_TTL_MS')!, 1),
      redisUrl: parseRedisUrl(value('REDIS_URL')),
      tls: parseTls(value('TLS_CERT_FILE'), value('TLS_KEY_FILE')),
      requireHttps: false,
      allowedHosts: [],
    };
    const allowedHosts = value('ALLOWED_HOSTS');
    config.allowedHosts = allowedHosts === undefined ? defaultAllowedHosts(config) : envList(allowedHosts);
    config.requireHttps = boolean('REQUIRE_HTTPS', value('REQUIRE_HTTPS'), config.tls !== undefined);
  } catch (error) {
    if (error instanceof EnvironmentError) throw new SampleConfigError(error.message);
    throw error;
  }

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
    requireHttps: config.requireHttps,
    allowedHosts: config.allowedHosts,
    ...(config.keyCacheTtlMs !== undefined && { keyCache: { ttlMs: config.keyCacheTtlMs } }),
  };
}

/** This sample's own host and port, as its callers sign them; any port when it listens on a random one. */
function defaultAllowedHosts(config: SampleConfig): string[] {
  const suffix = config.port === 0 ? '' : `:${config.port}`;
  return [...new Set([`${config.host}${suffix}`, `localhost${suffix}`])];
}

function parseTls(certFile: string | undefined, keyFile: string | undefined): SampleConfig['tls'] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new SampleConfigError('set both TLS_CERT_FILE and TLS_KEY_FILE to serve HTTPS, or neither.');
  }
  return { certFile, keyFile };
}

function boolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new SampleConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}.`);
}

function parseSchemes(raw: string): SignatureScheme[] {
  const schemes = envList(raw).map((s) => oneOf('API_AUTH_SCHEMES', s, ['v1', 'rfc9421', 'v0'] as const));
  if (schemes.length === 0) throw new SampleConfigError('API_AUTH_SCHEMES must list one or more of v1, rfc9421, v0.');
  return [...new Set(schemes)];
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
