// Issue 15: the Terminus health indicator (nestjs-service-auth/terminus) over HTTP, on both adapters:
// up; down when the database is cut or stalled (TCP proxy) and when Redis is stopped or may evict; up again.
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../../lib/index.js';
import { createRedisClient, redisBackends, redisReady } from '../../lib/redis/index.js';
import { ServiceAuthHealthIndicator, ServiceAuthHealthModule } from '../../lib/terminus/index.js';
import { APP_DATABASES } from '../support/app-databases.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import { send, sendSigned, type WireResponse } from '../support/signed-request.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type AdapterName, type TestApp, type TestAppOptions } from '../support/test-app.js';

@Controller('status')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly serviceAuth: ServiceAuthHealthIndicator,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.serviceAuth.checkKeyStore('keys', { timeoutMs: 500 }),
      () => this.serviceAuth.checkNonceStore('nonces', { timeoutMs: 500 }),
    ]);
  }
}

function healthApp(adapter: AdapterName, options: Partial<TestAppOptions>): Promise<TestApp> {
  return createTestApp({ adapter, ...options, imports: [ServiceAuthHealthModule], controllers: [HealthController] });
}

const health = (t: TestApp) => send(t, { target: '/status' });

/** Asks until the answer has `status`, for at most `withinMs`; returns the last answer. */
async function until(t: TestApp, status: number, withinMs: number): Promise<WireResponse> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const res = await health(t);
    if (res.status === status || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const keysUp = { status: 'up', responseTimeMs: expect.any(Number) };

describe.each(ADAPTERS)('Terminus: in-memory nonce store and SQLite key table (%s)', (adapter) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await healthApp(adapter, { auth: { nonces: { maxEntries: 10 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('up with the capacity left, degraded above 80% (still 200), down when full (503), each with a reason', async () => {
    const { apiKey } = await t.keys.create('orders');
    const memory = (size: number) => ({ store: 'memory', size, capacity: 10, free: 10 - size });
    let res = await health(t);
    expect({ status: res.status, body: res.json }).toEqual({
      status: 200,
      body: {
        status: 'ok',
        info: { keys: keysUp, nonces: { status: 'up', ...memory(0) } },
        error: {},
        details: { keys: keysUp, nonces: { status: 'up', ...memory(0) } },
      },
    });
    for (let i = 0; i < 9; i++) expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: `/items/${i}` })).status).toBe(200);
    res = await health(t);
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('degraded');
    expect(res.json.details.nonces).toEqual({
      status: 'degraded',
      ...memory(9),
      reason: 'The nonce store is 90% full; when full, signed requests are refused (503).',
    });
    expect(res.json.details.keys).toEqual(keysUp);

    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/9' })).status).toBe(200);
    res = await health(t);
    expect(res.status).toBe(503);
    expect(res.json.status).toBe('error');
    expect(res.json.error.nonces).toEqual({
      status: 'down',
      ...memory(10),
      reason: 'The nonce store is full: signed requests are refused (503) until nonces expire.',
    });
  });

  it('the key store is down once its data source is gone', async () => {
    await t.app.get(DataSource).destroy();
    const res = await health(t);
    expect(res.status).toBe(503);
    expect(res.json.error.keys).toEqual({
      status: 'down',
      reason: expect.stringMatching(/^The API key store failed \(\w+\)\.$/),
      responseTimeMs: expect.any(Number),
    });
  });
});

describeWithRedisServer('Terminus: Redis nonce store (a private redis-server the test stops)', () => {
  describe.each(ADAPTERS)('%s', (adapter) => {
    let redis: DisposableRedis;
    let client: Redis;
    let t: TestApp;
    beforeAll(async () => {
      redis = await DisposableRedis.start();
      client = createRedisClient(redis.url);
      await redisReady(client);
      t = await healthApp(adapter, { auth: redisBackends(client) });
    });
    afterAll(async () => {
      await t?.close();
      client?.disconnect();
      await redis?.stop();
    });

    it('up; down while Redis is stopped; up again once it is back', async () => {
      const res = await health(t);
      expect({ status: res.status, details: res.json.details }).toEqual({
        status: 200,
        details: { keys: keysUp, nonces: { status: 'up', store: 'redis' } },
      });

      await redis.kill();
      const down = await until(t, 503, 5_000);
      expect(down.status).toBe(503);
      expect(down.json.error).toEqual({
        nonces: {
          status: 'down',
          store: 'redis',
          reason: expect.stringMatching(
            /^Redis is not connected \((connecting|reconnecting|close|end)\): signed requests are refused \(503\)\.$/,
          ),
        },
      });
      expect(down.json.info).toEqual({ keys: keysUp });

      await redis.start();
      const back = await until(t, 200, 10_000);
      expect({ status: back.status, nonces: back.json.details.nonces }).toEqual({ status: 200, nonces: { status: 'up', store: 'redis' } });
    });

    it('down while Redis may evict keys (maxmemory-policy), with the fix in the reason; up once it is noeviction again', async () => {
      await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      try {
        const res = await health(t);
        expect(res.status).toBe(503);
        expect(res.json.error.nonces).toEqual({
          status: 'down',
          store: 'redis',
          reason: expect.stringMatching(/allkeys-lru.*noeviction/s),
          responseTimeMs: expect.any(Number),
        });
      } finally {
        await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      }
      expect((await health(t)).status).toBe(200);
    });
  });
});

for (const database of APP_DATABASES.filter((d) => d.label !== 'SQLite')) {
  database.describe(`Terminus: the key table on ${database.label} behind a TCP proxy the test cuts and stalls`, () => {
    describe.each(ADAPTERS)('%s', (adapter) => {
      const name = `service_auth_test_terminus_${adapter}`;
      let proxy: TcpProxy;
      let t: TestApp;
      beforeAll(async () => {
        const options = await database.open(name);
        const direct = options.mysql ?? options.postgres!;
        const url = new URL(direct.url!);
        proxy = await TcpProxy.start(Number(url.port || (options.mysql ? 3306 : 5432)));
        url.host = `127.0.0.1:${proxy.port}`;
        t = await healthApp(
          adapter,
          options.mysql ? { mysql: { ...options.mysql, url: url.toString() } } : { postgres: { url: url.toString() } },
        );
      });
      afterAll(async () => {
        await t?.close();
        await proxy?.close();
        await database.drop(name);
      });

      it('up; down when cut, and when stalled (the timeout); up again once restored', async () => {
        expect((await health(t)).status).toBe(200);

        await proxy.cut();
        const cut = await until(t, 503, 5_000);
        expect(cut.status).toBe(503);
        expect(cut.json.error).toEqual({
          keys: {
            status: 'down',
            reason: expect.stringMatching(/^The API key store (failed \(\w+\)|did not answer within 500 ms)\.$/),
            responseTimeMs: expect.any(Number),
          },
        });
        expect(cut.json.info.nonces).toEqual({ status: 'up', store: 'memory', size: 0, capacity: 1_000_000, free: 1_000_000 });

        await proxy.restore();
        expect((await until(t, 200, 10_000)).status).toBe(200);

        proxy.stall();
        try {
          const stalled = await health(t);
          expect(stalled.status).toBe(503);
          expect(stalled.json.error.keys).toEqual({
            status: 'down',
            reason: 'The API key store did not answer within 500 ms.',
            responseTimeMs: expect.any(Number),
          });
        } finally {
          await proxy.restore();
        }
        expect((await until(t, 200, 10_000)).status).toBe(200);
      });
    });
  });
}
