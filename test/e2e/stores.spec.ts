import { DataSource } from 'typeorm';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';
import { expectRejected, send, sendSigned, sign } from '../support/signed-request.js';

/** A key or nonce store that fails never lets a request through: 503 (PROTOCOL.md steps 3 and 5). */
describe.each(ADAPTERS)('store failures (%s)', (adapter) => {
  describe('key_store_unavailable', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter });
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('answers 503 when the api_keys table is gone', async () => {
      const { apiKey } = await t.keys.create('orders');
      await t.app.get(DataSource).query('ALTER TABLE api_keys RENAME TO api_keys_gone');
      try {
        // create() left the key out of the cache: the guard must ask the store.
        const res = await sendSigned(t, { apiKey, secret: TEST_SECRET });
        expectRejected(t, res, 503, 'key_store_unavailable');
        expect(res.json.message).not.toMatch(/api_keys|SQLITE|no such table/i);
        // An unknown key is not answered 401 either: the guard cannot know it is unknown.
        expectRejected(t, await sendSigned(t, { apiKey: 'NeverSeenKey0123456789', secret: TEST_SECRET }), 503, 'key_store_unavailable');
      } finally {
        await t.app.get(DataSource).query('ALTER TABLE api_keys_gone RENAME TO api_keys');
      }
      // Back once the store is.
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
    });

    it('checks the credentials format before the store: malformed requests stay 401', async () => {
      await t.app.get(DataSource).query('ALTER TABLE api_keys RENAME TO api_keys_gone');
      try {
        expectRejected(t, await send(t, { target: '/items/1' }), 401, 'missing_credentials');
      } finally {
        await t.app.get(DataSource).query('ALTER TABLE api_keys_gone RENAME TO api_keys');
      }
    });
  });

  describe('key_store_unavailable (data source destroyed)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter });
    });
    afterAll(() => t?.close());

    it('answers 503 when the data source is closed', async () => {
      const { apiKey } = await t.keys.create('orders');
      await t.app.get(DataSource).destroy();
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 503, 'key_store_unavailable');
    });
  });

  describe('nonce_store_unavailable (in-memory store full: nonces: { maxEntries: 2 })', () => {
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter, auth: { nonces: { maxEntries: 2 } } });
      ({ apiKey } = await t.keys.create('orders'));
    });
    afterAll(() => t?.close());

    it('answers 503 to the third distinct valid request and never forgets an unexpired nonce', async () => {
      const first = sign(t, { apiKey, secret: TEST_SECRET });
      expect((await send(t, { target: '/items/1', headers: first })).status).toBe(200);
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/2' })).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1', 'get:2']);
      t.log.calls.length = 0;

      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/3' }), 503, 'nonce_store_unavailable');
      // Full does not mean forgetful: the first request is still a replay.
      expectRejected(t, await send(t, { target: '/items/1', headers: first }), 401, 'replayed_request');
    });

    it('does not touch the nonce store before the signature is valid (a full store still answers 401 to a forgery)', async () => {
      const res = await sendSigned(t, { apiKey, secret: 'wrong-secret-but-long-enough-0123456789' });
      expectRejected(t, res, 401, 'invalid_signature');
    });
  });

  /**
   * The guard answers synchronously when a store does, and waits when it
   * returns a promise: both shapes, and both ways of failing (a throw, a
   * rejection), must end the same way.
   */
  describe.each([
    ['answering at once', <T>(answer: () => T) => answer()],
    ['answering with a promise', <T>(answer: () => T) => Promise.resolve().then(answer)],
  ])('custom stores %s', (_shape, deliver) => {
    const state = { nonce: 'fresh' as 'fresh' | 'seen' | 'fail', counter: 'ok' as 'ok' | 'blocked' | 'fail' };
    const nonceStore = {
      recordOnce: () =>
        deliver(() => {
          if (state.nonce === 'fail') throw new Error('nonce backend down');
          return state.nonce === 'fresh';
        }),
    };
    const throttlerStorage = {
      increment: () =>
        deliver(() => {
          if (state.counter === 'fail') throw new Error('counter backend down');
          const blocked = state.counter === 'blocked';
          return { totalHits: blocked ? 11 : 1, timeToExpire: 60, isBlocked: blocked, timeToBlockExpire: blocked ? 7 : 0 };
        }),
    };
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      t = await createTestApp({
        adapter,
        // Cast: the ThrottlerStorage type wants a promise; a JavaScript storage may answer at once.
        auth: { nonces: { store: nonceStore }, throttlerStorage: throttlerStorage as never, rateLimit: { limit: 10, ttlMs: 60_000 } },
      });
      ({ apiKey } = await t.keys.create('orders'));
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
      state.nonce = 'fresh';
      state.counter = 'ok';
    });

    it('lets a fresh, counted request through', async () => {
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1']);
    });

    it('answers 401 replayed_request when the nonce store has seen the nonce', async () => {
      state.nonce = 'seen';
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'replayed_request');
    });

    it('answers 503 nonce_store_unavailable when the nonce store fails', async () => {
      state.nonce = 'fail';
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 503, 'nonce_store_unavailable');
    });

    it('answers 429 rate_limited with Retry-After when the counter says blocked', async () => {
      state.counter = 'blocked';
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET });
      expectRejected(t, res, 429, 'rate_limited');
      expect(res.headers['retry-after']).toBe('7');
    });

    it('answers 503 rate_limit_store_unavailable when the counter fails', async () => {
      state.counter = 'fail';
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 503, 'rate_limit_store_unavailable');
    });
  });
});
