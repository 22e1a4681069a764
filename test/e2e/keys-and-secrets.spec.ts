import { jest } from '@jest/globals';
import { APP_DATABASES } from '../support/app-databases.js';
import { ADAPTERS, createTestApp, TEST_PREVIOUS_SECRET, TEST_SECRET, type TestApp, type TestAppOptions } from '../support/test-app.js';
import { expectRejected, nowSeconds, send, sendSigned, sign } from '../support/signed-request.js';
import * as protocol from '../../lib/protocol/index.js';
import { hmacSha256Hex } from '../../lib/protocol/crypto.js';

const OTHER_SECRET = 'some-other-secret-nobody-configured-0123456789';
const MASTER = 'master-secret-current-0123456789-abcdefghijkl';
const OLD_MASTER = 'master-secret-previous-0123456789-abcdefghijk';

/** The key table on SQLite, on MySQL/MariaDB with MYSQL_URL and on PostgreSQL with POSTGRES_URL (a scratch database of its own). */
const KEY_STORES = APP_DATABASES.filter((database) => database.available);
for (const skipped of APP_DATABASES.filter((database) => !database.available)) {
  skipped.describe(`keys and secrets on ${skipped.label}`, () => {
    it(`runs every case below against ${skipped.label}`, () => undefined);
  });
}
const SCRATCH_DB = 'service_auth_test_keys_and_secrets';

