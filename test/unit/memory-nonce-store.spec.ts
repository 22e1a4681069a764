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
    await expect(store.recordOnce('key:nonce-1', T + 300)).resolves.toBe(true);
    await expect(store.recordOnce('key:nonce-1', T + 300)).resolves.toBe(false);
    await expect(store.recordOnce('key:nonce-1', T + 600)).resolves.toBe(false);
    expect(store.size).toBe(1);
  });

  it('keeps distinct keys apart', async () => {
    const { store } = storeAt(T);
    await expect(store.recordOnce('key-a:nonce', T + 300)).resolves.toBe(true);
    await expect(store.recordOnce('key-b:nonce', T + 300)).resolves.toBe(true);
    await expect(store.recordOnce('key-a:nonce2', T + 300)).resolves.toBe(true);
    expect(store.size).toBe(3);
  });

  it('remembers a nonce through its expiry second (inclusive) and forgets it the second after', async () => {
    const { store, clock } = storeAt(T);
    await store.recordOnce('k:n', T + 10);
    clock.now = T + 9;
    await expect(store.recordOnce('k:n', T + 19)).resolves.toBe(false);
    clock.now = T + 10;
    await expect(store.recordOnce('k:n', T + 20)).resolves.toBe(false);
    clock.now = T + 11;
    await expect(store.recordOnce('k:n', T + 21)).resolves.toBe(true);
    await expect(store.recordOnce('k:n', T + 21)).resolves.toBe(false);
  });

  it('sweeps only expired nonces', async () => {
    const { store, clock } = storeAt(T);
    await store.recordOnce('a', T + 1);
    await store.recordOnce('b', T + 2);
    await store.recordOnce('c', T + 2);
    await store.recordOnce('d', T + 5);
    expect(store.size).toBe(4);
    clock.now = T + 2;
    store.sweep();
    expect(store.size).toBe(3);
    clock.now = T + 3;
    store.sweep();
    expect(store.size).toBe(1);
    await expect(store.recordOnce('d', T + 9)).resolves.toBe(false);
    clock.now = T + 6;
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('a nonce re-recorded after expiry lives until its new expiry', async () => {
    const { store, clock } = storeAt(T);
    await store.recordOnce('k', T + 1);
    clock.now = T + 2;
    await expect(store.recordOnce('k', T + 10)).resolves.toBe(true);
    clock.now = T + 10;
    await expect(store.recordOnce('k', T + 20)).resolves.toBe(false);
    expect(store.size).toBe(1);
  });

  it('never evicts an unexpired nonce: when full it throws NonceStoreFullError', async () => {
    const { store, clock } = storeAt(T, 3);
    await store.recordOnce('a', T + 100);
    await store.recordOnce('b', T + 50);
    await store.recordOnce('c', T + 100);
    const full = store.recordOnce('d', T + 100);
    await expect(full).rejects.toBeInstanceOf(NonceStoreFullError);
    await expect(store.recordOnce('d', T + 100)).rejects.toThrow('in-memory nonce store is full (3 unexpired nonces)');
    await expect(store.recordOnce('d', T + 100)).rejects.toMatchObject({ name: 'NonceStoreFullError' });
    expect(store.size).toBe(3);

    // Every recorded nonce is still refused as a replay (not evicted), even while full.
    for (const key of ['a', 'b', 'c']) await expect(store.recordOnce(key, T + 100)).resolves.toBe(false);

    // Still full up to and including the earliest expiry second.
    clock.now = T + 50;
    await expect(store.recordOnce('d', T + 150)).rejects.toBeInstanceOf(NonceStoreFullError);

    // Accepts again once an entry expired, and only one more.
    clock.now = T + 51;
    await expect(store.recordOnce('d', T + 151)).resolves.toBe(true);
    await expect(store.recordOnce('e', T + 151)).rejects.toBeInstanceOf(NonceStoreFullError);
    await expect(store.recordOnce('a', T + 151)).resolves.toBe(false);

    clock.now = T + 101;
    await expect(store.recordOnce('e', T + 200)).resolves.toBe(true);
    await expect(store.recordOnce('f', T + 200)).resolves.toBe(true);
    await expect(store.recordOnce('a', T + 200)).rejects.toBeInstanceOf(NonceStoreFullError);
    expect(store.size).toBe(3);
  });

  it('a store of one entry', async () => {
    const { store, clock } = storeAt(T, 1);
    await expect(store.recordOnce('a', T)).resolves.toBe(true);
    await expect(store.recordOnce('b', T)).rejects.toBeInstanceOf(NonceStoreFullError);
    clock.now = T + 1;
    await expect(store.recordOnce('b', T + 1)).resolves.toBe(true);
  });

  it('uses the wall clock in whole seconds by default', async () => {
    const spy = jest.spyOn(Date, 'now').mockReturnValue(T * 1000 + 999);
    try {
      const store = new MemoryNonceStore(10);
      await store.recordOnce('k', T);
      await expect(store.recordOnce('k', T)).resolves.toBe(false);
      spy.mockReturnValue((T + 1) * 1000);
      await expect(store.recordOnce('k', T + 1)).resolves.toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
