import { DataSource } from 'typeorm';
import { ApiKey } from '../../lib/index.js';
import { ADAPTERS, createTestApp, lastingNonceStore, TEST_SECRET, type TestApp } from '../support/test-app.js';
import {
  expectAuthError,
  expectRejected,
  freshNonce,
  nowSeconds,
  send,
  sendRawText,
  sendSigned,
  sign,
  startOfSecond,
} from '../support/signed-request.js';
import * as protocol from '../../lib/protocol/index.js';

/** PROTOCOL.md step 1 (headers present and well formed) and step 2 (timestamp window), on a v1-only app. */
describe.each(ADAPTERS)('credentials (%s)', (adapter) => {
  let t: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    // A store that outlives the app: requests dated before it started are tested against the window alone.
    t = await createTestApp({ adapter, auth: { nonces: { store: lastingNonceStore() } } });
    ({ apiKey } = await t.keys.create('orders'));
  });
  afterAll(() => t?.close());
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  /** Valid signed headers for GET /items/1, with `changes` applied (`undefined` removes a header). */
  function headersWith(changes: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
    const headers: Record<string, string | string[] | undefined> = { ...sign(t, { apiKey, secret: TEST_SECRET }), ...changes };
    for (const name of Object.keys(headers)) if (headers[name] === undefined) delete headers[name];
    return headers as Record<string, string | string[]>;
  }

  describe('a well-formed, correctly signed v1 request', () => {
    it('reaches the handler, which sees the caller', async () => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/1?x=1' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ id: '1', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
      expect(res.headers['x-api-server-time']).toBeUndefined();
      expect(t.log.calls).toEqual(['get:1']);
    });

    it('works with global fetch', async () => {
      const headers = protocol.signRequest({
        scheme: 'v1',
        apiKey,
        secret: TEST_SECRET,
        timestampSeconds: nowSeconds(),
        nonce: protocol.generateNonce(),
        method: 'GET',
        host: t.host,
        target: '/items/42?q=a%20b',
      });
      const res = await fetch(`${t.baseUrl}/items/42?q=a%20b`, { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: '42', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
      expect(t.log.calls).toEqual(['get:42']);
    });

    it('accepts upper-case hex digits, header names in any case and surrounding whitespace', async () => {
      const signed = sign(t, { apiKey, secret: TEST_SECRET });
      const res = await send(t, {
        target: '/items/1',
        headers: {
          'X-API-KEY': ` ${apiKey}\t`,
          'x-Api-Timestamp': ` ${signed['x-api-timestamp']} `,
          'X-Api-Nonce': `\t${signed['x-api-nonce']}`,
          'x-api-signature': `  v1=${signed['x-api-signature'].slice(3).toUpperCase()}  `,
        },
      });
      expect(res.status).toBe(200);
      expect(t.log.calls).toEqual(['get:1']);
    });

    it('accepts keys and nonces of 16 and 128 characters (inclusive bounds)', async () => {
      const repository = t.app.get(DataSource).getRepository(ApiKey);
      const short = 'Key_16-chars_abc';
      const long = 'K'.repeat(60) + '_-' + 'k9'.repeat(33);
      expect([short.length, long.length]).toEqual([16, 128]);
      for (const key of [short, long]) {
        await repository.insert({
          apiKey: key,
          serviceName: 'edge',
          createdAt: new Date(),
          revokedAt: null,
          expiresAt: null,
          lastUsedAt: null,
        });
      }
      for (const [key, nonce] of [
        [short, 'n'.repeat(16)],
        [long, 'N-_'.repeat(42) + 'xy'],
      ]) {
        const res = await sendSigned(t, { apiKey: key, secret: TEST_SECRET, nonce });
        expect(res.status).toBe(200);
        expect(res.json.caller).toEqual({ apiKey: key, serviceName: 'edge', scheme: 'v1' });
      }
      expect(t.log.calls).toEqual(['get:1', 'get:1']);
    });
  });

  describe('missing_credentials', () => {
    it('answers 401 without any header', async () => {
      const res = await send(t, { target: '/items/1' });
      expectRejected(t, res, 401, 'missing_credentials');
      expect(res.json.message).toContain('X-API-Key');
      expect(res.json.message).toContain('X-API-Timestamp');
      expect(res.json.message).toContain('X-API-Signature');
      expect(res.json.message).toContain('X-API-Nonce');
    });

    it.each([['X-API-Key'], ['X-API-Timestamp'], ['X-API-Signature'], ['X-API-Nonce']])(
      'answers 401 when only %s is missing',
      async (header) => {
        const res = await send(t, { target: '/items/1', headers: headersWith({ [header.toLowerCase()]: undefined }) });
        expectRejected(t, res, 401, 'missing_credentials');
        const hint = 'Scheme v1 needs X-API-Key, X-API-Timestamp, X-API-Nonce and X-API-Signature (PROTOCOL.md).';
        expect(res.json.message).toBe(
          header === 'X-API-Nonce' ? 'Missing header(s): X-API-Nonce.' : `Missing header(s): ${header}. ${hint}`,
        );
      },
    );

    it('answers 401 on a POST without credentials, before any body handling', async () => {
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expectRejected(t, res, 401, 'missing_credentials');
    });
  });

  describe('malformed_credentials', () => {
    const now = String(nowSeconds());
    const hex = 'ab'.repeat(32);
    const cases: Array<[string, Record<string, string | string[]>]> = [
      ['an API key of 15 characters', { 'x-api-key': 'A'.repeat(15) }],
      ['an API key of 129 characters', { 'x-api-key': 'A'.repeat(129) }],
      ['an empty API key', { 'x-api-key': '' }],
      ['an API key with "."', { 'x-api-key': 'abcdefghijklmnop.qrstuvwxyz' }],
      ['an API key with "+"', { 'x-api-key': 'abcdefghijklmnop+qrstuvwxyz' }],
      ['an API key with "="', { 'x-api-key': 'abcdefghijklmnopqrstuvwxyz==' }],
      ['an API key with an inner space', { 'x-api-key': 'abcdefghijklm nopqrstuvwxyz' }],
      ['a timestamp with a letter', { 'x-api-timestamp': now.slice(0, -1) + 'a' }],
      ['a negative timestamp', { 'x-api-timestamp': '-' + now }],
      ['a fractional timestamp', { 'x-api-timestamp': now + '.5' }],
      ['a timestamp in exponent form', { 'x-api-timestamp': '1.7e9' }],
      ['a timestamp in milliseconds (13 digits)', { 'x-api-timestamp': String(Date.now()) }],
      ['a current timestamp padded to 13 digits', { 'x-api-timestamp': now.padStart(13, '0') }],
      ['an empty timestamp', { 'x-api-timestamp': '' }],
      ['a signature with non-hex digits', { 'x-api-signature': 'v1=' + 'g'.repeat(64) }],
      ['a signature of 63 hex digits', { 'x-api-signature': 'v1=' + hex.slice(1) }],
      ['a signature of 65 hex digits', { 'x-api-signature': 'v1=' + hex + 'a' }],
      ['a base64 signature', { 'x-api-signature': 'v1=' + Buffer.from(hex, 'hex').toString('base64') }],
      ['an unknown "v2=" signature prefix', { 'x-api-signature': 'v2=' + hex }],
      ['an upper-case "V1=" prefix', { 'x-api-signature': 'V1=' + hex }],
      ['a "sha256=" prefix', { 'x-api-signature': 'sha256=' + hex }],
      ['"v1=" with nothing after it', { 'x-api-signature': 'v1=' }],
      ['a space after "v1="', { 'x-api-signature': 'v1= ' + hex }],
      ['a nonce of 15 characters', { 'x-api-nonce': 'n'.repeat(15) }],
      ['a nonce of 129 characters', { 'x-api-nonce': 'n'.repeat(129) }],
      ['an empty nonce', { 'x-api-nonce': '' }],
      ['a standard-base64 nonce ("+", "/", "=")', { 'x-api-nonce': 'ab+cd/efghijklmnopq==' }],
    ];

    it.each(cases)('answers 401 for %s', async (_name, changes) => {
      const res = await send(t, { target: '/items/1', headers: headersWith(changes) });
      expectRejected(t, res, 401, 'malformed_credentials');
    });

    it.each([['x-api-key'], ['x-api-timestamp'], ['x-api-nonce'], ['x-api-signature']])(
      'answers 401 when %s is sent twice, even with the same valid value',
      async (header) => {
        const headers = headersWith({});
        const res = await send(t, {
          target: '/items/1',
          headers: { ...headers, [header]: [headers[header] as string, headers[header] as string] },
        });
        expectRejected(t, res, 401, 'malformed_credentials');
      },
    );

    it.each([
      ['the same Host twice', (host: string) => [host, host]],
      ['a second, different Host', (host: string) => [host, 'other-service:80']],
    ])('answers 401 for a v1 request with %s', async (_name, hosts) => {
      const res = await send(t, { target: '/items/1', host: null, headers: { ...headersWith({}), host: hosts(t.host) } });
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toContain('Host');
    });

    it('answers 401 for a correct v0 signature when v0 is not enabled', async () => {
      const res = await send(t, { target: '/items/1', headers: sign(t, { apiKey, secret: TEST_SECRET, scheme: 'v0' }) });
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toContain('v0');
      expect(res.json.message).toContain('v1');
    });

    it('answers 401 for a v1 request without a Host header (HTTP/1.0)', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, host: '' });
      const lines = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      const res = await sendRawText(t, `GET /items/1 HTTP/1.0\r\n${lines}\r\n`);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 401, code: 'malformed_credentials' });
      expect(res.head.toLowerCase()).toMatch(/\r\nx-api-server-time: \d+/);
      expect(t.log.calls).toEqual([]);
    });

    it('checks the format before anything else: a malformed key with a stale timestamp is malformed', async () => {
      const res = await send(t, { target: '/items/1', headers: headersWith({ 'x-api-key': 'short', 'x-api-timestamp': '1' }) });
      expectRejected(t, res, 401, 'malformed_credentials');
    });
  });

  describe('stale_timestamp (default tolerance 300 s)', () => {
    it.each([
      ['301 s in the past', -301],
      // 305, not 301: the server's clock may tick a second between signing and checking.
      ['305 s in the future', 305],
      ['one hour in the past', -3600],
      ['one hour in the future', 3600],
    ])('answers 401 for a correctly signed request %s', async (_name, offset) => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, timestampSeconds: nowSeconds() + offset });
      expectRejected(t, res, 401, 'stale_timestamp');
    });

    it.each([['1'], ['999999999999']])('answers 401 for the extreme well-formed timestamp %s', async (timestamp) => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, timestampSeconds: Number(timestamp) });
      expectRejected(t, res, 401, 'stale_timestamp');
    });

    it.each([
      ['exactly 300 s in the past', -300],
      ['exactly 300 s in the future', 300],
    ])('accepts a request %s', async (_name, offset) => {
      await startOfSecond();
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, timestampSeconds: nowSeconds() + offset });
      expect(res.status).toBe(200);
      expect(t.log.calls).toEqual(['get:1']);
    });

    it('is checked before the key and the signature', async () => {
      const res = await sendSigned(t, { apiKey: 'UnknownKey0123456789', secret: 'wrong'.repeat(8), timestampSeconds: nowSeconds() - 1000 });
      expectRejected(t, res, 401, 'stale_timestamp');
    });

    it('tells the signer the server time, so it can correct its clock', async () => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, timestampSeconds: nowSeconds() - 1000, nonce: freshNonce() });
      expectAuthError(res, 401, 'stale_timestamp');
      const serverTime = Number(res.headers['x-api-server-time']);
      const retry = await sendSigned(t, { apiKey, secret: TEST_SECRET, timestampSeconds: serverTime });
      expect(retry.status).toBe(200);
    });
  });
});
