import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Delete, Get, Module, Param, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AllowServices,
  ApiKey,
  ApiKeyAuthModule,
  apiKeyAuthMigrations,
  ApiKeyGuard,
  ApiKeyService,
  Public,
  PublicRestrictedRouteError,
  type NonceStore,
} from '../../lib/index.js';
import { freePort } from '../support/redis-server.js';
import {
  expectAuthError,
  expectRejected,
  expectRetryAfter,
  freshNonce,
  nowSeconds,
  send,
  sendSigned,
  sign,
  startOfSecond,
} from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type AdapterName, type TestApp } from '../support/test-app.js';
import * as protocol from '../../lib/protocol/index.js';

// Each case is a request sequence that an independent review made succeed
// against the module before protocol revision 2 (issue "verification core").

describe.each(ADAPTERS)('security review findings (%s)', (adapter: AdapterName) => {
  describe('1. @Public() on a controller does not open a handler that @AllowServices() restricts', () => {
    let t: TestApp;
    const calls: string[] = [];
    @Public()
    @Controller('open')
    class OpenController {
      @Get()
      open() {
        calls.push('open');
        return { open: true };
      }

      @AllowServices('billing-admin')
      @Delete(':id')
      remove(@Param('id') id: string) {
        calls.push(`remove:${id}`);
        return { removed: id };
      }
    }

    beforeAll(async () => {
      t = await createTestApp({ adapter, controllers: [OpenController] });
    });
    afterAll(() => t.close());
    beforeEach(() => (calls.length = 0));

    it('answers an unsigned DELETE 401 without running the handler', async () => {
      const res = await send(t, { method: 'DELETE', target: '/open/7' });
      expectAuthError(res, 401, 'missing_credentials');
      expect(calls).toEqual([]);
    });

    it('still runs the restricted handler for the allowed service only, and leaves the rest of the controller open', async () => {
      const admin = await t.keys.create('billing-admin');
      const orders = await t.keys.create('orders');
      const allowed = await sendSigned(t, { apiKey: admin.apiKey, secret: TEST_SECRET, method: 'DELETE', target: '/open/7' });
      expect(allowed.status).toBe(200);
      const other = await sendSigned(t, { apiKey: orders.apiKey, secret: TEST_SECRET, method: 'DELETE', target: '/open/8' });
      expectAuthError(other, 403, 'service_not_allowed');
      expect((await send(t, { target: '/open' })).status).toBe(200);
      expect(calls).toEqual(['remove:7', 'open']);
    });

    it('refuses @Public() and @AllowServices() on the same handler, in either order, while the app loads', () => {
      const define = (order: 'public-first' | 'restrict-first') => {
        class Probe {
          m() {}
        }
        const descriptor = Object.getOwnPropertyDescriptor(Probe.prototype, 'm')!;
        const decorators = [Public(), AllowServices('billing-admin')];
        if (order === 'restrict-first') decorators.reverse();
        for (const decorate of decorators) (decorate as MethodDecorator)(Probe.prototype, 'm', descriptor);
      };
      expect(() => define('public-first')).toThrow(PublicRestrictedRouteError);
      expect(() => define('restrict-first')).toThrow(PublicRestrictedRouteError);
      expect(() => define('public-first')).toThrow(/Probe\.m is marked both @Public\(\) and @AllowServices\(\)/);
      expect(() => {
        @AllowServices('billing-admin')
        class Restricted {
          @Public()
          m() {}
        }
        return Restricted;
      }).toThrow(PublicRestrictedRouteError);
    });
  });

  describe('2. a key over its rate limit cannot fill the nonce store', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter, auth: { rateLimit: { limit: 5, ttlMs: 60_000 }, nonces: { maxEntries: 20 } } });
    });
    afterAll(() => t.close());

    it('records no nonce for a request answered 429, so another key keeps being served', async () => {
      const flooder = await t.keys.create('flooder');
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await sendSigned(t, { apiKey: flooder.apiKey, secret: TEST_SECRET })).status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(35);
      const victim = await t.keys.create('victim');
      for (let i = 0; i < 5; i++) {
        expect((await sendSigned(t, { apiKey: victim.apiKey, secret: TEST_SECRET })).status).toBe(200);
      }
    });

    it('does not count a replayed request against the key', async () => {
      const caller = await t.keys.create('replayed');
      const nonce = freshNonce();
      const timestampSeconds = nowSeconds();
      expect((await sendSigned(t, { apiKey: caller.apiKey, secret: TEST_SECRET, nonce, timestampSeconds })).status).toBe(200);
      for (let i = 0; i < 6; i++) {
        const replay = await sendSigned(t, { apiKey: caller.apiKey, secret: TEST_SECRET, nonce, timestampSeconds });
        expectAuthError(replay, 401, 'replayed_request');
      }
      for (let i = 0; i < 4; i++) expect((await sendSigned(t, { apiKey: caller.apiKey, secret: TEST_SECRET })).status).toBe(200);
      expectAuthError(await sendSigned(t, { apiKey: caller.apiKey, secret: TEST_SECRET }), 429, 'rate_limited');
    });
  });

  describe('4. a request signed for another service is refused (allowedHosts)', () => {
    let a: TestApp;
    let b: TestApp;
    let database: string;
    beforeAll(async () => {
      database = join(tmpdir(), `review-hosts-${adapter}-${process.pid}.sqlite`);
      const [portA, portB] = [await freePort(), await freePort()];
      a = await createTestApp({ adapter, database, port: portA, auth: { allowedHosts: [`127.0.0.1:${portA}`] } });
      b = await createTestApp({ adapter, database, port: portB, auth: { allowedHosts: [`127.0.0.1:${portB}`, 'localhost'] } });
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });
    beforeEach(() => {
      a.log.calls.length = 0;
      b.log.calls.length = 0;
    });

    it('accepts the request at the service it was signed for, and refuses the identical bytes at another one', async () => {
      const caller = await a.keys.create('orders');
      const headers = sign(a, { apiKey: caller.apiKey, secret: TEST_SECRET });
      const wire = { target: '/items/1', host: a.host, headers };
      const atB = await send(b, wire);
      expectRejected(b, atB, 401, 'host_not_allowed');
      expect((await send(a, wire)).status).toBe(200);
    });

    it('matches host names case-insensitively, and an entry without a port on any port', async () => {
      const caller = await b.keys.create('orders');
      for (const host of ['LOCALHOST:1234', 'localhost', `127.0.0.1:${new URL(b.baseUrl).port}`]) {
        const res = await sendSigned(b, { apiKey: caller.apiKey, secret: TEST_SECRET, host });
        expect({ host, status: res.status }).toEqual({ host, status: 200 });
      }
    });

    it('refuses the host before checking the signature', async () => {
      const caller = await a.keys.create('orders');
      const headers = {
        ...sign(a, { apiKey: caller.apiKey, secret: TEST_SECRET, host: 'elsewhere:1' }),
        'x-api-signature': `v1=${'0'.repeat(64)}`,
      };
      expectRejected(a, await send(a, { target: '/items/1', host: 'elsewhere:1', headers }), 401, 'host_not_allowed');
    });

    it('warns once at startup when no host restriction is set', async () => {
      const lines: string[] = [];
      const logger = { log() {}, error() {}, warn: (message: unknown) => lines.push(String(message)), debug() {}, verbose() {} };
      const open = await createTestApp({ adapter, logger });
      await open.close();
      expect(lines.filter((line) => line.includes('allowedHosts is not set'))).toHaveLength(1);
    });
  });

  describe('5. Content-Type is signed', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter });
    });
    afterAll(() => t.close());
    beforeEach(() => (t.log.calls.length = 0));

    it('refuses the same bytes resent with another Content-Type', async () => {
      const caller = await t.keys.create('orders');
      const body = 'amount=1&to=attacker';
      const spec = { apiKey: caller.apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body, contentType: 'application/json' };
      const headers = sign(t, spec);
      const res = await send(t, {
        method: 'POST',
        target: '/items',
        body,
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectRejected(t, res, 401, 'invalid_signature');
    });

    it('accepts the Content-Type it was signed with, and refuses one sent twice', async () => {
      const caller = await t.keys.create('orders');
      const body = '{"n":1}';
      const ok = await sendSigned(t, { apiKey: caller.apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body });
      expect(ok.status).toBe(201);
      t.log.calls.length = 0;
      const headers = sign(t, { apiKey: caller.apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body });
      const twice = await send(t, {
        method: 'POST',
        target: '/items',
        body,
        headers: { ...headers, 'content-type': ['application/json', 'text/plain'] },
      });
      expectRejected(t, twice, 401, 'malformed_credentials');
    });
  });

  describe('6. failed attempts never lock out valid callers behind the same address', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter, auth: { failedAttempts: { limit: 3, ttlMs: 60_000 } } });
    });
    afterAll(() => t.close());
    beforeEach(() => (t.log.calls.length = 0));

    it('answers failures over the limit 429, and still accepts a valid request from that address', async () => {
      const caller = await t.keys.create('orders');
      const localAddress = '127.0.0.2';
      const bad = () =>
        send(t, { target: '/items/1', localAddress, headers: { ...sign(t, { apiKey: caller.apiKey, secret: 'w'.repeat(40) }) } });
      for (let i = 0; i < 3; i++) expectAuthError(await bad(), 401, 'invalid_signature');
      const blocked = await bad();
      expectAuthError(blocked, 429, 'too_many_failed_attempts');
      expectRetryAfter(blocked, 60);
      expectAuthError(await send(t, { target: '/items/1', localAddress }), 429, 'too_many_failed_attempts');
      expect(t.log.calls).toEqual([]);

      const valid = await send(t, { target: '/items/1', localAddress, headers: sign(t, { apiKey: caller.apiKey, secret: TEST_SECRET }) });
      expect(valid.status).toBe(200);
      expect(t.log.calls).toEqual(['get:1']);
    });
  });

  describe('7. a 401 stale_timestamp carries a server time signed for the key and nonce', () => {
    it.each(['shared', 'derived'] as const)('with %s secrets', async (secretMode) => {
      const t = await createTestApp({ adapter, auth: { secretMode } });
      try {
        const caller = await t.keys.create('orders');
        const secret = secretMode === 'derived' ? protocol.deriveKeySecret(TEST_SECRET, caller.apiKey) : TEST_SECRET;
        const nonce = freshNonce();
        const res = await sendSigned(t, { apiKey: caller.apiKey, secret, nonce, timestampSeconds: nowSeconds() - 400 });
        expectRejected(t, res, 401, 'stale_timestamp');
        const serverTime = String(res.headers['x-api-server-time']);
        const signature = String(res.headers['x-api-server-time-signature']);
        expect(protocol.verifyServerTime(secret, { apiKey: caller.apiKey, nonce, serverTime }, signature)).toBe(true);
        expect(protocol.verifyServerTime(secret, { apiKey: caller.apiKey, nonce: freshNonce(), serverTime }, signature)).toBe(false);
        const other = await sendSigned(t, { apiKey: caller.apiKey, secret, timestampSeconds: nowSeconds() + 400 });
        expect(other.headers['x-api-server-time-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
        // No signature for a request whose credentials do not parse.
        const malformed = await send(t, {
          target: '/items/1',
          headers: { 'x-api-key': 'short', 'x-api-timestamp': '1', 'x-api-signature': 'x' },
        });
        expectAuthError(malformed, 401, 'malformed_credentials');
        expect(malformed.headers['x-api-server-time-signature']).toBeUndefined();
      } finally {
        await t.close();
      }
    });
  });

  describe('8. a request signed before the in-memory nonce store started is refused', () => {
    it('does not accept after a restart a request captured before it', async () => {
      const database = join(tmpdir(), `review-restart-${adapter}-${process.pid}.sqlite`);
      const first = await createTestApp({ adapter, database });
      const caller = await first.keys.create('orders');
      await startOfSecond();
      const captured = { target: '/items/1', headers: sign(first, { apiKey: caller.apiKey, secret: TEST_SECRET }) };
      expect((await send(first, captured)).status).toBe(200);
      const port = Number(new URL(first.baseUrl).port);
      await first.close();
      await new Promise((resolve) => setTimeout(resolve, 1100));

      const second = await createTestApp({ adapter, database, port });
      try {
        expectRejected(second, await send(second, captured), 401, 'stale_timestamp');
        expect((await sendSigned(second, { apiKey: caller.apiKey, secret: TEST_SECRET })).status).toBe(200);
      } finally {
        await second.close();
      }
    });

    it('applies to stores that lose nonces only: a store that outlives the app accepts the window', async () => {
      const seen = new Set<string>();
      const lasting: NonceStore = { recordOnce: (key) => !seen.has(key) && Boolean(seen.add(key)) };
      const t = await createTestApp({ adapter, auth: { nonces: { store: lasting } } });
      try {
        const caller = await t.keys.create('orders');
        const early = await sendSigned(t, { apiKey: caller.apiKey, secret: TEST_SECRET, timestampSeconds: nowSeconds() - 200 });
        expect(early.status).toBe(200);
      } finally {
        await t.close();
      }
    });
  });

  describe('9. encoded bodies are refused on both adapters alike', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ adapter });
    });
    afterAll(() => t.close());
    beforeEach(() => (t.log.calls.length = 0));

    it.each(['gzip', 'br', 'deflate'])('Content-Encoding: %s answers 415 unsupported_content_encoding', async (encoding) => {
      const { brotliCompressSync, deflateSync, gzipSync } = await import('node:zlib');
      const plain = Buffer.from('{"n":1}');
      const body = encoding === 'gzip' ? gzipSync(plain) : encoding === 'br' ? brotliCompressSync(plain) : deflateSync(plain);
      const caller = await t.keys.create('orders');
      const headers = {
        ...sign(t, { apiKey: caller.apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body }),
        'content-type': 'application/json',
        'content-encoding': encoding,
      };
      expectRejected(t, await send(t, { method: 'POST', target: '/items', body, headers }), 415, 'unsupported_content_encoding');
    });

    it('accepts Content-Encoding: identity', async () => {
      const caller = await t.keys.create('orders');
      const body = '{"n":1}';
      const res = await sendSigned(
        t,
        { apiKey: caller.apiKey, secret: TEST_SECRET, method: 'POST', target: '/items', body },
        { 'content-encoding': 'identity' },
      );
      expect(res.status).toBe(201);
    });
  });
});

