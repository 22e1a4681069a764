import { gzipSync } from 'node:zlib';
import { librarySigned, rfc9421Request, sendRfc9421, sendWire, type Rfc9421Spec } from '../support/rfc9421-request.js';
import { expectRejected, freshNonce, nowSeconds, send } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, lastingNonceStore, TEST_SECRET, type TestApp } from '../support/test-app.js';
import * as protocol from '../../lib/protocol/index.js';

/**
 * Every refusal of PROTOCOL.md's rfc9421 profile, at the HTTP level, on both
 * adapters. Each case but the tampered ones is a request whose signature is
 * correct for what it covers (made by our signer or by the independent
 * http-message-signatures), so the refusal can only come from the rule tested.
 */
describe.each(ADAPTERS)('rfc9421 refusals (%s)', (adapter) => {
  let t: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    t = await createTestApp({ adapter, auth: { schemes: ['v1', 'rfc9421'], rateLimit: false, nonces: { store: lastingNonceStore() } } });
    ({ apiKey } = await t.keys.create('orders'));
  });
  afterAll(() => t?.close());
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  const post = (extra: Partial<Rfc9421Spec> = {}): Rfc9421Spec => ({
    apiKey,
    secret: TEST_SECRET,
    method: 'POST',
    target: '/items',
    body: '{"total":12.5}',
    ...extra,
  });

  it('the unchanged requests are accepted (so each refusal below is the rule tested)', async () => {
    expect((await sendRfc9421(t, { apiKey, secret: TEST_SECRET, target: '/items/1?a=1' })).status).toBe(200);
    expect((await sendRfc9421(t, post({ headers: { 'X-Request-Id': 'r-1' } }))).status).toBe(201);
    expect(
      (await sendWire(t, await librarySigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: '{"n":1}' })))
        .status,
    ).toBe(201);
    expect(t.log.calls).toEqual(['get:1', 'create', 'create']);
  });

  describe('malformed_credentials', () => {
    it.each([
      ['"@method"', ['@authority', '@path', '@query']],
      ['"@authority"', ['@method', '@path', '@query']],
      ['"@path" (and no "@request-target")', ['@method', '@authority', '@query']],
      ['"@query" (and no "@request-target")', ['@method', '@authority', '@path']],
    ])('a GET that does not cover %s', async (_name, components) => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, target: '/items/1?a=1', components });
      expectRejected(t, res, 401, 'malformed_credentials');
    });

    it('a request with a body that does not cover "content-digest"', async () => {
      const components = ['@method', '@authority', '@path', '@query', 'content-type'];
      expectRejected(t, await sendRfc9421(t, post({ components })), 401, 'malformed_credentials');
    });

    it('a request with a body that does not cover "content-type" (signed by http-message-signatures)', async () => {
      const fields = ['@method', '@authority', '@path', '@query', 'content-digest'];
      const wire = await librarySigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: '{"n":1}', fields });
      const res = await sendWire(t, wire);
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toBe('A request with a body must cover "content-type" in Signature-Input.');
    });

    it('a body without any Content-Digest', async () => {
      const res = await sendRfc9421(t, post({ components: ['@method', '@authority', '@path', '@query', 'content-type'] }), {
        'content-digest': undefined,
      });
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toBe('A request with a body must cover "content-digest" in Signature-Input.');
    });

    it('a covered Content-Digest that is removed', async () => {
      expectRejected(t, await sendRfc9421(t, post(), { 'content-digest': undefined }), 401, 'malformed_credentials');
    });

    it.each([
      ['"content-type";sf', 'content-type'],
      ['"x-dict";key="a"', 'x-dict'],
      ['"x-request-id";bs', 'x-request-id'],
    ])('a component with a parameter (%s), signed by http-message-signatures', async (field) => {
      const wire = await librarySigned(t, {
        apiKey,
        secret: TEST_SECRET,
        method: 'POST',
        target: '/items',
        body: '{"n":1}',
        headers: { 'Content-Type': 'application/json', 'X-Dict': 'a=1, b=2', 'X-Request-Id': 'r-1' },
        fields: ['@method', '@authority', '@path', '@query', 'content-type', 'content-digest', field],
      });
      const res = await sendWire(t, wire);
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toMatch(/component parameters are refused/);
    });

    it('two labels with a keyid', async () => {
      const first = await librarySigned(t, { apiKey, secret: TEST_SECRET, label: 'sig1' });
      const both = await librarySigned(t, {
        apiKey,
        secret: TEST_SECRET,
        label: 'sig2',
        existing: first.headers as Record<string, string>,
      });
      expect(String(both.headers['signature-input'])).toMatch(/^sig1=.*, sig2=/);
      const res = await sendWire(t, both);
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toBe('More than one signature of Signature-Input has a keyid: exactly one may.');
    });

    it.each(['hmac-sha512', 'rsa-pss-sha512', 'ed25519', 'HMAC-SHA256'])('alg="%s"', async (alg) => {
      const res = await sendWire(t, await librarySigned(t, { apiKey, secret: TEST_SECRET, paramValues: { alg } }));
      expectRejected(t, res, 401, 'malformed_credentials');
    });

    it('a Signature-Input over 4096 bytes', async () => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET, tag: 'x'.repeat(4100) });
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toBe('Signature-Input may be at most 4096 bytes.');
    });

    it('a Signature over 4096 bytes', async () => {
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET });
      const res = await sendWire(t, wire, {
        signature: `${String(wire.headers.signature)}, pad=:${Buffer.alloc(3100).toString('base64')}:`,
      });
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toBe('Signature may be at most 4096 bytes.');
    });

    it('17 covered components', async () => {
      const headers = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`X-H${i}`, String(i)]));
      const fields = ['@method', '@authority', '@path', '@query', ...Object.keys(headers).map((n) => n.toLowerCase())];
      expect(fields).toHaveLength(17);
      const res = await sendWire(t, await librarySigned(t, { apiKey, secret: TEST_SECRET, headers, fields }));
      expectRejected(t, res, 401, 'malformed_credentials');
    });

    it.each(['@scheme', '@target-uri'])('a covered "%s"', async (component) => {
      const fields = ['@method', '@authority', '@path', '@query', component];
      expectRejected(t, await sendWire(t, await librarySigned(t, { apiKey, secret: TEST_SECRET, fields })), 401, 'malformed_credentials');
    });

    it.each([
      ['keyid', ['created', 'nonce', 'alg']],
      ['created', ['keyid', 'nonce', 'alg']],
      ['nonce', ['created', 'keyid', 'alg']],
    ])('no %s parameter', async (_name, params) => {
      const res = await sendWire(t, await librarySigned(t, { apiKey, secret: TEST_SECRET, params }));
      expectRejected(t, res, 401, 'malformed_credentials');
    });

    it('a covered header sent twice', async () => {
      const res = await sendRfc9421(
        t,
        { apiKey, secret: TEST_SECRET, headers: { 'X-Request-Id': 'r-1' } },
        { 'x-request-id': ['r-1', 'r-1'] },
      );
      expectRejected(t, res, 401, 'malformed_credentials');
    });

    it('a request that also carries X-API-Signature', async () => {
      const res = await sendRfc9421(t, { apiKey, secret: TEST_SECRET }, { 'x-api-signature': `v1=${'0'.repeat(64)}` });
      expectRejected(t, res, 401, 'malformed_credentials');
      expect(res.json.message).toBe('A request may carry Signature-Input or X-API-Signature, not both.');
    });

    it('Signature-Input without Signature is missing_credentials', async () => {
      expectRejected(t, await sendRfc9421(t, { apiKey, secret: TEST_SECRET }, { signature: undefined }), 401, 'missing_credentials');
    });
  });

  describe('invalid_signature: every covered component tampered', () => {
    it('the method', async () => {
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET, method: 'DELETE' });
      expectRejected(t, await sendWire(t, { ...wire, method: 'GET' }), 401, 'invalid_signature');
    });

    it('the authority', async () => {
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET, host: `other.internal:${t.host.split(':')[1]}` });
      expectRejected(t, await sendWire(t, { ...wire, host: t.host }), 401, 'invalid_signature');
    });

    it('the path', async () => {
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET, target: '/items/1' });
      expectRejected(t, await sendWire(t, { ...wire, target: '/items/2' }), 401, 'invalid_signature');
    });

    it('the query', async () => {
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET, target: '/items/1?a=1' });
      expectRejected(t, await sendWire(t, { ...wire, target: '/items/1?a=2' }), 401, 'invalid_signature');
    });

    it('the query, with @request-target covered instead of @path and @query', async () => {
      const components = ['@method', '@authority', '@request-target'];
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET, target: '/items/1?a=1', components });
      expect((await sendWire(t, { ...wire, target: '/items/1?a=1' })).status).toBe(200);
      t.log.calls.length = 0;
      const again = rfc9421Request(t, { apiKey, secret: TEST_SECRET, target: '/items/1?a=1', components });
      expectRejected(t, await sendWire(t, { ...again, target: '/items/1?a=1&b=2' }), 401, 'invalid_signature');
    });

    it('the content type', async () => {
      const res = await sendRfc9421(t, post(), { 'content-type': 'application/json; charset=utf-8' });
      expectRejected(t, res, 401, 'invalid_signature');
    });

    it('an extra covered header', async () => {
      const res = await sendRfc9421(t, post({ headers: { 'X-Request-Id': 'r-1' } }), { 'x-request-id': 'r-2' });
      expectRejected(t, res, 401, 'invalid_signature');
    });

    it('the body (Content-Digest no longer matches)', async () => {
      const wire = rfc9421Request(t, post());
      expectRejected(t, await sendWire(t, { ...wire, body: Buffer.from('{"total":99.5}') }), 401, 'invalid_signature');
    });

    it('the body with a Content-Digest that matches it (the signature covers the old one)', async () => {
      const wire = rfc9421Request(t, post());
      const body = Buffer.from('{"total":99.5}');
      expectRejected(
        t,
        await sendWire(t, { ...wire, body }, { 'content-digest': protocol.formatContentDigest(body) }),
        401,
        'invalid_signature',
      );
    });

    it('a sha-512 member added to Content-Digest that does not match the body', async () => {
      const wire = await librarySigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: '{"n":1}' });
      const withBadMember = `${String(wire.headers['content-digest'])}, sha-512=:${Buffer.alloc(64).toString('base64')}:`;
      expectRejected(t, await sendWire(t, wire, { 'content-digest': withBadMember }), 401, 'invalid_signature');
    });

    it('the signature made with another secret, or a flipped byte', async () => {
      expectRejected(
        t,
        await sendRfc9421(t, { apiKey, secret: 'another-secret-that-is-long-enough-0123456789' }),
        401,
        'invalid_signature',
      );
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET });
      const mac = Buffer.from(/:([^:]+):/.exec(String(wire.headers.signature))![1], 'base64');
      mac[7] ^= 1;
      expectRejected(t, await sendWire(t, wire, { signature: `sig1=:${mac.toString('base64')}:` }), 401, 'invalid_signature');
    });

    it('the created parameter (signed as sent)', async () => {
      const wire = rfc9421Request(t, { apiKey, secret: TEST_SECRET });
      const input = String(wire.headers['signature-input']).replace(/created=(\d+)/, (_m, c: string) => `created=${Number(c) - 1}`);
      expectRejected(t, await sendWire(t, wire, { 'signature-input': input }), 401, 'invalid_signature');
    });

    it('an unknown key, correctly signed with the shared secret', async () => {
      expectRejected(
        t,
        await sendRfc9421(t, { apiKey: 'UnknownKey0123456789abcdefghijkl', secret: TEST_SECRET }),
        401,
        'invalid_signature',
      );
    });

    it('a revoked key, correctly signed', async () => {
      const { apiKey: revoked } = await t.keys.create('orders');
      await t.keys.revoke(revoked);
      expectRejected(t, await sendRfc9421(t, { apiKey: revoked, secret: TEST_SECRET }), 401, 'invalid_signature');
    });
  });

  describe('stale_timestamp', () => {
    it.each([
      ['created 301 s ago', { createdSeconds: -301 }],
      // 305, not 301: the server's clock may tick a second between signing and checking.
      ['created 305 s ahead', { createdSeconds: 305 }],
      ['expires passed', { createdSeconds: -10, expiresSeconds: -1 }],
    ])('%s, with the server time signed for the key and the rfc9421 nonce', async (_name, offsets) => {
      const nonce = freshNonce();
      const now = nowSeconds();
      const res = await sendRfc9421(t, {
        apiKey,
        secret: TEST_SECRET,
        nonce,
        createdSeconds: now + offsets.createdSeconds,
        ...('expiresSeconds' in offsets && { expiresSeconds: now + offsets.expiresSeconds }),
      });
      expectRejected(t, res, 401, 'stale_timestamp');
      const serverTime = String(res.headers['x-api-server-time']);
      const signature = String(res.headers['x-api-server-time-signature']);
      expect(protocol.verifyServerTime(TEST_SECRET, { apiKey, nonce, serverTime }, signature)).toBe(true);
      expect(protocol.verifyServerTime(TEST_SECRET, { apiKey, nonce: '', serverTime }, signature)).toBe(false);
    });

    it('an expires still ahead is accepted', async () => {
      expect((await sendRfc9421(t, { apiKey, secret: TEST_SECRET, expiresSeconds: nowSeconds() + 30 })).status).toBe(200);
    });

    it('is answered before the signature is checked: a stale request with a wrong secret is stale_timestamp', async () => {
      const res = await sendRfc9421(t, {
        apiKey,
        secret: 'another-secret-that-is-long-enough-0123456789',
        createdSeconds: nowSeconds() - 400,
      });
      expectRejected(t, res, 401, 'stale_timestamp');
    });
  });

  it('replayed_request: the same signed request twice', async () => {
    const wire = rfc9421Request(t, post());
    expect((await sendWire(t, wire)).status).toBe(201);
    t.log.calls.length = 0;
    expectRejected(t, await sendWire(t, wire), 401, 'replayed_request');
  });

  it('415 unsupported_content_encoding for a gzip body, signed over the bytes sent', async () => {
    const res = await sendRfc9421(t, post({ body: gzipSync('{"total":12.5}') }), { 'content-encoding': 'gzip' });
    expectRejected(t, res, 415, 'unsupported_content_encoding');
  });

  it('a request without a signature scheme of any kind is still missing_credentials', async () => {
    expectRejected(t, await send(t, { target: '/items/1', headers: { signature: 'sig1=:AAAA:' } }), 401, 'missing_credentials');
  });
});
