import { jest } from '@jest/globals';
import type { Server } from 'node:http';
import { InvalidOptionError, SigningNotConfiguredError, SigningService, type SigningCredentials } from '../../lib/index.js';
import { ADAPTERS, createTestApp, lastingNonceStore, TEST_SECRET, type TestApp } from '../support/test-app.js';
import * as protocol from '../../lib/protocol/index.js';

const WRONG_SECRET = 'wrong-secret-but-long-enough-0123456789abc';
const SKEW_MS = 1_000_000;

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
  status: number;
  code: unknown;
}

/** A signer that records every request it sends and whose clock can be skewed. */
class RecordingSigner extends SigningService {
  readonly sent: Sent[] = [];

  skewClock(ms: number, url: string): this {
    this.clockOffsets.set(new URL(url).origin, ms);
    return this;
  }

  protected override async dispatch(url: string | URL, init: RequestInit): Promise<Response> {
    const response = await super.dispatch(url, init);
    let code: unknown;
    try {
      code = ((await response.clone().json()) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    this.sent.push({
      url: String(url),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: init.body,
      status: response.status,
      code,
    });
    return response;
  }
}

function recordingSigner(credentials: SigningCredentials): RecordingSigner {
  return new RecordingSigner().withCredentials(credentials) as RecordingSigner;
}

const UNSIGNABLE_MESSAGE =
  'SigningService.fetch() signs exactly the bytes it sends: pass the body as a string or a Uint8Array/Buffer ' +
  '(serialize JSON with JSON.stringify; streams, FormData and Blobs cannot be signed before they are sent).';

const NOT_CONFIGURED_MESSAGE =
  'nestjs-service-auth: SigningService has no caller credentials. Pass `signing: { apiKey, secret }` to ' +
  'ApiKeyAuthModule.forRoot(), or call signingService.withCredentials({ apiKey, secret }).';

describe('SigningService without a server', () => {
  it('throws SigningNotConfiguredError without credentials', async () => {
    const signer = new SigningService();
    expect(() => signer.sign({ method: 'GET', url: 'http://127.0.0.1:1/x' })).toThrow(SigningNotConfiguredError);
    expect(() => signer.sign({ method: 'GET', url: 'http://127.0.0.1:1/x' })).toThrow(NOT_CONFIGURED_MESSAGE);
    await expect(signer.fetch('http://127.0.0.1:1/x')).rejects.toBeInstanceOf(SigningNotConfiguredError);
  });

  it('withCredentials() validates the credentials', () => {
    expect(() => new SigningService().withCredentials({ apiKey: 'short', secret: TEST_SECRET })).toThrow(InvalidOptionError);
    expect(() => new SigningService().withCredentials({ apiKey: 'k'.repeat(32), secret: 'short' })).toThrow(
      'nestjs-service-auth: option `signing.secret` must be at least 32 characters.',
    );
  });

  it('sign() produces the protocol headers for the URL it is given', () => {
    const spy = jest.spyOn(Date, 'now').mockReturnValue(1_700_000_000_999);
    try {
      const apiKey = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
      const signer = new SigningService().withCredentials({ apiKey, secret: TEST_SECRET });
      const body = Buffer.from('{"a":1}');
      const headers = signer.sign({ method: 'post', url: 'http://Svc.Example:8080/a%20b/c?z=1&a=2#frag', body });
      expect(Object.keys(headers).sort()).toEqual(['x-api-key', 'x-api-nonce', 'x-api-signature', 'x-api-timestamp']);
      expect(headers['x-api-key']).toBe(apiKey);
      expect(headers['x-api-timestamp']).toBe('1700000000');
      expect(headers['x-api-nonce']).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const expected = protocol.signRequest({
        scheme: 'v1',
        apiKey,
        secret: TEST_SECRET,
        timestampSeconds: 1_700_000_000,
        nonce: headers['x-api-nonce'],
        method: 'POST',
        host: 'svc.example:8080',
        target: '/a%20b/c?z=1&a=2',
        body,
      });
      expect(headers).toEqual(expected);
      // A fresh nonce per call.
      expect(signer.sign({ method: 'GET', url: 'http://svc/x' })['x-api-nonce']).not.toBe(headers['x-api-nonce']);
    } finally {
      spy.mockRestore();
    }
  });

  it.each([
    ['a 401 stale_timestamp without X-API-Server-Time', 401, { code: 'stale_timestamp' }, {}],
    ['a 401 stale_timestamp with a malformed X-API-Server-Time', 401, { code: 'stale_timestamp' }, { 'x-api-server-time': 'soon' }],
    [
      'a 401 stale_timestamp whose X-API-Server-Time is not signed',
      401,
      { code: 'stale_timestamp' },
      { 'x-api-server-time': '1700000000' },
    ],
    ['a 401 whose body is not JSON', 401, 'stale_timestamp', { 'x-api-server-time': '1700000000' }],
    ['a 401 invalid_signature', 401, { code: 'invalid_signature' }, { 'x-api-server-time': '1700000000' }],
    ['a 403 stale_timestamp', 403, { code: 'stale_timestamp' }, { 'x-api-server-time': '1700000000' }],
  ])('does not retry after %s', async (_name, status, body, headers) => {
    class StubSigner extends SigningService {
      calls = 0;
      protected override async dispatch(): Promise<Response> {
        this.calls++;
        return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });
      }
    }
    const signer = new StubSigner().withCredentials({ apiKey: 'k'.repeat(32), secret: TEST_SECRET }) as StubSigner;
    const response = await signer.fetch('http://127.0.0.1:1/x');
    expect(response.status).toBe(status);
    expect(signer.calls).toBe(1);
    expect(signer.clockOffset('http://127.0.0.1:1')).toBe(0);
  });

  it('retries at most once after a correctly signed X-API-Server-Time', async () => {
    class StubSigner extends SigningService {
      calls = 0;
      protected override async dispatch(_url: string | URL, init: RequestInit): Promise<Response> {
        this.calls++;
        const sent = new Headers(init.headers);
        const serverTime = '1700000000';
        const fields = { apiKey: sent.get('x-api-key')!, nonce: sent.get('x-api-nonce')!, serverTime };
        return new Response(JSON.stringify({ code: 'stale_timestamp' }), {
          status: 401,
          headers: { 'x-api-server-time': serverTime, 'x-api-server-time-signature': protocol.signServerTime(TEST_SECRET, fields) },
        });
      }
    }
    const signer = new StubSigner().withCredentials({ apiKey: 'k'.repeat(32), secret: TEST_SECRET }) as StubSigner;
    expect((await signer.fetch('http://127.0.0.1:1/x')).status).toBe(401);
    expect(signer.calls).toBe(2);
  });

  it('does not follow redirects unless asked to: the signed headers are for one URL', async () => {
    class StubSigner extends SigningService {
      readonly redirects: RequestInit['redirect'][] = [];
      protected override async dispatch(_url: string | URL, init: RequestInit): Promise<Response> {
        this.redirects.push(init.redirect);
        return new Response('{}', { status: 200 });
      }
    }
    const signer = new StubSigner().withCredentials({ apiKey: 'k'.repeat(32), secret: TEST_SECRET }) as StubSigner;
    await signer.fetch('http://127.0.0.1:1/x');
    await signer.fetch('http://127.0.0.1:1/x', { redirect: undefined });
    await signer.fetch('http://127.0.0.1:1/x', { redirect: 'follow' });
    expect(signer.redirects).toEqual(['manual', 'manual', 'follow']);
  });
});

