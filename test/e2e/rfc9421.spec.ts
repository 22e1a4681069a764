import { librarySigned, rfc9421Request, sendRfc9421, sendWire } from '../support/rfc9421-request.js';
import { expectAuthError, expectRejected, expectRetryAfter, nowSeconds, sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, lastingNonceStore, TEST_PREVIOUS_SECRET, TEST_SECRET, type TestApp } from '../support/test-app.js';
import * as protocol from '../../lib/protocol/index.js';

const WRONG_SECRET = 'wrong-secret-but-long-enough-0123456789';

/** Scheme rfc9421 through the whole guard: configuration, steps 1 to 7 as for v1, the caller. */
describe.each(ADAPTERS)('scheme rfc9421 (%s)', (adapter) => {
  describe('an app that lists it: schemes: ["v1", "rfc9421"]', () => {
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      t = await createTestApp({
        adapter,
        auth: { schemes: ['v1', 'rfc9421'], secrets: [TEST_SECRET, TEST_PREVIOUS_SECRET], rateLimit: false },
      });
      ({ apiKey } = await t.keys.create('orders'));
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('accepts a GET; @ServiceCaller() reports scheme rfc9421', async () => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, target: '/items/7?expand=lines&x=%2F' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ id: '7', caller: { apiKey, serviceName: 'orders', scheme: 'rfc9421' } });
      expect(res.headers['x-api-server-time']).toBeUndefined();
      expect(t.log.calls).toEqual(['get:7']);
    });

    it('accepts a POST whose body is bound by Content-Digest; the handler gets the body', async () => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: '{"total":12.5}' });
      expect(res.status).toBe(201);
      expect(res.json).toEqual({ caller: 'orders', body: { total: 12.5 } });
    });

    it('still accepts v1 beside it', async () => {
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).json.caller.scheme).toBe('v1');
    });

    it('accepts @request-target, any label, extra parameters and covered headers, a previous secret', async () => {
      const wires = [
        rfc9421Request(t, {
          apiKey,
          secret: TEST_SECRET,
          target: '/items/2?a=1',
          components: ['@method', '@authority', '@request-target'],
        }),
        rfc9421Request(t, { apiKey, secret: TEST_SECRET, label: 'orders-sig', tag: 'app-1', headers: { 'X-Request-Id': 'r-9' } }),
        rfc9421Request(t, { apiKey, secret: TEST_SECRET, parameters: ['keyid', 'nonce', 'created'] }),
        rfc9421Request(t, { apiKey, secret: TEST_PREVIOUS_SECRET }),
        await librarySigned(t, { apiKey, secret: TEST_SECRET, params: ['keyid', 'created', 'nonce'], label: 'x' }),
      ];
      for (const wire of wires) expect((await sendWire(t, wire)).status).toBe(200);
      expect(t.log.calls).toEqual(['get:2', 'get:1', 'get:1', 'get:1', 'get:1']);
    });

    it('ignores a signature of another party (a label without keyid) beside ours', async () => {
      const ours = rfc9421Request(t, { apiKey, secret: TEST_SECRET });
      const res = await sendWire(t, ours, {
        'signature-input': `proxy=("@method");created=1, ${String(ours.headers['signature-input'])}`,
        signature: `proxy=:${Buffer.alloc(64).toString('base64')}:, ${String(ours.headers.signature)}`,
      });
      expect(res.status).toBe(200);
    });

    it('a route restricted with @AllowServices answers 403 service_not_allowed to another service', async () => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, method: 'DELETE', target: '/items/3' });
      expectRejected(t, res, 403, 'service_not_allowed');
      const { apiKey: admin } = await t.keys.create('billing-admin');
      expect((await sendRfc9421(t, { apiKey: admin, secret: TEST_SECRET, method: 'DELETE', target: '/items/3' })).status).toBe(200);
    });

    it('a route with both the global guard and @UseGuards(ApiKeyGuard) records the nonce once', async () => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, target: '/scoped' });
      expect(res.status).toBe(200);
      expect(t.log.calls).toEqual(['scoped']);
    });

    it('the nonce is recorded per key, shared with v1: the same nonce in a v1 request of the key is a replay', async () => {
      const nonce = protocol.generateNonce();
      expect((await sendRfc9421(t, { apiKey, secret: TEST_SECRET, nonce })).status).toBe(200);
      t.log.calls.length = 0;
      expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET, nonce, target: '/items/2' }), 401, 'replayed_request');
      const { apiKey: other } = await t.keys.create('orders');
      expect((await sendRfc9421(t, { apiKey: other, secret: TEST_SECRET, nonce })).status).toBe(200);
    });
  });

  describe('configuration', () => {
    it('is off by default: an app without rfc9421 in schemes refuses it with malformed_credentials', async () => {
      const t = await createTestApp({ adapter });
      try {
        const { apiKey } = await t.keys.create('orders');
        const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET });
        expectRejected(t, res, 401, 'malformed_credentials');
        expect(res.json.message).toBe('Signature scheme rfc9421 is not accepted by this service; sign with v1.');
        // A valid v1 request that also carries Signature-Input is malformed there too (PROTOCOL.md: never both).
        const both = await sendSigned(t, { apiKey, secret: TEST_SECRET }, { 'signature-input': 'sig1=("@method");keyid="x"' });
        expectRejected(t, both, 401, 'malformed_credentials');
        expect(both.json.message).toBe('A request may carry Signature-Input or X-API-Signature, not both.');
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      } finally {
        await t.close();
      }
    });

    it('an app with only rfc9421 refuses v1', async () => {
      const t = await createTestApp({ adapter, auth: { schemes: ['rfc9421'] } });
      try {
        const { apiKey } = await t.keys.create('orders');
        expect((await sendRfc9421(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
        t.log.calls.length = 0;
        expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'malformed_credentials');
      } finally {
        await t.close();
      }
    });

    it("derived mode: signed with the key's derived secret; the master secret or another key's secret is refused", async () => {
      const t = await createTestApp({ adapter, auth: { schemes: ['rfc9421'], secretMode: 'derived' } });
      try {
        const { apiKey, secret } = await t.keys.create('orders');
        const { apiKey: other } = await t.keys.create('billing');
        expect(secret).toBe(protocol.deriveKeySecret(TEST_SECRET, apiKey));
        expect((await sendRfc9421(t, { apiKey, secret: secret! })).status).toBe(200);
        t.log.calls.length = 0;
        expectRejected(t, await sendRfc9421(t, { apiKey, secret: TEST_SECRET }), 401, 'invalid_signature');
        expectRejected(t, await sendRfc9421(t, { apiKey: other, secret: secret! }), 401, 'invalid_signature');
        const stale = await sendRfc9421(t, {
          apiKey,
          secret: secret!,
          createdSeconds: nowSeconds() - 1000,
          nonce: 'derived-stale-nonce-0001',
        });
        expectRejected(t, stale, 401, 'stale_timestamp');
        const serverTime = String(stale.headers['x-api-server-time']);
        const fields = { apiKey, nonce: 'derived-stale-nonce-0001', serverTime };
        expect(protocol.verifyServerTime(secret!, fields, String(stale.headers['x-api-server-time-signature']))).toBe(true);
      } finally {
        await t.close();
      }
    });

    it('allowedHosts: a request signed for another host is 401 host_not_allowed before any cryptographic work', async () => {
      const t = await createTestApp({ adapter, auth: { schemes: ['rfc9421'], allowedHosts: ['billing.internal'] } });
      try {
        const { apiKey } = await t.keys.create('orders');
        expectRejected(t, await sendRfc9421(t, { apiKey, secret: TEST_SECRET }), 401, 'host_not_allowed');
        // Refused before the signature is checked: a wrong secret gets the same answer.
        expectRejected(t, await sendRfc9421(t, { apiKey, secret: WRONG_SECRET }), 401, 'host_not_allowed');
        const port = t.host.split(':')[1];
        const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, host: `Billing.Internal:${port}` });
        expect(res.status).toBe(200);
      } finally {
        await t.close();
      }
    });

    it('maxBodyBytes: 413 body_too_large; without the raw body: 401 unverifiable_body (a body is never taken as empty)', async () => {
      const small = await createTestApp({ adapter, auth: { schemes: ['rfc9421'], maxBodyBytes: 16 } });
      const noRaw = await createTestApp({ adapter, rawBody: false, auth: { schemes: ['rfc9421'] } });
      try {
        for (const t of [small, noRaw]) {
          const { apiKey } = await t.keys.create('orders');
          const res = await sendRfc9421(t, {
            apiKey,
            secret: TEST_SECRET,
            method: 'POST',
            target: '/items',
            body: '{"total":12.5,"x":"0123456789"}',
          });
          if (t === small) expectRejected(t, res, 413, 'body_too_large');
          else expectRejected(t, res, 401, 'unverifiable_body');
        }
      } finally {
        await small.close();
        await noRaw.close();
      }
    });

    it('the restart rule: with the in-memory nonce store, a request created before the app started is stale', async () => {
      const t = await createTestApp({ adapter, auth: { schemes: ['rfc9421'] } });
      const lasting = await createTestApp({ adapter, auth: { schemes: ['rfc9421'], nonces: { store: lastingNonceStore() } } });
      try {
        for (const app of [t, lasting]) {
          const { apiKey } = await app.keys.create('orders');
          const res = await sendRfc9421(app, { apiKey, secret: TEST_SECRET, createdSeconds: nowSeconds() - 60 });
          if (app === t) expectRejected(app, res, 401, 'stale_timestamp');
          else expect(res.status).toBe(200);
        }
      } finally {
        await t.close();
        await lasting.close();
      }
    });
  });

  describe('limits, shared with v1', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        adapter,
        auth: { schemes: ['v1', 'rfc9421'], rateLimit: { limit: 3, ttlMs: 60_000 }, failedAttempts: { limit: 3, ttlMs: 60_000 } },
      });
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('one quota per key across both schemes; a replay is not counted, a request over the limit records no nonce', async () => {
      const { apiKey } = await t.keys.create('orders');
      const first = rfc9421Request(t, { apiKey, secret: TEST_SECRET, target: '/items/1' });
      expect((await sendWire(t, first)).status).toBe(200);
      expectAuthError(await sendWire(t, first), 401, 'replayed_request');
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/2' })).status).toBe(200);
      expect((await sendRfc9421(t, { apiKey, secret: TEST_SECRET, target: '/items/3' })).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1', 'get:2', 'get:3']);
      t.log.calls.length = 0;

      const over = rfc9421Request(t, { apiKey, secret: TEST_SECRET, target: '/items/4' });
      const limited = await sendWire(t, over);
      expectRejected(t, limited, 429, 'rate_limited');
      expectRetryAfter(limited, 60);
      // Its nonce was not recorded: the same request is still 429, never replayed_request.
      expectRejected(t, await sendWire(t, over), 429, 'rate_limited');
    });

    it('forgeries are failed attempts of the address: 401 three times, then 429; a valid rfc9421 request still passes', async () => {
      const { apiKey } = await t.keys.create('orders');
      const address = '127.0.0.9';
      const forged = async () => sendWire(t, rfc9421Request(t, { apiKey, secret: WRONG_SECRET }), {}, address);
      for (let i = 0; i < 3; i++) expectRejected(t, await forged(), 401, 'invalid_signature');
      const blocked = await forged();
      expectRejected(t, blocked, 429, 'too_many_failed_attempts');
      expectRetryAfter(blocked, 60);
      const valid = await sendWire(t, rfc9421Request(t, { apiKey, secret: TEST_SECRET }), {}, address);
      expect(valid.status).toBe(200);
    });
  });
});
