import type { ThrottlerStorage } from '@nestjs/throttler';
import type { NonceStore } from './nonce-store.interface.js';

/** What `ThrottlerStorage.increment` resolves to (not exported by @nestjs/throttler's entry point). */
export type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A rate-limit counter increment, in the arguments of `ThrottlerStorage.increment`. */
export interface CounterIncrement {
  key: string;
  ttlMs: number;
  limit: number;
  blockDurationMs: number;
  throttlerName: string;
}

/**
 * A store that keeps both nonces and rate-limit counters and can record a
 * nonce and count the request in one round trip. When the same object is
 * given as `nonces.store` and `throttlerStorage`, the guard uses this.
 */
export interface NonceAndRateLimitStore extends NonceStore, ThrottlerStorage {
  /**
   * Records the nonce (as `recordOnce`) and, only when it is new, increments
   * the counter (as `increment`), atomically.
   * @returns `{ fresh: false }` for a replayed nonce, else the counter's record.
   */
  recordNonceAndIncrement(
    nonceKey: string,
    nonceExpiresAtSeconds: number,
    counter: CounterIncrement,
  ): Promise<{ fresh: false } | { fresh: true; record: ThrottlerRecord }>;
}

export function isNonceAndRateLimitStore(value: unknown): value is NonceAndRateLimitStore {
  return typeof (value as Partial<NonceAndRateLimitStore> | undefined)?.recordNonceAndIncrement === 'function';
}