describe.each(ADAPTERS)('failed attempts across guard instances (%s)', (adapter: AdapterName) => {
  it('one address over the limit at one guard instance is over it at every other', async () => {
    @UseGuards(ApiKeyGuard)
    @Controller('a')
    class AController {
      @Get()
      a() {
        return 'a';
      }
    }
    @UseGuards(ApiKeyGuard)
    @Controller('b')
    class BController {
      @Get()
      b() {
        return 'b';
      }
    }
    @Module({ controllers: [AController] })
    class FeatureA {}
    @Module({ controllers: [BController] })
    class FeatureB {}
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: ':memory:',
          entities: [ApiKey],
          migrations: apiKeyAuthMigrations,
          migrationsRun: true,
        }),
        ApiKeyAuthModule.forRoot({
          secrets: [TEST_SECRET],
          failedAttempts: { limit: 2, ttlMs: 60_000 },
          isGlobal: true,
          globalGuard: false,
        }),
        FeatureA,
        FeatureB,
      ],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    const host = `127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const t = { baseUrl: `http://${host}`, host } as TestApp;
    try {
      const caller = await app.get(ApiKeyService).create('orders');
      const bad = (target: string) => send(t, { target, headers: sign(t, { apiKey: caller.apiKey, secret: 'w'.repeat(40), target }) });
      expectAuthError(await bad('/a'), 401, 'invalid_signature');
      expectAuthError(await bad('/a'), 401, 'invalid_signature');
      expectAuthError(await bad('/b'), 429, 'too_many_failed_attempts');
      expectAuthError(await bad('/a'), 429, 'too_many_failed_attempts');
      const valid = await send(t, { target: '/b', headers: sign(t, { apiKey: caller.apiKey, secret: TEST_SECRET, target: '/b' }) });
      expect(valid.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
