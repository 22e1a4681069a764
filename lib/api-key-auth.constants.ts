/** Injection token of the validated, defaulted options. */
export const API_KEY_AUTH_RESOLVED_OPTIONS = Symbol('API_KEY_AUTH_RESOLVED_OPTIONS');
/** Injection token of the `ApiKeyStore` the guard reads keys from. */
export const API_KEY_STORE = Symbol('API_KEY_STORE');
/** Injection token of the `NonceStore`. */
export const NONCE_STORE = Symbol('API_KEY_AUTH_NONCE_STORE');
/** Injection token of SigningService's validated credentials (may be undefined). */
export const SIGNING_CREDENTIALS = Symbol('API_KEY_AUTH_SIGNING_CREDENTIALS');
/** Injection token of the module's own `ThrottlerStorage` (never the host app's). */
export const API_KEY_THROTTLER_STORAGE = Symbol('API_KEY_AUTH_THROTTLER_STORAGE');

export const IS_PUBLIC_KEY = 'service-auth:is-public';
export const ALLOWED_SERVICES_KEY = 'service-auth:allowed-services';
export const RATE_LIMIT_KEY = 'service-auth:rate-limit';

export const THROTTLER_NAME_PER_KEY = 'service-auth-key';
export const THROTTLER_NAME_FAILURES = 'service-auth-failures';

export const DEFAULT_RATE_LIMIT = { limit: 600, ttlMs: 60_000 };
/** `blockDurationMs` defaults to `ttlMs` (see FailedAttemptLimitOptions), i.e. blocked for a minute. */
export const DEFAULT_FAILED_ATTEMPTS = { limit: 30, ttlMs: 60_000 };
export const DEFAULT_KEY_CACHE = { ttlMs: 30_000, negativeTtlMs: 5_000, maxEntries: 10_000, lookupTimeoutMs: 1_000 };
export const DEFAULT_NONCE_MAX_ENTRIES = 1_000_000;
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** Service names: 1 to 64 characters of `[a-z0-9._-]`, starting with a letter or digit. */
export const SERVICE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
