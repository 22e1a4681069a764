import { jest } from '@jest/globals';
import { MemoryThrottlerStorage } from '../../lib/stores/memory-throttler.storage.js';

const T0 = 1_700_000_000_000;

describe('MemoryThrottlerStorage', () => {
  let now: number;

  beforeEach(() => {
    now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });

  afterEach(() => jest.restoreAllMocks());

  it('counts hits within the window', async () => {
    const storage = new MemoryThrottlerStorage();
    expect(await storage.increment('k', 1_500, 3, 5_000, 'n')).toEqual({
      totalHits: 1,
      timeToExpire: 2,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    now += 600;
    expect(await storage.increment('k', 1_500, 3, 5_000, 'n')).toEqual({
      totalHits: 2,
      timeToExpire: 1,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(await storage.increment('k', 1_500, 3, 5_000, 'n')).toEqual({
      totalHits: 3,
      timeToExpire: 1,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('starts a new window when the old one ended', async () => {
    const storage = new MemoryThrottlerStorage();
    await storage.increment('k', 1_000, 3, 5_000, 'n');
    await storage.increment('k', 1_000, 3, 5_000, 'n');
    now += 999;
    expect((await storage.increment('k', 1_000, 3, 5_000, 'n')).totalHits).toBe(3);
    now += 1;
    expect(await storage.increment('k', 1_000, 3, 5_000, 'n')).toEqual({
      totalHits: 1,
      timeToExpire: 1,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('blocks after the limit for blockDuration, without counting blocked hits', async () => {
    const storage = new MemoryThrottlerStorage();
    for (let i = 0; i < 3; i++) await storage.increment('k', 1_000, 3, 5_000, 'n');
    expect(await storage.increment('k', 1_000, 3, 5_000, 'n')).toEqual({
      totalHits: 4,
      timeToExpire: 1,
      isBlocked: true,
      timeToBlockExpire: 5,
    });
    now += 1_500; // window over, block not
    expect(await storage.increment('k', 1_000, 3, 5_000, 'n')).toEqual({
      totalHits: 4,
      timeToExpire: 0,
      isBlocked: true,
      timeToBlockExpire: 4,
    });
    now = T0 + 4_999;
    expect(await storage.increment('k', 1_000, 3, 5_000, 'n')).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
  });

  it('the block ends after blockDuration (longer than the window)', async () => {
    const storage = new MemoryThrottlerStorage();
    for (let i = 0; i < 4; i++) await storage.increment('k', 1_000, 3, 5_000, 'n');
    now = T0 + 5_000;
    expect(await storage.increment('k', 1_000, 3, 5_000, 'n')).toEqual({
      totalHits: 1,
      timeToExpire: 1,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('the block ends after blockDuration (shorter than the window)', async () => {
    const storage = new MemoryThrottlerStorage();
    await storage.increment('k', 60_000, 1, 2_000, 'n');
    now += 10;
    expect(await storage.increment('k', 60_000, 1, 2_000, 'n')).toEqual({
      totalHits: 2,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 2,
    });
    now += 1_999;
    expect((await storage.increment('k', 60_000, 1, 2_000, 'n')).isBlocked).toBe(true);
    now += 1;
    expect(await storage.increment('k', 60_000, 1, 2_000, 'n')).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    // Counting starts over: the limit applies again.
    now += 1;
    expect(await storage.increment('k', 60_000, 1, 2_000, 'n')).toMatchObject({ totalHits: 2, isBlocked: true });
  });

  it('counts keys and throttler names separately', async () => {
    const storage = new MemoryThrottlerStorage();
    await storage.increment('a', 1_000, 1, 1_000, 'n1');
    expect((await storage.increment('a', 1_000, 1, 1_000, 'n1')).isBlocked).toBe(true);
    expect(await storage.increment('b', 1_000, 1, 1_000, 'n1')).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await storage.increment('a', 1_000, 1, 1_000, 'n2')).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(storage.size).toBe(3);
  });

  it('does not confuse keys and names that concatenate alike', async () => {
    const storage = new MemoryThrottlerStorage();
    await storage.increment('b:c', 1_000, 5, 1_000, 'a');
    expect((await storage.increment('c', 1_000, 5, 1_000, 'a:b')).totalHits).toBe(1);
    expect((await storage.increment('ab', 1_000, 5, 1_000, '')).totalHits).toBe(1);
    expect((await storage.increment('b', 1_000, 5, 1_000, 'a')).totalHits).toBe(1);
  });

  it('defaults to 100 000 keys', () => {
    expect(new MemoryThrottlerStorage().maxKeys).toBe(100_000);
  });

  it('is bounded by maxKeys and evicts expired counters first', async () => {
    const storage = new MemoryThrottlerStorage(2);
    await storage.increment('old', 1_000, 10, 1_000, 'n'); // window ends at T0 + 1000
    now = T0 + 500;
    await storage.increment('live', 1_000, 10, 1_000, 'n'); // ends at T0 + 1500
    await storage.increment('live', 1_000, 10, 1_000, 'n');
    now = T0 + 1_200;
    await storage.increment('new', 1_000, 10, 1_000, 'n');
    expect(storage.size).toBe(2);
    // 'live' kept its count; 'old' was the expired one.
    expect((await storage.increment('live', 1_000, 10, 1_000, 'n')).totalHits).toBe(3);
  });

  it('when nothing has expired, drops the oldest counter to stay bounded', async () => {
    const storage = new MemoryThrottlerStorage(2);
    await storage.increment('first', 10_000, 10, 1_000, 'n');
    await storage.increment('second', 10_000, 10, 1_000, 'n');
    await storage.increment('second', 10_000, 10, 1_000, 'n');
    await storage.increment('third', 10_000, 10, 1_000, 'n');
    expect(storage.size).toBe(2);
    expect((await storage.increment('second', 10_000, 10, 1_000, 'n')).totalHits).toBe(3);
    expect((await storage.increment('third', 10_000, 10, 1_000, 'n')).totalHits).toBe(2);
  });

  it('does not treat a blocked counter whose window ended as expired', async () => {
    const storage = new MemoryThrottlerStorage(2);
    await storage.increment('blocked', 1_000, 1, 60_000, 'n');
    await storage.increment('blocked', 1_000, 1, 60_000, 'n'); // blocked until T0 + 60 000
    now = T0 + 100;
    await storage.increment('idle', 1_000, 10, 1_000, 'n'); // expires at T0 + 1100
    now = T0 + 2_000;
    await storage.increment('new', 1_000, 10, 1_000, 'n');
    expect(storage.size).toBe(2);
    expect(await storage.increment('blocked', 1_000, 1, 60_000, 'n')).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 58,
    });
  });

  it('existing counters do not make room', async () => {
    const storage = new MemoryThrottlerStorage(1);
    await storage.increment('only', 10_000, 10, 1_000, 'n');
    now += 20_000;
    // The same key's window restarting is not a new key: nothing to evict.
    expect((await storage.increment('only', 10_000, 10, 1_000, 'n')).totalHits).toBe(1);
    expect(storage.size).toBe(1);
  });
});
