import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';
import { expectAuthError, expectRejected, expectRetryAfter, send, sendSigned, sign } from '../support/signed-request.js';

const WRONG_SECRET = 'wrong-secret-but-long-enough-0123456789';

/** PROTOCOL.md step 7: per-key rate limit, and failed attempts per client address. */
describe.each(ADAPTERS)('limits (%s)', (adapter) => {
  describe('rateLimit: { limit: 3, ttlMs: 60000 }', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter, auth: { rateLimit: { limit: 3, ttlMs: 60_000 } } });
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('answers the 4th valid request of a key 429 rate_limited with Retry-After; another key is unaffected', async () => {
      const { apiKey } = await t.keys.create('orders');
      for (let i = 1; i <= 3; i++) {
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: `/items/${i}` })).status).toBe(200);
      }
      expect(t.log.calls).toEqual(['get:1', 'get:2', 'get:3']);
      t.log.calls.length = 0;

      const limited = await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/4' });
      expectRejected(t, limited, 429, 'rate_limited');
      expectRetryAfter(limited, 60);
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/5' }), 429, 'rate_limited');

      const other = (await t.keys.create('billing')).apiKey;
      expect((await sendSigned(t, { apiKey: other, secret: TEST_SECRET })).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1']);
    });

    it('counts only authenticated requests: forgeries with a known key cannot exhaust its quota', async () => {
      const { apiKey } = await t.keys.create('orders');
      for (let i = 0; i < 5; i++) {
        expectRejected(t, await sendSigned(t, { apiKey, secret: WRONG_SECRET }), 401, 'invalid_signature');
      }
      for (let i = 1; i <= 3; i++) {
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      }
    });

    it('counts a request once on a route with both the global guard and @UseGuards(ApiKeyGuard)', async () => {
      const { apiKey } = await t.keys.create('orders');
      for (let i = 1; i <= 3; i++) {
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/scoped' })).status).toBe(200);
      }
      expect(t.log.calls).toEqual(['scoped', 'scoped', 'scoped']);
      t.log.calls.length = 0;
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/scoped' }), 429, 'rate_limited');
    });

    it('leaves @Public() routes alone', async () => {
      for (let i = 0; i < 5; i++) expect((await send(t, { target: '/health' })).status).toBe(200);
    });
  });

  describe('failedAttempts: { limit: 3, ttlMs: 60000, blockDurationMs: 60000 }', () => {
    const options = { failedAttempts: { limit: 3, ttlMs: 60_000, blockDurationMs: 60_000 } };

    // Other client addresses are simulated by connecting from 127.0.0.2 and 127.0.0.3 (Linux routes all of 127.0.0.0/8 to lo).
    describe('an address that keeps failing', () => {
      let t: TestApp;
      let apiKey: string;
      beforeAll(async () => {
        t = await createTestApp({ adapter, auth: options });
        ({ apiKey } = await t.keys.create('orders'));
      });
      afterAll(() => t?.close());
      beforeEach(() => {
        t.log.calls.length = 0;
      });

      it('is answered 401 three times, then 429 too_many_failed_attempts with Retry-After', async () => {
        expectRejected(t, await send(t, { target: '/items/1' }), 401, 'missing_credentials');
        expectRejected(t, await sendSigned(t, { apiKey, secret: WRONG_SECRET }), 401, 'invalid_signature');
        expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET, timestampSeconds: 1 }), 401, 'stale_timestamp');
        const blocked = await sendSigned(t, { apiKey, secret: WRONG_SECRET });
        expectRejected(t, blocked, 429, 'too_many_failed_attempts');
        expectRetryAfter(blocked, 60);
      });

      it('answers its unsigned and malformed requests 429 too, without running anything', async () => {
        expectRejected(t, await send(t, { target: '/items/1' }), 429, 'too_many_failed_attempts');
        const malformed = await send(t, {
          target: '/items/1',
          headers: { 'x-api-key': 'short', 'x-api-timestamp': 'x', 'x-api-signature': 'y' },
        });
        expectRejected(t, malformed, 429, 'too_many_failed_attempts');
        expectRetryAfter(malformed, 60);
      });

      it('still accepts a valid signed request from that address (PROTOCOL.md: valid callers behind it are never locked out)', async () => {
        const res = await sendSigned(t, { apiKey, secret: TEST_SECRET });
        expect(res.status).toBe(200);
        expect(t.log.calls).toEqual(['get:1']);
        // ...while its next failure is still refused as over the limit.
        expectAuthError(await sendSigned(t, { apiKey, secret: WRONG_SECRET }), 429, 'too_many_failed_attempts');
      });

      it('records the nonce of that valid request like any other: a replay of it is refused', async () => {
        const headers = sign(t, { apiKey, secret: TEST_SECRET, nonce: 'blocked-nonce-00000001' });
        expect((await send(t, { target: '/items/1', headers })).status).toBe(200);
        const again = await send(t, { target: '/items/1', headers, localAddress: '127.0.0.2' });
        expectAuthError(again, 401, 'replayed_request');
        expect(t.log.calls).toEqual(['get:1']);
      });

      it('does not block other addresses', async () => {
        const res = await send(t, { target: '/items/1', headers: sign(t, { apiKey, secret: TEST_SECRET }), localAddress: '127.0.0.3' });
        expect(res.status).toBe(200);
        expect(t.log.calls).toEqual(['get:1']);
      });

      it('keeps @Public() routes open', async () => {
        expect((await send(t, { target: '/health' })).status).toBe(200);
      });
    });

    describe('what counts as a failure', () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await createTestApp({ adapter, auth: options });
      });
      afterAll(() => t?.close());

      it('does not count successes or 403 service_not_allowed', async () => {
        const { apiKey } = await t.keys.create('orders');
        for (let i = 0; i < 5; i++) {
          expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
          const forbidden = await sendSigned(t, { apiKey, secret: TEST_SECRET, method: 'DELETE', target: '/items/1' });
          expectAuthError(forbidden, 403, 'service_not_allowed');
        }
        // Three 401s are still allowed.
        for (let i = 0; i < 3; i++) {
          expectAuthError(await sendSigned(t, { apiKey, secret: WRONG_SECRET }), 401, 'invalid_signature');
        }
        expectAuthError(await sendSigned(t, { apiKey, secret: WRONG_SECRET }), 429, 'too_many_failed_attempts');
      });
    });
  });
});
