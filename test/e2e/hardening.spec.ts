import { jest } from '@jest/globals';
import { API_KEY_STORE } from '../../lib/api-key-auth.constants.js';
import { ServiceAuthenticator, type ApiKeyStore } from '../../lib/index.js';
import { expectRejected, nowSeconds, send, sendSigned, sign } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

/** Counts the guard's signature checks (each one HMAC per accepted secret) and the key store's lookups. */
function instrument(t: TestApp) {
  const authenticator = t.app.get<unknown>(ServiceAuthenticator) as { verifier: { matches: (...args: unknown[]) => boolean } };
  const signatureChecks = jest.spyOn(authenticator.verifier, 'matches');
  const store = t.app.get<ApiKeyStore>(API_KEY_STORE);
  const lookups = jest.spyOn(store, 'findByKey');
  return { signatureChecks, lookups };
}

describe.each(ADAPTERS)('hardening (%s)', (adapter) => {
  afterEach(() => jest.restoreAllMocks());

  describe('the same path for unknown keys, revoked keys and wrong signatures', () => {
    let t: TestApp;
    let active: string;
    let revoked: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter, auth: { keyCache: { negativeTtlMs: 60_000 } } });
      active = (await t.keys.create('orders')).apiKey;
      revoked = (await t.keys.create('orders')).apiKey;
      await t.keys.revoke(revoked);
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it.each([
      ['an unknown key', () => ({ apiKey: 'UnknownKeyUnknownKey0123456789ab', secret: TEST_SECRET })],
      ['a revoked key, wrongly signed', () => ({ apiKey: revoked, secret: 'w'.repeat(40) })],
      ['an active key, wrongly signed', () => ({ apiKey: active, secret: 'w'.repeat(40) })],
      ['an unknown key, wrongly signed', () => ({ apiKey: 'UnknownKeyUnknownKey0123456789ab', secret: 'w'.repeat(40) })],
    ])('%s: one signature check, no key lookup, 401 invalid_signature', async (_name, spec) => {
      const { signatureChecks, lookups } = instrument(t);
      const { apiKey, secret } = spec();
      // A signature made with the shared secret for an unknown key is valid as a MAC: that path looks the key up.
      const validMac = secret === TEST_SECRET;
      expectRejected(t, await sendSigned(t, { apiKey, secret }), 401, 'invalid_signature');
      expect(signatureChecks).toHaveBeenCalledTimes(1);
      expect(signatureChecks.mock.results[0].value).toBe(validMac);
      expect(lookups).toHaveBeenCalledTimes(validMac ? 1 : 0);
    });

    it('a correctly signed request for a revoked key: one signature check, 401 invalid_signature', async () => {
      const { signatureChecks } = instrument(t);
      expectRejected(t, await sendSigned(t, { apiKey: revoked, secret: TEST_SECRET }), 401, 'invalid_signature');
      expect(signatureChecks).toHaveBeenCalledTimes(1);
      expect(signatureChecks.mock.results[0].value).toBe(true);
    });

    it('a flood of 300 random keys with wrong signatures makes no key-store query at all', async () => {
      const { lookups } = instrument(t);
      for (let i = 0; i < 300; i++) {
        const apiKey = `Flood${String(i).padStart(5, '0')}${'x'.repeat(22)}`;
        const res = await sendSigned(t, { apiKey, secret: 'f'.repeat(40) });
        expect(res.status).toBe(401);
      }
      expect(lookups).not.toHaveBeenCalled();
      expect(t.log.calls).toEqual([]);
    });

    it('header values out of bounds are refused before any signature check or lookup', async () => {
      const { signatureChecks, lookups } = instrument(t);
      const headers = sign(t, { apiKey: active, secret: TEST_SECRET });
      for (const [name, value] of [
        ['x-api-key', 'k'.repeat(129)],
        ['x-api-nonce', 'n'.repeat(129)],
        ['x-api-timestamp', '1'.repeat(13)],
        ['x-api-signature', `v1=${'a'.repeat(65)}`],
      ]) {
        expectRejected(t, await send(t, { target: '/items/1', headers: { ...headers, [name]: value } }), 401, 'malformed_credentials');
      }
      expect(signatureChecks).not.toHaveBeenCalled();
      expect(lookups).not.toHaveBeenCalled();
    });

    it.each([
      // 305, not 301: the server's clock may tick a second between signing and checking.
      ['305 s in the future', 305],
      ['301 s in the past', -301],
    ])('a timestamp %s is stale, checked before any signature check', async (_name, skew) => {
      const { signatureChecks } = instrument(t);
      const res = await sendSigned(t, { apiKey: active, secret: TEST_SECRET, timestampSeconds: nowSeconds() + skew });
      expectRejected(t, res, 401, 'stale_timestamp');
      expect(signatureChecks).not.toHaveBeenCalled();
    });
  });

  describe('maxBodyBytes', () => {
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter, auth: { maxBodyBytes: 64 } });
      apiKey = (await t.keys.create('orders')).apiKey;
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('refuses a correctly signed body over the limit with 413 body_too_large, before hashing or checking it', async () => {
      const { signatureChecks } = instrument(t);
      const body = JSON.stringify({ pad: 'p'.repeat(60) });
      expect(Buffer.byteLength(body)).toBeGreaterThan(64);
      const res = await sendSigned(
        t,
        { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body },
        {
          'content-type': 'application/json',
        },
      );
      expectRejected(t, res, 413, 'body_too_large');
      expect(res.json.error).toBe('Payload Too Large');
      expect(signatureChecks).not.toHaveBeenCalled();
    });

    it('accepts a body of exactly the limit', async () => {
      const body = JSON.stringify({ pad: 'p'.repeat(64 - 10) });
      expect(Buffer.byteLength(body)).toBe(64);
      const res = await sendSigned(
        t,
        { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body },
        {
          'content-type': 'application/json',
        },
      );
      expect(res.status).toBe(201);
      expect(t.log.calls).toEqual(['create']);
    });
  });

  describe('requireHttps', () => {
    let direct: TestApp;
    let proxied: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      direct = await createTestApp({ adapter, auth: { requireHttps: true } });
      proxied = await createTestApp({ adapter, auth: { requireHttps: true }, trustProxy: true });
      apiKey = (await direct.keys.create('orders')).apiKey;
      await proxied.keys.create('orders');
    });
    afterAll(async () => {
      await direct?.close();
      await proxied?.close();
    });
    beforeEach(() => {
      direct.log.calls.length = 0;
      proxied.log.calls.length = 0;
    });

    it('refuses a plain-HTTP request with 403 https_required, even when correctly signed; the handler does not run', async () => {
      const res = await sendSigned(direct, { apiKey, secret: TEST_SECRET });
      expectRejected(direct, res, 403, 'https_required');
      expect(res.json.message).toBe('This service accepts requests over HTTPS only.');
    });

    it('ignores X-Forwarded-Proto when the adapter does not trust proxies', async () => {
      const res = await sendSigned(direct, { apiKey, secret: TEST_SECRET }, { 'x-forwarded-proto': 'https' });
      expectRejected(direct, res, 403, 'https_required');
    });

    it('believes X-Forwarded-Proto: https from a trusted proxy, and still checks the signature', async () => {
      const { apiKey: key } = await proxied.keys.create('billing');
      const ok = await sendSigned(proxied, { apiKey: key, secret: TEST_SECRET }, { 'x-forwarded-proto': 'https' });
      expect(ok.status).toBe(200);
      expect(proxied.log.calls).toEqual(['get:1']);
      proxied.log.calls.length = 0;
      const plain = await sendSigned(proxied, { apiKey: key, secret: TEST_SECRET }, { 'x-forwarded-proto': 'http' });
      expectRejected(proxied, plain, 403, 'https_required');
      const forged = await sendSigned(proxied, { apiKey: key, secret: 'w'.repeat(40) }, { 'x-forwarded-proto': 'https' });
      expectRejected(proxied, forged, 401, 'invalid_signature');
    });

    it('leaves @Public() routes alone', async () => {
      const res = await send(direct, { target: '/health' });
      expect(res.status).toBe(200);
    });
  });
});
