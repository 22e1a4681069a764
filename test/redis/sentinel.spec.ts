import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createRedisClient, RedisAuthStateStore, RedisEvictionPolicyError, redisBackends } from '../../lib/redis/index.js';
import { DisposableSentinelGroup } from '../support/redis-sentinel.js';
import { describeWithRedisServer } from '../support/redis-server.js';
import { send, sendSigned, sign, type WireResponse } from '../support/signed-request.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

// The replay below is refused by step 2's restart rule, applied by the authenticator of issue 10 (lib/auth/).
const authenticatorPresent = existsSync(join(process.cwd(), 'lib/auth/service-authenticator.ts'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextSecond = () => sleep(1_000 - (Date.now() % 1_000) + 20);
const status = (res: WireResponse) => (res.status === 200 ? '200' : `${res.status} ${res.json.code}`);

describeWithRedisServer('Redis Sentinel: a master, a replica and a Sentinel, started by the test', () => {
  let group: DisposableSentinelGroup;
  const clients: Redis[] = [];
  const connect = () => {
    const client = createRedisClient({ sentinels: group.sentinels, name: group.name });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const startedAt = Date.now();
    group = await DisposableSentinelGroup.start();
    console.log(`Sentinel group started in ${Date.now() - startedAt} ms`);
    await nextSecond();
  }, 30_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await group?.stop();
  });

  it('the store checks the eviction policy of the master the Sentinel names', async () => {
    await group.command(group.masterPort, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await expect(new RedisAuthStateStore(connect()).checkUsable()).rejects.toMatchObject({
        name: 'RedisEvictionPolicyError',
        node: `127.0.0.1:${group.masterPort}`,
      });
    } finally {
      await group.command(group.masterPort, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    }
    await expect(new RedisAuthStateStore(connect()).checkUsable()).resolves.toBeUndefined();
  });

  describe('two app instances on it, through a failover', () => {
    let dir: string;
    let t: TestApp;
    let other: TestApp;
    let apiKey: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'service-auth-sentinel-apps-'));
      const options = () => ({ database: join(dir, 'keys.sqlite'), auth: { ...redisBackends(connect()), keyCache: { ttlMs: 60_000 } } });
      t = await createTestApp({ adapter: 'fastify', ...options() });
      other = await createTestApp({ adapter: 'express', ...options() });
      apiKey = (await t.keys.create('orders')).apiKey;
    });
    afterAll(async () => {
      await t?.close();
      await other?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`master killed: 503 and never a pass while the new master is unchecked or unsafe; recovery once it is safe${authenticatorPresent ? '' : ' [the replay after it: needs the authenticator of issue 10]'}`, async () => {
      const probe = new RedisAuthStateStore(connect());
      await probe.checkUsable();
      const capturedAt = Math.floor(Date.now() / 1000);
      const captured = sign(t, { apiKey, secret: TEST_SECRET, timestampSeconds: capturedAt });
      expect((await send(t, { target: '/items/1', headers: captured })).status).toBe(200);
      const doomed = (await t.keys.create('doomed')).apiKey;
      expect((await sendSigned(t, { apiKey: doomed, secret: TEST_SECRET })).status).toBe(200);
      await sleep(100); // replicated
      t.log.calls.length = 0;
      // The replica about to take over may evict keys: the store must find it out after the failover.
      await group.command(group.replicaPort, 'CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru');

      await group.kill(group.masterPort);
      await nextSecond();
      const seen: string[] = [];
      const failoverAt = Date.now();
      await group.waitUntil(async () => {
        seen.push(status(await sendSigned(t, { apiKey, secret: TEST_SECRET })));
        return (await group.currentMasterPort()) === group.replicaPort;
      });
      console.log(`Sentinel failover after ${Date.now() - failoverAt} ms`);
      // The client follows the new master: it reconnects, checks it, and refuses.
      await group.waitUntil(async () => {
        const error = await probe.increment('x', 1_000, 1, 1_000, 'n').then(
          () => undefined,
          (e: unknown) => e,
        );
        return error instanceof RedisEvictionPolicyError && error.node === `127.0.0.1:${group.replicaPort}`;
      }, 5_000);
      for (let i = 0; i < 10; i++) {
        seen.push(status(await sendSigned(t, { apiKey, secret: TEST_SECRET })));
        await sleep(100);
      }
      // Requests signed in the second the connection dropped may also be refused as stale (401): never a pass.
      const refusals = new Set(['503 nonce_store_unavailable', '401 stale_timestamp']);
      expect(seen.slice(-5)).toContain('503 nonce_store_unavailable');
      expect(seen.filter((answer) => !refusals.has(answer))).toEqual([]);
      expect(t.log.calls).toEqual([]);

      await group.command(group.replicaPort, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await group.command(group.replicaPort, 'CLIENT', 'KILL', 'TYPE', 'normal');
      await nextSecond();
      const after: string[] = [];
      await group.waitUntil(async () => {
        after.push(status(await sendSigned(t, { apiKey, secret: TEST_SECRET })));
        return after.at(-1) === '200';
      }, 5_000);
      expect(after.slice(0, -1).filter((answer) => !refusals.has(answer))).toEqual([]);

      // A request captured before the failover is refused on the new master.
      t.log.calls.length = 0;
      // A write the old master took just before the switch may be lost (replication is asynchronous; a
      // busy machine can even make the Sentinel fail over early): the store then refuses what was signed before.
      expect(probe.rememberedSinceSeconds).toBeGreaterThan(capturedAt);
      if (authenticatorPresent) {
        const replay = await send(t, { target: '/items/1', headers: captured });
        expect(replay.status).toBe(401);
        expect(['replayed_request', 'stale_timestamp']).toContain(replay.json.code);
        expect(t.log.calls).toEqual([]);
      }

      // Revocations through another instance reach this one through the new master (its cache holds the key).
      await other.keys.revoke(doomed);
      const revokedAt = Date.now();
      let answer = 200;
      while (answer === 200 && Date.now() - revokedAt < 1_000) {
        await sleep(20);
        answer = (await sendSigned(t, { apiKey: doomed, secret: TEST_SECRET })).status;
      }
      expect(answer).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(1_000);
    });
  });
});
