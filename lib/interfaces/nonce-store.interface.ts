/**
 * Remembers `(apiKey, nonce)` pairs until they expire, so that a signed request
 * cannot be accepted twice. Implementations must be atomic: of two concurrent
 * calls with the same key, exactly one may return `true`.
 */
export interface NonceStore {
  /**
   * Records `key` until `expiresAtSeconds` (Unix seconds, inclusive).
   * @returns `true` when newly recorded, `false` when already present; an
   *   in-memory store answers at once, a remote one with a promise.
   * @throws (or rejects) when the store cannot record it (unreachable, full): the request is refused.
   */
  recordOnce(key: string, expiresAtSeconds: number): boolean | Promise<boolean>;
}
