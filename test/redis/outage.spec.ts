import type { Redis } from 'ioredis';
import { createRedisClient, redisBackends, redisReady } from '../../lib/redis/index.js';
import { describeWithMysql } from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import { expectRejected, sendSigned } from '../support/signed-request.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Waits for the next second: a request signed in the second Redis went away
 * in is refused as stale (401), since Redis may come back without its nonces.
 */
const nextSecond = () => sleep(1_000 - (Date.now() % 1_000) + 20);

/** Sends signed GETs until one is answered 200, for at most `withinMs`; returns the statuses seen. */
async function untilAccepted(t: TestApp, apiKey: string, withinMs: number): Promise<number[]> {
  const statuses: number[] = [];
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const status = (await sendSigned(t, { apiKey, secret: TEST_SECRET })).status;
    statuses.push(status);
    if (status === 200) break;
    await sleep(100);
  }
  return statuses;
}

/** Time taken by one signed request, with its response. */
async function timed(t: TestApp, apiKey: string) {
  const started = Date.now();
  const res = await sendSigned(t, { apiKey, secret: TEST_SECRET });
  return { res, ms: Date.now() - started };
}

// A dead backend must answer quickly; this bound only catches hangs (a hang is many seconds).
const NO_HANG_MS = 3_000;

describeWithRedisServer('Redis outages (a private redis-server that the test kills and freezes)', () => {
  let redis: DisposableRedis;
  let client: Redis;
  let t: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    redis = await DisposableRedis.start();
    client = createRedisClient(redis.url);
    await redisReady(client);
    t = await createTestApp({
      adapter: 'fastify',
      auth: { ...redisBackends(client), failedAttempts: { limit: 100, ttlMs: 60_000 } },
    });
    apiKey = (await t.keys.create('orders')).apiKey;
  });
  afterAll(async () => {
    await t?.close();
    client?.disconnect();
    await redis?.stop();
  });
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  it('Redis down: 503 nonce_store_unavailable at once, handler not run; recovers without a restart', async () => {
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
    t.log.calls.length = 0;

    await redis.kill();
    await nextSecond();
    const { res, ms } = await timed(t, apiKey);
    expectRejected(t, res, 503, 'nonce_store_unavailable');
    expect(ms).toBeLessThan(NO_HANG_MS);

    await redis.start();
    const statuses = await untilAccepted(t, apiKey, 10_000);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.slice(0, -1).every((s) => s === 503)).toBe(true);
  });

  it('Redis frozen (connection open, no answers): 503 after the command timeout, then recovery', async () => {
    redis.pause();
    try {
      const { res, ms } = await timed(t, apiKey);
      expectRejected(t, res, 503, 'nonce_store_unavailable');
      expect(ms).toBeLessThan(NO_HANG_MS);
    } finally {
      redis.resume();
    }
    const statuses = await untilAccepted(t, apiKey, 10_000);
    expect(statuses.at(-1)).toBe(200);
  });

  it('a failed attempt while Redis is down is refused with 503, never let through', async () => {
    await redis.kill();
    await nextSecond();
    try {
      const res = await sendSigned(t, { apiKey, secret: 'w'.repeat(40) });
      expect(res.status).toBe(503);
      // The signature is checked first (invalid), then counting the failure needs Redis: refused.
      expect(res.json.code).toBe('rate_limit_store_unavailable');
      expect(t.log.calls).toEqual([]);
    } finally {
      await redis.start();
    }
    expect((await untilAccepted(t, apiKey, 10_000)).at(-1)).toBe(200);
  });
});

describeWithMysql('MySQL outages (through a TCP proxy the test cuts and stalls)', () => {
  const SCRATCH_DB = 'service_auth_test_outage';
  let proxy: TcpProxy;
  let t: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    const url = new URL(await createScratchMysqlDatabase(SCRATCH_DB));
    proxy = await TcpProxy.start(Number(url.port || 3306));
    url.host = `127.0.0.1:${proxy.port}`;
    t = await createTestApp({
      adapter: 'express',
      mysql: { url: url.toString() },
      // Short TTLs, so that the test reaches the database again quickly.
      auth: { keyCache: { ttlMs: 200, negativeTtlMs: 100, lookupTimeoutMs: 500 } },
    });
    apiKey = (await t.keys.create('orders')).apiKey;
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await dropScratchMysqlDatabase(SCRATCH_DB);
  });
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  it('database unreachable: 503 key_store_unavailable, handler not run; recovers without a restart', async () => {
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
    t.log.calls.length = 0;
    await proxy.cut();
    await sleep(250); // past the key cache TTL
    const { res, ms } = await timed(t, apiKey);
    expectRejected(t, res, 503, 'key_store_unavailable');
    expect(ms).toBeLessThan(NO_HANG_MS);

    await proxy.restore();
    const statuses = await untilAccepted(t, apiKey, 10_000);
    expect(statuses.at(-1)).toBe(200);
    expect(t.log.calls.length).toBe(1);
  });

  it('database stalled: 503 after keyCache.lookupTimeoutMs instead of a hang, then recovery', async () => {
    proxy.stall();
    await sleep(250);
    try {
      const { res, ms } = await timed(t, apiKey);
      expectRejected(t, res, 503, 'key_store_unavailable');
      expect(ms).toBeLessThan(NO_HANG_MS);
    } finally {
      await proxy.restore();
    }
    expect((await untilAccepted(t, apiKey, 10_000)).at(-1)).toBe(200);
  });

  it('a key still in the cache is served during an outage, until its TTL', async () => {
    const cached = await createTestApp({
      adapter: 'fastify',
      mysql: { url: `mysql://root@127.0.0.1:${proxy.port}/${SCRATCH_DB}` },
      auth: { keyCache: { ttlMs: 60_000 } },
    });
    try {
      expect((await sendSigned(cached, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      await proxy.cut();
      expect((await sendSigned(cached, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      expect(cached.log.calls).toEqual(['get:1', 'get:1']);
      cached.log.calls.length = 0;
      const unknown = await sendSigned(cached, { apiKey: 'UnknownKey0123456789abcdefABCDEF', secret: TEST_SECRET });
      expectRejected(cached, unknown, 503, 'key_store_unavailable');
    } finally {
      await proxy.restore();
      await cached.close();
    }
  });
});
