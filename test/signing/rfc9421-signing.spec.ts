import { Module, type INestApplicationContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { ServiceAuthClientModule } from '../../lib/client/index.js';
import { SigningService } from '../../lib/index.js';
import { nonceOf } from '../support/rfc9421-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';
import { FakePeer, type PeerAnswer, type PeerRequest } from './fake-peer.js';
import * as protocol from '../../lib/protocol/index.js';

const API_KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
const SECRET = 'client-secret-for-the-fake-peer-0123456789';
const SKEW_MS = 1_000_000;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const header = (request: PeerRequest, name: string) => String(request.headers[name] ?? '');

/** A signer whose clock for one origin is skewed. */
class SkewedSigner extends SigningService {
  skew(url: string, ms: number): this {
    this.clockOffsets.set(new URL(url).origin, ms);
    return this;
  }
}

describe('SigningService with scheme rfc9421, without a server', () => {
  const signer = new SigningService().withCredentials({ apiKey: API_KEY, secret: SECRET, scheme: 'rfc9421' });

  it('sign() gives Signature-Input (label sig1, the profile components, created, keyid, nonce, alg), Signature, Content-Digest', () => {
    const before = nowSeconds();
    const headers = signer.sign({
      method: 'POST',
      url: 'http://orders.internal:8443/v1/orders?x=1',
      body: '{"a":1}',
      contentType: 'application/json',
    });
    expect(Object.keys(headers).sort()).toEqual(['content-digest', 'signature', 'signature-input']);
    const match =
      /^sig1=\("@method" "@authority" "@path" "@query" "content-type" "content-digest"\);created=(\d+);keyid="([^"]+)";nonce="([A-Za-z0-9_-]{22})";alg="hmac-sha256"$/.exec(
        headers['signature-input'],
      );
    expect(match).not.toBeNull();
    const [, created, keyid, nonce] = match!;
    expect(Number(created)).toBeGreaterThanOrEqual(before);
    expect(Number(created)).toBeLessThanOrEqual(nowSeconds());
    expect(keyid).toBe(API_KEY);
    // The same as the pure signer makes for these inputs.
    const expected = protocol.signRfc9421({
      apiKey: API_KEY,
      secret: SECRET,
      method: 'POST',
      url: 'http://orders.internal:8443/v1/orders?x=1',
      contentType: 'application/json',
      body: '{"a":1}',
      createdSeconds: Number(created),
      nonce,
    });
    expect(headers).toEqual(expected.headers);
    expect(headers['content-digest']).toBe(`sha-256=:${createHash('sha256').update('{"a":1}').digest('base64')}:`);
  });

  it('each call has a fresh nonce; a GET covers no body headers', () => {
    const a = signer.sign({ method: 'GET', url: 'http://svc/items/1' });
    const b = signer.sign({ method: 'GET', url: 'http://svc/items/1' });
    expect(nonceOf(a['signature-input'])).not.toBe(nonceOf(b['signature-input']));
    expect(a['signature-input']).toMatch(/^sig1=\("@method" "@authority" "@path" "@query"\);/);
    expect(a['content-digest']).toBeUndefined();
  });

  it('a body without a content type is refused by sign(): rfc9421 covers the Content-Type', () => {
    expect(() => signer.sign({ method: 'POST', url: 'http://svc/items', body: 'x' })).toThrow(
      'A request with a body needs a content type: give contentType.',
    );
  });

  it('the scheme can be chosen per request, either way', () => {
    const v1 = new SigningService().withCredentials({ apiKey: API_KEY, secret: SECRET });
    expect(Object.keys(v1.sign({ method: 'GET', url: 'http://svc/a', scheme: 'rfc9421' })).sort()).toEqual([
      'signature',
      'signature-input',
    ]);
    expect(Object.keys(signer.sign({ method: 'GET', url: 'http://svc/a', scheme: 'v1' })).sort()).toEqual([
      'x-api-key',
      'x-api-nonce',
      'x-api-signature',
      'x-api-timestamp',
    ]);
  });
});

describe('SigningService rfc9421 and X-API-Server-Time (fake peer)', () => {
  let peer: FakePeer;
  const signer = () => new SigningService().withCredentials({ apiKey: API_KEY, secret: SECRET, scheme: 'rfc9421' });
  const staleAnswer = (serverTime: string, signature: string): PeerAnswer => ({
    status: 401,
    headers: { 'x-api-server-time': serverTime, 'x-api-server-time-signature': signature },
    body: { statusCode: 401, error: 'Unauthorized', code: 'stale_timestamp', message: 'stale' },
  });

  beforeEach(async () => {
    peer = await FakePeer.start();
  });
  afterEach(() => peer.close());

  it('a server time signed for the rfc9421 nonce sent moves the clock: one retry, with a new nonce and the same body', async () => {
    peer.handler = (request, index) => {
      if (index > 0) return { status: 200, body: { ok: true } };
      const serverTime = String(nowSeconds() + 310);
      return staleAnswer(
        serverTime,
        protocol.signServerTime(SECRET, { apiKey: API_KEY, nonce: nonceOf(header(request, 'signature-input')), serverTime }),
      );
    };
    const s = signer();
    const response = await s.fetch(`${peer.baseUrl}/orders`, { method: 'POST', body: Buffer.from([1, 2, 3]) });
    expect(response.status).toBe(200);
    expect(peer.requests).toHaveLength(2);
    const [first, retry] = peer.requests;
    expect(nonceOf(header(retry, 'signature-input'))).not.toBe(nonceOf(header(first, 'signature-input')));
    expect(Number(/created=(\d+)/.exec(header(retry, 'signature-input'))![1])).toBeGreaterThanOrEqual(nowSeconds() + 308);
    expect([...retry.body]).toEqual([1, 2, 3]);
    // Bytes without a Content-Type are sent (and signed) as application/octet-stream.
    expect(header(retry, 'content-type')).toBe('application/octet-stream');
    expect(header(retry, 'signature-input')).toContain('"content-type" "content-digest"');
    expect(Math.abs(s.clockOffset(peer.baseUrl) - 310_000)).toBeLessThanOrEqual(1_500);
  });

  it.each([
    ['an empty nonce (as for v0)', () => ''],
    ['another nonce', () => 'an-earlier-nonce-AAAAAA'],
  ])('a server time signed for %s does not move the clock', async (_name, nonce) => {
    peer.handler = () => {
      const serverTime = String(nowSeconds() + 310);
      return staleAnswer(serverTime, protocol.signServerTime(SECRET, { apiKey: API_KEY, nonce: nonce(), serverTime }));
    };
    const s = signer();
    expect((await s.fetch(`${peer.baseUrl}/orders/1`)).status).toBe(401);
    expect(peer.requests).toHaveLength(1);
    expect(s.clockOffset(peer.baseUrl)).toBe(0);
  });
});

