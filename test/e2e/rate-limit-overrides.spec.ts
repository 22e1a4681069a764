import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Type } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  RateLimit,
  ServiceCaller,
  type ApiKeyAuthModuleOptions,
  type ServiceCallerInfo,
} from '../../lib/index.js';
import { createRedisClient, redisBackends, redisReady } from '../../lib/redis/index.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import { expectAuthError, expectRetryAfter, sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type AdapterName, type TestApp } from '../support/test-app.js';

/** Routes with their own built-in limits; every handler run is logged. */
function rateLimitedControllers(log: string[]): Type[] {
  @Controller('limited')
  class RateLimitedController {
    @RateLimit({ limit: 2, ttlMs: 60_000 })
    @Get('export')
    export(@ServiceCaller() caller: ServiceCallerInfo) {
      log.push(`export:${caller.serviceName}`);
      return { ok: true };
    }

    @RateLimit(false)
    @Get('cheap')
    cheap() {
      log.push('cheap');
      return { ok: true };
    }
  }

  @RateLimit({ limit: 1, ttlMs: 30_000 })
  @Controller('strict')
  class StrictController {
    @Get('a')
    a() {
      log.push('strict:a');
      return { ok: true };
    }

    @RateLimit({ limit: 4, ttlMs: 60_000 })
    @Get('b')
    b() {
      log.push('strict:b');
      return { ok: true };
    }
  }
  return [RateLimitedController, StrictController];
}

const APP_LIMIT = { limit: 3, ttlMs: 60_000 };

async function startApp(adapter: AdapterName, auth: ApiKeyAuthModuleOptions, database?: string): Promise<{ t: TestApp; log: string[] }> {
  const log: string[] = [];
  const t = await createTestApp({ adapter, auth, database, controllers: rateLimitedControllers(log) });
  return { t, log };
}

/** Sends `count` signed GETs of `target`; their statuses. */
async function statuses(t: TestApp, apiKey: string, target: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await sendSigned(t, { apiKey, secret: TEST_SECRET, target })).status);
  return seen;
}

const times = (n: number, status: number) => Array.from({ length: n }, () => status);

async function expectLimited(t: TestApp, apiKey: string, target: string, maxRetryAfter: number): Promise<void> {
  const res = await sendSigned(t, { apiKey, secret: TEST_SECRET, target });
  expectAuthError(res, 429, 'rate_limited');
  expectRetryAfter(res, maxRetryAfter);
}

describe('@RateLimit() refuses a limit that is not positive integers, when the app loads', () => {
  it.each([
    [{ limit: 0, ttlMs: 1000 }, '`@RateLimit().limit` must be a positive integer, got 0.'],
    [{ limit: 2.5, ttlMs: 1000 }, '`@RateLimit().limit` must be a positive integer, got 2.5.'],
    [{ limit: 2, ttlMs: -1 }, '`@RateLimit().ttlMs` must be a positive integer, got -1.'],
    [{ limit: 2, ttlMs: 1000, blockDurationMs: 0 }, '`@RateLimit().blockDurationMs` must be a positive integer, got 0.'],
    [null, '`@RateLimit().limit` must be a positive integer, got undefined.'],
  ])('%j', (limit, message) => {
    const attempt = () => RateLimit(limit as never);
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(ApiKeyAuthConfigurationError);
    expect(attempt).toThrow(`nestjs-service-auth: option ${message}`);
  });
});

