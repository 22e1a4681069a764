import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import {
  createRedisClient,
  RedisAuthStateStore,
  RedisEvictionPolicyError,
  RedisKeyInvalidationBus,
  redisBackends,
} from '../../lib/redis/index.js';
import { ADMIT_SCRIPT } from '../../lib/redis/redis-scripts.js';
import { DisposableRedisCluster, describeWithRedisCluster } from '../support/redis-cluster.js';
import { commandCount, watchCommands } from '../support/redis-commands.js';
import { expectRejected, send, sendSigned, sign, type WireResponse } from '../support/signed-request.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextSecond = () => sleep(1_000 - (Date.now() % 1_000) + 20);
const status = (res: WireResponse) => (res.status === 200 ? '200' : `${res.status} ${res.json.code}`);

describeWithRedisCluster('Redis Cluster: 3 masters with a replica each, started by the test', () => {
  let cluster: DisposableRedisCluster;
  const clients: Cluster[] = [];
  const connect = () => {
    const client = createRedisClient({ cluster: cluster.startupNodes });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const startedAt = Date.now();
    cluster = await DisposableRedisCluster.start();
    console.log(`cluster of 6 nodes started and settled in ${Date.now() - startedAt} ms`);
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  });

  describe('the store', () => {
    it('checks the eviction policy of every node, masters and replicas, at startup', async () => {
      // MONITOR does not show CONFIG: count it.
      const configCalls = () => Promise.all(cluster.nodes.map((node) => commandCount(node.url, 'config|get')));
      const before = await configCalls();
      await new RedisAuthStateStore(connect()).checkUsable();
      const after = await configCalls();
      expect(after.map((n, i) => n - before[i])).toEqual(Array(6).fill(1));
    });

    it.each(['master', 'replica'])('refuses to start when one %s may evict keys, naming it', async (role) => {
      const masters = await cluster.masterPorts();
      const port = cluster.nodes.map((n) => n.port).find((p) => masters.includes(p) === (role === 'master'))!;
      await cluster.command(port, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      try {
        const error = await new RedisAuthStateStore(connect()).checkUsable().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RedisEvictionPolicyError);
        expect(error).toMatchObject({ node: `127.0.0.1:${port}`, policy: 'allkeys-lru' });
      } finally {
        await cluster.command(port, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      }
    });

    it('runs the admission script in one slot; the same keys without hash tags are refused (CROSSSLOT)', async () => {
      const client = connect();
      const store = new RedisAuthStateStore(client);
      await store.checkUsable();
      const admission = {
        apiKey: 'ClusterKey0123456',
        nonce: 'cluster-nonce-0123456',
        nonceExpiresAtSeconds: Math.floor(Date.now() / 1000) + 60,
        limit: 5,
        ttlMs: 60_000,
        blockDurationMs: 60_000,
        throttlerName: 'service-auth-key',
      };
      expect((await store.admit(admission)).outcome).toBe('admitted');
      const untagged = ['sa:ClusterKey0123456:n:x', 'sa:ClusterKey0123456:k:h', 'sa:ClusterKey0123456:k:b'];
      const slots = await Promise.all(untagged.map((key) => cluster.command(cluster.nodes[0].port, 'CLUSTER', 'KEYSLOT', key)));
      expect(new Set(slots).size).toBeGreaterThan(1);
      await expect(client.eval(ADMIT_SCRIPT.source, 3, ...untagged, 60_000, 60_000, 5, 60_000)).rejects.toThrow(/CROSSSLOT/);
    });

    it('revocations published on any node reach a subscriber; one dropped subscription drops the whole cache', async () => {
      const bus = new RedisKeyInvalidationBus(connect(), 'test:invalidate');
      const received: (string | null)[] = [];
      const unsubscribe = await bus.subscribe((apiKey) => received.push(apiKey));
      try {
        for (const node of cluster.nodes) await cluster.command(node.port, 'PUBLISH', 'test:invalidate', `key-${node.port}`);
        await cluster.waitUntil(async () => received.length === 6, 2_000);
        expect(received.sort()).toEqual(cluster.nodes.map((n) => `key-${n.port}`).sort());

        received.length = 0;
        for (const node of cluster.nodes) await cluster.command(node.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
        await cluster.waitUntil(async () => received.includes(null), 3_000);
        await cluster.command(cluster.nodes[0].port, 'PUBLISH', 'test:invalidate', 'after');
        await cluster.waitUntil(async () => received.includes('after'), 2_000);
        expect(received).toEqual([null, 'after']);
      } finally {
        await unsubscribe();
      }
    });
  });

  describe('two app instances (Express and Fastify) sharing the cluster and the key table', () => {
    let dir: string;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'service-auth-cluster-apps-'));
      const database = join(dir, 'keys.sqlite');
      const auth = () => ({ ...redisBackends(connect()), rateLimit: { limit: 6, ttlMs: 60_000 }, keyCache: { ttlMs: 60_000 } });
      a = await createTestApp({ adapter: 'express', database, auth: auth() });
      b = await createTestApp({ adapter: 'fastify', database, auth: auth() });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => {
      a.log.calls.length = 0;
      b.log.calls.length = 0;
    });

    it('a request accepted by one instance is a replay to the other', async () => {
      const { apiKey } = await a.keys.create('orders');
      const headers = sign(a, { apiKey, secret: TEST_SECRET, target: '/items/1' });
      expect((await send(a, { target: '/items/1', headers })).status).toBe(200);
      expectRejected(b, await send(b, { target: '/items/1', host: a.host, headers }), 401, 'replayed_request');
      expect(a.log.calls).toEqual(['get:1']);
    });

    it('a rate limit of N per key is N across both instances', async () => {
      const { apiKey } = await a.keys.create('limited');
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await sendSigned(i % 2 ? b : a, { apiKey, secret: TEST_SECRET })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
      expect(a.log.calls.length + b.log.calls.length).toBe(6);
    });

    it('a key revoked through one instance is refused by the other within 1 s', async () => {
      const { apiKey } = await a.keys.create('doomed');
      expect((await sendSigned(a, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      expect((await sendSigned(b, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      await a.keys.revoke(apiKey);
      const revokedAt = Date.now();
      let answer = 200;
      while (answer === 200 && Date.now() - revokedAt < 1_000) {
        await sleep(20);
        answer = (await sendSigned(b, { apiKey, secret: TEST_SECRET })).status;
      }
      expect(answer).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(1_000);
    });

    it('the keys of 30 API keys spread over all three masters, with one command per request', async () => {
      const apiKeys = await Promise.all(Array.from({ length: 30 }, (_, i) => a.keys.create(`spread-${i}`).then((k) => k.apiKey)));
      const masters = await cluster.masterPorts();
      // Each instance looks each key up once (not counted: that is the database, not Redis).
      for (const apiKey of apiKeys) await sendSigned(a, { apiKey, secret: TEST_SECRET });
      for (const apiKey of apiKeys) await sendSigned(b, { apiKey, secret: TEST_SECRET });
      const watches = await Promise.all(masters.map((port) => watchCommands(`redis://127.0.0.1:${port}`)));
      const statuses: number[] = [];
      for (const [i, apiKey] of apiKeys.entries()) statuses.push((await sendSigned(i % 2 ? b : a, { apiKey, secret: TEST_SECRET })).status);
      const seen = await Promise.all(watches.map((w) => w.stop()));
      expect(statuses).toEqual(Array(30).fill(200));
      expect(seen.flat().map((c) => c.name)).toEqual(Array(30).fill('evalsha'));
      for (const commands of seen) expect(commands.length).toBeGreaterThan(0);
      const perMaster = Object.fromEntries(masters.map((port, i) => [port, seen[i].length]));
      console.log(`evalsha per master for 30 requests: ${JSON.stringify(perMaster)}`);
    });

    it('a master killed: 503 for its keys, never a pass; other keys still served; recovery once a replica took over', async () => {
      const keys = await Promise.all(Array.from({ length: 12 }, (_, i) => a.keys.create(`failover-${i}`).then((k) => k.apiKey)));
      const owners = await Promise.all(keys.map((k) => cluster.masterOf(`sa:{${k}}:n:x`)));
      const victim = owners[0];
      const onVictim = keys[0];
      // Keys on the other masters, taken in turn so that a long failover does not run one of them into its rate limit.
      const elsewhereKeys = keys.filter((_, i) => owners[i] !== victim);
      const captured = sign(a, { apiKey: onVictim, secret: TEST_SECRET });
      expect((await send(a, { target: '/items/1', headers: captured })).status).toBe(200);
      await sleep(100); // replicated to the victim's replica
      a.log.calls.length = 0;

      await cluster.node(victim).kill();
      await nextSecond();
      const startedAt = Date.now();
      const seen: string[] = [];
      const elsewhereSeen: string[] = [];
      let slowest = 0;
      while (Date.now() - startedAt < 20_000) {
        const sentAt = Date.now();
        const answer = status(await sendSigned(a, { apiKey: onVictim, secret: TEST_SECRET }));
        slowest = Math.max(slowest, Date.now() - sentAt);
        seen.push(answer);
        if (answer === '200') break;
        const other = elsewhereKeys[elsewhereSeen.length % elsewhereKeys.length];
        elsewhereSeen.push(status(await sendSigned(b, { apiKey: other, secret: TEST_SECRET })));
        await sleep(100);
      }
      console.log(
        `master killed: ${seen.length - 1} refusals over ${Date.now() - startedAt} ms (slowest answer ${slowest} ms), then ${seen.at(-1)}; ` +
          `its keys: ${JSON.stringify(seen)}; another master's: ${JSON.stringify(elsewhereSeen)}`,
      );
      expect(seen.at(-1)).toBe('200');
      // Only catches a hang: a refusal is answered after at most a few quick retries.
      expect(slowest).toBeLessThan(3_000);
      expect(seen[0]).toBe('503 nonce_store_unavailable');
      // After the failover, a request signed before it may be refused as stale (the new master may lack the last writes).
      expect(new Set(seen.slice(0, -1))).toEqual(
        new Set(['503 nonce_store_unavailable', ...(seen.includes('401 stale_timestamp') ? ['401 stale_timestamp'] : [])]),
      );
      expect(a.log.calls).toEqual(['get:1']);
      // The other masters keep serving (a request signed in the second of the switch may be refused as stale).
      expect(elsewhereSeen.filter((s) => s !== '200' && s !== '401 stale_timestamp')).toEqual([]);
      expect(elsewhereSeen).toContain('200');
      expect(await cluster.masterOf(`sa:{${onVictim}}:n:x`)).not.toBe(victim);

      const replay = await send(b, { target: '/items/1', host: a.host, headers: captured });
      expect(replay.status).toBe(401);
      expect(['replayed_request', 'stale_timestamp']).toContain(replay.json.code);
    });
  });
});
