import type { ThrottlerStorage } from '@nestjs/throttler';

/** What `ThrottlerStorage.increment` resolves to (not exported by @nestjs/throttler's entry point). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Counter {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

/**
 * In-process `ThrottlerStorage` (the @nestjs/throttler contract) with fixed
 * windows and a bounded number of tracked keys.
 *
 * Why not `ThrottlerStorageService`: @nestjs/throttler 6 is CommonJS and
 * `require`s the ESM-only @nestjs/common 12. Node >= 20.19 allows that, but
 * jest on Node 20 does not, so importing it at runtime would break every
 * test suite of an app that uses this module. Any `ThrottlerStorage`,
 * including `ThrottlerStorageService` or a Redis one, can be passed as the
 * `throttlerStorage` option instead.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage {
  private readonly counters = new Map<string, Counter>();

  constructor(readonly maxKeys = 100_000) {}

  get size(): number {
    return this.counters.size;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const id = `${throttlerName}\u0000${key}`;
    let counter = this.counters.get(id);
    if (counter === undefined || (counter.windowEndsAt <= now && counter.blockedUntil <= now)) {
      if (counter === undefined && this.counters.size >= this.maxKeys) this.makeRoom(now);
      counter = { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 };
      this.counters.set(id, counter);
    }

    if (counter.blockedUntil <= now) {
      counter.hits++;
      if (counter.hits > limit) counter.blockedUntil = now + blockDuration;
    }
    const isBlocked = counter.blockedUntil > now;
    return {
      totalHits: counter.hits,
      timeToExpire: Math.max(0, Math.ceil((counter.windowEndsAt - now) / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.ceil((counter.blockedUntil - now) / 1000) : 0,
    };
  }

  private makeRoom(now: number): void {
    for (const [id, counter] of this.counters) {
      if (counter.windowEndsAt <= now && counter.blockedUntil <= now) this.counters.delete(id);
    }
    // Still full: drop the oldest counter (Maps iterate in insertion order).
    if (this.counters.size >= this.maxKeys) this.counters.delete(this.counters.keys().next().value!);
  }
}