describe.each(ADAPTERS)('SigningService against a real app (%s)', (adapter) => {
  let t: TestApp;
  let apiKey: string;
  /** HTTP requests the server received (counted on its Node server, whatever the answer). */
  let serverRequests = 0;

  beforeAll(async () => {
    // A store that outlives the app, so that a request dated before its start tests the clock-skew handling alone.
    t = await createTestApp({ adapter, auth: { rateLimit: false, nonces: { store: lastingNonceStore() } } });
    (t.app.getHttpServer() as Server).on('request', () => serverRequests++);
    ({ apiKey } = await t.keys.create('orders'));
  });

  afterAll(async () => {
    await t?.close();
  });

  beforeEach(() => {
    t.log.calls.length = 0;
    serverRequests = 0;
  });

  const signer = () => recordingSigner({ apiKey, secret: TEST_SECRET });

  describe('sign()', () => {
    it('signs a GET with a query (encoded on the wire as the URL serializes it)', async () => {
      const url = `${t.baseUrl}/items/a%20b?q=x y&z=é&a=1&a=2`;
      const headers = signer().sign({ method: 'GET', url });
      const response = await fetch(url, { headers });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id: 'a b', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
      expect(t.log.calls).toEqual(['get:a b']);
    });

    it('signs a POST with a string body (UTF-8 bytes)', async () => {
      const body = JSON.stringify({ name: 'héllo ✓', n: 1 });
      const url = `${t.baseUrl}/items`;
      const headers = signer().sign({ method: 'POST', url, body, contentType: 'application/json' });
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ caller: 'orders', body: { name: 'héllo ✓', n: 1 } });
      expect(t.log.calls).toEqual(['create']);
    });

    it('signs a POST with a Buffer body', async () => {
      const body = Buffer.from(JSON.stringify({ bytes: [1, 2, 3] }));
      const url = `${t.baseUrl}/items`;
      const headers = signer().sign({ method: 'POST', url, body, contentType: 'application/json' });
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ caller: 'orders', body: { bytes: [1, 2, 3] } });
    });

    it('the signature covers the body: other bytes are refused', async () => {
      const url = `${t.baseUrl}/items`;
      const headers = signer().sign({ method: 'POST', url, body: '{"amount":1}', contentType: 'application/json' });
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"amount":9}',
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'invalid_signature' });
      expect(t.log.calls).toEqual([]);
    });

    it('the signature covers method and target', async () => {
      const s = signer();
      const signed = s.sign({ method: 'GET', url: `${t.baseUrl}/items/1` });
      const otherTarget = await fetch(`${t.baseUrl}/items/2`, { headers: signed });
      expect(otherTarget.status).toBe(401);
      const deleteSigned = s.sign({ method: 'DELETE', url: `${t.baseUrl}/items/1` });
      const otherMethod = await fetch(`${t.baseUrl}/items/1`, { headers: deleteSigned });
      expect(otherMethod.status).toBe(401);
      expect(t.log.calls).toEqual([]);
    });

    it('a v0 signature is refused by a v1-only server', async () => {
      const url = `${t.baseUrl}/items/1`;
      const headers = signer().sign({ method: 'GET', url, scheme: 'v0' });
      expect(headers['x-api-nonce']).toBeUndefined();
      const response = await fetch(url, { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'malformed_credentials',
        message: 'Signature scheme v0 is not accepted by this service; sign with v1.',
      });
    });
  });

  describe('fetch()', () => {
    it('signs a GET with a query and returns the response', async () => {
      const s = signer();
      const response = await s.fetch(`${t.baseUrl}/items/42?b=2&a=1&a=0`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id: '42', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
      expect(s.sent).toHaveLength(1);
      expect(s.sent[0].method).toBe('GET');
    });

    it("keeps the caller's headers and upper-cases the method", async () => {
      const s = signer();
      const response = await s.fetch(`${t.baseUrl}/items`, {
        method: 'post',
        headers: { 'content-type': 'application/json', 'x-request-id': 'abc' },
        body: '{"k":"v"}',
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ caller: 'orders', body: { k: 'v' } });
      expect(s.sent[0].method).toBe('POST');
      expect(s.sent[0].headers.get('x-request-id')).toBe('abc');
      expect(s.sent[0].headers.get('content-type')).toBe('application/json');
    });

    it('signs exactly the bytes it sends (a Buffer that is a view into a larger buffer)', async () => {
      const whole = Buffer.from('garbage-before{"view":true}garbage-after');
      const body = whole.subarray(14, 27);
      expect(body.toString()).toBe('{"view":true}');
      const s = signer();
      const response = await s.fetch(`${t.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ caller: 'orders', body: { view: true } });
    });

    it('signs a Uint8Array body', async () => {
      const s = signer();
      const body = new TextEncoder().encode('{"u8":"✓"}');
      const response = await s.fetch(`${t.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ caller: 'orders', body: { u8: '✓' } });
    });

    it('replaces X-API-* headers given by the caller', async () => {
      const s = signer();
      const response = await s.fetch(`${t.baseUrl}/items/5`, {
        headers: { 'x-api-key': 'attacker-key-000000000', 'X-API-Signature': 'v1=' + '0'.repeat(64) },
      });
      expect(response.status).toBe(200);
      expect(s.sent[0].headers.get('x-api-key')).toBe(apiKey);
    });

    it.each([
      ['a ReadableStream', () => new ReadableStream({ start: (c) => c.close() })],
      ['URLSearchParams', () => new URLSearchParams('a=1')],
      ['a Blob', () => new Blob(['{}'])],
      ['FormData', () => new FormData()],
      ['an ArrayBuffer', () => new ArrayBuffer(4)],
      ['a DataView', () => new DataView(new ArrayBuffer(4))],
      ['an object', () => ({ a: 1 })],
    ])('rejects %s as body with a TypeError before any request', async (_name, makeBody) => {
      const s = signer();
      const attempt = s.fetch(`${t.baseUrl}/items`, { method: 'POST', body: makeBody() as unknown as string });
      await expect(attempt).rejects.toThrow(new TypeError(UNSIGNABLE_MESSAGE));
      await expect(s.fetch(`${t.baseUrl}/items`, { method: 'POST', body: makeBody() as unknown as string })).rejects.toBeInstanceOf(
        TypeError,
      );
      expect(s.sent).toHaveLength(0);
      expect(serverRequests).toBe(0);
      expect(t.log.calls).toEqual([]);
    });

    it('a request with the per-request scheme v0 is refused by a v1-only server, without retry', async () => {
      const s = signer();
      const response = await s.fetch(`${t.baseUrl}/items/1`, { scheme: 'v0' });
      expect(response.status).toBe(401);
      expect(s.sent).toHaveLength(1);
      expect(s.sent[0].headers.has('x-api-nonce')).toBe(false);
    });
  });

  describe('clock skew', () => {
    it('a skewed signer with a wrong secret cannot verify the server time: the 401 is returned, not retried', async () => {
      const s = recordingSigner({ apiKey, secret: WRONG_SECRET }).skewClock(SKEW_MS, t.baseUrl);
      const response = await s.fetch(`${t.baseUrl}/items/3`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'stale_timestamp' });
      expect(s.sent.map((r) => [r.status, r.code])).toEqual([[401, 'stale_timestamp']]);
      expect(serverRequests).toBe(1);
      expect(s.clockOffset(t.baseUrl)).toBe(SKEW_MS);
      expect(t.log.calls).toEqual([]);
    });

    it('a 401 for another reason (wrong secret) is not retried', async () => {
      const s = recordingSigner({ apiKey, secret: WRONG_SECRET });
      const response = await s.fetch(`${t.baseUrl}/items/3`);
      expect(response.status).toBe(401);
      expect(response.headers.get('x-api-server-time')).toMatch(/^[0-9]+$/);
      expect(await response.json()).toMatchObject({ code: 'invalid_signature' });
      expect(s.sent.map((r) => [r.status, r.code])).toEqual([[401, 'invalid_signature']]);
      expect(serverRequests).toBe(1);
      expect(s.clockOffset(t.baseUrl)).toBe(0);
      expect(t.log.calls).toEqual([]);
    });

    it('a skew within the tolerance needs no correction', async () => {
      const s = signer().skewClock(-200_000, t.baseUrl);
      expect((await s.fetch(`${t.baseUrl}/items/1`)).status).toBe(200);
      expect(s.sent).toHaveLength(1);
      expect(s.clockOffset(t.baseUrl)).toBe(-200_000);
    });
  });

  describe('withCredentials()', () => {
    it('returns an independent signer of the same class', async () => {
      const { apiKey: otherKey } = await t.keys.create('billing');
      const first = signer().skewClock(-200_000, t.baseUrl);
      const second = first.withCredentials({ apiKey: otherKey, secret: TEST_SECRET }) as RecordingSigner;
      expect(second).toBeInstanceOf(RecordingSigner);
      expect(second).not.toBe(first);
      expect(second.clockOffset(t.baseUrl)).toBe(0);
      expect(second.sent).not.toBe(first.sent);

      const viaSecond = await second.fetch(`${t.baseUrl}/items/1`);
      expect(await viaSecond.json()).toMatchObject({ caller: { apiKey: otherKey, serviceName: 'billing' } });
      expect(second.sent).toHaveLength(1);
      expect(first.sent).toHaveLength(0);
      expect(first.clockOffset(t.baseUrl)).toBe(-200_000);

      const viaFirst = await first.fetch(`${t.baseUrl}/items/2`);
      expect(await viaFirst.json()).toMatchObject({ caller: { apiKey, serviceName: 'orders' } });
      expect(first.sent).toHaveLength(1);
      expect(second.sent).toHaveLength(1);
      expect(second.clockOffset(t.baseUrl)).toBe(0);
    });
  });

  it('the SigningService of forRoot({ signing }) signs calls to another service', async () => {
    const caller = await createTestApp({ adapter, auth: { signing: { apiKey, secret: TEST_SECRET } } });
    try {
      const response = await caller.app.get(SigningService).fetch(`${t.baseUrl}/items/77`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id: '77', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
    } finally {
      await caller.close();
    }
  });

  it('the SigningService of forRoot() without signing is not configured', async () => {
    await expect(t.app.get(SigningService).fetch(`${t.baseUrl}/items/1`)).rejects.toThrow(SigningNotConfiguredError);
    expect(t.log.calls).toEqual([]);
  });
});

