import type { ThrottlerStorage } from '@nestjs/throttler';
import { THROTTLER_NAME_PER_KEY } from '../api-key-auth.constants.js';
import type { ResolvedLimit } from '../api-key-auth-options.factory.js';
import { ServiceAuthException } from '../errors/service-auth.exception.js';
import {
  isNonceAndRateLimitStore,
  type AdmissionResult,
  type NonceAndRateLimitStore,
  type ThrottlerRecord,
} from '../interfaces/nonce-and-rate-limit-store.interface.js';
import type { NonceStore } from '../interfaces/nonce-store.interface.js';
import { MemoryThrottlerStorage } from '../stores/memory-throttler.storage.js';
import { andThen, callStore, incrementCounter, type MaybePromise, type StoreFailure } from './store-call.js';

/** What admission needs of an authenticated request. */
export interface AdmissionRequest {
  apiKey: string;
  /** `undefined` for v0, which has no replay protection. */
  nonce: string | undefined;
  timestampSeconds: number;
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
 */
export class RequestAdmission {
  private readonly combined: NonceAndRateLimitStore | undefined;

  constructor(
    private readonly rateLimit: ResolvedLimit | false,
    private readonly toleranceSeconds: number,
    private readonly nonceStore: NonceStore,
    private readonly throttlerStorage: ThrottlerStorage,
    private readonly nonceStoreFailed: StoreFailure,
    private readonly rateLimitStoreFailed: StoreFailure,
  ) {
    this.combined =
      (nonceStore as unknown) === throttlerStorage && isNonceAndRateLimitStore(nonceStore) ? nonceStore : undefined;
  }

  /** Resolves (or returns) when admitted; throws `rate_limited` (with `Retry-After`) or `replayed_request`. */
  admit(request: AdmissionRequest): MaybePromise<void> {
    const limit = this.rateLimit;
    const nonce = request.nonce;
    if (nonce === undefined) return limit ? andThen(this.count(request.apiKey, limit), refuseIfBlocked) : undefined;
    const expiresAt = request.timestampSeconds + this.toleranceSeconds;
    if (!limit) return andThen(this.recordNonce(request.apiKey, nonce, expiresAt), refuseIfReplayed);

    const combined = this.combined;
    if (combined) {
      const admission = { apiKey: request.apiKey, nonce, nonceExpiresAtSeconds: expiresAt, ...limit, throttlerName: THROTTLER_NAME_PER_KEY };
      return andThen(callStore(() => combined.admit(admission), this.nonceStoreFailed), refuseUnlessAdmitted);
    }
    const storage = this.throttlerStorage;
    if (storage instanceof MemoryThrottlerStorage) {
      if (storage.isAtLimit(request.apiKey, limit.limit, THROTTLER_NAME_PER_KEY)) {
        return refuseIfBlocked(storage.incrementNow(request.apiKey, limit.ttlMs, limit.limit, limit.blockDurationMs, THROTTLER_NAME_PER_KEY));
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

  private count(apiKey: string, limit: ResolvedLimit): MaybePromise<ThrottlerRecord> {
    return incrementCounter(this.throttlerStorage, apiKey, limit, THROTTLER_NAME_PER_KEY, this.rateLimitStoreFailed);
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
