import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerRecord } from './nonce-and-rate-limit-store.interface.js';

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

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerRecord> {
    return this.incrementNow(key, ttl, limit, blockDuration, throttlerName);
  }

  /** `increment`, answered at once: the guard uses it to stay synchronous when every store is in memory. */
  incrementNow(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): ThrottlerRecord {
    const now = Date.now();
    const id = `${throttlerName}\u0000${key}`;
    let counter = this.counters.get(id);
    if (counter === undefined || isOver(counter, now)) {
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

  /**
   * Whether the next hit of `key` would be refused: the key is blocked, or
   * its window already holds `limit` hits. Counts nothing; the module asks
   * before recording a nonce, so that a request over the limit records none.
   */
  isAtLimit(key: string, limit: number, throttlerName: string): boolean {
    const counter = this.counters.get(`${throttlerName}\u0000${key}`);
    if (counter === undefined) return false;
    const now = Date.now();
    if (isOver(counter, now)) return false;
    return counter.blockedUntil > now || counter.hits >= limit;
  }

  /**
   * Frees one slot. Counters are in insertion order, so the oldest, most
   * likely over, come first: only a bounded prefix is examined, keeping a
   * flood of new keys from costing a scan of the whole map each.
   */
  private makeRoom(now: number): void {
    let examined = 0;
    for (const [id, counter] of this.counters) {
      if (++examined > 64) break;
      if (isOver(counter, now)) this.counters.delete(id);
    }
    if (this.counters.size >= this.maxKeys) this.counters.delete(this.counters.keys().next().value!);
  }
}

/**
 * Whether a counter no longer matters: its block ended (counting starts over
 * then, even if the window it was blocked in has not ended yet), or, never
 * blocked, its window ended.
 */
function isOver(counter: Counter, now: number): boolean {
  return counter.blockedUntil > 0 ? counter.blockedUntil <= now : counter.windowEndsAt <= now;
}
