import type { Redis, RedisOptions } from 'ioredis';
import {
  createRedisClient,
  RedisAuthStateStore,
  RedisEvictionPolicyError,
  RedisEvictionPolicyUnknownError,
  redisBackends,
  redisReady,
} from '../../lib/redis/index.js';
import { ApiKeyAuthConfigurationError } from '../../lib/api-key-auth-configuration.errors.js';
import { watchCommands } from '../support/redis-commands.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import { expectRejected, sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);
let counter = 0;
const admission = () => ({
  apiKey: 'EvictionKey0123456',
  nonce: `nonce-${Date.now()}-${counter++}-padding`,
  nonceExpiresAtSeconds: nowSeconds() + 300,
  limit: 1_000,
  ttlMs: 60_000,
  blockDurationMs: 60_000,
  throttlerName: 'service-auth-key',
});

/** A store on a new client of `redis`, and the client. */
function storeOn(redis: DisposableRedis, options: RedisOptions = {}) {
  const client = createRedisClient(redis.url, options);
  client.on('error', () => {});
  return { client, store: new RedisAuthStateStore(client) };
}

describeWithRedisServer('Redis eviction policy (redis-servers of its own)', () => {
  const servers: DisposableRedis[] = [];
  const clients: Redis[] = [];
  // Only an app that signs requests at once needs its Redis to have started in an earlier second.
  const start = async (args: string[], nextSecond = false) => {
    const redis = await DisposableRedis.start(args, { nextSecond });
    servers.push(redis);
    return redis;
  };
  const open = (redis: DisposableRedis, options: RedisOptions = {}) => {
    const opened = storeOn(redis, options);
    clients.push(opened.client);
    return opened;
  };
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  });

  describe('at startup (checkUsable)', () => {
    it('accepts noeviction', async () => {
      const { store } = open(await start(['--maxmemory-policy', 'noeviction']));
      await expect(store.checkUsable()).resolves.toBeUndefined();
    });

    it.each(['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl'])(
      'refuses %s with RedisEvictionPolicyError, which says how to fix it',
      async (policy) => {
        const redis = await start(['--maxmemory-policy', policy]);
        const { store } = open(redis);
        const error = await store.checkUsable().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RedisEvictionPolicyError);
        expect(error).toBeInstanceOf(ApiKeyAuthConfigurationError);
        expect(error).toMatchObject({ node: `127.0.0.1:${redis.port}`, policy });
        expect((error as Error).message).toContain(`has maxmemory-policy ${policy}`);
        expect((error as Error).message).toContain('`maxmemory-policy noeviction`');
        // Nothing can be admitted through it either.
        await expect(store.admit(admission())).rejects.toBeInstanceOf(RedisEvictionPolicyError);
      },
    );

    it('reads the policy from INFO memory where CONFIG is renamed away', async () => {
      const unsafe = await start(['--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', '']);
      const safe = await start(['--rename-command', 'CONFIG', '']);
      const { store: unsafeStore } = open(unsafe);
      const { client, store: safeStore } = open(safe);
      await redisReady(client);
      await expect(client.config('GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/);
      await expect(unsafeStore.checkUsable()).rejects.toMatchObject({ name: 'RedisEvictionPolicyError', policy: 'allkeys-lru' });
      await expect(safeStore.checkUsable()).resolves.toBeUndefined();
      expect((await safeStore.admit(admission())).outcome).toBe('admitted');
    });

    it('refuses a Redis whose policy it cannot read (CONFIG and INFO renamed)', async () => {
      const redis = await start(['--rename-command', 'CONFIG', '', '--rename-command', 'INFO', '']);
      const { store } = open(redis, { enableReadyCheck: false });
      const error = await store.checkUsable().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RedisEvictionPolicyUnknownError);
      expect((error as Error).message).toContain('could not read the maxmemory-policy');
    });
  });

  describe('while running', () => {
    it('a policy switched to an evicting one is caught after a reconnect: every call refused, none passes', async () => {
      const redis = await start([]);
      const { client, store } = open(redis);
      await store.checkUsable();
      expect((await store.admit(admission())).outcome).toBe('admitted');

      await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      await redis.command('CLIENT', 'KILL', 'TYPE', 'normal');
      // Until the client is back, and after: an error, never an admission.
      const outcomes: string[] = [];
      const deadline = Date.now() + 3_000;
      let last: unknown;
      while (Date.now() < deadline && !(last instanceof RedisEvictionPolicyError)) {
        last = await store.admit(admission()).then(
          (r) => r.outcome,
          (e: unknown) => e,
        );
        outcomes.push(typeof last === 'string' ? last : 'error');
        await sleep(20);
      }
      expect(last).toBeInstanceOf(RedisEvictionPolicyError);
      expect(outcomes.every((o) => o === 'error')).toBe(true);
      await expect(store.increment('10.0.0.1', 60_000, 10, 60_000, 'service-auth-failures')).rejects.toBeInstanceOf(
        RedisEvictionPolicyError,
      );
      await expect(store.recordOnce('EvictionKey0123456:abcdefghijklmnop', nowSeconds() + 300)).rejects.toBeInstanceOf(
        RedisEvictionPolicyError,
      );
      // Still refused on the same connection, without asking Redis again.
      const watch = await watchCommands(redis.url);
      await expect(store.admit(admission())).rejects.toBeInstanceOf(RedisEvictionPolicyError);
      expect(await watch.stop()).toEqual([]);

      await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await redis.command('CLIENT', 'KILL', 'TYPE', 'normal');
      await sleep(50);
      await redisReady(client);
      expect((await store.admit(admission())).outcome).toBe('admitted');
    });

    it('checks once per connection: after the first check, a request is one command', async () => {
      const redis = await start([]);
      const { store } = open(redis);
      await store.checkUsable();
      const watch = await watchCommands(redis.url);
      for (let i = 0; i < 5; i++) await store.admit(admission());
      expect((await watch.stop()).map((c) => c.name)).toEqual(Array(5).fill('evalsha'));
    });
  });

  describe.each(ADAPTERS)('an app (%s) on an evicting Redis', (adapter) => {
    it('does not start, with RedisEvictionPolicyError', async () => {
      const redis = await start(['--maxmemory-policy', 'volatile-lru']);
      const { client } = open(redis);
      await expect(createTestApp({ adapter, auth: { ...redisBackends(client) } })).rejects.toBeInstanceOf(RedisEvictionPolicyError);
    });

    it('switched to evicting while running: 503 nonce_store_unavailable after the reconnect, handler not run', async () => {
      const redis = await start([], true);
      const { client } = open(redis);
      const t = await createTestApp({ adapter, auth: { ...redisBackends(client) } });
      try {
        const { apiKey } = await t.keys.create('orders');
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
        t.log.calls.length = 0;
        await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu');
        await redis.command('CLIENT', 'KILL', 'TYPE', 'normal');
        await sleep(300);
        await redisReady(client);
        for (let i = 0; i < 3; i++) {
          expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 503, 'nonce_store_unavailable');
        }
      } finally {
        await t.close();
      }
    });
  });
});
