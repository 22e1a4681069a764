import { jest } from '@jest/globals';
import { MemoryNonceStore, NonceStoreFullError } from '../../lib/index.js';

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
});
