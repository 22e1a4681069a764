import autocannon from 'autocannon';
import { DataSource } from 'typeorm';
import { ApiKey } from '../../lib/index.js';
import { generateApiKey } from '../../lib/keys/api-key.generator.js';
import { MYSQL_URL, REDIS_URL } from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';
import { SampleProcess, sampleBuilt } from '../support/sample-process.js';
import { expectAuthError, send, sign, type WireResponse } from '../support/signed-request.js';
import { TEST_SECRET, type TestApp } from '../support/test-app.js';
import * as protocol from '../../lib/protocol/index.js';

const SCRATCH_DB = 'service_auth_test_sample_instances';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const missing = [!MYSQL_URL && 'MYSQL_URL', !REDIS_URL && 'REDIS_URL', !sampleBuilt() && 'a build (npm run build)'].filter(Boolean);
const describeWithBackends =
  missing.length === 0
    ? describe
    : (name: string, fn: () => void) => describe.skip(`${name} [SKIPPED: needs ${missing.join(' and ')}]`, fn);

/** What signed-request.ts needs of a target: its base URL and Host. */
const target = (s: SampleProcess) => ({ baseUrl: s.url, host: s.host }) as TestApp;

function signedGet(s: SampleProcess, apiKey: string, path: string, host = s.host): Promise<WireResponse> {
  const headers = sign(target(s), { apiKey, secret: TEST_SECRET, target: path, host });
  return send(target(s), { target: path, host, headers });
}

describeWithBackends('two sample processes sharing MySQL and Redis', () => {
  let keys: DataSource;
  const processes: SampleProcess[] = [];

  async function startPair(extraEnv: Record<string, string>): Promise<[SampleProcess, SampleProcess]> {
    const env = {
      DATABASE_URL: new URL(SCRATCH_DB, MYSQL_URL!.replace(/[^/]*$/, '')).toString(),
      REDIS_URL: REDIS_URL!,
      API_SHARED_SECRET: TEST_SECRET,
      KEY_CACHE_TTL_MS: '60000',
      ...extraEnv,
    };
    // One after the other: the first runs the migrations.
    const a = await SampleProcess.start({ ...env, HTTP_ADAPTER: 'express' });
    processes.push(a);
    const b = await SampleProcess.start({ ...env, HTTP_ADAPTER: 'fastify' });
    processes.push(b);
    return [a, b];
  }

  async function newKey(serviceName: string): Promise<string> {
    const apiKey = generateApiKey();
    await keys.getRepository(ApiKey).insert({ apiKey, serviceName, revokedAt: null, expiresAt: null, lastUsedAt: null });
    return apiKey;
  }

  beforeAll(async () => {
    const url = await createScratchMysqlDatabase(SCRATCH_DB);
    keys = new DataSource({ type: 'mysql', url, timezone: 'Z', entities: [ApiKey] });
    await keys.initialize();
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await keys?.destroy();
    await dropScratchMysqlDatabase(SCRATCH_DB);
  });

  describe('with a rate limit of 10 per minute', () => {
    let a: SampleProcess;
    let b: SampleProcess;

    beforeAll(async () => {
      [a, b] = await startPair({ RATE_LIMIT_PER_MINUTE: '10' });
    });

    it('a request accepted by one instance is rejected as a replay by the other', async () => {
      const apiKey = await newKey('orders');
      const headers = sign(target(a), { apiKey, secret: TEST_SECRET, target: '/invoices/7' });
      const first = await send(target(a), { target: '/invoices/7', headers });
      expect(first.status).toBe(200);
      expect(first.json).toEqual({ caller: 'orders', id: '7' });
      // The same bytes, Host included, sent to the other instance.
      const replay = await send(target(b), { target: '/invoices/7', host: a.host, headers });
      expectAuthError(replay, 401, 'replayed_request');
      // And back to the first one.
      expectAuthError(await send(target(a), { target: '/invoices/7', headers }), 401, 'replayed_request');
    });

    it('10 per minute split across both instances lets 10 through in total, not 20', async () => {
      const apiKey = await newKey('orders');
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        const s = i % 2 === 0 ? a : b;
        statuses.push((await signedGet(s, apiKey, `/invoices/${i}`)).status);
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
    });

    it('a key revoked through one instance is rejected by the other within 1 s', async () => {
      const apiKey = await newKey('orders');
      const admin = await newKey('key-admin');
      expect((await signedGet(a, apiKey, '/invoices/1')).status).toBe(200);
      expect((await signedGet(b, apiKey, '/invoices/1')).status).toBe(200); // cached on both, TTL 60 s

      const path = `/keys/${apiKey}`;
      const revokeHeaders = sign(target(a), { apiKey: admin, secret: TEST_SECRET, method: 'DELETE', target: path });
      const revoked = await send(target(a), { method: 'DELETE', target: path, headers: revokeHeaders });
      expect(revoked.status).toBe(200);
      expect(revoked.json).toEqual({ revoked: apiKey });
      const revokedAt = Date.now();

      let status = 200;
      while (status === 200 && Date.now() - revokedAt < 1_000) {
        status = (await signedGet(b, apiKey, '/invoices/2')).status;
        if (status === 200) await sleep(20);
      }
      expect(status).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(1_000);
    });

    it('the revoke route is for key-admin only', async () => {
      const apiKey = await newKey('orders');
      const path = `/keys/${apiKey}`;
      const headers = sign(target(a), { apiKey, secret: TEST_SECRET, method: 'DELETE', target: path });
      expectAuthError(await send(target(a), { method: 'DELETE', target: path, headers }), 403, 'service_not_allowed');
      expect((await signedGet(b, apiKey, '/invoices/3')).status).toBe(200);
    });
  });

  describe('under load', () => {
    let pair: [SampleProcess, SampleProcess];

    beforeAll(async () => {
      pair = await startPair({ RATE_LIMIT_PER_MINUTE: '100000000' });
    });

    it('50 connections for 30 s of valid signed GETs and POSTs across both: no false rejection, no 5xx', async () => {
      const apiKey = await newKey('load');
      const body = JSON.stringify({ amount: 12.5, lines: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${i}`, qty: i })) });
      const run = (s: SampleProcess) =>
        autocannon({
          url: s.url,
          connections: 25,
          duration: 30,
          requests: [
            {
              method: 'GET',
              path: '/invoices/42',
              setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...signFor(s, 'GET', '/invoices/42') } }),
            },
            {
              method: 'POST',
              path: '/invoices',
              body,
              setupRequest: (req) => ({
                ...req,
                headers: { ...req.headers, 'content-type': 'application/json', ...signFor(s, 'POST', '/invoices', body) },
              }),
            },
          ],
        });
      const signFor = (s: SampleProcess, method: string, path: string, payload?: string) =>
        protocol.signRequest({
          scheme: 'v1',
          apiKey,
          secret: TEST_SECRET,
          timestampSeconds: Math.floor(Date.now() / 1000),
          nonce: protocol.generateNonce(),
          method,
          host: s.host,
          target: path,
          contentType: payload === undefined ? undefined : 'application/json',
          body: payload === undefined ? undefined : Buffer.from(payload),
        });

      const results = await Promise.all(pair.map(run));
      for (const result of results) {
        expect(result.errors).toBe(0);
        expect(result.timeouts).toBe(0);
        expect(result.non2xx).toBe(0);
        expect(result['2xx']).toBeGreaterThan(1_000);
      }
      const total = results.reduce((n, r) => n + r['2xx'], 0);
      console.log(`load: ${total} signed requests accepted in 30 s over 50 connections, 0 rejected, 0 errors`);
    }, 60_000);
  });
});
