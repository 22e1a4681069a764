import { jest } from '@jest/globals';
import { Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import {
  ApiKey,
  ApiKeyAuthModule,
  apiKeyAuthMigrations,
  SigningService,
  type ApiKeyAuthModuleOptions,
  type KeyInvalidationBus,
} from '../../lib/index.js';
import {
  buildTestControllers,
  createTestApp,
  HandlerLog,
  type AdapterName,
  type TestApp,
  type TestAppOptions,
} from '../support/test-app.js';
import { nowSeconds, send, sign, type SignSpec, type WireRequest, type WireResponse } from '../support/signed-request.js';
import { TestMetricReader } from '../observability/observed-app.js';
import { GUARD_CODES, guardAnswerProblem } from './harness.js';
import * as protocol from '../../lib/protocol/index.js';
import { sha256Hex } from '../../lib/protocol/crypto.js';

/**
 * PROTOCOL.md: "No response, log line or metric ever contains a secret or a
 * full signature." Every log line of every level (a LoggerService given to
 * NestFactory), everything written to the console, stdout and stderr, every
 * answer (status line, headers, body), every audit event, the attributes of
 * every metric point, and every startup error is captured
 * while every path runs: each error code of ServiceAuthErrorCode, successes
 * with the current and the previous secret, schemes v0 and v1, shared and
 * derived secrets, key rotation and revocation, outgoing signed calls, store
 * failures and startup refusals; and scheme rfc9421 (Signature-Input,
 * Signature, Content-Digest) accepted and refused, and signed outgoing. None of it may contain:
 * - a configured secret, current or previous (nor 16 characters of one),
 *   nor a per-key derived secret, nor the secret of the signing credentials;
 * - a signature sent (its 64 hex digits, in any case, or as base64; an rfc9421
 *   `Signature` member's bytes);
 * - the MAC the verifier computes for a request as sent, under any secret
 *   (that is the valid signature of a tampered request).
 *
 * The secrets are random for each run, so no fixed string can match by chance.
 */

const CURRENT = `cur-${randomBytes(30).toString('base64url')}`;
const PREVIOUS = `prev-${randomBytes(30).toString('base64url')}`;
/** A secret the server does not know, used by a forger. */
const WRONG = `wrong-${randomBytes(30).toString('base64url')}`;
/** Too short: refused at startup (the refusal must not echo it either). */
const WEAK = `weak-${randomBytes(9).toString('base64url')}`;

// ---------------------------------------------------------------- capture

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}\n${inspect(value, { depth: 6 })}`;
  return inspect(value, { depth: 6, maxStringLength: null, maxArrayLength: null });
}

/** A LoggerService that keeps every line of every level. */
class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  private add(level: string, message: unknown, params: unknown[]): void {
    this.lines.push(`[${level}] ${[message, ...params].map(render).join(' ')}`);
  }
  log(message: unknown, ...params: unknown[]) {
    this.add('log', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.add('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.add('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.add('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.add('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.add('fatal', message, params);
  }
}

const logger = new RecordingLogger();
/** console.*, process.stdout and process.stderr while the tests run. */
const consoleLines: string[] = [];
/** Every answer: status, headers and body. */
const answers: string[] = [];
/** Startup errors and anything else thrown at the test. */
const thrown: string[] = [];
/** Every audit event (`observability.onAuthentication`), as JSON. */
const events: string[] = [];
/** The metrics of every app, read at the end. */
const metricReader = new TestMetricReader();
const meterProvider = new MeterProvider({ readers: [metricReader] });

/** Every metric point's name and attributes. */
async function metricLines(): Promise<string[]> {
  const metrics = [...(await metricReader.metrics()).values()];
  return metrics.flatMap((metric) => metric.dataPoints.map((point) => `${metric.descriptor.name} ${JSON.stringify(point.attributes)}`));
}

/** Strings that must appear nowhere (secrets, signatures, MACs), with what they are. */
const forbidden = new Map<string, string>();

function forbid(value: string, what: string): void {
  if (value.length > 0 && !forbidden.has(value)) forbidden.set(value, what);
}

/** A secret and every 16-character piece of it. */
function forbidSecret(secret: string, what: string): void {
  forbid(secret, what);
  for (let i = 0; i + 16 <= secret.length; i++) forbid(secret.slice(i, i + 16), `16 characters of ${what}`);
}

/** A MAC as hex (compared case-insensitively), base64 and base64url. */
function forbidMac(mac: Buffer, what: string): void {
  forbid(mac.toString('hex'), what);
  forbid(mac.toString('base64'), `${what} (base64)`);
  forbid(mac.toString('base64url'), `${what} (base64url)`);
}

const spies: Array<{ mockRestore(): void }> = [];

beforeAll(() => {
  for (const method of ['log', 'error', 'warn', 'info', 'debug', 'trace'] as const) {
    spies.push(
      jest
        .spyOn(console, method)
        .mockImplementation((...args: unknown[]) => void consoleLines.push(`console.${method} ${args.map(render).join(' ')}`)),
    );
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    spies.push(
      jest.spyOn(stream, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
        consoleLines.push(
          `${stream === process.stdout ? 'stdout' : 'stderr'} ${Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)}`,
        );
        return original(chunk, ...rest);
      }),
    );
  }
  forbidSecret(CURRENT, 'the current secret');
  forbidSecret(PREVIOUS, 'the previous secret');
  forbidSecret(WRONG, "a forger's secret");
  forbidSecret(WEAK, 'a refused weak secret');
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

// ---------------------------------------------------------------- driving requests

type Mode = 'shared' | 'derived';

/** The per-key secrets derived from both masters; all of them forbidden. */
function derivedSecrets(apiKey: string): string[] {
  const secrets = [CURRENT, PREVIOUS].map((master) => protocol.deriveKeySecret(master, apiKey));
  secrets.forEach((secret, i) => forbidSecret(secret, `the ${i === 0 ? 'current' : 'previous'} derived secret of ${apiKey}`));
  return secrets;
}

/** The secret a caller signs with in `mode`. */
function callerSecret(mode: Mode, apiKey: string, previous = false): string {
  if (mode === 'shared') return previous ? PREVIOUS : CURRENT;
  return derivedSecrets(apiKey)[previous ? 1 : 0];
}

function header(wire: WireRequest, name: string): string | undefined {
  const entry = Object.entries(wire.headers ?? {}).find(([n]) => n.toLowerCase() === name);
  if (entry === undefined) return undefined;
  return Array.isArray(entry[1]) ? entry[1].join(', ') : entry[1];
}

/**
 * Forbids the signature of `wire` and every MAC the verifier may compute for
 * it as sent (v0 and v1, every master, shared and derived).
 */
function forbidSignaturesOf(t: TestApp, wire: WireRequest): void {
  const signature = header(wire, 'x-api-signature');
  const hex = /([0-9a-fA-F]{64})/.exec(signature ?? '')?.[1];
  if (hex) forbidMac(Buffer.from(hex, 'hex'), 'a signature sent');
  const apiKey = header(wire, 'x-api-key')?.trim();
  const timestamp = header(wire, 'x-api-timestamp')?.trim();
  if (!apiKey || !timestamp) return;
  const body = wire.body === undefined ? undefined : Buffer.from(wire.body);
  const strings = [protocol.v0StringToSign(apiKey, timestamp)];
  const nonce = header(wire, 'x-api-nonce')?.trim();
  if (nonce) {
    strings.push(
      protocol.v1StringToSign({
        apiKey,
        timestamp,
        nonce,
        method: wire.method ?? 'GET',
        host: wire.host ?? t.host,
        target: wire.target,
        contentType: header(wire, 'content-type')?.trim() ?? '',
        bodySha256: sha256Hex(body),
      }),
    );
  }
  const secrets = [CURRENT, PREVIOUS, ...derivedSecrets(apiKey)];
  for (const message of strings) {
    for (const secret of secrets) forbidMac(createHmac('sha256', secret).update(message, 'utf8').digest(), 'a MAC the verifier computes');
  }
}

/** Forbids every byte sequence of an rfc9421 `Signature`, and the MAC the verifier computes for the request as sent. */
function forbidRfc9421SignaturesOf(t: TestApp, wire: WireRequest): void {
  for (const [, b64] of (header(wire, 'signature') ?? '').matchAll(/:([A-Za-z0-9+/=]+):/g))
    forbidMac(Buffer.from(b64, 'base64'), 'an rfc9421 signature sent');
  const headers = Object.fromEntries(Object.entries(wire.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const parsed = protocol.parseRfc9421Credentials({
    method: wire.method ?? 'GET',
    host: wire.host ?? t.host,
    target: wire.target,
    header: protocol.headerLookup(headers),
    body: wire.body === undefined ? undefined : Buffer.from(wire.body),
  });
  if (!parsed.ok) return;
  for (const secret of [CURRENT, PREVIOUS, ...derivedSecrets(parsed.credentials.apiKey)]) {
    forbidMac(
      createHmac('sha256', secret).update(parsed.credentials.signatureBase, 'utf8').digest(),
      'an rfc9421 MAC the verifier computes',
    );
  }
}

async function drive(t: TestApp, wire: WireRequest): Promise<WireResponse> {
  forbidSignaturesOf(t, wire);
  forbidRfc9421SignaturesOf(t, wire);
  const res = await send(t, wire);
  answers.push(`${wire.method ?? 'GET'} ${wire.target} -> ${res.status}\n${JSON.stringify(res.headers)}\n${res.text}`);
  return res;
}

/** The wire form of a signed request (JSON content type when there is a body). */
function signedWire(t: TestApp, spec: SignSpec, extra: Record<string, string | string[]> = {}): WireRequest {
  return {
    method: spec.method ?? 'GET',
    target: spec.target ?? '/items/1',
    host: spec.host ?? t.host,
    headers: { ...(spec.body !== undefined && { 'content-type': 'application/json' }), ...sign(t, spec), ...extra },
    body: spec.body,
  };
}

/** Codes seen in answers, over the whole file. */
const codesSeen = new Set<string>();

/** The request is refused with `status` and `code`, in the JSON of PROTOCOL.md. */
async function expectCode(t: TestApp, wire: WireRequest, status: number, code: string): Promise<void> {
  const res = await drive(t, wire);
  expect({ status: res.status, code: JSON.parse(res.text).code }).toEqual({ status, code });
  expect(guardAnswerProblem({ status: res.status, headers: res.headers, body: Buffer.from(res.text) })).toBeUndefined();
  codesSeen.add(code);
}

/** `wire` without the header `name`. */
function without(wire: WireRequest, name: string): WireRequest {
  return { ...wire, headers: Object.fromEntries(Object.entries(wire.headers ?? {}).filter(([n]) => n.toLowerCase() !== name)) };
}

async function expectAccepted(t: TestApp, wire: WireRequest): Promise<void> {
  const res = await drive(t, wire);
  expect({ status: res.status, body: res.status < 300 ? '' : res.text.slice(0, 300) }).toEqual({
    status: wire.method === 'POST' ? 201 : 200,
    body: '',
  });
}

function app(
  adapter: AdapterName,
  mode: Mode,
  auth: ApiKeyAuthModuleOptions = {},
  options: Partial<TestAppOptions> = {},
): Promise<TestApp> {
  const observability = { metrics: { meterProvider }, onAuthentication: (event: unknown) => void events.push(JSON.stringify(event)) };
  return createTestApp({
    adapter,
    logger,
    ...options,
    auth: { secrets: [CURRENT, PREVIOUS], secretMode: mode, schemes: ['v1', 'v0', 'rfc9421'], observability, ...auth },
  });
}

/** Boots the module as configured and returns the startup error (the app must not start). */
async function startupError(adapter: AdapterName, auth: ApiKeyAuthModuleOptions): Promise<unknown> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database: ':memory:',
        entities: [ApiKey],
        migrations: apiKeyAuthMigrations,
        migrationsRun: true,
        logging: false,
      }),
      ApiKeyAuthModule.forRoot(auth),
    ],
    controllers: buildTestControllers(new HandlerLog()),
  })
  class RefusedModule {}
  let started: INestApplication | undefined;
  try {
    started = await NestFactory.create(RefusedModule, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
      logger,
      abortOnError: false,
    });
  } catch (error) {
    thrown.push(render(error));
    return error;
  }
  await started.close();
  throw new Error('the app started with an invalid configuration');
}

/** A key invalidation bus that cannot publish: revoking logs an error. */
const brokenBus: KeyInvalidationBus = {
  publish: async () => {
    throw new Error('bus unreachable');
  },
  subscribe: async () => async () => undefined,
};

// ---------------------------------------------------------------- the paths

const COMBOS: Array<{ adapter: AdapterName; mode: Mode }> = [
  { adapter: 'express', mode: 'shared' },
  { adapter: 'express', mode: 'derived' },
  { adapter: 'fastify', mode: 'shared' },
  { adapter: 'fastify', mode: 'derived' },
];

describe.each(COMBOS)('nothing secret in logs, console or answers ($adapter, $mode secrets)', ({ adapter, mode }) => {
  it('drives every path: successes, every error code, stores failing, rotation, revocation, outgoing calls, startup refusals', async () => {
    // --- the main app: v0 and v1, current and previous secrets, a rate limit of 20 per key
    const t = await app(adapter, mode, { rateLimit: { limit: 20, ttlMs: 60_000 }, keyInvalidation: brokenBus });
    try {
      const orders = await t.keys.create('orders');
      const admin = await t.keys.create('billing-admin');
      const limited = await t.keys.create('limited');
      const revoked = await t.keys.create('orders');
      const expired = await t.keys.create('orders', { expiresAt: new Date(Date.now() - 3_600_000) });
      for (const created of [orders, admin, limited, revoked, expired]) {
        if (created.secret !== null) forbidSecret(created.secret, `the derived secret of ${created.apiKey}`);
        derivedSecrets(created.apiKey);
      }
      const secretOf = (apiKey: string, previous = false) => callerSecret(mode, apiKey, previous);
      const o = orders.apiKey;

      // Accepted: v1 and v0, current and previous secret, a body, an allowed DELETE, the scoped route.
      await expectAccepted(t, signedWire(t, { apiKey: o, secret: secretOf(o) }));
      await expectAccepted(t, signedWire(t, { apiKey: o, secret: secretOf(o, true), target: '/items/2?x=1' }));
      await expectAccepted(t, signedWire(t, { apiKey: o, secret: secretOf(o), scheme: 'v0', target: '/items/3' }));
      await expectAccepted(t, signedWire(t, { apiKey: o, secret: secretOf(o, true), scheme: 'v0', target: '/scoped' }));
      await expectAccepted(t, signedWire(t, { apiKey: o, secret: secretOf(o), method: 'POST', target: '/items', body: '{"total":12}' }));
      await expectAccepted(
        t,
        signedWire(t, { apiKey: admin.apiKey, secret: secretOf(admin.apiKey), method: 'DELETE', target: '/items/4' }),
      );

      // missing_credentials, malformed_credentials
      await expectCode(t, { target: '/items/1' }, 401, 'missing_credentials');
      await expectCode(t, without(signedWire(t, { apiKey: o, secret: secretOf(o) }), 'x-api-nonce'), 401, 'missing_credentials');
      await expectCode(t, signedWire(t, { apiKey: o, secret: secretOf(o) }, { 'x-api-key': 'short' }), 401, 'malformed_credentials');
      const good = signedWire(t, { apiKey: o, secret: secretOf(o) });
      const goodSignature = header(good, 'x-api-signature')!;
      await expectCode(
        t,
        { ...good, headers: { ...good.headers, 'x-api-signature': [goodSignature, goodSignature] } },
        401,
        'malformed_credentials',
      );
      await expectCode(t, { ...good, headers: { ...good.headers, 'x-api-signature': goodSignature + '0' } }, 401, 'malformed_credentials');
      await expectCode(
        t,
        { ...good, headers: { ...good.headers, 'x-api-signature': 'v2=' + goodSignature.slice(3) } },
        401,
        'malformed_credentials',
      );
      await expectCode(t, { ...good, host: null, headers: { ...good.headers, host: [t.host, 'other:80'] } }, 401, 'malformed_credentials');

      // stale_timestamp, both directions
      await expectCode(
        t,
        signedWire(t, { apiKey: o, secret: secretOf(o), timestampSeconds: nowSeconds() - 1_000 }),
        401,
        'stale_timestamp',
      );
      await expectCode(
        t,
        signedWire(t, { apiKey: o, secret: secretOf(o), scheme: 'v0', timestampSeconds: nowSeconds() + 1_000 }),
        401,
        'stale_timestamp',
      );

      // invalid_signature: a wrong secret (v1, v0), the other mode's secret, unknown, revoked and expired keys, a tampered request
      await expectCode(t, signedWire(t, { apiKey: o, secret: WRONG }), 401, 'invalid_signature');
      await expectCode(t, signedWire(t, { apiKey: o, secret: WRONG, scheme: 'v0' }), 401, 'invalid_signature');
      await expectCode(
        t,
        signedWire(t, { apiKey: o, secret: mode === 'shared' ? derivedSecrets(o)[0] : CURRENT }),
        401,
        'invalid_signature',
      );
      const unknown = 'Unknown_key-' + randomBytes(12).toString('hex');
      await expectCode(t, signedWire(t, { apiKey: unknown, secret: secretOf(unknown) }), 401, 'invalid_signature');
      await t.keys.revoke(revoked.apiKey);
      await expectCode(t, signedWire(t, { apiKey: revoked.apiKey, secret: secretOf(revoked.apiKey) }), 401, 'invalid_signature');
      await expectCode(
        t,
        signedWire(t, { apiKey: expired.apiKey, secret: secretOf(expired.apiKey), scheme: 'v0' }),
        401,
        'invalid_signature',
      );
      await expectCode(
        t,
        { ...signedWire(t, { apiKey: o, secret: secretOf(o), target: '/items/1' }), target: '/items/2' },
        401,
        'invalid_signature',
      );
      await expectCode(
        t,
        { ...signedWire(t, { apiKey: o, secret: secretOf(o), method: 'POST', target: '/items', body: '{"a":1}' }), body: '{"a":2}' },
        401,
        'invalid_signature',
      );

      // replayed_request
      const once = signedWire(t, { apiKey: o, secret: secretOf(o), target: '/items/5' });
      await expectAccepted(t, once);
      await expectCode(t, once, 401, 'replayed_request');

      // Scheme rfc9421: accepted (current and previous secret, a body), and refused at every step.
      const rfc = (spec: Partial<SignSpec> = {}, extra: Record<string, string | string[]> = {}) =>
        signedWire(t, { apiKey: o, secret: secretOf(o), scheme: 'rfc9421', ...spec }, extra);
      await expectAccepted(t, rfc({ target: '/items/8?x=1' }));
      await expectAccepted(t, rfc({ secret: secretOf(o, true), method: 'POST', target: '/items', body: '{"rfc":9421}' }));
      const rfcOnce = rfc({ target: '/items/9' });
      await expectAccepted(t, rfcOnce);
      await expectCode(t, rfcOnce, 401, 'replayed_request');
      await expectCode(t, without(rfc(), 'signature'), 401, 'missing_credentials');
      const rfcGood = rfc();
      const rfcInput = header(rfcGood, 'signature-input')!;
      await expectCode(
        t,
        { ...rfcGood, headers: { ...rfcGood.headers, 'signature-input': rfcInput.replace('"@method"', '"@method";sf') } },
        401,
        'malformed_credentials',
      );
      await expectCode(
        t,
        { ...rfcGood, headers: { ...rfcGood.headers, 'signature-input': rfcInput.replace('hmac-sha256', 'hmac-sha512') } },
        401,
        'malformed_credentials',
      );
      await expectCode(t, rfc({}, { 'x-api-signature': goodSignature }), 401, 'malformed_credentials');
      await expectCode(t, rfc({ secret: WRONG }), 401, 'invalid_signature');
      await expectCode(t, { ...rfc({ target: '/items/1' }), target: '/items/2' }, 401, 'invalid_signature');
      await expectCode(t, { ...rfc({ method: 'POST', target: '/items', body: '{"a":1}' }), body: '{"a":2}' }, 401, 'invalid_signature');
      await expectCode(t, rfc({ timestampSeconds: nowSeconds() - 1_000 }), 401, 'stale_timestamp');

      // service_not_allowed
      await expectCode(
        t,
        signedWire(t, { apiKey: o, secret: secretOf(o), method: 'DELETE', target: '/items/6' }),
        403,
        'service_not_allowed',
      );

      // rate_limited (20 per minute for this key)
      const l = limited.apiKey;
      for (let i = 0; i < 20; i++) await expectAccepted(t, signedWire(t, { apiKey: l, secret: secretOf(l), target: `/items/${i}` }));
      await expectCode(t, signedWire(t, { apiKey: l, secret: secretOf(l) }), 429, 'rate_limited');

      // Rotation (derived mode hands out the new key's secret) and the broken invalidation bus on revocation.
      const rotated = await t.keys.rotate('orders', { overlapMs: 60_000 });
      if (rotated.secret !== null) forbidSecret(rotated.secret, `the derived secret of ${rotated.apiKey}`);
      derivedSecrets(rotated.apiKey);
      await expectAccepted(t, signedWire(t, { apiKey: rotated.apiKey, secret: secretOf(rotated.apiKey) }));
      await t.keys.revoke(rotated.apiKey);
      await t.keys.list({ includeRevoked: true });

      // Outgoing calls with SigningService (v1 and rfc9421), including its clock-skew retry (a 401 stale_timestamp first).
      for (const scheme of ['v1', 'rfc9421'] as const) {
        const signing = t.app.get(SigningService).withCredentials({ apiKey: o, secret: secretOf(o), scheme });
        const fetched = await signing.fetch(`${t.baseUrl}/items/7?via=signing`);
        expect(fetched.status).toBe(200);
        answers.push(await fetched.text());
        (signing as unknown as { clockOffsets: Map<string, number> }).clockOffsets.set(new URL(t.baseUrl).origin, -3_600_000);
        const retried = await signing.fetch(`${t.baseUrl}/items`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"via":"signing"}',
        });
        expect(retried.status).toBe(201);
        answers.push(await retried.text());
      }

      // key_store_unavailable: the table is gone (a key not cached yet must be looked up).
      const uncached = await t.keys.create('orders');
      derivedSecrets(uncached.apiKey);
      await t.app.get(DataSource).query('ALTER TABLE api_keys RENAME TO api_keys_gone');
      try {
        await expectCode(t, signedWire(t, { apiKey: uncached.apiKey, secret: secretOf(uncached.apiKey) }), 503, 'key_store_unavailable');
      } finally {
        await t.app.get(DataSource).query('ALTER TABLE api_keys_gone RENAME TO api_keys');
      }
    } finally {
      await t.close();
    }

    // --- too_many_failed_attempts: 2 failures per address allowed
    const blocked = await app(adapter, mode, { failedAttempts: { limit: 2, ttlMs: 60_000, blockDurationMs: 60_000 } });
    try {
      const { apiKey } = await blocked.keys.create('orders');
      derivedSecrets(apiKey);
      for (let i = 0; i < 2; i++) await expectCode(blocked, signedWire(blocked, { apiKey, secret: WRONG }), 401, 'invalid_signature');
      await expectCode(blocked, signedWire(blocked, { apiKey, secret: WRONG }), 429, 'too_many_failed_attempts');
      await expectCode(blocked, { target: '/items/1', host: blocked.host }, 429, 'too_many_failed_attempts');
      await expectAccepted(blocked, signedWire(blocked, { apiKey, secret: callerSecret(mode, apiKey) }));
    } finally {
      await blocked.close();
    }

    // --- host_not_allowed and unsupported_content_encoding
    const hosts = await app(adapter, mode, { allowedHosts: ['billing.internal'] });
    try {
      const { apiKey } = await hosts.keys.create('orders');
      derivedSecrets(apiKey);
      await expectCode(hosts, signedWire(hosts, { apiKey, secret: callerSecret(mode, apiKey) }), 401, 'host_not_allowed');
      await expectCode(
        hosts,
        signedWire(hosts, { apiKey, secret: callerSecret(mode, apiKey), scheme: 'rfc9421' }),
        401,
        'host_not_allowed',
      );
      const own = {
        apiKey,
        secret: callerSecret(mode, apiKey),
        host: 'billing.internal',
        method: 'POST',
        target: '/items',
        body: '{"n":1}',
      };
      // Real gzip bytes: Express's body parser would refuse others itself (400) before the guard.
      const gzipped = { ...own, body: gzipSync(own.body) };
      await expectCode(hosts, signedWire(hosts, gzipped, { 'content-encoding': 'gzip' }), 415, 'unsupported_content_encoding');
      await expectAccepted(hosts, signedWire(hosts, own));
    } finally {
      await hosts.close();
    }

    // --- unverifiable_body: the app does not keep raw bodies
    const noRaw = await app(adapter, mode, {}, { rawBody: false });
    try {
      const { apiKey } = await noRaw.keys.create('orders');
      await expectCode(
        noRaw,
        signedWire(noRaw, { apiKey, secret: callerSecret(mode, apiKey), method: 'POST', target: '/items', body: '{"a":1}' }),
        401,
        'unverifiable_body',
      );
    } finally {
      await noRaw.close();
    }

    // --- nonce_store_unavailable: the in-memory nonce store holds one nonce
    const full = await app(adapter, mode, { nonces: { maxEntries: 1 } });
    try {
      const { apiKey } = await full.keys.create('orders');
      await expectAccepted(full, signedWire(full, { apiKey, secret: callerSecret(mode, apiKey) }));
      await expectCode(
        full,
        signedWire(full, { apiKey, secret: callerSecret(mode, apiKey, true), target: '/items/2' }),
        503,
        'nonce_store_unavailable',
      );
    } finally {
      await full.close();
    }

    // --- key_store_unavailable: the DataSource is destroyed (and the last-used flush on shutdown fails)
    const destroyed = await app(adapter, mode);
    try {
      const used = await destroyed.keys.create('orders');
      const fresh = await destroyed.keys.create('orders');
      derivedSecrets(fresh.apiKey);
      await expectAccepted(destroyed, signedWire(destroyed, { apiKey: used.apiKey, secret: callerSecret(mode, used.apiKey) }));
      await destroyed.app.get(DataSource).destroy();
      await expectCode(
        destroyed,
        signedWire(destroyed, { apiKey: fresh.apiKey, secret: callerSecret(mode, fresh.apiKey) }),
        503,
        'key_store_unavailable',
      );
    } finally {
      await destroyed.close().catch((error: unknown) => void thrown.push(render(error)));
    }

    // --- rate_limit_store_unavailable: the throttler storage fails
    const noLimits = await app(adapter, mode, {
      throttlerStorage: {
        increment: async () => {
          throw new Error('throttler storage unreachable');
        },
      },
    });
    try {
      const { apiKey } = await noLimits.keys.create('orders');
      await expectCode(noLimits, signedWire(noLimits, { apiKey, secret: callerSecret(mode, apiKey) }), 503, 'rate_limit_store_unavailable');
    } finally {
      await noLimits.close();
    }

    // --- https_required and body_too_large
    const strict = await app(adapter, mode, { requireHttps: true });
    try {
      const { apiKey } = await strict.keys.create('orders');
      await expectCode(strict, signedWire(strict, { apiKey, secret: callerSecret(mode, apiKey) }), 403, 'https_required');
    } finally {
      await strict.close();
    }
    const small = await app(adapter, mode, { maxBodyBytes: 16 });
    try {
      const { apiKey } = await small.keys.create('orders');
      const body = JSON.stringify({ padding: 'x'.repeat(64) });
      await expectCode(
        small,
        signedWire(small, { apiKey, secret: callerSecret(mode, apiKey), method: 'POST', target: '/items', body }),
        413,
        'body_too_large',
      );
    } finally {
      await small.close();
    }

    // --- startup refusals: a weak secret (current or previous), a weak signing secret, a malformed option
    await startupError(adapter, { secrets: [WEAK], secretMode: mode });
    await startupError(adapter, { secrets: [CURRENT, WEAK], secretMode: mode });
    await startupError(adapter, { secrets: [CURRENT], signing: { apiKey: 'Signing_key_0123456789', secret: WEAK } });
    await startupError(adapter, { secrets: CURRENT as unknown as string[] });

    // Every code of ServiceAuthErrorCode was answered on this adapter and mode.
    expect([...codesSeen].sort()).toEqual(expect.arrayContaining([...GUARD_CODES].sort()));
    codesSeen.clear();
  }, 60_000);

  it('captured something of every kind: the checks below are not vacuous', async () => {
    const all = logger.lines.join('\n');
    expect(all).toMatch(/\[debug\] Rejected request from/);
    expect(all).toMatch(/\[error\] API key store unavailable/);
    expect(all).toMatch(/\[error\] Nonce store unavailable/);
    expect(all).toMatch(/\[warn\] Rejected a signed request whose raw body is not available/);
    expect(all).toMatch(/\[error\] Rate-limit storage unavailable/);
    expect(all).toMatch(/\[error\] Could not tell other instances to drop API key/);
    expect(thrown.join('\n')).toMatch(/WeakSecretError/);
    expect(answers.length).toBeGreaterThan(40);
    expect(events.length).toBeGreaterThan(40);
    expect(events.join('\n')).toContain('"result":"rejected"');
    expect((await metricLines()).join('\n')).toContain('"service_auth.service":"orders"');
    expect(forbidden.size).toBeGreaterThan(500);
    const kinds = new Set(forbidden.values());
    expect(kinds).toContain('an rfc9421 signature sent (base64)');
    expect(kinds).toContain('an rfc9421 MAC the verifier computes (base64)');
  });

  it('no log line, console output, answer, audit event, metric attribute or startup error contains a secret, a signature or a MAC', async () => {
    const sources: Array<[string, string[]]> = [
      ['log line', logger.lines],
      ['console/stdout/stderr', consoleLines],
      ['answer', answers],
      ['audit event', events],
      ['metric point', await metricLines()],
      ['startup error', thrown],
    ];
    // One report per leaking line: what leaked first, and where.
    const leaks = new Map<string, string>();
    for (const [source, lines] of sources) {
      const haystack = lines.join('\n\u0000\n').toLowerCase();
      for (const [needle, what] of forbidden) {
        const lower = needle.toLowerCase();
        if (!haystack.includes(lower)) continue;
        for (const line of lines) {
          if (line.toLowerCase().includes(lower) && !leaks.has(line))
            leaks.set(line, `${what} in a ${source}: ${JSON.stringify(line.slice(0, 400))}`);
        }
      }
    }
    expect([...leaks.values()]).toEqual([]);
  });
});
