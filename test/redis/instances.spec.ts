import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createRedisClient, redisBackends, redisReady } from '../../lib/redis/index.js';
import { describeWithRedis, MYSQL_URL, REDIS_URL } from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';
import { rfc9421Request, sendWire } from '../support/rfc9421-request.js';
import { expectAuthError, expectRejected, expectRetryAfter, send, sendSigned, sign } from '../support/signed-request.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const SCRATCH_DB = 'service_auth_test_instances';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two instances of an app (one on Express, one on Fastify) sharing the key
 * table and one Redis, each with its own Redis connection, as two processes
 * behind a load balancer would.
 */
describeWithRedis(`two instances sharing Redis and ${MYSQL_URL ? 'MySQL' : 'SQLite'}`, () => {
  let dir: string;
  let a: TestApp;
  let b: TestApp;
  let clients: Redis[];
  let apiKey: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'service-auth-instances-'));
    const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
    clients = [createRedisClient(REDIS_URL!), createRedisClient(REDIS_URL!)];
    await Promise.all(clients.map((c) => redisReady(c)));
    const database = MYSQL_URL ? { mysql: { url: await createScratchMysqlDatabase(SCRATCH_DB) } } : { database: join(dir, 'keys.sqlite') };
    const auth = (client: Redis) => ({
      ...redisBackends(client, { keyPrefix }),
      schemes: ['v1' as const, 'rfc9421' as const],
      rateLimit: { limit: 6, ttlMs: 60_000 },
      failedAttempts: { limit: 10, ttlMs: 60_000 },
      keyCache: { ttlMs: 60_000 },
    });
    a = await createTestApp({ adapter: 'express', ...database, auth: auth(clients[0]) });
    b = await createTestApp({ adapter: 'fastify', ...database, auth: auth(clients[1]) });
    apiKey = (await a.keys.create('orders')).apiKey;
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await Promise.all(clients.map((c) => c.quit()));
    rmSync(dir, { recursive: true, force: true });
    if (MYSQL_URL) await dropScratchMysqlDatabase(SCRATCH_DB);
  });

  beforeEach(() => {
    a.log.calls.length = 0;
    b.log.calls.length = 0;
  });

  it('failed attempts counted at one instance put the address over the limit at the other, which still accepts its valid requests', async () => {
    const localAddress = '127.0.0.9';
    const bad = (t: TestApp) => send(t, { target: '/items/1', localAddress, headers: sign(t, { apiKey, secret: 'w'.repeat(40) }) });
    for (let i = 0; i < 10; i++) expectAuthError(await bad(a), 401, 'invalid_signature');
    const refused = await bad(b);
    expectRejected(b, refused, 429, 'too_many_failed_attempts');
    expectRetryAfter(refused, 60);
    expectRejected(b, await send(b, { target: '/items/1', localAddress }), 429, 'too_many_failed_attempts');
    const valid = await send(b, { target: '/items/1', localAddress, headers: sign(b, { apiKey, secret: TEST_SECRET }) });
    expect(valid.status).toBe(200);
    expect(b.log.calls).toEqual(['get:1']);
  });

  it('a request accepted by one instance is a replay to the other', async () => {
    // Both apps listen on 127.0.0.1 with different ports; sign for the Host the request carries.
    const headers = sign(a, { apiKey, secret: TEST_SECRET, target: '/items/1' });
    expect((await send(a, { target: '/items/1', headers })).status).toBe(200);
    const replay = await send(b, { target: '/items/1', host: a.host, headers });
    expectRejected(b, replay, 401, 'replayed_request');
    expect(a.log.calls).toEqual(['get:1']);
  });

  it('an rfc9421 request accepted by one instance is a replay to the other (its nonce recorded per key in Redis)', async () => {
    const wire = rfc9421Request(a, { apiKey, secret: TEST_SECRET, target: '/items/2' });
    expect((await sendWire(a, wire)).status).toBe(200);
    expect((await sendWire(a, wire)).json.code).toBe('replayed_request');
    a.log.calls.length = 0;
    expectRejected(b, await sendWire(b, wire), 401, 'replayed_request');
    expect(a.log.calls).toEqual([]);
  });

  it('a rate limit of N per key is N across both instances, not 2N', async () => {
    const { apiKey: limited } = await a.keys.create('limited');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t = i % 2 === 0 ? a : b;
      statuses.push((await sendSigned(t, { apiKey: limited, secret: TEST_SECRET, target: `/items/${i}` })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    expect(a.log.calls.length + b.log.calls.length).toBe(6);
  });

  it('a key revoked through one instance is rejected by the other within 1 s', async () => {
    const { apiKey: doomed } = await a.keys.create('doomed');
    // Both instances have the key cached (TTL 60 s).
    expect((await sendSigned(a, { apiKey: doomed, secret: TEST_SECRET })).status).toBe(200);
    expect((await sendSigned(b, { apiKey: doomed, secret: TEST_SECRET })).status).toBe(200);

    await a.keys.revoke(doomed);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 1_000) {
      await sleep(20);
      status = (await sendSigned(b, { apiKey: doomed, secret: TEST_SECRET })).status;
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect((await sendSigned(a, { apiKey: doomed, secret: TEST_SECRET })).status).toBe(401);
  });
});
