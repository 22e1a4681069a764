import { join } from 'node:path';
import { assertPackageBuilt, describeRun, ROOT, run } from './support/run.js';

// Plain Node loads the built package by its name (self-reference through the
// "exports" map), once with require() and once with import, each in its own
// process: one app, one format. The CommonJS run uses the repository's Nest 12,
// which is ESM, through Node's require(esm); the Nest 11 consumer app of
// consumer.spec.ts runs the same two checks on Nest 11.
const FORMATS = join(ROOT, 'test/consumer/formats');

describe('one build per app: CommonJS and ESM each load alone and keep class identity', () => {
  beforeAll(() => assertPackageBuilt());

  it.each([
    ['CommonJS (require, dist/cjs)', 'check.cjs', 'cjs'],
    ['ESM (import, dist/lib)', 'check.mjs', 'esm'],
  ])(
    '%s: a signed request passes the global guard and @UseGuards(ApiKeyGuard), app filters catch ServiceAuthException, the rate limit counts, on Express and Fastify',
    async (_name, file, label) => {
      const result = await run(process.execPath, [join(FORMATS, file), 'express', 'fastify'], { cwd: FORMATS, timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(describeRun(`node ${file}`, result));
      expect(result.stdout.trim().split('\n')).toEqual([`ok ${label} express`, `ok ${label} fastify`]);
    },
  );

  it("a MemoryThrottlerStorage of the other build still limits: the guard's instanceof misses it and takes the general path", async () => {
    const result = await run(process.execPath, [join(FORMATS, 'check.mjs'), 'express'], {
      cwd: FORMATS,
      env: { FORMAT_CHECK_FOREIGN_THROTTLER: '1' },
      timeoutMs: 60_000,
    });
    if (result.code !== 0) throw new Error(describeRun('node check.mjs (foreign throttler storage)', result));
    expect(result.stdout.trim()).toBe('ok esm express');
  });

  it('negative control: an exception class of the other build is not caught by the app filter, and the check says so', async () => {
    const result = await run(process.execPath, [join(FORMATS, 'check.mjs'), 'express'], {
      cwd: FORMATS,
      env: { FORMAT_CHECK_FOREIGN_EXCEPTION: '1' },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('esm/express: @Catch(ServiceAuthException) in app code');
    expect(result.stdout).toBe('');
  });
});
