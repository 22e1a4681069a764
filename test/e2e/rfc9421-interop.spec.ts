import { createHash } from 'node:crypto';
import { createVerifier, httpbis } from 'http-message-signatures';
import { SigningService } from '../../lib/index.js';
import { librarySigned, sendWire, type LibrarySpec } from '../support/rfc9421-request.js';
import { expectRejected } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

/**
 * Interop with an independent RFC 9421 implementation, the npm library
 * http-message-signatures, through a real app on both adapters: what it signs
 * (hmac-sha256, with a Content-Digest we add) is accepted, and what our
 * SigningService signs verifies with its verifyMessage, as the app received it.
 */

interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Whether http-message-signatures accepts the request as the app received it, with `secret` for `apiKey`. */
function libraryAccepts(t: TestApp, received: Received, apiKey: string, secret: string): Promise<boolean | null> {
  return httpbis.verifyMessage(
    {
      keyLookup: async (params) =>
        params.keyid === apiKey
          ? { id: apiKey, algs: ['hmac-sha256'], verify: createVerifier(Buffer.from(secret, 'utf8'), 'hmac-sha256') }
          : null,
      requiredParams: ['created', 'keyid', 'nonce'],
      requiredFields: ['@method', '@authority', '@path', '@query'],
    },
    { method: received.method, url: `http://${t.host}${received.url}`, headers: received.headers as Record<string, string> },
  );
}

describe.each(ADAPTERS)('rfc9421 interop with http-message-signatures (%s)', (adapter) => {
  let t: TestApp;
  let derived: TestApp;
  let apiKey: string;
  let adminKey: string;
  let received: Received[] = [];

  beforeAll(async () => {
    t = await createTestApp({
      adapter,
      auth: { schemes: ['v1', 'rfc9421'], rateLimit: false },
      beforeGuard: (request) => {
        const raw = (request.raw ?? request) as { method: string; url: string; originalUrl?: string };
        received.push({ method: raw.method, url: raw.originalUrl ?? raw.url, headers: { ...(request.headers as Received['headers']) } });
      },
    });
    derived = await createTestApp({ adapter, auth: { schemes: ['rfc9421'], secretMode: 'derived' } });
    ({ apiKey } = await t.keys.create('orders'));
    ({ apiKey: adminKey } = await t.keys.create('billing-admin'));
  });
  afterAll(async () => {
    await t?.close();
    await derived?.close();
  });
  beforeEach(() => {
    t.log.calls.length = 0;
    received = [];
  });

  describe('requests signed by http-message-signatures are accepted', () => {
    const cases: Array<[string, Omit<LibrarySpec, 'apiKey' | 'secret'>, string, number]> = [
      ['GET with a query', { target: '/items/42?a=1&b=%20x&a=2' }, 'get:42', 200],
      ['GET without a query', { target: '/items/7' }, 'get:7', 200],
      ['POST JSON with Content-Digest', { method: 'POST', target: '/items', body: '{"amount":1250,"currency":"EUR"}' }, 'create', 201],
      [
        'POST with an extra covered header and a tag',
        {
          method: 'POST',
          target: '/items',
          body: '{"n":"h\u00e9llo"}',
          contentType: 'application/json; charset=utf-8',
          headers: { 'X-Request-Id': 'req-123' },
          fields: ['@method', '@authority', '@path', '@query', 'content-type', 'content-digest', 'x-request-id'],
          params: ['created', 'keyid', 'nonce', 'alg', 'tag'],
          paramValues: { tag: 'orders' },
        },
        'create',
        201,
      ],
      ['GET with @request-target', { target: '/items/3?x=1', fields: ['@request-target', '@method', '@authority'] }, 'get:3', 200],
      ['GET with expires and no alg', { target: '/items/5', params: ['created', 'expires', 'keyid', 'nonce'] }, 'get:5', 200],
    ];

    it.each(cases)('%s', async (_name, spec, call, status) => {
      const res = await sendWire(t, await librarySigned(t, { apiKey, secret: TEST_SECRET, ...spec }));
      expect(res.status).toBe(status);
      if (status === 200) expect(res.json.caller).toEqual({ apiKey, serviceName: 'orders', scheme: 'rfc9421' });
      expect(t.log.calls).toEqual([call]);
    });

    it('DELETE on a route restricted to billing-admin, by a billing-admin key', async () => {
      const res = await sendWire(
        t,
        await librarySigned(t, { apiKey: adminKey, secret: TEST_SECRET, method: 'DELETE', target: '/items/9' }),
      );
      expect(res.status).toBe(200);
      expect(t.log.calls).toEqual(['delete:9']);
    });

    it("derived mode: the key is the UTF-8 bytes of the key's derived secret (hex text, not decoded)", async () => {
      const { apiKey: key, secret } = await derived.keys.create('orders');
      const ok = await sendWire(
        derived,
        await librarySigned(derived, { apiKey: key, secret: secret!, method: 'POST', target: '/items', body: '{}' }),
      );
      expect(ok.status).toBe(201);
      derived.log.calls.length = 0;
      const decoded = await librarySigned(derived, { apiKey: key, secret: Buffer.from(secret!, 'hex') });
      expectRejected(derived, await sendWire(derived, decoded), 401, 'invalid_signature');
    });

    it('with a wrong secret, or a body that does not match its Content-Digest, they are refused', async () => {
      expectRejected(
        t,
        await sendWire(t, await librarySigned(t, { apiKey, secret: 'another-secret-that-is-long-enough-0123456789' })),
        401,
        'invalid_signature',
      );
      const wire = await librarySigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: '{"amount":1}' });
      expectRejected(t, await sendWire(t, { ...wire, body: Buffer.from('{"amount":9}') }), 401, 'invalid_signature');
    });
  });

  describe("requests signed by our SigningService verify with http-message-signatures' verifyMessage", () => {
    const signer = () => new SigningService().withCredentials({ apiKey, secret: TEST_SECRET, scheme: 'rfc9421' });

    it.each([
      ['GET with a query', '/items/42?expand=lines&q=%C3%A9', undefined, 'get:42'],
      ['POST with a JSON body', '/items', '{"total":12.5}', 'create'],
      ['POST with a Buffer body', '/items', Buffer.from('{"bytes":true}'), 'create'],
    ] as const)('%s, sent with fetch()', async (_name, path, body, call) => {
      const response = await signer().fetch(`${t.baseUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(body === undefined ? 200 : 201);
      expect(t.log.calls).toEqual([call]);
      expect(received).toHaveLength(1);
      const [request] = received;
      expect(request.headers['signature-input']).toMatch(/^sig1=\("@method" "@authority" "@path" "@query"/);
      expect(await libraryAccepts(t, request, apiKey, TEST_SECRET)).toBe(true);
      expect(await libraryAccepts(t, request, apiKey, 'another-secret-that-is-long-enough-0123456789')).toBe(false);
      if (body !== undefined) {
        const digest = createHash('sha256').update(body).digest('base64');
        expect(request.headers['content-digest']).toBe(`sha-256=:${digest}:`);
        expect(request.headers['signature-input']).toContain('"content-type" "content-digest");created=');
      }
    });

    it('headers from sign(), sent by hand, verify and are accepted', async () => {
      const url = `${t.baseUrl}/items/11?z=9`;
      const headers = signer().sign({ method: 'GET', url });
      expect(Object.keys(headers).sort()).toEqual(['signature', 'signature-input']);
      const res = await fetch(url, { headers });
      expect(res.status).toBe(200);
      expect(await libraryAccepts(t, received[0], apiKey, TEST_SECRET)).toBe(true);
    });
  });
});
