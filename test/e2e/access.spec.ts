import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';
import { expectRejected, send, sendSigned } from '../support/signed-request.js';

/** @Public(), @AllowServices() (PROTOCOL.md step 6), the global guard and @UseGuards(ApiKeyGuard). */
describe.each(ADAPTERS)('route access (%s)', (adapter) => {
  describe('global guard (default)', () => {
    let t: TestApp;
    let orders: string;
    let billingAdmin: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter });
      orders = (await t.keys.create('orders')).apiKey;
      billingAdmin = (await t.keys.create('billing-admin')).apiKey;
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('lets a @Public() route through without any header', async () => {
      const res = await send(t, { target: '/health' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ status: 'ok' });
      expect(res.headers['x-api-server-time']).toBeUndefined();
      expect(t.log.calls).toEqual(['health']);
    });

    it('lets a @Public() route through whatever credentials it carries', async () => {
      const res = await send(t, { target: '/health', headers: { 'x-api-key': 'bad', 'x-api-signature': 'bad' } });
      expect(res.status).toBe(200);
      expect(t.log.calls).toEqual(['health']);
    });

    it('protects every other route', async () => {
      expectRejected(t, await send(t, { target: '/items/1' }), 401, 'missing_credentials');
      expectRejected(t, await send(t, { method: 'DELETE', target: '/items/1' }), 401, 'missing_credentials');
      expectRejected(t, await send(t, { target: '/scoped' }), 401, 'missing_credentials');
    });

    it('answers 403 service_not_allowed to a service outside @AllowServices()', async () => {
      const res = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, method: 'DELETE', target: '/items/7' });
      expectRejected(t, res, 403, 'service_not_allowed');
    });

    it('lets the allowed service through', async () => {
      const res = await sendSigned(t, { apiKey: billingAdmin, secret: TEST_SECRET, method: 'DELETE', target: '/items/7' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ deleted: '7' });
      expect(t.log.calls).toEqual(['delete:7']);
    });

    it('authenticates before it authorises: a bad signature from an allowed service is 401', async () => {
      const res = await sendSigned(t, { apiKey: billingAdmin, secret: 'x'.repeat(40), method: 'DELETE', target: '/items/7' });
      expectRejected(t, res, 401, 'invalid_signature');
    });

    it('authenticates a route that also has @UseGuards(ApiKeyGuard) once (the guard runs twice there)', async () => {
      const res = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, target: '/scoped' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ caller: 'orders' });
      expect(t.log.calls).toEqual(['scoped']);
    });
  });

  describe('extras { globalGuard: false }', () => {
    let t: TestApp;
    let orders: string;
    beforeAll(async () => {
      t = await createTestApp({ adapter, extras: { globalGuard: false } });
      orders = (await t.keys.create('orders')).apiKey;
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('still requires a signature on a controller with @UseGuards(ApiKeyGuard)', async () => {
      expectRejected(t, await send(t, { target: '/scoped' }), 401, 'missing_credentials');
      expectRejected(t, await sendSigned(t, { apiKey: orders, secret: 'y'.repeat(40), target: '/scoped' }), 401, 'invalid_signature');
      const ok = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, target: '/scoped' });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ caller: 'orders' });
      expect(t.log.calls).toEqual(['scoped']);
    });

    it('replay-protects the per-controller guard too', async () => {
      const headers = { target: '/scoped' };
      const first = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, nonce: 'scoped-nonce-0000001', ...headers });
      expect(first.status).toBe(200);
      t.log.calls.length = 0;
      const again = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, nonce: 'scoped-nonce-0000001', ...headers });
      expectRejected(t, again, 401, 'replayed_request');
    });

    it('still enforces @AllowServices() on routes without a registered guard: the decorator applies the guard', async () => {
      expectRejected(t, await send(t, { method: 'DELETE', target: '/items/1' }), 401, 'missing_credentials');
      const denied = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, method: 'DELETE', target: '/items/1' });
      expectRejected(t, denied, 403, 'service_not_allowed');
      const admin = (await t.keys.create('billing-admin')).apiKey;
      const ok = await sendSigned(t, { apiKey: admin, secret: TEST_SECRET, method: 'DELETE', target: '/items/1' });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ deleted: '1' });
      expect(t.log.calls).toEqual(['delete:1']);
    });

    it('makes @ServiceCaller() refuse (500) on an unguarded route rather than hand out no caller', async () => {
      const res = await send(t, { target: '/items/1' });
      expect(res.status).toBe(500);
      expect(t.log.calls).toEqual([]);
    });
  });

  describe('a serviceCaller property set before the guard', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        adapter,
        // Another middleware (or a body parser bug) leaving a caller-shaped object on the request.
        beforeGuard: (request) => {
          request.serviceCaller = { apiKey: 'ForgedKey0123456789', serviceName: 'billing-admin', scheme: 'v1' };
        },
      });
    });
    afterAll(() => t?.close());
    beforeEach(() => {
      t.log.calls.length = 0;
    });

    it('is not taken as authenticated: the request still needs a signature, and a signed one gets the real caller', async () => {
      expectRejected(t, await send(t, { target: '/scoped' }), 401, 'missing_credentials');
      expectRejected(t, await send(t, { method: 'DELETE', target: '/items/1' }), 401, 'missing_credentials');
      const orders = (await t.keys.create('orders')).apiKey;
      const ok = await sendSigned(t, { apiKey: orders, secret: TEST_SECRET, target: '/scoped' });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ caller: 'orders' });
      expect(t.log.calls).toEqual(['scoped']);
    });
  });
});
