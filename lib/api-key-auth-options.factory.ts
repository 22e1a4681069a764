import type { ThrottlerStorage } from '@nestjs/throttler';
import {
  DEFAULT_FAILED_ATTEMPTS,
  DEFAULT_KEY_CACHE,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_NONCE_MAX_ENTRIES,
  DEFAULT_RATE_LIMIT,
} from './api-key-auth.constants.js';
import { AllowedHosts } from './auth/allowed-hosts.js';
import { InvalidOptionError, MissingSecretError, WeakSecretError } from './api-key-auth-configuration.errors.js';
import { DEFAULT_API_KEY_LENGTH, MAX_API_KEY_LENGTH } from './keys/api-key.generator.js';
import { readSecretsFromEnv, type Env } from './config/environment.reader.js';
import type { ApiKeyAuthModuleOptions, SecretMode, SigningCredentials } from './api-key-auth-options.interface.js';
import type { ApiKeyStore } from './stores/api-key-store.interface.js';
import type { KeyInvalidationBus } from './stores/key-invalidation-bus.interface.js';
import type { NonceStore } from './stores/nonce-store.interface.js';
import { resolveObservabilityOptions, type ResolvedObservability } from './observability/observability-options.factory.js';
import { API_KEY_PATTERN } from './protocol/credentials.js';
import { DEFAULT_TOLERANCE_SECONDS, MIN_SECRET_LENGTH, SIGNATURE_SCHEMES, SignatureScheme } from './protocol/protocol.constants.js';

/** A rate limit after defaults: requests per window, and how long going over blocks. */
export interface ResolvedLimit {
  limit: number;
  ttlMs: number;
  blockDurationMs: number;
}

