import { jest } from '@jest/globals';
import { ApiKeyCache, KeyStoreTimeoutError } from '../../lib/stores/api-key.cache.js';
import { resolveApiKeyAuthOptions } from '../../lib/api-key-auth-options.factory.js';
import { type ApiKeyRecord, type ApiKeyStore } from '../../lib/index.js';

const T0 = 1_700_000_000_000;

function record(apiKey: string, serviceName = 'orders'): ApiKeyRecord {
  return { apiKey, serviceName, revokedAt: null, expiresAt: null };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A key store that answers from `records` (or with `pending` deferreds,
 * when the test wants to control when each lookup completes) and counts calls.
 */
class FakeStore implements ApiKeyStore {
  readonly records = new Map<string, ApiKeyRecord>();
  readonly calls: string[] = [];
  readonly pending: Deferred<ApiKeyRecord | null>[] = [];
  manual = false;
  failWith: Error | undefined;

  findByKey(apiKey: string): Promise<ApiKeyRecord | null> {
    this.calls.push(apiKey);
    if (this.manual) {
      const d = deferred<ApiKeyRecord | null>();
      this.pending.push(d);
      return d.promise;
    }
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve(this.records.get(apiKey) ?? null);
  }

  callsFor(apiKey: string): number {
    return this.calls.filter((k) => k === apiKey).length;
  }
}

function makeCache(keyCache: { ttlMs?: number; negativeTtlMs?: number; maxEntries?: number; lookupTimeoutMs?: number } = {}) {
  const store = new FakeStore();
  const options = resolveApiKeyAuthOptions(
    { secrets: ['s'.repeat(32)], keyCache: { ttlMs: 1_000, negativeTtlMs: 200, maxEntries: 100, ...keyCache } },
    {},
  );
  return { store, cache: new ApiKeyCache(store, options) };
}

const KEY = 'key-aaaaaaaaaaaaaaaa';
const OTHER = 'key-bbbbbbbbbbbbbbbb';

describe('ApiKeyCache', () => {
  let now: number;

  beforeEach(() => {
    now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });

  afterEach(() => jest.restoreAllMocks());

  it('serves a found key from memory within its TTL', async () => {
    const { store, cache } = makeCache();
    store.records.set(KEY, record(KEY));
    expect(await cache.get(KEY)).toEqual(record(KEY));
    now += 999;
    expect(await cache.get(KEY)).toEqual(record(KEY));
    expect(store.calls).toEqual([KEY]);
  });

  it('queries again once the TTL has passed', async () => {
    const { store, cache } = makeCache();
    store.records.set(KEY, record(KEY, 'orders'));
    await cache.get(KEY);
    store.records.set(KEY, { ...record(KEY, 'orders'), revokedAt: new Date(T0) });
    now += 1_000;
    expect(await cache.get(KEY)).toEqual({ ...record(KEY, 'orders'), revokedAt: new Date(T0) });
    expect(store.calls).toEqual([KEY, KEY]);
    now += 999;
    await cache.get(KEY);
    expect(store.calls).toHaveLength(2);
  });

  it('remembers unknown keys for the negative TTL only', async () => {
    const { store, cache } = makeCache();
    expect(await cache.get(KEY)).toBeNull();
    now += 199;
    expect(await cache.get(KEY)).toBeNull();
    expect(store.calls).toEqual([KEY]);
    now += 1;
    store.records.set(KEY, record(KEY));
    expect(await cache.get(KEY)).toEqual(record(KEY));
    expect(store.calls).toEqual([KEY, KEY]);
    // Now found: cached for the (longer) positive TTL.
    now += 999;
    expect(await cache.get(KEY)).toEqual(record(KEY));
    expect(store.calls).toHaveLength(2);
  });

  it('negative-caches a key that was found before and is gone now', async () => {
    const { store, cache } = makeCache();
    store.records.set(KEY, record(KEY));
    await cache.get(KEY);
    store.records.delete(KEY);
    now += 1_000;
    expect(await cache.get(KEY)).toBeNull();
    expect(store.calls).toHaveLength(2);
    now += 100;
    expect(await cache.get(KEY)).toBeNull();
    expect(store.calls).toHaveLength(2);
    now += 100;
    expect(await cache.get(KEY)).toBeNull();
    expect(store.calls).toHaveLength(3);
  });

  it('concurrent misses for the same key share one query', async () => {
    const { store, cache } = makeCache();
    store.manual = true;
    const results = [cache.get(KEY), cache.get(KEY), cache.get(KEY)];
    const other = cache.get(OTHER);
    expect(store.calls).toEqual([KEY, OTHER]);
    store.pending[0].resolve(record(KEY));
    store.pending[1].resolve(null);
    // eslint-disable-next-line @typescript-eslint/await-thenable -- get() answers a hit at once and a miss with a promise
    expect(await Promise.all(results)).toEqual([record(KEY), record(KEY), record(KEY)]);
    expect(await other).toBeNull();
    expect(await cache.get(KEY)).toEqual(record(KEY));
    expect(await cache.get(OTHER)).toBeNull();
    expect(store.calls).toEqual([KEY, OTHER]);
  });

  it('invalidate() drops a key at once', async () => {
    const { store, cache } = makeCache();
    store.records.set(KEY, record(KEY));
    store.records.set(OTHER, record(OTHER));
    await cache.get(KEY);
    await cache.get(OTHER);
    store.records.set(KEY, record(KEY, 'renamed'));
    cache.invalidate(KEY);
    expect(await cache.get(KEY)).toEqual(record(KEY, 'renamed'));
    expect(await cache.get(OTHER)).toEqual(record(OTHER));
    expect(store.calls).toEqual([KEY, OTHER, KEY]);
  });

  it('invalidate() drops an unknown key at once (a key just created)', async () => {
    const { store, cache } = makeCache();
    expect(await cache.get(KEY)).toBeNull();
    store.records.set(KEY, record(KEY));
    cache.invalidate(KEY);
    expect(await cache.get(KEY)).toEqual(record(KEY));
    expect(store.calls).toEqual([KEY, KEY]);
  });

  it('clear() drops everything', async () => {
    const { store, cache } = makeCache();
    store.records.set(KEY, record(KEY));
    await cache.get(KEY);
    await cache.get(OTHER);
    cache.clear();
    await cache.get(KEY);
    await cache.get(OTHER);
    expect(store.calls).toEqual([KEY, OTHER, KEY, OTHER]);
  });

  it('an answer that was in flight during invalidate() is served once and not cached', async () => {
    const { store, cache } = makeCache();
    store.manual = true;
    const before = cache.get(KEY);
    cache.invalidate(KEY);
    store.pending[0].resolve(record(KEY, 'stale'));
    expect(await before).toEqual(record(KEY, 'stale'));

    const after = cache.get(KEY);
    expect(store.calls).toEqual([KEY, KEY]);
    store.pending[1].resolve(record(KEY, 'fresh'));
    expect(await after).toEqual(record(KEY, 'fresh'));
    expect(await cache.get(KEY)).toEqual(record(KEY, 'fresh'));
    expect(store.calls).toHaveLength(2);
  });

  it('after invalidate(), a new lookup does not join the stale one, and the stale one does not overwrite it', async () => {
    const { store, cache } = makeCache();
    store.manual = true;
    const stale = cache.get(KEY);
    cache.invalidate(KEY);
    const fresh = cache.get(KEY);
    expect(store.calls).toEqual([KEY, KEY]);
    // The fresh answer arrives first, then the stale one.
    store.pending[1].resolve(record(KEY, 'fresh'));
    expect(await fresh).toEqual(record(KEY, 'fresh'));
    store.pending[0].resolve(record(KEY, 'stale'));
    expect(await stale).toEqual(record(KEY, 'stale'));
    expect(await cache.get(KEY)).toEqual(record(KEY, 'fresh'));
    // And the other order: stale answer arrives while the fresh lookup is in flight.
    cache.invalidate(KEY);
    const stale2 = cache.get(KEY);
    cache.invalidate(KEY);
    const fresh2 = cache.get(KEY);
    const joined = cache.get(KEY); // joins the fresh lookup
    expect(store.calls).toHaveLength(4);
    store.pending[2].resolve(record(KEY, 'stale2'));
    expect(await stale2).toEqual(record(KEY, 'stale2'));
    const joinedLater = cache.get(KEY); // still joins the fresh lookup: the stale answer was not cached
    expect(store.calls).toHaveLength(4);
    store.pending[3].resolve(record(KEY, 'fresh2'));
    expect(await fresh2).toEqual(record(KEY, 'fresh2'));
    expect(await joined).toEqual(record(KEY, 'fresh2'));
    expect(await joinedLater).toEqual(record(KEY, 'fresh2'));
    expect(await cache.get(KEY)).toEqual(record(KEY, 'fresh2'));
    expect(store.calls).toHaveLength(4);
  });

  it('store errors propagate to every waiter and are not cached', async () => {
    const { store, cache } = makeCache();
    store.manual = true;
    const failure = new Error('connection refused');
    const first = cache.get(KEY);
    const second = cache.get(KEY);
    store.pending[0].reject(failure);
    await expect(first).rejects.toBe(failure);
    await expect(second).rejects.toBe(failure);
    expect(store.calls).toEqual([KEY]);

    store.manual = false;
    store.failWith = new Error('still down');
    await expect(cache.get(KEY)).rejects.toThrow('still down');
    expect(store.calls).toEqual([KEY, KEY]);

    store.failWith = undefined;
    store.records.set(KEY, record(KEY));
    expect(await cache.get(KEY)).toEqual(record(KEY));
    expect(store.calls).toEqual([KEY, KEY, KEY]);
  });

  it('a store that throws synchronously rejects and is not cached', async () => {
    const { cache, store } = makeCache();
    const findByKey = jest.spyOn(store, 'findByKey').mockImplementationOnce(() => {
      throw new Error('sync failure');
    });
    await expect(Promise.resolve().then(() => cache.get(KEY))).rejects.toThrow('sync failure');
    expect(await cache.get(KEY)).toBeNull();
    expect(findByKey).toHaveBeenCalledTimes(2);
  });

  it('holds at most maxEntries found keys, dropping the oldest', async () => {
    const { store, cache } = makeCache({ maxEntries: 3 });
    const keys = ['key-a'.padEnd(16, 'a'), 'key-b'.padEnd(16, 'b'), 'key-c'.padEnd(16, 'c'), 'key-d'.padEnd(16, 'd')];
    for (const k of keys) store.records.set(k, record(k));
    for (const k of keys.slice(0, 3)) await cache.get(k);
    expect(store.calls).toHaveLength(3);
    await cache.get(keys[3]); // evicts keys[0]
    for (const k of keys.slice(1)) await cache.get(k);
    expect(store.calls).toHaveLength(4);
    await cache.get(keys[0]);
    expect(store.calls).toHaveLength(5);
    expect(store.callsFor(keys[0])).toBe(2);
  });

  it('a flood of unknown keys does not evict found keys', async () => {
    const { store, cache } = makeCache({ maxEntries: 3 });
    const found = ['found-a'.padEnd(16, 'a'), 'found-b'.padEnd(16, 'b'), 'found-c'.padEnd(16, 'c')];
    for (const k of found) store.records.set(k, record(k));
    for (const k of found) await cache.get(k);
    const unknown = Array.from({ length: 50 }, (_, i) => `unknown-${String(i).padStart(9, '0')}`);
    for (const k of unknown) expect(await cache.get(k)).toBeNull();
    expect(store.calls).toHaveLength(53);
    for (const k of found) expect(await cache.get(k)).toEqual(record(k));
    expect(store.calls).toHaveLength(53);

    // The unknown map is bounded too: only the last 3 are remembered.
    for (const k of unknown.slice(-3)) await cache.get(k);
    expect(store.calls).toHaveLength(53);
    await cache.get(unknown[46]);
    expect(store.calls).toHaveLength(54);
  });

  it('a found key refreshed by a lookup is no longer the oldest', async () => {
    const { store, cache } = makeCache({ maxEntries: 2 });
    const [a, b, c] = ['key-a'.padEnd(16, 'a'), 'key-b'.padEnd(16, 'b'), 'key-c'.padEnd(16, 'c')];
    for (const k of [a, b, c]) store.records.set(k, record(k));
    await cache.get(a);
    now += 500;
    await cache.get(b);
    now += 500; // a expired, b not
    await cache.get(a); // re-queried, moves to the end
    await cache.get(c); // evicts b, the oldest
    expect(store.calls).toEqual([a, b, a, c]);
    await cache.get(a);
    await cache.get(b);
    expect(store.calls).toEqual([a, b, a, c, b]);
  });

  it('rejects with KeyStoreTimeoutError when the store does not answer within lookupTimeoutMs, and caches nothing', async () => {
    jest.restoreAllMocks();
    const { store, cache } = makeCache({ lookupTimeoutMs: 50 });
    store.manual = true;
    await expect(cache.get(KEY)).rejects.toBeInstanceOf(KeyStoreTimeoutError);
    await expect(cache.get(KEY)).rejects.toThrow('the API key store did not answer within 50 ms');
    expect(store.calls).toEqual([KEY, KEY]);
    // A late answer to the timed-out lookup is not cached either.
    store.pending[0].resolve(record(KEY));
    store.manual = false;
    store.records.set(KEY, record(KEY, 'later'));
    expect(await cache.get(KEY)).toEqual(record(KEY, 'later'));
  });
});
