// Issue 15: every decision is seen the same way by the metrics (an in-memory OpenTelemetry reader) and the
// audit-event listener: an accepted request, and every refusal code of PROTOCOL.md, on both adapters.
import { gzipSync } from 'node:zlib';
import type { Attributes } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import {
  SERVICE_AUTH_ATTRIBUTES as A,
  SERVICE_AUTH_METRICS,
  type ApiKeyAuthModuleOptions,
  type ServiceAuthErrorCode,
} from '../../lib/index.js';
import { createRedisClient, redisBackends, redisReady } from '../../lib/redis/index.js';
import { GUARD_CODES } from '../adversarial/harness.js';
import { DisposableRedis, describeWithRedisServer } from '../support/redis-server.js';
import { expectAuthError, freshNonce, nowSeconds, send, sendSigned, sign, type WireResponse } from '../support/signed-request.js';
import { ADAPTERS, TEST_SECRET, type AdapterName, type TestAppOptions } from '../support/test-app.js';
import { createObservedApp, sortPoints, type ObservedApp } from './observed-app.js';

/** One decision as the event carries it (less `time` and `address`, checked apart). */
interface Decision {
  result: 'accepted' | 'rejected';
  code: ServiceAuthErrorCode | undefined;
  status: number | undefined;
  scheme: 'v0' | 'v1' | undefined;
  service: string | undefined;
  apiKey: string | undefined;
  method: string;
  route: string;
}

interface Key {
  apiKey: string;
  secret: string;
}

const accepted = (apiKey: string, method = 'GET', route = '/items/:id', scheme: 'v0' | 'v1' = 'v1'): Decision => ({
  result: 'accepted',
  code: undefined,
  status: undefined,
  scheme,
  service: 'orders',
  apiKey,
  method,
  route,
});

const rejected = (code: ServiceAuthErrorCode, status: number, fields: Partial<Decision> = {}): Decision => ({
  result: 'rejected',
  code,
  status,
  scheme: 'v1',
  service: undefined,
  apiKey: undefined,
  method: 'GET',
  route: '/items/:id',
  ...fields,
});

function expectAnswer(t: ObservedApp, res: WireResponse, status: number, code?: string): void {
  if (code === undefined) {
    expect({ status: res.status, body: res.status < 300 ? '' : res.text }).toEqual({ status, body: '' });
  } else {
    expectAuthError(res, status, code);
  }
}

interface Case {
  name: string;
  /** The codes this case ends with (the suite checks that every code has one). */
  codes: ServiceAuthErrorCode[];
  auth?: ApiKeyAuthModuleOptions;
  app?: Partial<TestAppOptions>;
  /** Sends the requests, checks their answers, and returns the decisions they make, in order. */
  drive(t: ObservedApp, key: Key): Promise<Decision[]>;
}