describe.each(ADAPTERS)('the built-in rate limit with per-key and per-route values (%s)', (adapter) => {
  describe(`rateLimit: ${JSON.stringify(APP_LIMIT)}`, () => {
    let t: TestApp;
    let log: string[];
    beforeAll(async () => {
      ({ t, log } = await startApp(adapter, { rateLimit: APP_LIMIT }));
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      log.length = 0;
      t.log.calls.length = 0;
    });

    it("a key's own limit replaces the app's, higher or lower; a key without one keeps the app's", async () => {
      const generous = await t.keys.create('orders', { rateLimit: { limit: 5, ttlMs: 60_000 } });
      const strict = await t.keys.create('orders', { rateLimit: { limit: 1, ttlMs: 20_000 } });
      const plain = await t.keys.create('orders');
      expect(await statuses(t, generous.apiKey, '/items/1', 5)).toEqual(times(5, 200));
      await expectLimited(t, generous.apiKey, '/items/1', 60);
      expect(await statuses(t, strict.apiKey, '/items/1', 1)).toEqual([200]);
      await expectLimited(t, strict.apiKey, '/items/1', 20);
      expect(await statuses(t, plain.apiKey, '/items/1', 3)).toEqual(times(3, 200));
      await expectLimited(t, plain.apiKey, '/items/1', 60);
      expect(t.log.calls).toHaveLength(9);
    });

    it("@RateLimit() gives a route its own counter per key, in place of the app's limit and the key's own", async () => {
      const plain = await t.keys.create('orders');
      const generous = await t.keys.create('billing', { rateLimit: { limit: 5, ttlMs: 60_000 } });
      expect(await statuses(t, plain.apiKey, '/limited/export', 2)).toEqual([200, 200]);
      await expectLimited(t, plain.apiKey, '/limited/export', 60);
      // The key's app-wide counter is untouched by that route.
      expect(await statuses(t, plain.apiKey, '/items/1', 3)).toEqual(times(3, 200));
      expect(await statuses(t, generous.apiKey, '/limited/export', 3)).toEqual([200, 200, 429]);
      expect(log).toEqual(['export:orders', 'export:orders', 'export:billing', 'export:billing']);
    });

    it('@RateLimit(false) exempts a route, even for a key over its app-wide limit', async () => {
      const { apiKey } = await t.keys.create('orders');
      expect(await statuses(t, apiKey, '/items/1', 4)).toEqual([200, 200, 200, 429]);
      expect(await statuses(t, apiKey, '/limited/cheap', 10)).toEqual(times(10, 200));
      expect(log).toEqual(times(10, 0).map(() => 'cheap'));
    });

    it("a controller's @RateLimit() applies to each of its handlers apart; a handler's own wins", async () => {
      const { apiKey } = await t.keys.create('orders');
      expect(await statuses(t, apiKey, '/strict/a', 1)).toEqual([200]);
      await expectLimited(t, apiKey, '/strict/a', 30);
      expect(await statuses(t, apiKey, '/strict/b', 5)).toEqual([...times(4, 200), 429]);
      expect(log).toEqual(['strict:a', ...times(4, 0).map(() => 'strict:b')]);
    });

    it("ApiKeyService.setRateLimit() takes effect at the key's next request, and null returns it to the app's", async () => {
      const { apiKey } = await t.keys.create('orders');
      expect(await statuses(t, apiKey, '/items/1', 3)).toEqual(times(3, 200));
      expect(await t.keys.setRateLimit(apiKey, { limit: 6, ttlMs: 60_000 })).toBe(true);
      expect(await statuses(t, apiKey, '/items/1', 4)).toEqual([200, 200, 200, 429]);
      const other = await t.keys.create('orders', { rateLimit: { limit: 1, ttlMs: 60_000 } });
      expect(await statuses(t, other.apiKey, '/items/1', 1)).toEqual([200]);
      expect(await t.keys.setRateLimit(other.apiKey, null)).toBe(true);
      expect(await statuses(t, other.apiKey, '/items/1', 3)).toEqual([200, 200, 429]);
      expect(await t.keys.setRateLimit('NoSuchKey0123456789abcdefghijklm', null)).toBe(false);
    });
  });

  describe('rateLimit: false', () => {
    let t: TestApp;
    let log: string[];
    beforeAll(async () => {
      ({ t, log } = await startApp(adapter, { rateLimit: false }));
    });
    afterAll(() => t?.close());

    it("turns the built-in limit off entirely: a key's own limit and @RateLimit() routes too", async () => {
      const { apiKey } = await t.keys.create('orders', { rateLimit: { limit: 1, ttlMs: 60_000 } });
      expect(await statuses(t, apiKey, '/items/1', 4)).toEqual(times(4, 200));
      expect(await statuses(t, apiKey, '/limited/export', 4)).toEqual(times(4, 200));
      expect(log).toHaveLength(4);
    });
  });
});

describeWithRedisServer('the built-in per-key and per-route limits in Redis, shared by two instances', () => {
  let dir: string;
  let redis: DisposableRedis;
  let clients: Redis[];
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'service-auth-rate-limit-'));
    redis = await DisposableRedis.start();
    clients = [createRedisClient(redis.url), createRedisClient(redis.url)];
    await Promise.all(clients.map((client) => redisReady(client)));
    const database = join(dir, 'keys.sqlite');
    // One after the other: the first runs the migrations.
    a = (await startApp('express', { rateLimit: APP_LIMIT, ...redisBackends(clients[0]) }, database)).t;
    b = (await startApp('fastify', { rateLimit: APP_LIMIT, ...redisBackends(clients[1]) }, database)).t;
  }, 30_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    for (const client of clients ?? []) client.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts a key's own limit and a route's @RateLimit() in Redis (with the nonce, in one step), across both", async () => {
    const { apiKey } = await a.keys.create('orders', { rateLimit: { limit: 4, ttlMs: 60_000 } });
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push((await sendSigned(i % 2 ? b : a, { apiKey, secret: TEST_SECRET, target: '/items/1' })).status);
    expect(seen).toEqual([...times(4, 200), 429, 429]);
    expect(await statuses(b, apiKey, '/limited/export', 1)).toEqual([200]);
    expect(await statuses(a, apiKey, '/limited/export', 2)).toEqual([200, 429]);
    const counters = ((await redis.command('KEYS', `sa:{${apiKey}}:*`)) as string[]).filter((key) => !key.includes(':n:')).sort();
    expect(counters).toEqual([`sa:{${apiKey}}:k:b`, `sa:{${apiKey}}:t:service-auth-key:RateLimitedController.export:b`]);
  });
});
