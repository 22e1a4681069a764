import type { NonceStore } from '../interfaces/nonce-store.interface.js';

/** Thrown when the in-memory nonce store is full of unexpired nonces. */
export class NonceStoreFullError extends Error {
  constructor(maxEntries: number) {
    super(`in-memory nonce store is full (${maxEntries} unexpired nonces)`);
    this.name = 'NonceStoreFullError';
  }
}

/**
 * Per-process nonce store. Bounded, and never forgets an unexpired nonce (that
 * would reopen replay): when full it throws, and the guard answers 503.
 * Nonces are kept in per-second buckets, so expiring them costs only the
 * entries that expire.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly expiries = new Map<string, number>();
  private readonly buckets = new Map<number, string[]>();
  private oldestBucket = Number.POSITIVE_INFINITY;

  constructor(
    readonly maxEntries: number,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  get size(): number {
    return this.expiries.size;
  }

  recordOnce(key: string, expiresAtSeconds: number): boolean {
    const now = this.nowSeconds();
    this.sweep(now);
    const existing = this.expiries.get(key);
    if (existing !== undefined && existing >= now) return false;
    if (this.expiries.size >= this.maxEntries) throw new NonceStoreFullError(this.maxEntries);

    this.expiries.set(key, expiresAtSeconds);
    let bucket = this.buckets.get(expiresAtSeconds);
    if (!bucket) {
      bucket = [];
      this.buckets.set(expiresAtSeconds, bucket);
      if (expiresAtSeconds < this.oldestBucket) this.oldestBucket = expiresAtSeconds;
    }
    bucket.push(key);
    return true;
  }

  /** Forgets every nonce whose expiry is before `now`. */
  sweep(now = this.nowSeconds()): void {
    if (this.oldestBucket >= now) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [second, keys] of this.buckets) {
      if (second < now) {
        for (const key of keys) {
          if (this.expiries.get(key) === second) this.expiries.delete(key);
        }
        this.buckets.delete(second);
      } else if (second < oldest) {
        oldest = second;
      }
    }
    this.oldestBucket = oldest;
  }
}