describe.each(ADAPTERS)('SigningService with scheme rfc9421 against a real app (%s)', (adapter) => {
  let t: TestApp;
  let v1Only: TestApp;
  let apiKey: string;
  let v1Key: string;
  let serverRequests = 0;

  beforeAll(async () => {
    t = await createTestApp({ adapter, auth: { schemes: ['v1', 'rfc9421'], rateLimit: false } });
    v1Only = await createTestApp({ adapter, auth: { rateLimit: false } });
    (t.app.getHttpServer() as Server).on('request', () => serverRequests++);
    ({ apiKey } = await t.keys.create('orders'));
    ({ apiKey: v1Key } = await v1Only.keys.create('orders'));
  });
  afterAll(async () => {
    await t?.close();
    await v1Only?.close();
  });
  beforeEach(() => {
    t.log.calls.length = 0;
    serverRequests = 0;
  });

  it('fetch() GET and a JSON POST are accepted as rfc9421', async () => {
    const s = new SigningService().withCredentials({ apiKey, secret: TEST_SECRET, scheme: 'rfc9421' });
    const get = await s.fetch(`${t.baseUrl}/items/5?q=a%20b`);
    expect(await get.json()).toEqual({ id: '5', caller: { apiKey, serviceName: 'orders', scheme: 'rfc9421' } });
    const post = await s.fetch(`${t.baseUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ caller: 'orders', body: { n: 1 } });
    expect(t.log.calls).toEqual(['get:5', 'create']);
  });

  it.each([
    ['ahead', SKEW_MS],
    ['behind', -SKEW_MS],
  ])('a signer whose clock is 1000 s %s corrects it from the signed server time and retries once', async (_name, skew) => {
    const s = (new SkewedSigner().withCredentials({ apiKey, secret: TEST_SECRET, scheme: 'rfc9421' }) as SkewedSigner).skew(
      t.baseUrl,
      skew,
    );
    const response = await s.fetch(`${t.baseUrl}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"once":true}',
    });
    expect(response.status).toBe(201);
    expect(serverRequests).toBe(2);
    expect(t.log.calls).toEqual(['create']);
    expect(Math.abs(s.clockOffset(t.baseUrl))).toBeLessThanOrEqual(1_500);
  });

  it('a service that does not list rfc9421 refuses it (malformed_credentials), without a retry', async () => {
    const s = new SigningService().withCredentials({ apiKey: v1Key, secret: TEST_SECRET, scheme: 'rfc9421' });
    const response = await s.fetch(`${v1Only.baseUrl}/items/1`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('malformed_credentials');
    expect(v1Only.log.calls).toEqual([]);
  });

  it("ServiceAuthClientModule's scheme option, for one set of credentials and per peer", async () => {
    const start = async (client: ReturnType<typeof ServiceAuthClientModule.forRoot>): Promise<INestApplicationContext> => {
      @Module({ imports: [client] })
      class ClientAppModule {}
      return NestFactory.createApplicationContext(ClientAppModule, { logger: false });
    };
    const single = await start(ServiceAuthClientModule.forRoot({ apiKey, secret: TEST_SECRET, scheme: 'rfc9421' }));
    const peers = await start(
      ServiceAuthClientModule.forRoot({
        scheme: 'rfc9421',
        peers: {
          orders: { baseUrl: t.baseUrl, apiKey, secret: TEST_SECRET },
          legacy: { baseUrl: v1Only.baseUrl, apiKey: v1Key, secret: TEST_SECRET, scheme: 'v1' },
        },
      }),
    );
    try {
      const schemeOf = async (response: Promise<Response>) =>
        ((await (await response).json()) as { caller: { scheme: string } }).caller.scheme;
      expect(await schemeOf(single.get(SigningService).fetch(`${t.baseUrl}/items/1`))).toBe('rfc9421');
      const signing = peers.get(SigningService);
      expect(await schemeOf(signing.peer('orders').fetch('/items/2'))).toBe('rfc9421');
      expect(await schemeOf(signing.peer('legacy').fetch('/items/3'))).toBe('v1');
    } finally {
      await single.close();
      await peers.close();
    }
  });
});
