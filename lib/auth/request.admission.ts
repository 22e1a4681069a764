import type { ThrottlerStorage } from '@nestjs/throttler';
import { THROTTLER_NAME_PER_KEY } from '../api-key-auth.constants.js';
import type { ResolvedLimit } from '../api-key-auth-options.factory.js';
import { ServiceAuthException } from './service-auth.exception.js';
import {
  isNonceAndRateLimitStore,
  type AdmissionResult,
  type NonceAndRateLimitStore,
  type ThrottlerRecord,
} from '../stores/nonce-and-rate-limit-store.interface.js';
import type { KeyRateLimit } from '../keys/api-key-record.interface.js';
import type { NonceStore } from '../stores/nonce-store.interface.js';
import { MemoryThrottlerStorage } from '../stores/memory-throttler.storage.js';
import type { RouteRateLimit } from './route-policy.js';
import { andThen, callStore, incrementCounter, type MaybePromise, type StoreFailure } from './store-call.js';

/** What admission needs of an authenticated request. */
export interface AdmissionRequest {
  apiKey: string;
  /** `undefined` for v0, which has no replay protection. */
  nonce: string | undefined;
  timestampSeconds: number;
  /** The key's own limit (`api_keys.rate_limit`), in place of the app-wide one. */
  keyRateLimit?: KeyRateLimit;
  /** The route's `@RateLimit()`: in place of both, or `false` for none. */
  routeRateLimit?: RouteRateLimit | false;
}

/** The limit one request is counted against, and the name of its counter. */
interface CountedLimit extends ResolvedLimit {
  counter: string;
}

/**
 * PROTOCOL.md steps 6 and 7: the per-key rate limit, then the nonce. A
 * request over its limit records no nonce, so a key holder cannot fill the
 * nonce store with refused requests; a replayed request is not counted.
 *
 * One store keeping both (Redis) does this in one atomic step. With the
 * in-memory counters, the limit is asked before the nonce is recorded and
 * the hit counted after. A `ThrottlerStorage` of another kind can only
 * count, so it counts first: a replay then still uses up one request of
 * its key's quota (the README says so).
 *
 * The limit is the route's `@RateLimit()` (its own counter per key), else
 * the key's own, else the app-wide `rateLimit`; none while `rateLimit` is
 * `false`.
 */
export class RequestAdmission {
  private readonly combined: NonceAndRateLimitStore | undefined;
  private readonly appLimit: CountedLimit | undefined;

  constructor(
    rateLimit: ResolvedLimit | false,
    private readonly toleranceSeconds: number,
    private readonly nonceStore: NonceStore,
    private readonly throttlerStorage: ThrottlerStorage,
    private readonly nonceStoreFailed: StoreFailure,
    private readonly rateLimitStoreFailed: StoreFailure,
  ) {
    this.combined = (nonceStore as unknown) === throttlerStorage && isNonceAndRateLimitStore(nonceStore) ? nonceStore : undefined;
    this.appLimit = rateLimit ? { ...rateLimit, counter: THROTTLER_NAME_PER_KEY } : undefined;
  }

  /** Resolves (or returns) when admitted; throws `rate_limited` (with `Retry-After`) or `replayed_request`. */
  admit(request: AdmissionRequest): MaybePromise<void> {
    const limit = this.limitOf(request);
    const nonce = request.nonce;
    if (nonce === undefined) return limit ? andThen(this.count(request.apiKey, limit), refuseIfBlocked) : undefined;
    const expiresAt = request.timestampSeconds + this.toleranceSeconds;
    if (!limit) return andThen(this.recordNonce(request.apiKey, nonce, expiresAt), refuseIfReplayed);

    const combined = this.combined;
    if (combined) {
      const { counter, ...counted } = limit;
      const admission = { apiKey: request.apiKey, nonce, nonceExpiresAtSeconds: expiresAt, ...counted, throttlerName: counter };
      return andThen(
        callStore(() => combined.admit(admission), this.nonceStoreFailed),
        refuseUnlessAdmitted,
      );
    }
    const storage = this.throttlerStorage;
    if (storage instanceof MemoryThrottlerStorage) {
      if (storage.isAtLimit(request.apiKey, limit.limit, limit.counter)) {
        return refuseIfBlocked(storage.incrementNow(request.apiKey, limit.ttlMs, limit.limit, limit.blockDurationMs, limit.counter));
      }
      return andThen(this.recordNonce(request.apiKey, nonce, expiresAt), (fresh) => {
        refuseIfReplayed(fresh);
        return andThen(this.count(request.apiKey, limit), refuseIfBlocked);
      });
    }
    return andThen(this.count(request.apiKey, limit), (record) => {
      refuseIfBlocked(record);
      return andThen(this.recordNonce(request.apiKey, nonce, expiresAt), refuseIfReplayed);
    });
  }

  private limitOf(request: AdmissionRequest): CountedLimit | undefined {
    if (!this.appLimit || request.routeRateLimit === false) return undefined;
    if (request.routeRateLimit) return request.routeRateLimit;
    const own = request.keyRateLimit;
    if (own) return { limit: own.limit, ttlMs: own.ttlMs, blockDurationMs: own.ttlMs, counter: THROTTLER_NAME_PER_KEY };
    return this.appLimit;
  }

  private count(apiKey: string, limit: CountedLimit): MaybePromise<ThrottlerRecord> {
    return incrementCounter(this.throttlerStorage, apiKey, limit, limit.counter, this.rateLimitStoreFailed);
  }

  private recordNonce(apiKey: string, nonce: string, expiresAt: number): MaybePromise<boolean> {
    return callStore(() => this.nonceStore.recordOnce(`${apiKey}:${nonce}`, expiresAt), this.nonceStoreFailed);
  }
}

function refuseIfBlocked(record: ThrottlerRecord): void {
  if (!record.isBlocked) return;
  throw new ServiceAuthException('rate_limited', undefined, { 'Retry-After': String(Math.max(1, record.timeToBlockExpire)) });
}

function refuseIfReplayed(fresh: boolean): void {
  if (!fresh) throw new ServiceAuthException('replayed_request');
}

function refuseUnlessAdmitted(result: AdmissionResult): void {
  if (result.outcome === 'replayed') throw new ServiceAuthException('replayed_request');
  if (result.outcome === 'rate_limited') refuseIfBlocked({ ...result.record, isBlocked: true });
}
