import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedisClient, RedisAuthStateStore, RedisKeyPrefixError } from '../../lib/redis/index.js';
import { watchCommands } from '../support/redis-commands.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nonce = () => randomBytes(16).toString('base64url');

describeWithRedisServer('RedisAuthStateStore against a real Redis (a redis-server of its own)', () => {
  let redis: DisposableRedis;
  let client: Redis;
  let store: RedisAuthStateStore;
  let prefix: string;

  beforeAll(async () => {
    redis = await DisposableRedis.start();
    client = createRedisClient(redis.url);
    await new RedisAuthStateStore(client).checkUsable();
  });
  beforeEach(() => {
    prefix = `t${randomBytes(4).toString('hex')}:`;
    store = new RedisAuthStateStore(client, { keyPrefix: prefix });
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  describe('key names', () => {
    it('are short, namespaced once, and carry the API key (or address) as their hash tag', async () => {
      await store.admit({
        apiKey: 'KeyKeyKeyKeyKey0',
        nonce: 'n'.repeat(22),
        nonceExpiresAtSeconds: nowSeconds() + 60,
        limit: 5,
        ttlMs: 60_000,
        blockDurationMs: 60_000,
        throttlerName: 'service-auth-key',
      });
      await store.increment('10.0.0.7', 60_000, 5, 60_000, 'service-auth-failures');
      await store.increment('x', 60_000, 5, 60_000, 'custom');
      expect((await client.keys(`${prefix}*`)).sort()).toEqual([
        `${prefix}{10.0.0.7}:f:h`,
        `${prefix}{KeyKeyKeyKeyKey0}:k:h`,
        `${prefix}{KeyKeyKeyKeyKey0}:n:${'n'.repeat(22)}`,
        `${prefix}{x}:t:custom:h`,
      ]);
    });

    it('refuses a prefix with braces, which would break the hash tags', () => {
      expect(() => new RedisAuthStateStore(client, { keyPrefix: 'app{1}:' })).toThrow(RedisKeyPrefixError);
    });
  });

  describe('recordOnce (nonces)', () => {
    it('records a nonce once: true, then false', async () => {
      const expiresAt = nowSeconds() + 300;
      expect(await store.recordOnce('key:nonce-1', expiresAt)).toBe(true);
      expect(await store.recordOnce('key:nonce-1', expiresAt)).toBe(false);
      expect(await store.recordOnce('key:nonce-2', expiresAt)).toBe(true);
    });

    it('keeps the nonce through its expiry second, as a relative TTL', async () => {
      const expiresAt = nowSeconds() + 300;
      await store.recordOnce('key:n', expiresAt);
      expect(await client.call('EXPIRETIME', `${prefix}{key}:n:n`)).toBe(expiresAt + 1);
    });

    it('is atomic: of 50 concurrent records of one nonce, exactly one succeeds', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.recordOnce('key:race', nowSeconds() + 300)));
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

  describe('admit (PROTOCOL.md steps 6 and 7 in one round trip)', () => {
    const apiKey = 'AdmitKey0123456789';
    const admission = (n: string, limit = 2, blockDurationMs = 60_000) => ({
      apiKey,
      nonce: n,
      nonceExpiresAtSeconds: nowSeconds() + 300,
      limit,
      ttlMs: 60_000,
      blockDurationMs,
      throttlerName: 'service-auth-key',
    });
    const nonceExists = async (n: string) => (await client.exists(`${prefix}{${apiKey}}:n:${n}`)) === 1;
    const hits = async () => Number((await client.get(`${prefix}{${apiKey}}:k:h`)) ?? 0);

    it('records the nonce and counts the request; a replay is refused and not counted', async () => {
      const [a, b] = [nonce(), nonce()];
      expect(await store.admit(admission(a))).toEqual({
        outcome: 'admitted',
        record: expect.objectContaining({ totalHits: 1, isBlocked: false }),
      });
      for (let i = 0; i < 5; i++) expect(await store.admit(admission(a))).toEqual({ outcome: 'replayed' });
      expect(await hits()).toBe(1);
      expect(await store.admit(admission(b))).toEqual({
        outcome: 'admitted',
        record: expect.objectContaining({ totalHits: 2, isBlocked: false }),
      });
    });

    it('a request over the limit is refused, counted (which blocks the key) and records no nonce', async () => {
      const [a, b, c] = [nonce(), nonce(), nonce()];
      await store.admit(admission(a, 1));
      const over = await store.admit(admission(b, 1));
      expect(over).toEqual({ outcome: 'rate_limited', record: expect.objectContaining({ isBlocked: true, timeToBlockExpire: 60 }) });
      expect(await nonceExists(b)).toBe(false);
      expect(await store.admit(admission(c, 1))).toEqual({ outcome: 'rate_limited', record: expect.objectContaining({ isBlocked: true }) });
      expect(await nonceExists(c)).toBe(false);
      expect(await client.keys(`${prefix}*:n:*`)).toEqual([`${prefix}{${apiKey}}:n:${a}`]);
    });

    it('a blocked key records no nonce, so the same request is admitted once after the block', async () => {
      const [a, b] = [nonce(), nonce()];
      await store.admit(admission(a, 1, 300));
      expect((await store.admit(admission(b, 1, 300))).outcome).toBe('rate_limited');
      expect((await store.admit(admission(b, 1, 300))).outcome).toBe('rate_limited');
      expect(await nonceExists(b)).toBe(false);
      await sleep(350);
      expect((await store.admit(admission(b, 1, 300))).outcome).toBe('admitted');
      expect(await nonceExists(b)).toBe(true);
      expect((await store.admit(admission(b, 5, 300))).outcome).toBe('replayed');
    });

    it('a replay of a blocked key is rate limited first (step 6 before step 7)', async () => {
      const a = nonce();
      await store.admit(admission(a, 1));
      await store.admit(admission(nonce(), 1));
      expect((await store.admit(admission(a, 1))).outcome).toBe('rate_limited');
    });

    it('is exact under concurrency: 30 new nonces with limit 10 admit 10 and record 10 nonces', async () => {
      const results = await Promise.all(Array.from({ length: 30 }, () => store.admit(admission(nonce(), 10))));
      expect(results.filter((r) => r.outcome === 'admitted')).toHaveLength(10);
      expect(results.filter((r) => r.outcome === 'rate_limited')).toHaveLength(20);
      expect(await client.keys(`${prefix}*:n:*`)).toHaveLength(10);
    });

    it('is atomic: of 50 concurrent admissions of one nonce, one is admitted and counted', async () => {
      const n = nonce();
      const results = await Promise.all(Array.from({ length: 50 }, () => store.admit(admission(n, 100))));
      expect(results.filter((r) => r.outcome === 'admitted')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'replayed')).toHaveLength(49);
      expect(await hits()).toBe(1);
    });

    it('is one command per request (client side) and one script call (server side)', async () => {
      await store.admit(admission(nonce(), 100));
      const sent: string[] = [];
      const original = client.sendCommand.bind(client);
      client.sendCommand = (command: Parameters<Redis['sendCommand']>[0]) => {
        sent.push(command.name);
        return original(command);
      };
      const watch = await watchCommands(redis.url);
      try {
        for (let i = 0; i < 10; i++) await store.admit(admission(nonce(), 100));
      } finally {
        client.sendCommand = original;
      }
      const received = await watch.stop();
      expect(sent).toEqual(Array(10).fill('evalsha'));
      expect(received.map((c) => c.name)).toEqual(Array(10).fill('evalsha'));
    });
  });

  describe('with the app 5 s behind Redis (Date.now shifted)', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('a captured request is admitted exactly once within its whole window', async () => {
      const realNow = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 5_000);
      // Signed now by the app's clock, accepted until 2 s later by it (a tolerance of 2 s).
      const expiresAt = nowSeconds() + 2;
      const n = nonce();
      const outcomes: string[] = [];
      while (nowSeconds() <= expiresAt) {
        const result = await store.admit({
          apiKey: 'SkewKey0123456789',
          nonce: n,
          nonceExpiresAtSeconds: expiresAt,
          limit: 1_000,
          ttlMs: 60_000,
          blockDurationMs: 60_000,
          throttlerName: 'service-auth-key',
        });
        outcomes.push(result.outcome);
        await sleep(100);
      }
      expect(outcomes.length).toBeGreaterThan(15);
      expect(outcomes.filter((o) => o === 'admitted')).toEqual(['admitted']);
      expect(outcomes[0]).toBe('admitted');
    });
  });
});
