import { randomBytes } from 'node:crypto';
import type { NonceStore } from './nonce-store.interface.js';

/** Thrown when the in-memory nonce store is full of unexpired nonces. */
export class NonceStoreFullError extends Error {
  constructor(maxEntries: number) {
    super(`in-memory nonce store is full (${maxEntries} unexpired nonces)`);
    this.name = 'NonceStoreFullError';
  }
}

const MIN_CAPACITY = 1024;
const SLOT_WORDS = 3;
// A module binding rather than a global lookup per character (globals are slow inside `vm` contexts such as jest's).
const imul = Math.imul;
/** Expiries are kept as unsigned 32-bit seconds; 0 marks a slot never used. */
const MAX_EXPIRY = 0xffff_ffff;

/**
 * Per-process nonce store. Bounded, and never forgets an unexpired nonce (that
 * would reopen replay): when full it throws, and the guard answers 503.
 *
 * Each key is kept as a 64-bit fingerprint (two 32-bit hashes seeded at
 * random per process) with its expiry, in one typed array laid out as an
 * open-addressing hash table: a few words per nonce and nothing for the
 * garbage collector to trace, where a `Map` of strings costs several times
 * the memory and slows every collection as it grows. Two keys with the same fingerprint can
 * only make a fresh request look replayed (at 1M nonces, about one chance in
 * 10^13 per request), never let a replay through.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly seedA: number;
  private readonly seedB: number;
  private capacity = MIN_CAPACITY;
  /** Per slot, side by side (one cache line per probe): hash A, hash B, expiry (0: never used). */
  private slots = new Uint32Array(MIN_CAPACITY * SLOT_WORDS);
  /** Slots ever written since the last rebuild (unexpired or not). */
  private usedSlots = 0;
  /** Unexpired nonces per expiry second, and their total. */
  private readonly perSecond = new Map<number, number>();
  private live = 0;
  private oldestSecond = Number.POSITIVE_INFINITY;
  /** The fingerprint of the key being recorded, set by `fingerprint()`. */
  protected hashA = 0;
  protected hashB = 0;

  /**
   * The time this store was made: it holds nothing recorded before (a
   * process restart empties it), so the module refuses requests signed
   * earlier (PROTOCOL.md step 2).
   */
  readonly rememberedSinceSeconds: number;

  constructor(
    readonly maxEntries: number,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.rememberedSinceSeconds = nowSeconds();
    const seeds = randomBytes(8);
    this.seedA = seeds.readUInt32LE(0);
    this.seedB = seeds.readUInt32LE(4);
  }

  /** Nonces held and not yet swept as expired. */
  get size(): number {
    return this.live;
  }

  recordOnce(key: string, expiresAtSeconds: number): boolean {
    if (!Number.isFinite(expiresAtSeconds)) throw new TypeError(`nonce expiry must be a finite number of seconds, got ${expiresAtSeconds}`);
    const now = this.nowSeconds();
    this.sweep(now);
    const expiry = Math.min(Math.max(Math.floor(expiresAtSeconds), 1), MAX_EXPIRY);
    this.fingerprint(key);
    const a = this.hashA;
    const b = this.hashB;
    const slots = this.slots;

    // Linear probing. A slot whose nonce expired still continues the probe
    // sequence (a later slot may hold this key); only a never-used slot ends it.
    const mask = this.capacity - 1;
    let reusable = -1;
    let slot = a & mask;
    for (;;) {
      const at = slot * SLOT_WORDS;
      const slotExpiry = slots[at + 2];
      if (slotExpiry === 0) break;
      if (slots[at] === a && slots[at + 1] === b) {
        if (slotExpiry >= now) return false;
        // This key's own expired slot: the first occurrence on the path is
        // always the newest, so nothing further can hold it unexpired.
        if (reusable < 0) reusable = slot;
        break;
      }
      if (reusable < 0 && slotExpiry < now) reusable = slot;
      slot = (slot + 1) & mask;
    }

    if (this.live >= this.maxEntries) throw new NonceStoreFullError(this.maxEntries);
    if (reusable < 0) {
      if ((this.usedSlots + 1) * 2 > this.capacity) {
        this.rebuild(now);
        return this.recordOnce(key, expiresAtSeconds);
      }
      reusable = slot;
      this.usedSlots++;
    }
    const at = reusable * SLOT_WORDS;
    slots[at] = a;
    slots[at + 1] = b;
    slots[at + 2] = expiry;
    this.countIn(expiry);
    return true;
  }

  /** Forgets (counts out) every nonce whose expiry is before `now`; their slots become reusable. */
  sweep(now = this.nowSeconds()): void {
    if (this.oldestSecond >= now) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [second, count] of this.perSecond) {
      if (second < now) {
        this.live -= count;
        this.perSecond.delete(second);
      } else if (second < oldest) {
        oldest = second;
      }
    }
    this.oldestSecond = oldest;
  }

  /**
   * Sets `hashA` and `hashB`: two 32-bit hashes of the key's UTF-16 code
   * units under the process's random seeds (multiply-xorshift rounds, then
   * the murmur3 finaliser). `hashA` also picks the slot.
   */
  protected fingerprint(key: string): void {
    let a = (this.seedA ^ key.length) >>> 0;
    let b = (this.seedB ^ key.length) >>> 0;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      a = imul(a ^ c, 0x5bd1e995);
      a ^= a >>> 15;
      b = imul(b ^ c, 0x1b873593);
      b ^= b >>> 13;
    }
    this.hashA = finalise(a);
    this.hashB = finalise(b);
  }

  private countIn(expiry: number): void {
    this.perSecond.set(expiry, (this.perSecond.get(expiry) ?? 0) + 1);
    this.live++;
    if (expiry < this.oldestSecond) this.oldestSecond = expiry;
  }

  /**
   * Copies the unexpired nonces into a table of at least four slots per
   * nonce, so that at most half its slots are used when the next rebuild
   * comes: rebuilding costs O(slots) once per many inserts. The nonces are
   * counted here rather than taken from `live`: after the clock went back,
   * nonces already counted out are unexpired again, and are kept.
   */
  private rebuild(now: number): void {
    const old = this.slots;
    let unexpired = 0;
    for (let at = 2; at < old.length; at += SLOT_WORDS) if (old[at] >= now) unexpired++;
    let capacity = MIN_CAPACITY;
    while (capacity < unexpired * 4) capacity *= 2;
    const slots = new Uint32Array(capacity * SLOT_WORDS);
    const mask = capacity - 1;
    for (let from = 0; from < old.length; from += SLOT_WORDS) {
      const expiry = old[from + 2];
      if (expiry < now) continue; // expired (never-used slots hold 0)
      let slot = old[from] & mask;
      while (slots[slot * SLOT_WORDS + 2] !== 0) slot = (slot + 1) & mask;
      const at = slot * SLOT_WORDS;
      slots[at] = old[from];
      slots[at + 1] = old[from + 1];
      slots[at + 2] = expiry;
    }
    this.slots = slots;
    this.capacity = capacity;
    this.usedSlots = unexpired;
  }
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function finalise(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