const CASES: Case[] = [
  {
    name: 'accepted: v1 GET, v1 POST and v0 GET',
    codes: [],
    auth: { schemes: ['v1', 'v0'] },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, key), 200);
      expectAnswer(t, await sendSigned(t, { ...key, method: 'POST', target: '/items', body: '{"n":1}' }), 201);
      expectAnswer(t, await sendSigned(t, { ...key, scheme: 'v0', target: '/items/2' }), 200);
      expect(t.log.calls).toEqual(['get:1', 'create', 'get:2']);
      return [accepted(key.apiKey), accepted(key.apiKey, 'POST', '/items'), accepted(key.apiKey, 'GET', '/items/:id', 'v0')];
    },
  },
  {
    name: 'missing and malformed credentials',
    codes: ['missing_credentials', 'malformed_credentials'],
    async drive(t, key) {
      expectAnswer(t, await send(t, { target: '/items/1?token=abc' }), 401, 'missing_credentials');
      expectAnswer(
        t,
        await send(t, { target: '/items/1', headers: { ...sign(t, key), 'x-api-key': 'short' } }),
        401,
        'malformed_credentials',
      );
      return [rejected('missing_credentials', 401, { scheme: undefined }), rejected('malformed_credentials', 401)];
    },
  },
  {
    name: 'stale timestamp, wrong signature',
    codes: ['stale_timestamp', 'invalid_signature'],
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, { ...key, timestampSeconds: nowSeconds() - 1_000 }), 401, 'stale_timestamp');
      expectAnswer(t, await sendSigned(t, { ...key, secret: 'another-secret-that-is-long-enough-0123456' }), 401, 'invalid_signature');
      return [rejected('stale_timestamp', 401, { apiKey: key.apiKey }), rejected('invalid_signature', 401, { apiKey: key.apiKey })];
    },
  },
  {
    name: 'host not allowed',
    codes: ['host_not_allowed'],
    auth: { allowedHosts: ['billing.internal'] },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, key), 401, 'host_not_allowed');
      return [rejected('host_not_allowed', 401, { apiKey: key.apiKey })];
    },
  },
  {
    name: 'replayed request (after verification: the service is known)',
    codes: ['replayed_request'],
    async drive(t, key) {
      const nonce = freshNonce();
      expectAnswer(t, await sendSigned(t, { ...key, nonce }), 200);
      expectAnswer(t, await sendSigned(t, { ...key, nonce }), 401, 'replayed_request');
      return [accepted(key.apiKey), rejected('replayed_request', 401, { service: 'orders', apiKey: key.apiKey })];
    },
  },
  {
    name: 'unverifiable body',
    codes: ['unverifiable_body'],
    app: { rawBody: false },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, { ...key, method: 'POST', target: '/items', body: '{"a":1}' }), 401, 'unverifiable_body');
      return [rejected('unverifiable_body', 401, { apiKey: key.apiKey, method: 'POST', route: '/items' })];
    },
  },
  {
    name: 'https required',
    codes: ['https_required'],
    auth: { requireHttps: true },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, key), 403, 'https_required');
      return [rejected('https_required', 403, { apiKey: key.apiKey })];
    },
  },
  {
    name: 'body too large, content encoding',
    codes: ['body_too_large', 'unsupported_content_encoding'],
    auth: { maxBodyBytes: 16 },
    async drive(t, key) {
      const big = { ...key, method: 'POST', target: '/items', body: JSON.stringify({ padding: 'x'.repeat(64) }) };
      expectAnswer(t, await sendSigned(t, big), 413, 'body_too_large');
      const gzipped = { ...key, method: 'POST', target: '/items', body: gzipSync('{"n":1}') };
      expectAnswer(t, await sendSigned(t, gzipped, { 'content-encoding': 'gzip' }), 415, 'unsupported_content_encoding');
      return [
        rejected('body_too_large', 413, { apiKey: key.apiKey, method: 'POST', route: '/items' }),
        rejected('unsupported_content_encoding', 415, { apiKey: key.apiKey, method: 'POST', route: '/items' }),
      ];
    },
  },
  {
    name: 'service not allowed',
    codes: ['service_not_allowed'],
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, { ...key, method: 'DELETE', target: '/items/4' }), 403, 'service_not_allowed');
      return [rejected('service_not_allowed', 403, { service: 'orders', apiKey: key.apiKey, method: 'DELETE' })];
    },
  },
  {
    name: 'rate limited',
    codes: ['rate_limited'],
    auth: { rateLimit: { limit: 1, ttlMs: 60_000 } },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, key), 200);
      expectAnswer(t, await sendSigned(t, key), 429, 'rate_limited');
      return [accepted(key.apiKey), rejected('rate_limited', 429, { service: 'orders', apiKey: key.apiKey })];
    },
  },
  {
    name: 'too many failed attempts',
    codes: ['too_many_failed_attempts'],
    auth: { failedAttempts: { limit: 1, ttlMs: 60_000 } },
    async drive(t, key) {
      const wrong = { ...key, secret: 'another-secret-that-is-long-enough-0123456' };
      expectAnswer(t, await sendSigned(t, wrong), 401, 'invalid_signature');
      expectAnswer(t, await sendSigned(t, wrong), 429, 'too_many_failed_attempts');
      return [
        rejected('invalid_signature', 401, { apiKey: key.apiKey }),
        rejected('too_many_failed_attempts', 429, { apiKey: key.apiKey }),
      ];
    },
  },
  {
    name: 'key store unavailable',
    codes: ['key_store_unavailable'],
    async drive(t, key) {
      await t.app.get(DataSource).destroy();
      expectAnswer(t, await sendSigned(t, key), 503, 'key_store_unavailable');
      return [rejected('key_store_unavailable', 503, { apiKey: key.apiKey })];
    },
  },
  {
    name: 'nonce store unavailable (full)',
    codes: ['nonce_store_unavailable'],
    auth: { nonces: { maxEntries: 1 } },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, key), 200);
      expectAnswer(t, await sendSigned(t, { ...key, target: '/items/2' }), 503, 'nonce_store_unavailable');
      return [accepted(key.apiKey), rejected('nonce_store_unavailable', 503, { service: 'orders', apiKey: key.apiKey })];
    },
  },
  {
    name: 'rate-limit store unavailable',
    codes: ['rate_limit_store_unavailable'],
    auth: {
      throttlerStorage: {
        increment: async () => {
          throw new Error('throttler storage unreachable');
        },
      },
    },
    async drive(t, key) {
      expectAnswer(t, await sendSigned(t, key), 503, 'rate_limit_store_unavailable');
      return [rejected('rate_limit_store_unavailable', 503, { service: 'orders', apiKey: key.apiKey })];
    },
  },
];

