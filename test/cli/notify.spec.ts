import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createRedisClient, redisBackends, redisReady } from '../../lib/redis/index.js';
import { assertCliBuilt, expectOneLineError, runCli, tempDir } from '../support/cli.js';
import { describeWithRedis, REDIS_URL } from '../support/databases.js';
import { freePort } from '../support/redis-server.js';
import { sendSigned } from '../support/signed-request.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => assertCliBuilt());

describeWithRedis('service-auth keys revoke/rotate tell running instances through REDIS_URL', () => {
  const tmp = tempDir('service-auth-notify-');
  const database = join(tmp.dir, 'keys.sqlite');
  let client: Redis;
  let t: TestApp;

  beforeAll(async () => {
    client = createRedisClient(REDIS_URL!);
    await redisReady(client);
    // A long key cache: without the notification, the app would accept a revoked key for a minute.
    t = await createTestApp({ adapter: 'fastify', database, auth: { ...redisBackends(client), keyCache: { ttlMs: 60_000 } } });
  });
  afterAll(async () => {
    await t?.close();
    client?.disconnect();
    tmp.remove();
  });

  async function refusedWithin(apiKey: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status === 401) return true;
      await sleep(20);
    }
    return false;
  }

  it('keys revoke: the running app refuses the cached key at once', async () => {
    const { apiKey } = await t.keys.create('orders');
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
    const result = await runCli(['keys', 'revoke', apiKey], { env: { DATABASE_URL: `sqlite:${database}`, REDIS_URL } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Revoked API key ${apiKey} (service orders).\n`);
    expect(await refusedWithin(apiKey, 1_000)).toBe(true);
  });

  it('keys rotate --overlap 0: the running app refuses the old key at once and accepts the new one', async () => {
    const { apiKey: old } = await t.keys.create('billing');
    expect((await sendSigned(t, { apiKey: old, secret: TEST_SECRET })).status).toBe(200);
    const result = await runCli(['keys', 'rotate', '--service', 'billing', '--overlap', '0', '--json'], {
      env: { DATABASE_URL: `sqlite:${database}`, REDIS_URL, API_SHARED_SECRET: TEST_SECRET },
    });
    expect(result.code).toBe(0);
    const rotated = JSON.parse(result.stdout) as { apiKey: string };
    expect(await refusedWithin(old, 1_000)).toBe(true);
    expect((await sendSigned(t, { apiKey: rotated.apiKey, secret: TEST_SECRET })).status).toBe(200);
  });

  it('Redis unreachable: the key is revoked in the database, and exit 1 says the instances were not told', async () => {
    const { apiKey } = await t.keys.create('payments');
    const port = await freePort();
    const result = await runCli(['keys', 'revoke', apiKey], {
      env: { DATABASE_URL: `sqlite:${database}`, REDIS_URL: `redis://127.0.0.1:${port}` },
    });
    expect(result.stdout).toBe(`Revoked API key ${apiKey} (service payments).\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: the database is updated, but running instances could not be told through Redis \(/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect((await t.keys.findByKey(apiKey))!.revokedAt).not.toBeNull();
  });

  it('a bad REDIS_URL is a usage error (exit 2) and nothing is done', async () => {
    const { apiKey } = await t.keys.create('search');
    const result = await runCli(['keys', 'revoke', apiKey], { env: { DATABASE_URL: `sqlite:${database}`, REDIS_URL: 'localhost:6379' } });
    expectOneLineError(result, 2, 'REDIS_URL must look like redis://[:password@]host:port[/db].');
    expect((await t.keys.findByKey(apiKey))!.revokedAt).toBeNull();
  });
});
