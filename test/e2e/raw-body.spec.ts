import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';
import { expectRejected, send, sendSigned, sign } from '../support/signed-request.js';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

const JSON_BODY = '{"amount": 12.5, "currency":"EUR", "tags":["a","b"]}';

/** PROTOCOL.md step 4: the body is verified as raw bytes, and never treated as empty when it cannot be read. */
describe.each(ADAPTERS)('raw body (%s)', (adapter) => {
  describe('app created with rawBody: false', () => {
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter, rawBody: false });
      ({ apiKey } = await t.keys.create('orders'));
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('refuses a correctly signed POST with a JSON body: 401 unverifiable_body', async () => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: JSON_BODY });
      expectRejected(t, res, 401, 'unverifiable_body');
    });

    it('never verifies the body as empty: a POST signed over no body but carrying one is refused', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items' });
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON_BODY,
      });
      expectRejected(t, res, 401, 'unverifiable_body');
    });

    it('refuses a chunked body too (no Content-Length)', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: JSON_BODY });
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { ...headers, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        chunks: [JSON_BODY.slice(0, 10), JSON_BODY.slice(10)],
      });
      expectRejected(t, res, 401, 'unverifiable_body');
    });

    it('still accepts a signed GET without a body', async () => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/9' });
      expect(res.status).toBe(200);
      expect(t.log.calls).toEqual(['get:9']);
    });

    it('still accepts a signed POST with Content-Length: 0', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items' });
      const res = await send(t, { method: 'POST', target: '/items', headers, body: '' });
      expect(res.status).toBe(201);
      expect(t.log.calls).toEqual(['create']);
    });
  });

  describe('app created with rawBody: true', () => {
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter, rawBody: true });
      ({ apiKey } = await t.keys.create('orders'));
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('accepts a POST signed over its exact JSON bytes; the handler gets the parsed body', async () => {
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: JSON_BODY });
      expect(res.status).toBe(201);
      expect(res.json).toEqual({ caller: 'orders', body: JSON.parse(JSON_BODY) });
      expect(t.log.calls).toEqual(['create']);
    });

    it('accepts a signed chunked body (no Content-Length)', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: JSON_BODY });
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { ...headers, 'content-type': 'application/json' },
        chunks: [JSON_BODY.slice(0, 7), JSON_BODY.slice(7)],
      });
      expect(res.status).toBe(201);
      expect(res.json.body).toEqual(JSON.parse(JSON_BODY));
    });

    it('hashes the bytes, not characters: a UTF-8 body', async () => {
      const body = '{"name":"Zoë ✓ 🔑"}';
      const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body });
      expect(res.status).toBe(201);
      expect(res.json.body).toEqual({ name: 'Zoë ✓ 🔑' });
    });

    it('accepts a signed urlencoded body', async () => {
      const body = 'a=1&b=two+words';
      const headers = sign(t, {
        apiKey,
        secret: TEST_SECRET,
        method: 'POST',
        target: '/items',
        body,
        contentType: 'application/x-www-form-urlencoded',
      });
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(201);
      expect(res.json.body).toEqual({ a: '1', b: 'two words' });
    });

    it('refuses a body whose bytes differ from the signed ones', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: JSON_BODY });
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(JSON.parse(JSON_BODY)),
      });
      expectRejected(t, res, 401, 'invalid_signature');
    });

    it('refuses a body of a type no raw-body parser keeps (text/plain): 401 unverifiable_body', async () => {
      const body = 'plain text';
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body, contentType: 'text/plain' });
      const res = await send(t, { method: 'POST', target: '/items', headers: { ...headers, 'content-type': 'text/plain' }, body });
      expectRejected(t, res, 401, 'unverifiable_body');
    });

    it('never runs the handler for a signed body without Content-Type', async () => {
      const body = '{"a":1}';
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body }),
        body,
      });
      if (adapter === 'express') {
        // Express leaves such a body unread: the guard cannot verify it.
        expectRejected(t, res, 401, 'unverifiable_body');
      } else {
        // Fastify refuses an unknown media type before any guard runs.
        expect(res.status).toBe(415);
        expect(t.log.calls).toEqual([]);
      }
    });
  });

  // The parsers of README "1. Create the app with the raw body", for text/plain.
  describe('app with the README text/plain parser', () => {
    let t: TestApp;
    let apiKey: string;
    beforeAll(async () => {
      const configure = (app: INestApplication) => {
        if (adapter === 'express') (app as NestExpressApplication).useBodyParser('text');
        else (app as NestFastifyApplication).useBodyParser('text/plain', {}, (_req, body, done) => done(null, body.toString('utf8')));
      };
      t = await createTestApp({ adapter, rawBody: true, configure });
      ({ apiKey } = await t.keys.create('orders'));
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('accepts a signed text/plain body, and the handler gets it as a string', async () => {
      const body = 'plain text, ünïcode';
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body, contentType: 'text/plain' });
      const res = await send(t, { method: 'POST', target: '/items', headers: { ...headers, 'content-type': 'text/plain' }, body });
      expect(res.status).toBe(201);
      expect(res.json).toEqual({ caller: 'orders', body });
      expect(t.log.calls).toEqual(['create']);
    });

    it('refuses a text/plain body whose bytes differ from the signed ones', async () => {
      const headers = sign(t, { apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body: 'signed', contentType: 'text/plain' });
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: 'altered',
      });
      expectRejected(t, res, 401, 'invalid_signature');
    });
  });
});
