/**
 * A key's own rate limit (`api_keys.rate_limit`): `limit` requests per
 * `ttlMs`; a key that goes over it is refused for `ttlMs`.
 */
export interface KeyRateLimit {
  /** Requests allowed within `ttlMs`. */
  limit: number;
  /** Length of the counting window, in milliseconds. */
  ttlMs: number;
}

/** What the guard needs to know about a key. */
export interface ApiKeyRecord {
  apiKey: string;
  serviceName: string;
  revokedAt: Date | null;
  expiresAt: Date | null;
  /**
   * The key's own rate limit, in place of the app's default: the module's
   * `rateLimit`, and the `ServiceAuthThrottlerGuard`'s `default` throttler.
   * `null` or absent: the default applies.
   */
  rateLimit?: KeyRateLimit | null;
}

/** Whether a key may authenticate at `now`. */
export function isKeyActive(record: ApiKeyRecord, now: number): boolean {
  if (record.revokedAt !== null) return false;
  return record.expiresAt === null || record.expiresAt.getTime() > now;
}