/** PROTOCOL.md step 3 (key lookup) and step 4 (signature under each accepted secret), and the schemes. */
describe.each(ADAPTERS.flatMap((adapter) => KEY_STORES.map((store) => [adapter, store.label, store] as const)))(
  'keys and secrets (%s, %s)',
  (adapter, _label, store) => {
    let database: Partial<TestAppOptions> = {};
    beforeAll(async () => {
      database = await store.open(SCRATCH_DB);
    });
    afterAll(async () => {
      await store.drop(SCRATCH_DB);
    });

    describe('shared secret, one key table', () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await createTestApp({ adapter, ...database });
      });
      afterAll(() => t?.close());
      beforeEach(() => {
        t.log.calls.length = 0;
      });

      it('hands out no secret for a key in shared mode', async () => {
        const created = await t.keys.create('orders');
        expect(created.secret).toBeNull();
        expect(created.apiKey).toMatch(/^[A-Za-z0-9]{32}$/);
      });

      it('answers invalid_signature for an unknown key signed with the right secret', async () => {
        const res = await sendSigned(t, { apiKey: protocol.generateNonce() + 'unknown', secret: TEST_SECRET });
        expectRejected(t, res, 401, 'invalid_signature');
      });

      it.each([
        ['the previous secret (not configured here)', TEST_PREVIOUS_SECRET],
        ['an unrelated secret', OTHER_SECRET],
        ['the secret minus its last character', TEST_SECRET.slice(0, -1)],
        ['the secret plus one character', TEST_SECRET + 'x'],
        ['the secret in upper case', TEST_SECRET.toUpperCase()],
      ])('answers invalid_signature for a known key signed with %s', async (_name, secret) => {
        const { apiKey } = await t.keys.create('orders');
        expectRejected(t, await sendSigned(t, { apiKey, secret }), 401, 'invalid_signature');
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      });

      it('answers an unknown key exactly like a wrong signature', async () => {
        const { apiKey } = await t.keys.create('orders');
        const unknown = await sendSigned(t, { apiKey: 'ZZ' + apiKey.slice(2), secret: TEST_SECRET });
        const wrong = await sendSigned(t, { apiKey, secret: OTHER_SECRET });
        expect(unknown.status).toBe(401);
        expect(unknown.json).toEqual(wrong.json);
      });

      it('stops accepting a key as soon as ApiKeyService.revoke() returns', async () => {
        const { apiKey } = await t.keys.create('orders');
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
        expect(await t.keys.revoke(apiKey)).toBe(true);
        t.log.calls.length = 0;
        expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'invalid_signature');
        expect(await t.keys.revoke(apiKey)).toBe(false);
        expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'invalid_signature');
      });

      it('refuses a key whose expiresAt is in the past', async () => {
        const { apiKey } = await t.keys.create('orders', { expiresAt: new Date(Date.now() - 1000) });
        expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'invalid_signature');
      });

      it('accepts a key whose expiresAt is in the future, and refuses it once that has passed', async () => {
        const { apiKey } = await t.keys.create('orders', { expiresAt: new Date(Date.now() + 10_000) });
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
        // 20 s later (well within the 30 s key cache TTL: expiry is checked on every request, not on lookup).
        const realNow = Date.now.bind(Date);
        const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 20_000);
        try {
          t.log.calls.length = 0;
          expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'invalid_signature');
        } finally {
          later.mockRestore();
        }
      });

      it('matches the key exactly: a key that differs only in case is unknown', async () => {
        const { apiKey } = await t.keys.create('orders');
        const swapped = [...apiKey].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
        expectRejected(t, await sendSigned(t, { apiKey: swapped, secret: TEST_SECRET }), 401, 'invalid_signature');
      });
    });

    describe('rotation: secrets [current, previous]', () => {
      let t: TestApp;
      let apiKey: string;
      beforeAll(async () => {
        t = await createTestApp({ adapter, ...database, auth: { secrets: [TEST_SECRET, TEST_PREVIOUS_SECRET] } });
        ({ apiKey } = await t.keys.create('orders'));
      });
      afterAll(() => t?.close());
      beforeEach(() => {
        t.log.calls.length = 0;
      });

      it.each([
        ['the current secret', TEST_SECRET],
        ['the previous secret', TEST_PREVIOUS_SECRET],
      ])('accepts a signature made with %s', async (_name, secret) => {
        const res = await sendSigned(t, { apiKey, secret });
        expect(res.status).toBe(200);
        expect(t.log.calls).toEqual(['get:1']);
      });

      it.each([
        ['an unrelated secret', OTHER_SECRET],
        ['both secrets concatenated', TEST_SECRET + TEST_PREVIOUS_SECRET],
      ])('refuses a signature made with %s', async (_name, secret) => {
        expectRejected(t, await sendSigned(t, { apiKey, secret }), 401, 'invalid_signature');
      });
    });

    describe('derived mode: each key signs with HMAC(master, key)', () => {
      let t: TestApp;
      let a: { apiKey: string; secret: string };
      let b: { apiKey: string; secret: string };
      beforeAll(async () => {
        t = await createTestApp({ adapter, ...database, auth: { secretMode: 'derived', secrets: [MASTER, OLD_MASTER] } });
        const first = await t.keys.create('orders');
        const second = await t.keys.create('billing');
        a = { apiKey: first.apiKey, secret: first.secret! };
        b = { apiKey: second.apiKey, secret: second.secret! };
      });
      afterAll(() => t?.close());
      beforeEach(() => {
        t.log.calls.length = 0;
      });

      it("returns the key's derived secret from create() and secretFor()", () => {
        expect(a.secret).toMatch(/^[0-9a-f]{64}$/);
        expect(a.secret).toBe(protocol.deriveKeySecret(MASTER, a.apiKey));
        expect(t.keys.secretFor(a.apiKey)).toBe(a.secret);
        expect(b.secret).not.toBe(a.secret);
      });

      it("accepts a request signed with the key's derived secret", async () => {
        const res = await sendSigned(t, a);
        expect(res.status).toBe(200);
        expect(res.json.caller).toEqual({ apiKey: a.apiKey, serviceName: 'orders', scheme: 'v1' });
        expect(t.log.calls).toEqual(['get:1']);
      });

      it('accepts the secret derived from the previous master (master rotation)', async () => {
        const res = await sendSigned(t, { apiKey: a.apiKey, secret: protocol.deriveKeySecret(OLD_MASTER, a.apiKey) });
        expect(res.status).toBe(200);
      });

      it.each([
        ['the master secret itself', () => MASTER],
        ['the previous master secret itself', () => OLD_MASTER],
        ["another key's derived secret", () => b.secret],
        ['the derived secret in upper case', () => a.secret.toUpperCase()],
        ['a secret derived from an unknown master', () => protocol.deriveKeySecret(OTHER_SECRET, a.apiKey)],
      ])('refuses a request signed with %s', async (_name, secret) => {
        expectRejected(t, await sendSigned(t, { apiKey: a.apiKey, secret: secret() }), 401, 'invalid_signature');
      });

      it("does not let a service sign as another: key B's headers with key A's secret", async () => {
        expectRejected(t, await sendSigned(t, { apiKey: b.apiKey, secret: a.secret }), 401, 'invalid_signature');
      });
    });

    describe.each([
      ['v1 only (default)', undefined],
      ["['v1']", ['v1'] as protocol.SignatureScheme[]],
    ])('schemes %s', (_name, schemes) => {
      let t: TestApp;
      let apiKey: string;
      beforeAll(async () => {
        t = await createTestApp({ adapter, ...database, auth: schemes ? { schemes } : {} });
        ({ apiKey } = await t.keys.create('orders'));
      });
      afterAll(() => t?.close());
      beforeEach(() => {
        t.log.calls.length = 0;
      });

      it('refuses a correct v0 signature as malformed_credentials', async () => {
        const res = await send(t, { target: '/items/1', headers: sign(t, { apiKey, secret: TEST_SECRET, scheme: 'v0' }) });
        expectRejected(t, res, 401, 'malformed_credentials');
      });

      it('accepts v1', async () => {
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      });
    });

    describe.each([
      ["['v0', 'v1']", ['v0', 'v1'] as protocol.SignatureScheme[]],
      ["['v0']", ['v0'] as protocol.SignatureScheme[]],
    ])('schemes %s', (name, schemes) => {
      let t: TestApp;
      let apiKey: string;
      beforeAll(async () => {
        t = await createTestApp({ adapter, ...database, auth: { schemes } });
        ({ apiKey } = await t.keys.create('orders'));
      });
      afterAll(() => t?.close());
      beforeEach(() => {
        t.log.calls.length = 0;
      });

      const v0 = (overrides: { secret?: string; timestampSeconds?: number } = {}) =>
        sign(t, { apiKey, secret: TEST_SECRET, scheme: 'v0', ...overrides });

      it('accepts a correct v0 signature (key + timestamp)', async () => {
        const headers = v0();
        expect(headers['x-api-signature']).toMatch(/^[0-9a-f]{64}$/);
        const res = await send(t, { target: '/items/1', headers });
        expect(res.status).toBe(200);
        expect(res.json.caller).toEqual({ apiKey, serviceName: 'orders', scheme: 'v0' });
        expect(t.log.calls).toEqual(['get:1']);
      });

      it('matches the published snippet: hex(HMAC(secret, key + timestamp)), nonce header ignored', async () => {
        const timestamp = String(nowSeconds());
        const signature = hmacSha256Hex(TEST_SECRET, `${apiKey}${timestamp}`);
        const res = await send(t, {
          target: '/items/1',
          headers: { 'x-api-key': apiKey, 'x-api-timestamp': timestamp, 'x-api-signature': signature, 'x-api-nonce': 'ignored' },
        });
        expect(res.status).toBe(200);
      });

      it.each([
        ['a wrong secret', (h: Record<string, string>) => ({ ...h, 'x-api-signature': v0({ secret: OTHER_SECRET })['x-api-signature'] })],
        ['a changed timestamp', (h: Record<string, string>) => ({ ...h, 'x-api-timestamp': String(Number(h['x-api-timestamp']) - 1) })],
        ['another key', (h: Record<string, string>) => ({ ...h, 'x-api-key': 'Other' + h['x-api-key'].slice(5) })],
        [
          'a v0 MAC under the v1 prefix',
          (h: Record<string, string>) => ({ ...h, 'x-api-signature': 'v1=' + h['x-api-signature'], 'x-api-nonce': 'nonce-nonce-nonce-1' }),
        ],
      ])('refuses v0 with %s', async (tampering, tamper) => {
        const res = await send(t, { target: '/items/1', headers: tamper(v0()) });
        // A v0 MAC sent as v1 is a v1 request: malformed where v1 is not accepted, else a wrong signature.
        const code = tampering.includes('v1 prefix') && !schemes.includes('v1') ? 'malformed_credentials' : 'invalid_signature';
        expectRejected(t, res, 401, code);
      });

      it('refuses a stale v0 timestamp', async () => {
        const res = await send(t, { target: '/items/1', headers: v0({ timestampSeconds: nowSeconds() - 301 }) });
        expectRejected(t, res, 401, 'stale_timestamp');
      });

      it('does not bind the request: as documented, v0 headers are replayable on any route within the window', async () => {
        const headers = v0();
        expect((await send(t, { target: '/items/1', headers })).status).toBe(200);
        expect((await send(t, { target: '/items/2?x=1', headers })).status).toBe(200);
        expect(t.log.calls).toEqual(['get:1', 'get:2']);
      });

      it(`${schemes.includes('v1') ? 'accepts' : 'refuses'} v1 (${name})`, async () => {
        const res = await sendSigned(t, { apiKey, secret: TEST_SECRET });
        if (schemes.includes('v1')) {
          expect(res.status).toBe(200);
          expect(res.json.caller.scheme).toBe('v1');
        } else {
          expectRejected(t, res, 401, 'malformed_credentials');
          expect(res.json.message).toContain('v0');
        }
      });
    });
  },
);
