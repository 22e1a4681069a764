import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createRedisClient, RedisAuthStateStore, redisReady } from '../../lib/redis/index.js';
import { describeWithRedis, REDIS_URL } from '../support/databases.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithRedis('RedisAuthStateStore against a real Redis', () => {
  let client: Redis;
  let store: RedisAuthStateStore;
  let prefix: string;

  beforeAll(async () => {
    client = createRedisClient(REDIS_URL!);
    await redisReady(client);
  });
  beforeEach(() => {
    prefix = `test:${randomBytes(6).toString('hex')}:`;
    store = new RedisAuthStateStore(client, prefix);
  });
  afterEach(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
  });
  afterAll(() => client.quit());

  describe('recordOnce (nonces)', () => {
    it('records a nonce once: true, then false', async () => {
      const expiresAt = nowSeconds() + 300;
      expect(await store.recordOnce('key:nonce-1', expiresAt)).toBe(true);
      expect(await store.recordOnce('key:nonce-1', expiresAt)).toBe(false);
      expect(await store.recordOnce('key:nonce-2', expiresAt)).toBe(true);
    });

    it('keeps the nonce through its expiry second (expires at the start of the next one)', async () => {
      const expiresAt = nowSeconds() + 300;
      await store.recordOnce('key:n', expiresAt);
      expect(await client.call('EXPIRETIME', `${prefix}nonce:key:n`)).toBe(expiresAt + 1);
    });

    it('is atomic: of 50 concurrent records of one nonce, exactly one succeeds', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.recordOnce('key:race', nowSeconds() + 300)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('increment (ThrottlerStorage)', () => {
    it('counts within the window and blocks past the limit, then starts over when the block ends', async () => {
      const hit = () => store.increment('k', 60_000, 2, 400, 'n');
      expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
      const second = await hit();
      expect(second).toMatchObject({ totalHits: 2, isBlocked: false });
      expect(second.timeToExpire).toBeGreaterThan(58);
      expect(second.timeToExpire).toBeLessThanOrEqual(60);
      expect(await hit()).toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 1 });
      expect(await hit()).toMatchObject({ isBlocked: true });
      await sleep(500);
      expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
    });

    it('keeps keys and throttler names apart', async () => {
      await store.increment('a', 60_000, 1, 60_000, 'n');
      expect(await store.increment('a', 60_000, 1, 60_000, 'n')).toMatchObject({ isBlocked: true });
      expect(await store.increment('b', 60_000, 1, 60_000, 'n')).toMatchObject({ totalHits: 1, isBlocked: false });
      expect(await store.increment('a', 60_000, 1, 60_000, 'other')).toMatchObject({ totalHits: 1, isBlocked: false });
    });

    it('is exact under concurrency: 30 concurrent hits with limit 10 let 10 through', async () => {
      const results = await Promise.all(Array.from({ length: 30 }, () => store.increment('c', 60_000, 10, 60_000, 'n')));
      expect(results.filter((r) => !r.isBlocked)).toHaveLength(10);
    });

    it('re-loads its script when Redis has forgotten it (SCRIPT FLUSH)', async () => {
      await store.increment('f', 60_000, 5, 60_000, 'n');
      await client.script('FLUSH');
      expect(await store.increment('f', 60_000, 5, 60_000, 'n')).toMatchObject({ totalHits: 2 });
    });
  });

  describe('admit (one round trip)', () => {
    const limit = { limit: 2, ttlMs: 60_000, blockDurationMs: 60_000, throttlerName: 'n' };
    const admission = (nonce: string, apiKey = 'key') => ({ apiKey, nonce, nonceExpiresAtSeconds: nowSeconds() + 300, ...limit });

    it('counts admitted requests; a replay is refused and not counted; over the limit records no nonce', async () => {
      expect(await store.admit(admission('a'))).toEqual({ outcome: 'admitted', record: expect.objectContaining({ totalHits: 1, isBlocked: false }) });
      expect(await store.admit(admission('a'))).toEqual({ outcome: 'replayed' });
      expect(await store.admit(admission('b'))).toEqual({ outcome: 'admitted', record: expect.objectContaining({ totalHits: 2, isBlocked: false }) });
      expect(await store.admit(admission('c'))).toEqual({ outcome: 'rate_limited', record: expect.objectContaining({ isBlocked: true }) });
      // The refused request recorded no nonce: its nonce is still fresh for the store.
      expect(await store.recordOnce('key:c', nowSeconds() + 300)).toBe(true);
    });

    it('sends one command per request', async () => {
      const sent: string[] = [];
      const original = client.sendCommand.bind(client);
      client.sendCommand = ((command: Parameters<Redis['sendCommand']>[0]) => {
        sent.push(command.name);
        return original(command);
      }) as Redis['sendCommand'];
      try {
        await store.admit(admission('one-trip', 'other-key'));
      } finally {
        client.sendCommand = original;
      }
      expect(sent).toEqual(['evalsha']);
    });
  });
});
