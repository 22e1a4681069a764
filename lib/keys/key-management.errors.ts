/** A key-management call (`ApiKeyService`) was given input it cannot act on. The message says what to fix. */
export class ApiKeyManagementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A service name outside `[a-z0-9][a-z0-9._-]{0,63}`. */
export class InvalidServiceNameError extends ApiKeyManagementError {
  constructor(name: unknown) {
    super(`Invalid service name ${JSON.stringify(String(name))}: use 1 to 64 characters of [a-z0-9._-], starting with a letter or digit.`);
  }
}

/** An expiry that is not a valid date, or a rotation overlap that is not a whole number of milliseconds >= 0. */
export class InvalidExpiryError extends ApiKeyManagementError {}

/** `rotate()` was called for a service that has no active key: there is nothing to rotate (a typo?). */
export class NoActiveKeyError extends ApiKeyManagementError {
  constructor(readonly serviceName: string) {
    super(`Service "${serviceName}" has no active API key to rotate; issue its first key with create().`);
  }
}

/**
 * A key rate limit that is not `limit` requests (1 to 1 000 000 000) per
 * `ttlMs` (1 ms to 366 days), given to `ApiKeyService` or found in the
 * `api_keys.rate_limit` column.
 */
export class InvalidRateLimitError extends ApiKeyManagementError {}
