import { jest } from '@jest/globals';
import fc from 'fast-check';
import { MemoryNonceStore, NonceStoreFullError } from '../../lib/stores/memory-nonce.store.js';

/** A store whose clock the test moves. */
function storeAt(start: number, maxEntries = 1_000) {
  const clock = { now: start };
  const store = new MemoryNonceStore(maxEntries, () => clock.now);
  return { store, clock };
}

const T = 1_700_000_000;

describe('MemoryNonceStore', () => {
  it('records a nonce once: true, then false', async () => {
    const { store } = storeAt(T);
    expect(store.recordOnce('key:nonce-1', T + 300)).toBe(true);
    expect(store.recordOnce('key:nonce-1', T + 300)).toBe(false);
    expect(store.recordOnce('key:nonce-1', T + 600)).toBe(false);
    expect(store.size).toBe(1);
  });

  it('keeps distinct keys apart', async () => {
    const { store } = storeAt(T);
    expect(store.recordOnce('key-a:nonce', T + 300)).toBe(true);
    expect(store.recordOnce('key-b:nonce', T + 300)).toBe(true);
    expect(store.recordOnce('key-a:nonce2', T + 300)).toBe(true);
    expect(store.size).toBe(3);
  });

  it('remembers a nonce through its expiry second (inclusive) and forgets it the second after', async () => {
    const { store, clock } = storeAt(T);
    store.recordOnce('k:n', T + 10);
    clock.now = T + 9;
    expect(store.recordOnce('k:n', T + 19)).toBe(false);
    clock.now = T + 10;
    expect(store.recordOnce('k:n', T + 20)).toBe(false);
    clock.now = T + 11;
    expect(store.recordOnce('k:n', T + 21)).toBe(true);
    expect(store.recordOnce('k:n', T + 21)).toBe(false);
  });

  it('sweeps only expired nonces', async () => {
    const { store, clock } = storeAt(T);
    store.recordOnce('a', T + 1);
    store.recordOnce('b', T + 2);
    store.recordOnce('c', T + 2);
    store.recordOnce('d', T + 5);
    expect(store.size).toBe(4);
    clock.now = T + 2;
    store.sweep();
    expect(store.size).toBe(3);
    clock.now = T + 3;
    store.sweep();
    expect(store.size).toBe(1);
    expect(store.recordOnce('d', T + 9)).toBe(false);
    clock.now = T + 6;
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('a nonce re-recorded after expiry lives until its new expiry', async () => {
    const { store, clock } = storeAt(T);
    store.recordOnce('k', T + 1);
    clock.now = T + 2;
    expect(store.recordOnce('k', T + 10)).toBe(true);
    clock.now = T + 10;
    expect(store.recordOnce('k', T + 20)).toBe(false);
    expect(store.size).toBe(1);
  });

  it('never evicts an unexpired nonce: when full it throws NonceStoreFullError', async () => {
    const { store, clock } = storeAt(T, 3);
    store.recordOnce('a', T + 100);
    store.recordOnce('b', T + 50);
    store.recordOnce('c', T + 100);
    expect(() => store.recordOnce('d', T + 100)).toThrow(NonceStoreFullError);
    expect(() => store.recordOnce('d', T + 100)).toThrow('in-memory nonce store is full (3 unexpired nonces)');
    expect(() => store.recordOnce('d', T + 100)).toThrow(expect.objectContaining({ name: 'NonceStoreFullError' }));
    expect(store.size).toBe(3);

    // Every recorded nonce is still refused as a replay (not evicted), even while full.
    for (const key of ['a', 'b', 'c']) expect(store.recordOnce(key, T + 100)).toBe(false);

    // Still full up to and including the earliest expiry second.
    clock.now = T + 50;
    expect(() => store.recordOnce('d', T + 150)).toThrow(NonceStoreFullError);

    // Accepts again once an entry expired, and only one more.
    clock.now = T + 51;
    expect(store.recordOnce('d', T + 151)).toBe(true);
    expect(() => store.recordOnce('e', T + 151)).toThrow(NonceStoreFullError);
    expect(store.recordOnce('a', T + 151)).toBe(false);

    clock.now = T + 101;
    expect(store.recordOnce('e', T + 200)).toBe(true);
    expect(store.recordOnce('f', T + 200)).toBe(true);
    expect(() => store.recordOnce('a', T + 200)).toThrow(NonceStoreFullError);
    expect(store.size).toBe(3);
  });

  it('a store of one entry', async () => {
    const { store, clock } = storeAt(T, 1);
    expect(store.recordOnce('a', T)).toBe(true);
    expect(() => store.recordOnce('b', T)).toThrow(NonceStoreFullError);
    clock.now = T + 1;
    expect(store.recordOnce('b', T + 1)).toBe(true);
  });

  it('uses the wall clock in whole seconds by default', async () => {
    const spy = jest.spyOn(Date, 'now').mockReturnValue(T * 1000 + 999);
    try {
      const store = new MemoryNonceStore(10);
      store.recordOnce('k', T);
      expect(store.recordOnce('k', T)).toBe(false);
      spy.mockReturnValue((T + 1) * 1000);
      expect(store.recordOnce('k', T + 1)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a non-finite expiry (it would be stored as "never used")', () => {
    const { store } = storeAt(T);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) expect(() => store.recordOnce('k', bad)).toThrow(TypeError);
    expect(store.size).toBe(0);
  });

  it('tells 300 000 similar keys apart and refuses each one replayed', () => {
    const { store } = storeAt(T, 1_000_000);
    const key = (i: number) => `BenchKey0123456789abcdefghijklmn:nonce-${String(i).padStart(16, '0')}`;
    let fresh = 0;
    for (let i = 0; i < 300_000; i++) if (store.recordOnce(key(i), T + 300)) fresh++;
    expect(fresh).toBe(300_000);
    let replays = 0;
    for (let i = 0; i < 300_000; i++) if (!store.recordOnce(key(i), T + 300)) replays++;
    expect(replays).toBe(300_000);
    expect(store.size).toBe(300_000);
  });

  it('when the clock goes back, nonces it had counted out are refused again, and the table still rebuilds', () => {
    const { store, clock } = storeAt(T, 10_000);
    for (let i = 0; i < 2_000; i++) expect(store.recordOnce(`old:${i}`, T + 5)).toBe(true);
    clock.now = T + 10;
    store.sweep();
    expect(store.size).toBe(0);
    clock.now = T;
    // Enough new nonces to force rebuilds while the old ones count as unexpired again.
    for (let i = 0; i < 3_000; i++) expect(store.recordOnce(`new:${i}`, T + 5)).toBe(true);
    for (let i = 0; i < 2_000; i++) expect(store.recordOnce(`old:${i}`, T + 5)).toBe(false);
    for (let i = 0; i < 3_000; i++) expect(store.recordOnce(`new:${i}`, T + 5)).toBe(false);
  });

  describe('behaves exactly as a map of key -> expiry (model-based)', () => {
    /** Puts every key in one of 4 home slots: long probe runs, expired slots inside them, many rebuilds. */
    class CrowdedStore extends MemoryNonceStore {
      protected override fingerprint(key: string): void {
        super.fingerprint(key);
        this.hashA &= 3;
      }
    }

    type Op = { kind: 'record'; key: number; ttl: number } | { kind: 'tick'; seconds: number } | { kind: 'sweep' };
    const ops = fc.array(
      fc.oneof(
        {
          weight: 8,
          arbitrary: fc.record({
            kind: fc.constant('record' as const),
            key: fc.integer({ min: 0, max: 1_500 }),
            ttl: fc.integer({ min: 0, max: 30 }),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 0, max: 8 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
      ),
      { minLength: 200, maxLength: 3_000, size: 'max' },
    );

    function check(make: (max: number, clock: () => number) => MemoryNonceStore, maxEntries: number, sequence: Op[]): void {
      let now = T;
      const store = make(maxEntries, () => now);
      const model = new Map<string, number>();
      const live = () => [...model.values()].filter((expiry) => expiry >= now).length;
      for (const op of sequence) {
        if (op.kind === 'tick') now += op.seconds;
        else if (op.kind === 'sweep') store.sweep();
        else {
          const key = `key:${op.key}`;
          const expiry = now + op.ttl;
          const known = model.get(key);
          if (known !== undefined && known >= now) {
            expect(store.recordOnce(key, expiry)).toBe(false);
          } else if (live() >= maxEntries) {
            expect(() => store.recordOnce(key, expiry)).toThrow(NonceStoreFullError);
          } else {
            expect(store.recordOnce(key, expiry)).toBe(true);
            model.set(key, expiry);
          }
        }
      }
      store.sweep();
      expect(store.size).toBe(live());
    }

    it.each([
      ['spread keys', (max: number, clock: () => number) => new MemoryNonceStore(max, clock)],
      ['keys crowded into 4 slots', (max: number, clock: () => number) => new CrowdedStore(max, clock)],
    ])('%s', (_name, make) => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2_000 }), ops, (maxEntries, sequence) => check(make, maxEntries, sequence)),
        { numRuns: 25 },
      );
    });
  });
});
