import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { ApiKeyService, MissingSecretError, SigningService } from '../../lib/index.js';
import { resolveApiKeyAuthOptions } from '../../lib/api-key-auth-options.factory.js';
import { describeDatabase, loadSampleConfig, SampleConfigError } from '../support/sample-harness/sample.config.js';
import { createSampleApp, type SampleApp } from '../support/sample-harness/sample-app.js';
import { fetchTrusting } from '../support/sample-harness/tls.js';
import { ADAPTERS, TEST_SECRET, type AdapterName } from '../support/test-app.js';

/** Collects every line Nest (and the module, and the sample) logs. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (message: unknown, ...rest: unknown[]) => this.push('log', message, rest);
  error = (message: unknown, ...rest: unknown[]) => this.push('error', message, rest);
  warn = (message: unknown, ...rest: unknown[]) => this.push('warn', message, rest);
  debug = (message: unknown, ...rest: unknown[]) => this.push('debug', message, rest);
  verbose = (message: unknown, ...rest: unknown[]) => this.push('verbose', message, rest);
  fatal = (message: unknown, ...rest: unknown[]) => this.push('fatal', message, rest);

  private push(level: string, message: unknown, rest: unknown[]): void {
    const text = [message, ...rest]
      .map((part) => (part instanceof Error ? `${part.message}\n${part.stack}` : typeof part === 'string' ? part : JSON.stringify(part)))
      .join(' ');
    this.lines.push(`${level} ${text}`);
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('sample app', () => {
  let dir: string;
  let running: SampleApp[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sample-spec-'));
  });

  afterEach(async () => {
    for (const sample of running) await sample.close();
    running = [];
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(adapter: AdapterName, env: Record<string, string> = {}) {
    const logger = new CapturingLogger();
    const config = loadSampleConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      HTTP_ADAPTER: adapter,
      DATABASE_URL: `sqlite:${join(dir, 'sample.sqlite')}`,
      API_SHARED_SECRET: TEST_SECRET,
      ...env,
    });
    const sample = await createSampleApp(config, { logger });
    running.push(sample);
    return { sample, logger, keys: sample.app.get(ApiKeyService) };
  }

  async function stop(sample: SampleApp): Promise<void> {
    running = running.filter((s) => s !== sample);
    await sample.close();
  }

  function expectNoSecretsLogged(logger: CapturingLogger, secrets: string[]): void {
    expect(logger.lines.length).toBeGreaterThan(0);
    for (const line of logger.lines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
      // Neither a signature (v1=<64 hex>) nor a derived secret (64 hex) is ever logged.
      expect(line).not.toMatch(/[0-9a-f]{64}/i);
    }
  }

  describe.each(ADAPTERS)('on %s', (adapter) => {
    it('serves every route with the exact status and body', async () => {
      const { sample, keys } = await start(adapter);
      const url = sample.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const unsigned = await fetch(`${url}/invoices/inv-1`);
      expect(unsigned.status).toBe(401);
      expect(await unsigned.json()).toMatchObject({ statusCode: 401, code: 'missing_credentials' });

      const orders = new SigningService().withCredentials({ apiKey: sample.demo.apiKey, secret: TEST_SECRET });

      const get = await orders.fetch(`${url}/invoices/inv-42?expand=lines`);
      expect(get.status).toBe(200);
      expect(await get.json()).toEqual({ caller: 'orders', id: 'inv-42' });

      const invoice = { number: 'INV-7', lines: [{ sku: 'A-1', quantity: 2 }], note: 'größe ✓' };
      const post = await orders.fetch(`${url}/invoices`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(invoice) });
      expect(post.status).toBe(201);
      expect(await post.json()).toEqual({ caller: 'orders', invoice });

      const forbidden = await orders.fetch(`${url}/invoices/inv-42`, { method: 'DELETE' });
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        code: 'service_not_allowed',
        message: expect.any(String),
      });

      const admin = new SigningService().withCredentials({
        apiKey: (await keys.create('billing-admin')).apiKey,
        secret: TEST_SECRET,
      });
      const deleted = await admin.fetch(`${url}/invoices/inv-42`, { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ deleted: 'inv-42' });

      const adminPost = await admin.fetch(`${url}/invoices`, { method: 'POST', headers: JSON_HEADERS, body: '{"n":1}' });
      expect(adminPost.status).toBe(201);
      expect(await adminPost.json()).toEqual({ caller: 'billing-admin', invoice: { n: 1 } });
    });

    it('revokes keys over DELETE /keys/:apiKey for key-admin only', async () => {
      const { sample, keys } = await start(adapter);
      const url = sample.url;
      const victim = (await keys.create('orders')).apiKey;
      const victimSigner = new SigningService().withCredentials({ apiKey: victim, secret: TEST_SECRET });
      const orders = new SigningService().withCredentials({ apiKey: sample.demo.apiKey, secret: TEST_SECRET });
      const admin = new SigningService().withCredentials({ apiKey: (await keys.create('key-admin')).apiKey, secret: TEST_SECRET });

      const denied = await orders.fetch(`${url}/keys/${victim}`, { method: 'DELETE' });
      expect(denied.status).toBe(403);
      expect(await denied.json()).toMatchObject({ code: 'service_not_allowed' });
      expect((await victimSigner.fetch(`${url}/invoices/1`)).status).toBe(200);

      const revoked = await admin.fetch(`${url}/keys/${victim}`, { method: 'DELETE' });
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toEqual({ revoked: victim });
      const after = await victimSigner.fetch(`${url}/invoices/1`);
      expect(after.status).toBe(401);
      expect(await after.json()).toMatchObject({ code: 'invalid_signature' });

      const again = await admin.fetch(`${url}/keys/${victim}`, { method: 'DELETE' });
      expect(again.status).toBe(404);
    });

    it('creates the demo key at startup and logs both demo calls, but no secret', async () => {
      const { sample, logger, keys } = await start(adapter);

      const demoKeys = await keys.list({ serviceName: 'orders' });
      expect(demoKeys.map((k) => k.apiKey)).toEqual([sample.demo.apiKey]);
      expect(sample.demo).toEqual({
        apiKey: sample.demo.apiKey,
        keyCreated: true,
        signed: { status: 201 },
        tampered: { status: 401, code: 'invalid_signature' },
      });

      const log = logger.lines.join('\n');
      expect(log).toContain(`Created the demo API key of service "orders": ${sample.demo.apiKey}`);
      expect(log).toMatch(/Signed call: +POST \/invoices -> 201 \(accepted, as expected\)/);
      expect(log).toMatch(/Tampered call: POST \/invoices, body changed after signing -> 401 invalid_signature \(rejected, as expected\)/);
      expect(logger.lines.filter((l) => l.startsWith('error'))).toEqual([]);
      expect(log).not.toContain('throwaway');
      expectNoSecretsLogged(logger, [TEST_SECRET]);
    });
  });

  it('reuses the demo key across restarts and replaces a revoked one', async () => {
    const first = await start('express');
    const apiKey = first.sample.demo.apiKey;
    await stop(first.sample);

    const second = await start('fastify');
    expect(second.sample.demo).toMatchObject({ apiKey, keyCreated: false, signed: { status: 201 } });
    expect(second.logger.lines.join('\n')).toContain(`Reusing the demo API key of service "orders": ${apiKey}`);
    await second.keys.revoke(apiKey);
    await stop(second.sample);

    const third = await start('express');
    expect(third.sample.demo).toMatchObject({ keyCreated: true, signed: { status: 201 } });
    expect(third.sample.demo.apiKey).not.toBe(apiKey);
    expect((await third.keys.list({ serviceName: 'orders' })).map((k) => k.apiKey)).toEqual([third.sample.demo.apiKey]);
  });

  it('runs the demo in derived mode, with previous secrets and both schemes', async () => {
    const previous = 'previous-master-secret-0123456789-abcdef';
    const { sample, logger, keys } = await start('fastify', {
      API_SECRET_MODE: 'derived',
      API_SHARED_SECRET_PREVIOUS: previous,
      API_AUTH_SCHEMES: 'v1,v0',
    });
    expect(sample.demo).toMatchObject({ signed: { status: 201 }, tampered: { status: 401, code: 'invalid_signature' } });

    // In derived mode each key signs with its own secret, not with the master.
    const derived = keys.secretFor(sample.demo.apiKey)!;
    const withMaster = new SigningService().withCredentials({ apiKey: sample.demo.apiKey, secret: TEST_SECRET });
    expect((await withMaster.fetch(`${sample.url}/invoices/1`)).status).toBe(401);
    const withDerived = new SigningService().withCredentials({ apiKey: sample.demo.apiKey, secret: derived, scheme: 'v0' });
    const get = await withDerived.fetch(`${sample.url}/invoices/1`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ caller: 'orders', id: '1' });

    expectNoSecretsLogged(logger, [TEST_SECRET, previous, derived]);
  });

  describe.each(ADAPTERS)('over HTTPS on %s (a self-signed certificate made with openssl)', (adapter) => {
    it('serves HTTPS, runs the demo over it, and answers signed requests from a client that trusts the certificate', async () => {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const { sample, logger } = await start(adapter, { TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
      expect(sample.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(sample.demo.signed).toEqual({ status: 201 });
      expect(sample.demo.tampered).toEqual({ status: 401, code: 'invalid_signature' });
      expect(logger.lines.some((l) => l.includes('HTTPS required'))).toBe(true);

      const send = fetchTrusting(readFileSync(cert));
      const orders = new SigningService().withCredentials({ apiKey: sample.demo.apiKey, secret: TEST_SECRET });
      const url = `${sample.url}/invoices/9`;
      const res = await send(url, { headers: orders.sign({ method: 'GET', url }) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ caller: 'orders', id: '9' });
      // A client that does not trust the certificate cannot connect at all.
      await expect(fetch(url)).rejects.toThrow();
    });
  });

  it('warns loudly when it had to generate a throwaway secret, without logging it', async () => {
    const logger = new CapturingLogger();
    const config = loadSampleConfig({ PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'gen.sqlite')}` });
    expect(config.secretGenerated).toBe(true);
    const sample = await createSampleApp(config, { logger });
    running.push(sample);
    expect(sample.demo.signed).toEqual({ status: 201 });
    expect(logger.lines.some((l) => l.startsWith('warn') && l.includes('FOR LOCAL DEVELOPMENT ONLY'))).toBe(true);
    expectNoSecretsLogged(logger, [config.sharedSecret]);
  });
});

describe('loadSampleConfig', () => {
  it('has defaults for everything but the secret', () => {
    const config = loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET });
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 3000,
      httpAdapter: 'express',
      database: { type: 'sqlite', path: '.data/app.sqlite' },
      sharedSecret: TEST_SECRET,
      secretGenerated: false,
      previousSecrets: [],
      secretMode: 'shared',
      schemes: ['v1'],
      rateLimitPerMinute: 600,
      keyCacheTtlMs: undefined,
      redisUrl: undefined,
      tls: undefined,
      requireHttps: false,
      allowedHosts: ['127.0.0.1:3000', 'localhost:3000'],
    });
  });

  it('serves HTTPS when given TLS_CERT_FILE and TLS_KEY_FILE, and then requires it', () => {
    const config = loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' });
    expect(config.tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(config.requireHttps).toBe(true);
    expect(loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, REQUIRE_HTTPS: 'true' }).requireHttps).toBe(true);
    expect(() => loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, TLS_CERT_FILE: 'c.pem' })).toThrow(
      'Invalid configuration: set both TLS_CERT_FILE and TLS_KEY_FILE to serve HTTPS, or neither.',
    );
    expect(() => loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, REQUIRE_HTTPS: 'yes' })).toThrow(
      'Invalid configuration: REQUIRE_HTTPS must be true or false, got "yes".',
    );
  });

  it('reads every variable', () => {
    const config = loadSampleConfig({
      HOST: '0.0.0.0',
      PORT: '8080',
      HTTP_ADAPTER: 'fastify',
      DATABASE_URL: 'mysql://app:p%40ss@db.local:3307/billing',
      API_SHARED_SECRET: ` ${TEST_SECRET} `,
      API_SHARED_SECRET_PREVIOUS: `${'a'.repeat(32)}, ${'b'.repeat(40)}`,
      API_SECRET_MODE: 'derived',
      API_AUTH_SCHEMES: 'v1, rfc9421, v0',
      RATE_LIMIT_PER_MINUTE: '50',
      KEY_CACHE_TTL_MS: '1000',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      httpAdapter: 'fastify',
      database: { type: 'mysql', url: 'mysql://app:p%40ss@db.local:3307/billing' },
      sharedSecret: TEST_SECRET,
      previousSecrets: ['a'.repeat(32), 'b'.repeat(40)],
      secretMode: 'derived',
      schemes: ['v1', 'rfc9421', 'v0'],
      rateLimitPerMinute: 50,
      keyCacheTtlMs: 1000,
    });
    expect(describeDatabase(config.database)).toBe('MySQL/MariaDB db.local:3307/billing');
  });

  it('generates a throwaway secret only in the sample; the module itself still requires one', () => {
    const config = loadSampleConfig({});
    expect(config.secretGenerated).toBe(true);
    expect(config.sharedSecret.length).toBeGreaterThanOrEqual(32);
    expect(loadSampleConfig({}).sharedSecret).not.toBe(config.sharedSecret);
    expect(() => resolveApiKeyAuthOptions({}, {})).toThrow(MissingSecretError);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be an integer from 0 to 65535, got "abc"/],
    [{ PORT: '70000' }, /PORT must be an integer/],
    [{ HTTP_ADAPTER: 'koa' }, /HTTP_ADAPTER must be one of express, fastify, got "koa"/],
    [{ API_SECRET_MODE: 'per-key' }, /API_SECRET_MODE must be shared or derived, got "per-key"/],
    [{ API_AUTH_SCHEMES: 'v1,v2' }, /API_AUTH_SCHEMES must be one of v1, rfc9421, v0, got "v2"/],
    [{ API_AUTH_SCHEMES: ' , ' }, /API_AUTH_SCHEMES must list one or more of v1, rfc9421, v0/],
    [{ RATE_LIMIT_PER_MINUTE: '0' }, /RATE_LIMIT_PER_MINUTE must be an integer at least 1, got "0"/],
    [{ KEY_CACHE_TTL_MS: '-5' }, /KEY_CACHE_TTL_MS must be an integer at least 1/],
    [{ DATABASE_URL: 'mssql://db/x' }, /DATABASE_URL must be sqlite:<file>, mysql:\/\/.* or postgres:\/\//],
    [{ DATABASE_URL: 'mysql://host-only' }, /DATABASE_URL needs a host and a database name/],
    [{ DATABASE_URL: 'sqlite:' }, /DATABASE_URL sqlite:<file> needs a file path/],
    [{ API_SHARED_SECRET: 'too-short-secret' }, /API_SHARED_SECRET must be at least 32 characters \(it has 16\)/],
    [{ API_SHARED_SECRET_PREVIOUS: 'short-previous-secret' }, /API_SHARED_SECRET_PREVIOUS \(entry 1\) must be at least 32/],
  ])('refuses %j with one clear line', (env, message) => {
    const load = () => loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, ...env });
    expect(load).toThrow(SampleConfigError);
    expect(load).toThrow(message);
    try {
      load();
    } catch (error) {
      const text = (error as Error).message;
      expect(text).toMatch(/^Invalid configuration: /);
      expect(text).not.toContain('\n');
      expect(text).not.toContain('too-short-secret');
      expect(text).not.toContain('short-previous-secret');
    }
  });

  it('restricts signed hosts to its own HOST:PORT and localhost:PORT unless ALLOWED_HOSTS says otherwise', () => {
    expect(loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET }).allowedHosts).toEqual(['127.0.0.1:3000', 'localhost:3000']);
    expect(loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, PORT: '0' }).allowedHosts).toEqual(['127.0.0.1', 'localhost']);
    expect(loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, ALLOWED_HOSTS: 'billing.internal, billing:8443' }).allowedHosts).toEqual([
      'billing.internal',
      'billing:8443',
    ]);
    expect(() => loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, ALLOWED_HOSTS: 'http://billing' })).toThrow(
      /option `allowedHosts` has "http:\/\/billing", which is not a host name/,
    );
  });

  it('takes REDIS_URL and refuses one that is not a redis:// URL', () => {
    expect(loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET }).redisUrl).toBeUndefined();
    expect(loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrl).toBe(
      'redis://127.0.0.1:6379',
    );
    expect(() => loadSampleConfig({ API_SHARED_SECRET: TEST_SECRET, REDIS_URL: 'localhost:6379' })).toThrow(
      'Invalid configuration: REDIS_URL must look like redis://[:password@]host:port[/db].',
    );
  });

  it('refuses a previous secret without a current one, and a missing secret in production', () => {
    expect(() => loadSampleConfig({ API_SHARED_SECRET_PREVIOUS: TEST_SECRET })).toThrow(
      /API_SHARED_SECRET_PREVIOUS is set but API_SHARED_SECRET is not/,
    );
    expect(() => loadSampleConfig({ NODE_ENV: 'production' })).toThrow(/API_SHARED_SECRET must be set when NODE_ENV=production/);
  });
});