/** The options after defaults and validation; what the providers use. */
export interface ResolvedApiKeyAuthOptions {
  secrets: readonly string[];
  secretMode: SecretMode;
  schemes: ReadonlySet<SignatureScheme>;
  toleranceSeconds: number;
  allowedHosts: AllowedHosts | undefined;
  requireHttps: boolean;
  maxBodyBytes: number;
  rateLimit: ResolvedLimit | false;
  failedAttempts: ResolvedLimit | false;
  throttlerStorage: ThrottlerStorage | undefined;
  /** The app's own key store; `undefined`: the `api_keys` table. */
  keyStore: ApiKeyStore | undefined;
  keyCache: { ttlMs: number; negativeTtlMs: number; maxEntries: number; lookupTimeoutMs: number };
  keyInvalidation: KeyInvalidationBus | undefined;
  nonces: { store: NonceStore | undefined; maxEntries: number };
  signing: Required<SigningCredentials> | undefined;
  apiKeyLength: number;
  observability: ResolvedObservability;
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionError(option, `must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

/** `{ ...defaults, ...overrides }`, where an override left `undefined` keeps the default. */
function withDefaults<T extends object>(defaults: T, overrides: Partial<T> | undefined): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

function resolveLimit(
  option: string,
  value: { limit: number; ttlMs: number; blockDurationMs?: number } | false | undefined,
  defaults: { limit: number; ttlMs: number; blockDurationMs?: number },
): ResolvedLimit | false {
  if (value === false) return false;
  const merged = withDefaults<{ limit: number; ttlMs: number; blockDurationMs?: number }>(defaults, value);
  const ttlMs = positiveInteger(`${option}.ttlMs`, merged.ttlMs);
  return {
    limit: positiveInteger(`${option}.limit`, merged.limit),
    ttlMs,
    blockDurationMs: positiveInteger(`${option}.blockDurationMs`, merged.blockDurationMs ?? ttlMs),
  };
}

function validateSecrets(secrets: readonly string[]): void {
  if (secrets.length === 0) throw new MissingSecretError();
  secrets.forEach((secret, i) => {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
      throw new WeakSecretError(i, MIN_SECRET_LENGTH);
    }
  });
}

/** Validates caller credentials for SigningService. */
export function resolveSigning(signing: SigningCredentials | undefined): Required<SigningCredentials> | undefined {
  if (!signing) return undefined;
  if (!API_KEY_PATTERN.test(signing.apiKey ?? '')) {
    throw new InvalidOptionError('signing.apiKey', 'must be 16 to 128 characters of [A-Za-z0-9_-].');
  }
  if (typeof signing.secret !== 'string' || signing.secret.length < MIN_SECRET_LENGTH) {
    throw new InvalidOptionError('signing.secret', `must be at least ${MIN_SECRET_LENGTH} characters.`);
  }
  const scheme = signing.scheme ?? 'v1';
  if (!SIGNATURE_SCHEMES.includes(scheme)) {
    throw new InvalidOptionError('signing.scheme', `must be 'v1', 'rfc9421' or 'v0', got '${String(scheme)}'.`);
  }
  return { apiKey: signing.apiKey, secret: signing.secret, scheme };
}

/**
 * Applies defaults (including the `API_SHARED_SECRET*` environment variables)
 * and validates everything, throwing a named configuration error so that the
 * app refuses to start rather than run half-configured.
 */
export function resolveApiKeyAuthOptions(options: ApiKeyAuthModuleOptions = {}, env: Env = process.env): ResolvedApiKeyAuthOptions {
  const secrets = options.secrets ?? readSecretsFromEnv(env);
  if (!Array.isArray(secrets)) {
    throw new InvalidOptionError('secrets', 'must be an array of strings, current secret first.');
  }
  validateSecrets(secrets);

  const secretMode = options.secretMode ?? 'shared';
  if (secretMode !== 'shared' && secretMode !== 'derived') {
    throw new InvalidOptionError('secretMode', `must be 'shared' or 'derived', got '${String(secretMode)}'.`);
  }

  const schemes = options.schemes ?? ['v1'];
  if (!Array.isArray(schemes) || schemes.length === 0 || schemes.some((s) => !SIGNATURE_SCHEMES.includes(s))) {
    throw new InvalidOptionError('schemes', `must list one or more of 'v1', 'rfc9421' and 'v0', got ${JSON.stringify(schemes)}.`);
  }

  const toleranceSeconds = positiveInteger('toleranceSeconds', options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);

  const keyCache = withDefaults(DEFAULT_KEY_CACHE, options.keyCache);
  positiveInteger('keyCache.ttlMs', keyCache.ttlMs);
  positiveInteger('keyCache.negativeTtlMs', keyCache.negativeTtlMs);
  positiveInteger('keyCache.maxEntries', keyCache.maxEntries);
  positiveInteger('keyCache.lookupTimeoutMs', keyCache.lookupTimeoutMs);

  return {
    secrets: Object.freeze([...secrets]),
    secretMode,
    schemes: new Set(schemes),
    toleranceSeconds,
    allowedHosts: options.allowedHosts === undefined ? undefined : new AllowedHosts(options.allowedHosts),
    requireHttps: options.requireHttps ?? false,
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES),
    rateLimit: resolveLimit('rateLimit', options.rateLimit, DEFAULT_RATE_LIMIT),
    failedAttempts: resolveLimit('failedAttempts', options.failedAttempts, DEFAULT_FAILED_ATTEMPTS),
    throttlerStorage: options.throttlerStorage,
    keyStore: resolveKeyStore(options.keyStore),
    keyCache,
    keyInvalidation: options.keyInvalidation,
    nonces: {
      store: options.nonces?.store,
      maxEntries: positiveInteger('nonces.maxEntries', options.nonces?.maxEntries ?? DEFAULT_NONCE_MAX_ENTRIES),
    },
    signing: resolveSigning(options.signing),
    apiKeyLength: resolveApiKeyLength(options.apiKeyLength),
    observability: resolveObservabilityOptions(options.observability),
  };
}

function resolveKeyStore(store: ApiKeyStore | undefined): ApiKeyStore | undefined {
  if (store === undefined) return undefined;
  if (typeof (store as Partial<ApiKeyStore> | null)?.findByKey !== 'function') {
    throw new InvalidOptionError(
      'keyStore',
      "must be an ApiKeyStore: an object with a findByKey(apiKey) method that resolves to the key's record or null. " +
        'Leave it out to read keys from the api_keys table.',
    );
  }
  return store;
}

function resolveApiKeyLength(value: number | undefined): number {
  if (value === undefined) return DEFAULT_API_KEY_LENGTH;
  if (!Number.isSafeInteger(value) || value < DEFAULT_API_KEY_LENGTH || value > MAX_API_KEY_LENGTH) {
    throw new InvalidOptionError(
      'apiKeyLength',
      `must be an integer from ${DEFAULT_API_KEY_LENGTH} to ${MAX_API_KEY_LENGTH}, got ${String(value)}.`,
    );
  }
  return value;
}
