import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createRedisClient, redisBackends } from '../../lib/redis/index.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import { expectAuthError, send, sign } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOLERANCE_SECONDS = 2;

/**
 * Nonces are kept for a time relative to the app's own clock: with `EXAT`
 * (an absolute time on Redis's clock) and the app behind Redis, a nonce
 * expired while its timestamp was still accepted, and a captured request was
 * accepted again and again until the end of its window.
 */
describeWithRedisServer('the app 5 s behind Redis (Date.now shifted in the app)', () => {
  let redis: DisposableRedis;

  beforeAll(async () => {
    redis = await DisposableRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  describe.each(ADAPTERS)('%s', (adapter) => {
    let client: Redis;
    let t: TestApp;

    beforeEach(async () => {
      const realNow = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 5_000);
      client = createRedisClient(redis.url);
      t = await createTestApp({ adapter, auth: { ...redisBackends(client), toleranceSeconds: TOLERANCE_SECONDS } });
    });
    afterEach(async () => {
      await t?.close();
      client?.disconnect();
      jest.restoreAllMocks();
    });

    it('a captured request is accepted exactly once within its whole window', async () => {
      const { apiKey } = await t.keys.create('orders');
      const timestampSeconds = Math.floor(Date.now() / 1000);
      const headers = sign(t, { apiKey, secret: TEST_SECRET, timestampSeconds });
      const answers: string[] = [];
      // Until the timestamp is stale by the app's clock, and a little past it.
      while (Math.floor(Date.now() / 1000) <= timestampSeconds + TOLERANCE_SECONDS + 1) {
        const res = await send(t, { target: '/items/1', headers });
        answers.push(res.status === 200 ? '200' : `${res.status} ${res.json.code}`);
        await sleep(100);
      }
      expect(answers[0]).toBe('200');
      expect(answers.filter((a) => a === '200')).toHaveLength(1);
      expect(new Set(answers.slice(1))).toEqual(new Set(['401 replayed_request', '401 stale_timestamp']));
      expect(t.log.calls).toEqual(['get:1']);
      expectAuthError(await send(t, { target: '/items/1', headers }), 401, 'stale_timestamp');
    });
  });
});
