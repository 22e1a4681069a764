// Issue 15: one line per refusal, at a configurable level, rate-limited; nothing for accepted requests.
import { jest } from '@jest/globals';
import { Logger, type LoggerService } from '@nestjs/common';
import { InvalidOptionError } from '../../lib/index.js';
import { resolveApiKeyAuthOptions } from '../../lib/api-key-auth-options.factory.js';
import { RateLimitedLog } from '../../lib/observability/rate-limited.log.js';
import { send, sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

class Lines implements LoggerService {
  readonly lines: string[] = [];
  private add =
    (level: string) =>
    (message: unknown, ...params: unknown[]) => {
      const context = params.length > 0 ? ` <${String(params[params.length - 1])}>` : '';
      this.lines.push(`[${level}]${context} ${String(message)}`);
    };
  log = this.add('log');
  error = this.add('error');
  warn = this.add('warn');
  debug = this.add('debug');
  verbose = this.add('verbose');
  fatal = this.add('fatal');
}

const WRONG = 'a-wrong-secret-that-is-long-enough-0123456';
const refusalLines = (logger: Lines) => logger.lines.filter((line) => line.includes('Rejected request from'));

describe.each(ADAPTERS)('the refusal log (%s)', (adapter) => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
  });

  async function app(refusalLog?: { level?: 'warn' | 'debug' | 'log'; maxPerMinute?: number } | false) {
    const logger = new Lines();
    const t = await createTestApp({ adapter, logger, auth: { observability: { metrics: false, refusalLog } } });
    apps.push(t);
    const { apiKey } = await t.keys.create('orders');
    return { t, logger, apiKey };
  }

  it('by default: one debug line per refusal, with code, status, method, path (no query), address and key; none when accepted', async () => {
    const { t, logger, apiKey } = await app();
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
    expect((await sendSigned(t, { apiKey, secret: WRONG, target: '/items/7?token=do-not-log-me' })).status).toBe(401);
    expect((await send(t, { target: '/items/8', headers: { 'x-api-key': 'not a key\u00e9' } })).status).toBe(401);
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, method: 'DELETE', target: '/items/9' })).status).toBe(403);
    expect(refusalLines(logger)).toEqual([
      `[debug] <ServiceAuthenticator> Rejected request from 127.0.0.1: invalid_signature (401), GET /items/7, key ${apiKey}`,
      '[debug] <ServiceAuthenticator> Rejected request from 127.0.0.1: missing_credentials (401), GET /items/8, key -',
      `[debug] <ServiceAuthenticator> Rejected request from 127.0.0.1: service_not_allowed (403), DELETE /items/9, key ${apiKey}, service orders`,
    ]);
    expect(logger.lines.join('\n')).not.toContain('do-not-log-me');
  });

  it('at the level asked for, and at most maxPerMinute lines', async () => {
    const { t, logger, apiKey } = await app({ level: 'warn', maxPerMinute: 3 });
    for (let i = 0; i < 6; i++) expect((await sendSigned(t, { apiKey, secret: WRONG, target: `/items/${i}` })).status).toBe(401);
    expect(refusalLines(logger)).toEqual(
      [0, 1, 2].map(
        (i) => `[warn] <ServiceAuthenticator> Rejected request from 127.0.0.1: invalid_signature (401), GET /items/${i}, key ${apiKey}`,
      ),
    );
  });

  it('refusalLog: false writes none', async () => {
    const { t, logger, apiKey } = await app(false);
    expect((await sendSigned(t, { apiKey, secret: WRONG })).status).toBe(401);
    expect(refusalLines(logger)).toEqual([]);
  });
});

describe('RateLimitedLog', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('writes maxPerMinute lines a minute, then says how many it left out when the minute ends', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const logger = new Lines();
    const log = new RateLimitedLog(logger as unknown as Logger, 'log', 2, 'Refused requests');
    let built = 0;
    for (let i = 0; i < 5; i++) log.write(() => `line ${i} (${++built})`);
    // Lines left out are not even built.
    expect(built).toBe(2);
    expect(logger.lines).toEqual(['[log] line 0 (1)', '[log] line 1 (2)']);
    jest.advanceTimersByTime(59_999);
    expect(logger.lines).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(logger.lines.slice(2)).toEqual(['[log] Refused requests not logged in the last minute: 3 (at most 2 lines a minute).']);
    log.write(() => 'line 5');
    log.write(() => 'line 6');
    log.write(() => 'line 7');
    expect(logger.lines.slice(3)).toEqual(['[log] line 5', '[log] line 6']);
    log.flush();
    expect(logger.lines.slice(5)).toEqual(['[log] Refused requests not logged in the last minute: 1 (at most 2 lines a minute).']);
  });
});

describe('observability options', () => {
  const base = { secrets: [TEST_SECRET] };
  it.each([
    [{ metrics: 'yes' }, /observability\.metrics` must be true, false or \{ meterProvider \}/],
    [{ metrics: { meterProvider: {} } }, /observability\.metrics\.meterProvider` must be an OpenTelemetry MeterProvider/],
    [{ onAuthentication: 'log' }, /observability\.onAuthentication` must be a function/],
    [{ onAuthentication: [() => undefined, 42] }, /observability\.onAuthentication` must be a function/],
    [
      { refusalLog: { level: 'loud' } },
      /observability\.refusalLog\.level` must be one of verbose, debug, log, warn, error, fatal, got "loud"/,
    ],
    [{ refusalLog: { maxPerMinute: 0 } }, /observability\.refusalLog\.maxPerMinute` must be a positive integer, got 0/],
  ])('refuses %j', (observability, message) => {
    const resolve = () => resolveApiKeyAuthOptions({ ...base, observability: observability as never });
    expect(resolve).toThrow(InvalidOptionError);
    expect(resolve).toThrow(message);
  });

  it('defaults: metrics where available, no listener, refusals at debug, 60 a minute', () => {
    expect(resolveApiKeyAuthOptions(base).observability).toEqual({
      metrics: 'auto',
      listeners: [],
      refusalLog: { level: 'debug', maxPerMinute: 60 },
    });
  });
});
