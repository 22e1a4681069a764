// Issue 15: a listener that throws, rejects or is slow changes neither the answer nor its timing;
// its failures are logged, rate-limited.
import type { LoggerService } from '@nestjs/common';
import type { ServiceAuthEvent, ServiceAuthEventListener } from '../../lib/index.js';
import { ServiceAuthObserver } from '../../lib/index.js';
import { expectAuthError, sendSigned, type WireResponse } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

class Lines implements LoggerService {
  readonly lines: string[] = [];
  log = (m: unknown) => void this.lines.push(`[log] ${String(m)}`);
  error = (m: unknown) => void this.lines.push(`[error] ${String(m)}`);
  warn = (m: unknown) => void this.lines.push(`[warn] ${String(m)}`);
  debug = (m: unknown) => void this.lines.push(`[debug] ${String(m)}`);
  verbose = (m: unknown) => void this.lines.push(`[verbose] ${String(m)}`);
  fatal = (m: unknown) => void this.lines.push(`[fatal] ${String(m)}`);
}

/** Generous: far above what one request to a local app takes, far below the slow listener's delay. */
const BOUND_MS = 1_000;
const SLOW_MS = 4_000;

async function timed(send: () => Promise<WireResponse>): Promise<{ res: WireResponse; ms: number }> {
  const start = performance.now();
  const res = await send();
  return { res, ms: performance.now() - start };
}

describe.each(ADAPTERS)('listeners cannot change or delay an answer (%s)', (adapter) => {
  let t: TestApp;
  let logger: Lines;
  let apiKey: string;
  const received: ServiceAuthEvent[] = [];
  const slowDone: ServiceAuthEvent[] = [];
  let timers: NodeJS.Timeout[] = [];

  const throwing: ServiceAuthEventListener = () => {
    throw new Error('listener exploded');
  };
  // Async listeners are allowed (their result is not awaited): these two check that the observer survives them.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  const rejecting: ServiceAuthEventListener = async () => {
    throw new Error('listener rejected');
  };
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  const slow: ServiceAuthEventListener = (event) =>
    new Promise<void>((resolve) => {
      timers.push(setTimeout(() => (slowDone.push(event), resolve()), SLOW_MS));
    });
  const recording: ServiceAuthEventListener = (event) => void received.push(event);

  beforeAll(async () => {
    logger = new Lines();
    t = await createTestApp({
      adapter,
      logger,
      auth: { observability: { metrics: false, onAuthentication: [throwing, slow, rejecting, recording] } },
    });
    ({ apiKey } = await t.keys.create('orders'));
  });

  afterAll(async () => {
    for (const timer of timers) clearTimeout(timer);
    timers = [];
    await t?.close();
  });

  it('an accepted request answers 200 at once, and a refused one its code, with every listener called', async () => {
    const ok = await timed(() => sendSigned(t, { apiKey, secret: TEST_SECRET }));
    expect(ok.res.status).toBe(200);
    expect(ok.ms).toBeLessThan(BOUND_MS);
    const refused = await timed(() => sendSigned(t, { apiKey, secret: 'a-wrong-secret-that-is-long-enough-012345' }));
    expectAuthError(refused.res, 401, 'invalid_signature');
    expect(refused.ms).toBeLessThan(BOUND_MS);
    expect(t.log.calls).toEqual(['get:1']);

    // The listener after the failing ones still got both events; the slow one has not finished.
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((e) => [e.result, e.code])).toEqual([
      ['accepted', undefined],
      ['rejected', 'invalid_signature'],
    ]);
    expect(slowDone).toEqual([]);
    const failures = logger.lines.filter((line) => line.startsWith('[error] An onAuthentication listener failed'));
    expect(failures.sort()).toEqual([
      '[error] An onAuthentication listener failed: Error: listener exploded',
      '[error] An onAuthentication listener failed: Error: listener exploded',
      '[error] An onAuthentication listener failed: Error: listener rejected',
      '[error] An onAuthentication listener failed: Error: listener rejected',
    ]);
  });

  it('a flood of failing listener calls writes a bounded number of log lines', async () => {
    const before = logger.lines.length;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sendSigned(t, { apiKey, secret: TEST_SECRET, target: `/items/${i}` })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    await new Promise((r) => setTimeout(r, 50));
    const failures = logger.lines.slice(before).filter((line) => line.includes('listener failed'));
    // 10 per minute in all; the first test used 4 of them.
    expect(failures).toHaveLength(6);
    expect(received).toHaveLength(32);
  });

  it('a listener added at run time gets later events; removing it stops them', async () => {
    const seen: string[] = [];
    const remove = t.app.get(ServiceAuthObserver).addListener((event) => void seen.push(event.result));
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/50' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    remove();
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET, target: '/items/51' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['accepted']);
  });
});