describe.each(ADAPTERS)('SigningService with scheme v0 enabled (%s)', (adapter) => {
  let t: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    t = await createTestApp({ adapter, auth: { schemes: ['v0', 'v1'] } });
    ({ apiKey } = await t.keys.create('legacy'));
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a v0 signer is accepted', async () => {
    const s = recordingSigner({ apiKey, secret: TEST_SECRET, scheme: 'v0' });
    const response = await s.fetch(`${t.baseUrl}/items/1?x=1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: '1', caller: { apiKey, serviceName: 'legacy', scheme: 'v0' } });
    expect(s.sent[0].headers.has('x-api-nonce')).toBe(false);
    expect(s.sent[0].headers.get('x-api-signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sign() headers with scheme v0 verify', async () => {
    const url = `${t.baseUrl}/items/2`;
    const headers = recordingSigner({ apiKey, secret: TEST_SECRET }).sign({ method: 'GET', url, scheme: 'v0' });
    const response = await fetch(url, { headers });
    expect(await response.json()).toEqual({ id: '2', caller: { apiKey, serviceName: 'legacy', scheme: 'v0' } });
  });

  it('the scheme can be chosen per request', async () => {
    const s = recordingSigner({ apiKey, secret: TEST_SECRET });
    const v0 = await s.fetch(`${t.baseUrl}/items/3`, { scheme: 'v0' });
    expect(await v0.json()).toMatchObject({ caller: { scheme: 'v0' } });
    const v1 = await s.fetch(`${t.baseUrl}/items/4`);
    expect(await v1.json()).toMatchObject({ caller: { scheme: 'v1' } });
    const v0Signer = recordingSigner({ apiKey, secret: TEST_SECRET, scheme: 'v0' });
    const v1Again = await v0Signer.fetch(`${t.baseUrl}/items/5`, { scheme: 'v1' });
    expect(await v1Again.json()).toMatchObject({ caller: { scheme: 'v1' } });
  });
});

describe.each(ADAPTERS)('SigningService in derived mode (%s)', (adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ adapter, auth: { secretMode: 'derived' } });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('signs with the secret ApiKeyService.create returned', async () => {
    const created = await t.keys.create('payments');
    expect(created.secret).toBe(protocol.deriveKeySecret(TEST_SECRET, created.apiKey));
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    const s = recordingSigner({ apiKey: created.apiKey, secret: created.secret! });
    const get = await s.fetch(`${t.baseUrl}/items/1?q=1`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ id: '1', caller: { apiKey: created.apiKey, serviceName: 'payments', scheme: 'v1' } });
    const post = await s.fetch(`${t.baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"derived":true}',
    });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ caller: 'payments', body: { derived: true } });
    expect(t.log.calls).toEqual(['get:1', 'create']);
  });

  it("the master secret and another key's secret do not sign for a key", async () => {
    const mine = await t.keys.create('payments');
    const theirs = await t.keys.create('billing');
    t.log.calls.length = 0;
    for (const secret of [TEST_SECRET, theirs.secret!]) {
      const s = recordingSigner({ apiKey: mine.apiKey, secret });
      const response = await s.fetch(`${t.baseUrl}/items/1`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'invalid_signature' });
      expect(s.sent).toHaveLength(1);
    }
    expect(t.log.calls).toEqual([]);
  });
});

