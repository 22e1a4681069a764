import type { ThrottlerStorage } from '@nestjs/throttler';
import { THROTTLER_NAME_FAILURES } from '../api-key-auth.constants.js';
import type { ResolvedLimit } from '../api-key-auth-options.factory.js';
import { andThen, incrementCounter, type MaybePromise, type StoreFailure } from './store-call.js';

/** Bound of the map of addresses known to be over the limit. */
const MAX_BLOCKED_ADDRESSES = 100_000;

/**
 * Counts failed attempts (answers of PROTOCOL.md steps 1 to 4) per client
 * address in the module's throttler storage, so the limit holds across every
 * guard of the app and, with a shared storage, across instances.
 *
 * Only failures are ever refused for their address: a request whose
 * signature verifies is accepted from any address, so a flood from one
 * address behind a shared egress (NAT, a sidecar) never locks out the valid
 * callers behind it. Addresses over the limit are remembered here until
 * their block ends, so their further failures answer without a store call.
 */
export class FailedAttemptLimiter {
  /** Address -> end of its block (ms). */
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly limit: ResolvedLimit | false,
    private readonly storage: ThrottlerStorage,
    private readonly storageFailed: StoreFailure,
  ) {}

  /**
   * Counts one failure of `address`.
   * @returns the seconds until its block ends when the address is over the
   *   limit (the failure then answers `429 too_many_failed_attempts`), else
   *   `undefined`.
   */
  recordFailure(address: string): MaybePromise<number | undefined> {
    const limit = this.limit;
    if (!limit) return undefined;
    const until = this.blocked.get(address);
    if (until !== undefined) {
      if (until > Date.now()) return Math.ceil((until - Date.now()) / 1000);
      this.blocked.delete(address);
    }
    const counted = incrementCounter(this.storage, address, limit, THROTTLER_NAME_FAILURES, this.storageFailed);
    return andThen(counted, (record) => {
      if (!record.isBlocked) return undefined;
      const retryAfter = Math.max(1, record.timeToBlockExpire);
      this.remember(address, Date.now() + retryAfter * 1000);
      return retryAfter;
    });
  }

  private remember(address: string, until: number): void {
    if (this.blocked.size >= MAX_BLOCKED_ADDRESSES) {
      const now = Date.now();
      for (const [known, end] of this.blocked) if (end <= now) this.blocked.delete(known);
      if (this.blocked.size >= MAX_BLOCKED_ADDRESSES) this.blocked.delete(this.blocked.keys().next().value!);
    }
    this.blocked.set(address, until);
  }
}
