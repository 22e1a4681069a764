import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { extractSnippets } from '../consumer/support/readme-snippets.js';
import type { SampleProcess } from '../support/sample-process.js';
import { expectAuthError, expectRetryAfter, send } from '../support/signed-request.js';
import { ADAPTERS } from '../support/test-app.js';
import { describeWithThrottlerApp, KeyTable, signedRequest, startThrottlerApp, statuses, target, times } from './throttler-support.js';

// The README's @nestjs/throttler example, run as it is written: its two
// files are compiled as they stand, placed inside this package (so that
// `nestjs-service-auth` resolves to its own build, dist/), and started with
// a main of ours on each adapter.
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const FILES = ['src/throttled/app.module.ts', 'src/throttled/reports.controller.ts'];
const OUT = 'dist/test/readme-throttled';

const MAIN = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
const adapter = process.env.HTTP_ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(AppModule, adapter, { rawBody: true, logger: ['error'] });
await app.listen(0, '127.0.0.1');
console.log('Guards: ' + app.config.getGlobalGuards().map((guard) => guard.constructor.name).join(', '));
console.log('Listening on ' + (await app.getUrl()));
`;

function writeExample(): void {
  const { snippets } = extractSnippets(README);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const file of FILES) {
    const snippet = snippets.find((candidate) => candidate.file === file);
    if (!snippet) throw new Error(`README.md has no block starting with // ${file}`);
    const { outputText, diagnostics } = ts.transpileModule(snippet.code, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        verbatimModuleSyntax: false,
      },
    });
    expect(diagnostics ?? []).toEqual([]);
    writeFileSync(join(OUT, file.split('/').pop()!.replace(/\.ts$/, '.js')), outputText);
  }
  writeFileSync(join(OUT, 'main.js'), MAIN);
}

describeWithThrottlerApp('README, Rate limiting: the @nestjs/throttler example', () => {
  let keys: KeyTable;
  const apps = new Map<string, SampleProcess>();

  beforeAll(async () => {
    writeExample();
    keys = await KeyTable.create();
    await Promise.all(
      ADAPTERS.map(async (adapter) => {
        apps.set(adapter, await startThrottlerApp({ HTTP_ADAPTER: adapter, SQLITE_PATH: keys.path }, join(OUT, 'main.js')));
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...apps.values()].map((app) => app.stop()));
    await keys?.close();
  });

  describe.each(ADAPTERS)('%s', (adapter) => {
    const app = () => apps.get(adapter)!;

    it("runs the app module's APP_GUARD before the module's own ApiKeyGuard, as the README says", () => {
      expect(app().output.join('')).toContain('Guards: ServiceAuthThrottlerGuard, ApiKeyGuard\n');
    });

    it("counts per key: @Throttle()'s 3 per minute on /reports/export for each of two keys, then 429 rate_limited", async () => {
      const a = await keys.newKey('reporting');
      const b = await keys.newKey('billing');
      expect(await statuses(app(), a, '/reports/export', 4)).toEqual([...times(3, 200), 429]);
      const over = await signedRequest(app(), a, '/reports/export').send();
      expectAuthError(over, 429, 'rate_limited');
      expectRetryAfter(over, 60);
      expect(await statuses(app(), b, '/reports/export', 4)).toEqual([...times(3, 200), 429]);
      const ok = await signedRequest(app(), b, '/reports').send();
      expect({ status: ok.status, body: ok.json }).toEqual({ status: 200, body: { caller: 'billing' } });
    });

    it("@SkipThrottle() is still authenticated; @Public() is not; a key's own limit replaces the default throttler's", async () => {
      expectAuthError(await send(target(app()), { target: '/reports/status' }), 401, 'missing_credentials');
      expect((await send(target(app()), { target: '/reports/ping' })).status).toBe(200);
      const apiKey = await keys.newKey('reporting', { limit: 2, ttlMs: 60_000 });
      expect(await statuses(app(), apiKey, '/reports/status', 5)).toEqual(times(5, 200));
      expect(await statuses(app(), apiKey, '/reports', 3)).toEqual([200, 200, 429]);
    });
  });
});
