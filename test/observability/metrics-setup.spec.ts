// Issue 15: where the module's meter comes from (the option, the global provider, nothing), and its gauges.
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { SERVICE_AUTH_ATTRIBUTES as A, SERVICE_AUTH_METRICS as M, type ApiKeyAuthModuleOptions } from '../../lib/index.js';
import { sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET } from '../support/test-app.js';
import { createObservedApp, TestMetricReader } from './observed-app.js';

const WRONG = 'a-wrong-secret-that-is-long-enough-0123456';

describe.each(ADAPTERS)('the meter (%s)', (adapter) => {
  let reader: TestMetricReader;
  let provider: MeterProvider;

  beforeEach(() => {
    reader = new TestMetricReader();
    provider = new MeterProvider({ readers: [reader] });
  });

  afterEach(async () => {
    metrics.disable();
    await provider.shutdown();
  });

  /** Starts an app, sends one accepted request, and returns the attempts the global provider's reader saw. */
  async function attemptsWith(observability: ApiKeyAuthModuleOptions['observability']) {
    const t = await createTestApp({ adapter, auth: { observability } });
    try {
      const { apiKey } = await t.keys.create('orders');
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      return await reader.points(M.attempts);
    } finally {
      await t.close();
    }
  }

  const one = [{ attributes: { [A.result]: 'accepted', [A.scheme]: 'v1', [A.service]: 'orders' }, value: 1 }];

  it('by default, records through the global MeterProvider registered before the app started', async () => {
    metrics.setGlobalMeterProvider(provider);
    expect(await attemptsWith(undefined)).toEqual(one);
  });

  it('metrics: true does the same', async () => {
    metrics.setGlobalMeterProvider(provider);
    expect(await attemptsWith({ metrics: true })).toEqual(one);
  });

  it('metrics: false records nothing, even with a global provider', async () => {
    metrics.setGlobalMeterProvider(provider);
    expect(await attemptsWith({ metrics: false })).toEqual([]);
  });

  it('without a global provider at startup, records nothing (a provider registered later is not used)', async () => {
    const t = await createTestApp({ adapter });
    try {
      metrics.setGlobalMeterProvider(provider);
      const { apiKey } = await t.keys.create('orders');
      expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      expect(await reader.points(M.attempts)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('two apps recording to one provider add their attempts up, and the counts outlive a closed app', async () => {
    const apps = await Promise.all(
      [0, 1].map(() => createTestApp({ adapter, auth: { observability: { metrics: { meterProvider: provider } } } })),
    );
    try {
      for (const t of apps) {
        const { apiKey } = await t.keys.create('orders');
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
      }
      await apps[0].close();
      expect(await reader.points(M.attempts)).toEqual([{ ...one[0], value: 2 }]);
    } finally {
      await apps[1].close();
    }
  });

  it('the gauges: nonce store usage and capacity, key cache usage and bound per state', async () => {
    const t = await createObservedApp(adapter, { nonces: { maxEntries: 50 }, keyCache: { maxEntries: 7 } });
    try {
      const gauges = async () => ({
        nonceUsage: await t.reader.points(M.nonceStoreUsage),
        nonceLimit: await t.reader.points(M.nonceStoreLimit),
        cacheUsage: await t.reader.points(M.keyCacheUsage),
        cacheLimit: await t.reader.points(M.keyCacheLimit),
      });
      const state = (found: number, unknown: number) => [
        { attributes: { [A.keyCacheState]: 'found' }, value: found },
        { attributes: { [A.keyCacheState]: 'unknown' }, value: unknown },
      ];
      expect(await gauges()).toEqual({
        nonceUsage: [{ attributes: {}, value: 0 }],
        nonceLimit: [{ attributes: {}, value: 50 }],
        cacheUsage: state(0, 0),
        cacheLimit: state(7, 7),
      });

      const a = await t.keys.create('orders');
      const b = await t.keys.create('orders');
      for (const key of [a, b, a]) expect((await sendSigned(t, { apiKey: key.apiKey, secret: TEST_SECRET })).status).toBe(200);
      // A correctly signed unknown key is looked up, and remembered as unknown; a wrong signature is not looked up.
      expect((await sendSigned(t, { apiKey: 'Unknown_key_0123456789abc', secret: TEST_SECRET })).status).toBe(401);
      expect((await sendSigned(t, { apiKey: 'Other_unknown_key_0123456789', secret: WRONG })).status).toBe(401);

      expect(await gauges()).toEqual({
        nonceUsage: [{ attributes: {}, value: 3 }],
        nonceLimit: [{ attributes: {}, value: 50 }],
        cacheUsage: state(2, 1),
        cacheLimit: state(7, 7),
      });
    } finally {
      await t.close();
    }
  });
});