/** The attempts counter's points that `decisions` make. */
function expectedAttempts(decisions: Decision[], withService = true): Array<{ attributes: Attributes; value: number }> {
  const byKey = new Map<string, { attributes: Attributes; value: number }>();
  for (const d of decisions) {
    const attributes: Attributes = { [A.result]: d.result };
    if (d.code) attributes[A.code] = d.code;
    if (d.scheme) attributes[A.scheme] = d.scheme;
    if (withService && d.service) attributes[A.service] = d.service;
    const key = JSON.stringify(attributes);
    const point = byKey.get(key) ?? { attributes, value: 0 };
    point.value++;
    byKey.set(key, point);
  }
  return sortPoints([...byKey.values()]);
}

it('the cases end with every refusal code', () => {
  expect([...new Set(CASES.flatMap((c) => c.codes))].sort()).toEqual([...GUARD_CODES].sort());
});

describe.each(ADAPTERS)('metrics and audit events of each decision (%s)', (adapter: AdapterName) => {
  it.each(CASES)('$name', async (c) => {
    const t = await createObservedApp(adapter, c.auth, c.app);
    try {
      const { apiKey } = await t.keys.create('orders');
      const before = Date.now();
      const decisions = await c.drive(t, { apiKey, secret: TEST_SECRET });
      const after = Date.now();

      // The counter: one point per attribute set, with the exact count.
      expect(await t.attempts()).toEqual(expectedAttempts(decisions));
      // The duration histogram: as many values, without the service.
      expect(await t.reader.histogramCounts(SERVICE_AUTH_METRICS.duration)).toEqual(expectedAttempts(decisions, false));

      // The events: one per decision, in order, with exactly these fields.
      const events = await t.eventsArrived(decisions.length);
      await new Promise((r) => setTimeout(r, 20));
      expect(events.map(({ time, address, ...rest }) => rest)).toEqual(decisions);
      for (const event of events) {
        expect(Object.keys(event).sort()).toEqual([
          'address',
          'apiKey',
          'code',
          'method',
          'result',
          'route',
          'scheme',
          'service',
          'status',
          'time',
        ]);
        expect(event.address).toBe('127.0.0.1');
        expect(event.time).toBeInstanceOf(Date);
        expect(event.time.getTime()).toBeGreaterThanOrEqual(before);
        expect(event.time.getTime()).toBeLessThanOrEqual(after);
        expect(Object.isFrozen(event)).toBe(true);
      }
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});

describeWithRedisServer('metrics and audit events with the Redis stores (every outcome point answers asynchronously)', () => {
  let redis: DisposableRedis;
  let client: Redis;
  beforeAll(async () => {
    redis = await DisposableRedis.start();
    client = createRedisClient(redis.url);
    await redisReady(client);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it.each(ADAPTERS)('%s: accepted, replayed, rate limited, wrong signature, too many failed attempts', async (adapter) => {
    const t = await createObservedApp(adapter, {
      ...redisBackends(client, { keyPrefix: `obs-${adapter}:` }),
      rateLimit: { limit: 2, ttlMs: 60_000 },
      failedAttempts: { limit: 1, ttlMs: 60_000 },
    });
    try {
      const { apiKey } = await t.keys.create('orders');
      const key = { apiKey, secret: TEST_SECRET };
      const wrong = { ...key, secret: 'another-secret-that-is-long-enough-0123456' };
      const nonce = freshNonce();
      expectAnswer(t, await sendSigned(t, { ...key, nonce }), 200);
      expectAnswer(t, await sendSigned(t, { ...key, nonce }), 401, 'replayed_request');
      expectAnswer(t, await sendSigned(t, key), 200);
      expectAnswer(t, await sendSigned(t, key), 429, 'rate_limited');
      expectAnswer(t, await sendSigned(t, wrong), 401, 'invalid_signature');
      expectAnswer(t, await sendSigned(t, wrong), 429, 'too_many_failed_attempts');
      const decisions = [
        accepted(apiKey),
        rejected('replayed_request', 401, { service: 'orders', apiKey }),
        accepted(apiKey),
        rejected('rate_limited', 429, { service: 'orders', apiKey }),
        rejected('invalid_signature', 401, { apiKey }),
        rejected('too_many_failed_attempts', 429, { apiKey }),
      ];
      expect(await t.attempts()).toEqual(expectedAttempts(decisions));
      expect(await t.reader.histogramCounts(SERVICE_AUTH_METRICS.duration)).toEqual(expectedAttempts(decisions, false));
      const events = await t.eventsArrived(decisions.length);
      expect(events.map(({ time, address, ...rest }) => rest)).toEqual(decisions);
    } finally {
      await t.close();
    }
  });
});
