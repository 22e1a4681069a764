import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import type { SampleProcess } from '../support/sample-process.js';
import { expectAuthError, expectRetryAfter, freshNonce, send } from '../support/signed-request.js';
import { describeWithThrottlerApp, handled, KeyTable, signedRequest, startThrottlerApp, target, times } from './throttler-support.js';

// RedisAuthStateStore as both the module's store and the app's own
// ThrottlerModule storage (test/throttler/app with REDIS_URL), in two
// processes: Express with the throttler guard first, Fastify with
// ApiKeyGuard first. Throttlers: `default` 5 per minute, `long` 12; an
// `errorMessage` of its own.
describeWithThrottlerApp('ServiceAuthThrottlerGuard with RedisAuthStateStore as ThrottlerModule storage', () => {
  describeWithRedisServer('two app processes sharing one Redis', () => {
    let redis: DisposableRedis;
    let keys: KeyTable;
    let first: SampleProcess;
    let second: SampleProcess;

    beforeAll(async () => {
      [redis, keys] = await Promise.all([DisposableRedis.start(), KeyTable.create()]);
      const env = { REDIS_URL: redis.url, DATABASE_PATH: keys.path, THROTTLER_ERROR_MESSAGE: '1' };
      [first, second] = await Promise.all([
        startThrottlerApp({ ...env, HTTP_ADAPTER: 'express', GUARD_ORDER: 'throttler-first' }),
        startThrottlerApp({ ...env, HTTP_ADAPTER: 'fastify', GUARD_ORDER: 'auth-first' }),
      ]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([first?.stop(), second?.stop()]);
      await Promise.all([redis?.stop(), keys?.close()]);
    });

    it('a limit of 5 per minute split across both instances lets 5 through in total, then 429 on both', async () => {
      const apiKey = await keys.newKey('orders');
      const seen: number[] = [];
      for (let i = 0; i < 7; i++) seen.push((await signedRequest(i % 2 === 0 ? first : second, apiKey, '/items/1').send()).status);
      expect(seen).toEqual([...times(5, 200), 429, 429]);
      const over = await signedRequest(first, apiKey, '/items/1').send();
      expectAuthError(over, 429, 'rate_limited');
      expectRetryAfter(over, 60);
      // ThrottlerModule's errorMessage gives the message; the body is still the module's.
      expect(over.json.message).toBe('5 per 60 s on item');
      expect([...(await handled(first, apiKey)), ...(await handled(second, apiKey))]).toHaveLength(5);
    });

    it("a key's own limit holds across both instances too", async () => {
      const apiKey = await keys.newKey('orders', { limit: 8, ttlMs: 60_000 });
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) seen.push((await signedRequest(i % 2 === 0 ? second : first, apiKey, '/items/1').send()).status);
      expect(seen).toEqual([...times(8, 200), 429, 429]);
    });

    it("keeps the throttlers' counters in Redis, under the module's key prefix, apart from the module's own", async () => {
      const apiKey = await keys.newKey('orders');
      expect((await signedRequest(first, apiKey, '/report').send()).status).toBe(200);
      const counters = (await redis.command('KEYS', 'sa:*:h')) as string[];
      expect(counters.filter((key) => key.endsWith(':t:default:h')).length).toBeGreaterThanOrEqual(1);
      expect(counters.filter((key) => key.endsWith(':t:long:h')).length).toBeGreaterThanOrEqual(1);
      // The module's own rateLimit is off here: no per-key counter of its own.
      expect(counters.filter((key) => key.startsWith(`sa:{${apiKey}}:`))).toEqual([]);
    });

    it('a request accepted by one instance is a replay to the other', async () => {
      const apiKey = await keys.newKey('orders');
      const request = signedRequest(first, apiKey, '/items/3');
      expect((await request.send()).status).toBe(200);
      // The same bytes, Host included, sent to the other instance.
      const replay = await send(target(second), { target: '/items/3', host: first.host, headers: request.headers });
      expectAuthError(replay, 401, 'replayed_request');
      expect(await handled(second, apiKey)).toEqual([]);
    });

    it('throttler guard first: a request it refuses records no nonce; ApiKeyGuard first: it was recorded before the throttler counted', async () => {
      for (const [app, recorded] of [
        [first, 0],
        [second, 1],
      ] as const) {
        const apiKey = await keys.newKey('orders');
        for (let i = 0; i < 5; i++) expect((await signedRequest(app, apiKey, '/items/1').send()).status).toBe(200);
        const nonce = freshNonce();
        expectAuthError(await signedRequest(app, apiKey, '/items/1', { nonce }).send(), 429, 'rate_limited');
        expect(await redis.command('EXISTS', `sa:{${apiKey}}:n:${nonce}`)).toBe(recorded);
      }
    });
  });
});
