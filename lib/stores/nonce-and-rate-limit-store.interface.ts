import type { ThrottlerStorage } from '@nestjs/throttler';
import type { NonceStore } from './nonce-store.interface.js';

/** What `ThrottlerStorage.increment` resolves to (not exported by @nestjs/throttler's entry point). */
export type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** PROTOCOL.md steps 6 and 7 for one authenticated request, as one store call. */
export interface Admission {
  /** The caller's API key: the counter is the one `increment(apiKey, ttlMs, limit, blockDurationMs, throttlerName)` keeps. */
  apiKey: string;
  nonce: string;
  /** Unix seconds by this app's clock until which the nonce is kept (inclusive); see `NonceStore.recordOnce`. */
  nonceExpiresAtSeconds: number;
  limit: number;
  ttlMs: number;
  blockDurationMs: number;
  throttlerName: string;
}

/**
 * - `rate_limited`: the key is blocked, or this request would go over the
 *   limit (which blocks it); no nonce was recorded.
 * - `replayed`: the nonce was recorded before; the request was not counted.
 * - `admitted`: the nonce is now recorded and the request counted.
 */
export type AdmissionResult =
  { outcome: 'admitted'; record: ThrottlerRecord } | { outcome: 'rate_limited'; record: ThrottlerRecord } | { outcome: 'replayed' };

/**
 * A store that keeps both nonces and rate-limit counters and admits a
 * request in one atomic step (one round trip for a remote store). When the
 * same object is given as `nonces.store` and `throttlerStorage`, the module
 * uses this.
 */
export interface NonceAndRateLimitStore extends NonceStore, ThrottlerStorage {
  /**
   * In this order, atomically: a blocked key, or a request that would go over
   * the limit, is `rate_limited` (and records no nonce); a nonce already
   * recorded is `replayed` (and is not counted); else the nonce is recorded
   * and the request counted.
   * @throws (or rejects) when the store cannot answer: the request is refused with 503.
   */
  admit(admission: Admission): AdmissionResult | Promise<AdmissionResult>;
}

export function isNonceAndRateLimitStore(value: unknown): value is NonceAndRateLimitStore {
  return typeof (value as Partial<NonceAndRateLimitStore> | undefined)?.admit === 'function';
}
