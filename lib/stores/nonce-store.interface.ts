/**
 * Remembers `(apiKey, nonce)` pairs until they expire, so that a signed request
 * cannot be accepted twice. Implementations must be atomic: of two concurrent
 * calls with the same key, exactly one may return `true`. A store must never
 * forget an unexpired nonce: one that is full, or that may evict entries,
 * refuses to record (throws) rather than forget.
 */
export interface NonceStore {
  /**
   * Records `key` until `expiresAtSeconds` (Unix seconds by this app's clock,
   * inclusive). A store that expires entries on another clock (Redis) must
   * convert it to a relative time-to-live by this app's clock.
   * @returns `true` when newly recorded, `false` when already present; an
   *   in-memory store answers at once, a remote one with a promise.
   * @throws (or rejects) when the store cannot record it (unreachable, full): the request is refused.
   */
  recordOnce(key: string, expiresAtSeconds: number): boolean | Promise<boolean>;

  /**
   * Unix seconds from which on this store holds every nonce it recorded; a
   * nonce-carrying request signed earlier is refused with `401
   * stale_timestamp` (PROTOCOL.md step 2), since it may have been accepted
   * before the store lost its nonces. An in-memory store: the time it was
   * made. `undefined`: the store outlives the app (nothing to refuse).
   */
  readonly rememberedSinceSeconds?: number;

  /**
   * Called once while the app starts. Rejects with a named
   * `ApiKeyAuthConfigurationError` when the store cannot be used safely (for
   * Redis: an evicting `maxmemory-policy`), so the app does not start.
   */
  checkUsable?(): Promise<void>;
}