// Needs the verifier to send X-API-Server-Time-Signature (PROTOCOL.md, issue 10 finding 7): the signer adopts no other server time.
describe.each(ADAPTERS)('SigningService against a real app: clock correction from a signed X-API-Server-Time (%s)', (adapter) => {
  let t: TestApp;
  let apiKey: string;
  let serverRequests = 0;

  beforeAll(async () => {
    t = await createTestApp({ adapter, auth: { rateLimit: false, schemes: ['v1', 'v0'] } });
    (t.app.getHttpServer() as Server).on('request', () => serverRequests++);
    ({ apiKey } = await t.keys.create('orders'));
  });

  afterAll(async () => {
    await t?.close();
  });

  beforeEach(() => {
    t.log.calls.length = 0;
    serverRequests = 0;
  });

  const signer = () => recordingSigner({ apiKey, secret: TEST_SECRET });

  it.each([
    ['ahead', SKEW_MS],
    ['behind', -SKEW_MS],
  ])('a signer whose clock is 1000 s %s corrects it from X-API-Server-Time and retries once', async (_name, skew) => {
    const s = signer().skewClock(skew, t.baseUrl);
    const before = Math.floor(Date.now() / 1000);
    const response = await s.fetch(`${t.baseUrl}/items/9`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: '9', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });

    expect(s.sent.map((r) => [r.status, r.code])).toEqual([
      [401, 'stale_timestamp'],
      [200, undefined],
    ]);
    const firstTimestamp = Number(s.sent[0].headers.get('x-api-timestamp'));
    const secondTimestamp = Number(s.sent[1].headers.get('x-api-timestamp'));
    expect(Math.abs(firstTimestamp - (before + skew / 1000))).toBeLessThanOrEqual(2);
    expect(Math.abs(secondTimestamp - before)).toBeLessThanOrEqual(2);
    // A new nonce for the retry.
    expect(s.sent[1].headers.get('x-api-nonce')).not.toBe(s.sent[0].headers.get('x-api-nonce'));
    // The server and the signer share this process's clock: the corrected offset is about zero.
    expect(Math.abs(s.clockOffset(t.baseUrl))).toBeLessThanOrEqual(1_500);
    expect(serverRequests).toBe(2);
    expect(t.log.calls).toEqual(['get:9']);

    // The correction sticks: the next call needs no retry.
    expect((await s.fetch(`${t.baseUrl}/items/10`)).status).toBe(200);
    expect(s.sent).toHaveLength(3);
    expect(serverRequests).toBe(3);
    expect(t.log.calls).toEqual(['get:9', 'get:10']);
  });

  it('the retry of a POST sends and signs the same body again; the handler runs once', async () => {
    const s = signer().skewClock(-SKEW_MS, t.baseUrl);
    const body = Buffer.from('{"once":true}');
    const response = await s.fetch(`${t.baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ caller: 'orders', body: { once: true } });
    expect(s.sent.map((r) => r.status)).toEqual([401, 201]);
    expect(serverRequests).toBe(2);
    expect(s.sent[1].body).toBe(body);
    expect(t.log.calls).toEqual(['create']);
  });

  it('a v0 signer with a skewed clock also corrects itself', async () => {
    const s = recordingSigner({ apiKey, secret: TEST_SECRET, scheme: 'v0' }).skewClock(SKEW_MS, t.baseUrl);
    const response = await s.fetch(`${t.baseUrl}/items/6`);
    expect(response.status).toBe(200);
    expect(s.sent.map((r) => r.status)).toEqual([401, 200]);
  });
});
