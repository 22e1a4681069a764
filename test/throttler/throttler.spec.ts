import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SampleProcess } from '../support/sample-process.js';
import { expectAuthError, expectRetryAfter, send, type WireResponse } from '../support/signed-request.js';
import { ADAPTERS, type AdapterName } from '../support/test-app.js';
import {
  describeWithThrottlerApp,
  handled,
  KeyTable,
  signedRequest,
  startThrottlerApp,
  statuses,
  target,
  times,
  type GuardOrder,
} from './throttler-support.js';

// jest cannot load @nestjs/throttler on Node 20 (CommonJS requiring the ESM
// @nestjs/common): these cases run test/throttler/app as real processes.
// Its throttlers: `default` 5 per minute, `long` 12 per minute; the
// module's own rateLimit is off.
const ORDERS: GuardOrder[] = ['throttler-first', 'auth-first'];
const CASES = ADAPTERS.flatMap((adapter) => ORDERS.map((order) => [adapter, order] as [AdapterName, GuardOrder]));

function expectRateLimited(res: WireResponse, message = 'Rate limit exceeded for this API key.'): void {
  expectAuthError(res, 429, 'rate_limited');
  expect(res.json.message).toBe(message);
  expectRetryAfter(res, 60);
}

describe('the main entry point does not load @nestjs/throttler', () => {
  it('no built module outside dist/lib/throttler imports it (type imports leave nothing behind)', () => {
    const importers: string[] = [];
    for (const build of ['dist/lib', 'dist/cjs']) {
      for (const file of readdirSync(build, { recursive: true }) as string[]) {
        if (!file.endsWith('.js') || file.startsWith('throttler')) continue;
        const code = readFileSync(join(build, file), 'utf8');
        if (/(from\s+|require\(|import\()\s*['"]@nestjs\/throttler/.test(code)) importers.push(`${build}/${file}`);
      }
    }
    expect(importers).toEqual([]);
  });
});

describeWithThrottlerApp('nestjs-service-auth/throttler in plain Node', () => {
  it.each([
    ['import', "const m = await import('nestjs-service-auth/throttler'); const t = await import('@nestjs/throttler');"],
    ['require', "const m = require('nestjs-service-auth/throttler'); const t = require('@nestjs/throttler');"],
  ])('loads with %s, by the package name, as a ThrottlerGuard', (how, load) => {
    const check = `${load} console.log(Object.keys(m).join(','), m.ServiceAuthThrottlerGuard.prototype instanceof t.ThrottlerGuard);`;
    const out = execFileSync(process.execPath, [how === 'import' ? '--input-type=module' : '--input-type=commonjs', '-e', check], {
      encoding: 'utf8',
    });
    expect(out).toBe('ServiceAuthThrottlerGuard true\n');
  });
});

describeWithThrottlerApp('ServiceAuthThrottlerGuard in app processes, both adapters, both guard orders', () => {
  let keys: KeyTable;
  const apps = new Map<string, SampleProcess>();

  beforeAll(async () => {
    keys = await KeyTable.create();
    const started = Date.now();
    await Promise.all(
      CASES.map(async ([adapter, order]) => {
        apps.set(`${adapter} ${order}`, await startThrottlerApp({ HTTP_ADAPTER: adapter, GUARD_ORDER: order, DATABASE_PATH: keys.path }));
      }),
    );
    console.log(`throttler suite: ${CASES.length} app processes started in ${Date.now() - started} ms`);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...apps.values()].map((app) => app.stop()));
    await keys?.close();
  });

  describe.each(CASES)('%s, %s', (adapter, order) => {
    const app = () => apps.get(`${adapter} ${order}`)!;

    it('runs the two global guards in that order', () => {
      const expected = order === 'throttler-first' ? 'ServiceAuthThrottlerGuard, ApiKeyGuard' : 'ApiKeyGuard, ServiceAuthThrottlerGuard';
      expect(app().output.join('')).toContain(`Guards: ${expected}\n`);
    });

    it('counts per API key: two keys from one address each get the full limit, then 429 rate_limited', async () => {
      const a = await keys.newKey('orders');
      const b = await keys.newKey('billing');
      expect(await statuses(app(), a, '/items/1', 5)).toEqual(times(5, 200));
      const over = await signedRequest(app(), a, '/items/1').send();
      expectRateLimited(over);
      // Key B is not throttled by key A's traffic.
      expect(await statuses(app(), b, '/items/1', 5)).toEqual(times(5, 200));
      expectRateLimited(await signedRequest(app(), b, '/items/1').send());
      expect(await handled(app(), a)).toEqual(times(5, 0).map(() => 'items'));
      expect(await handled(app(), b)).toHaveLength(5);
    });

    it('an accepted request is answered by the handler with the caller, and its replay is 401 replayed_request', async () => {
      const apiKey = await keys.newKey('orders');
      const request = signedRequest(app(), apiKey, '/items/7');
      const first = await request.send();
      expect({ status: first.status, body: first.json }).toEqual({ status: 200, body: { id: '7', route: 'items', caller: 'orders' } });
      expect(first.headers['x-ratelimit-limit']).toBe('5');
      expect(first.headers['x-ratelimit-remaining']).toBe('4');
      expectAuthError(await request.send(), 401, 'replayed_request');
      expect(await handled(app(), apiKey)).toEqual(['items']);
    });

    it('an unauthenticated flood costs no quota: unsigned and wrongly signed requests get 401, then the key gets its full limit', async () => {
      const apiKey = await keys.newKey('orders');
      for (let i = 0; i < 12; i++) {
        expectAuthError(await send(target(app()), { target: '/items/1' }), 401, 'missing_credentials');
      }
      for (let i = 0; i < 8; i++) {
        const forged = signedRequest(app(), apiKey, '/items/1', { secret: 'not-the-secret-0123456789-abcdefghijklmn' });
        expectAuthError(await forged.send(), 401, 'invalid_signature');
      }
      expect(await statuses(app(), apiKey, '/items/1', 5)).toEqual(times(5, 200));
      expectRateLimited(await signedRequest(app(), apiKey, '/items/1').send());
      expect(await handled(app(), apiKey)).toHaveLength(5);
    });

    it('403 service_not_allowed, not 429, however often a service calls a route it may not; the allowed one is throttled', async () => {
      const orders = await keys.newKey('orders');
      for (let i = 0; i < 7; i++) {
        expectAuthError(await signedRequest(app(), orders, '/admin', { method: 'POST' }).send(), 403, 'service_not_allowed');
      }
      const admin = await keys.newKey('admin');
      expect(await statuses(app(), admin, '/admin', 5, 'POST')).toEqual(times(5, 201));
      expectRateLimited(await signedRequest(app(), admin, '/admin', { method: 'POST' }).send());
      expect(await handled(app(), orders)).toEqual([]);
    });

    it("@Throttle() sets a route's own limit, counted apart from the key's other routes", async () => {
      const apiKey = await keys.newKey('orders');
      expect(await statuses(app(), apiKey, '/report', 2)).toEqual(times(2, 200));
      expectRateLimited(await signedRequest(app(), apiKey, '/report').send());
      expect(await statuses(app(), apiKey, '/items/1', 5)).toEqual(times(5, 200));
      expect(await handled(app(), apiKey)).toEqual(['report', 'report', 'items', 'items', 'items', 'items', 'items']);
    });

    it('@SkipThrottle() skips the default throttler only; the named one still counts; skipping both lets everything through', async () => {
      const apiKey = await keys.newKey('orders');
      expect(await statuses(app(), apiKey, '/unthrottled', 12)).toEqual(times(12, 200));
      const over = await signedRequest(app(), apiKey, '/unthrottled').send();
      expectRateLimited(over);
      expect(over.headers['retry-after-long']).toBe(over.headers['retry-after']);
      expect(await statuses(app(), apiKey, '/free', 15)).toEqual(times(15, 200));
      expect(await handled(app(), apiKey)).toHaveLength(27);
    });

    it('@Throttle() on a named throttler: that one refuses, with its own Retry-After-<name>', async () => {
      const apiKey = await keys.newKey('orders');
      expect(await statuses(app(), apiKey, '/burst', 3)).toEqual(times(3, 200));
      const over = await signedRequest(app(), apiKey, '/burst').send();
      expectRateLimited(over);
      expect(over.headers['retry-after-long']).toMatch(/^[0-9]+$/);
      expect(await handled(app(), apiKey)).toHaveLength(3);
    });

    it('a function-valued limit sees the authenticated caller (4 for vip, 1 for the others)', async () => {
      const vip = await keys.newKey('vip');
      const other = await keys.newKey('orders');
      expect(await statuses(app(), vip, '/tiered', 5)).toEqual([...times(4, 200), 429]);
      expect(await statuses(app(), other, '/tiered', 2)).toEqual([200, 429]);
    });

    it("a key's own rate limit replaces the default throttler's, higher or lower, but not a route's @Throttle()", async () => {
      const generous = await keys.newKey('orders', { limit: 8, ttlMs: 60_000 });
      const strict = await keys.newKey('orders', { limit: 2, ttlMs: 30_000 });
      expect(await statuses(app(), generous, '/items/1', 8)).toEqual(times(8, 200));
      const over = await signedRequest(app(), generous, '/items/1').send();
      expectRateLimited(over);
      expect(await statuses(app(), strict, '/items/1', 2)).toEqual(times(2, 200));
      const strictOver = await signedRequest(app(), strict, '/items/1').send();
      expectRateLimited(strictOver);
      expect(Number(strictOver.headers['retry-after'])).toBeLessThanOrEqual(30);
      expect(await statuses(app(), generous, '/report', 3)).toEqual([200, 200, 429]);
      expect(await handled(app(), generous)).toHaveLength(10);
    });

    it('a @Public() route is counted per client address, and its 429 says so', async () => {
      expect((await Promise.all(Array.from({ length: 5 }, () => send(target(app()), { target: '/health' })))).map((r) => r.status)).toEqual(
        times(5, 200),
      );
      expectRateLimited(await send(target(app()), { target: '/health' }), 'Rate limit exceeded for this client address.');
    });
  });
});
