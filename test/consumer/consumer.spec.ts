import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  AppProcess,
  assertInstalled,
  betterSqlitePrebuilds,
  installApp,
  packPackage,
  registryProblem,
  type ConsumerApp,
} from './support/consumer-apps.js';
import { extractSnippets, toReadmeLines } from './support/readme-snippets.js';
import { assertPackageBuilt, describeRun, ROOT, run } from './support/run.js';

// The package as a user meets it: `npm pack`, then throwaway apps made from
// the templates under test/consumer/templates, each installed from the npm
// registry with its lock file (`npm ci`) plus the tarball (`npm install`),
// built and run:
//   nest12-esm  Nest 12, ESM, vitest (`nest new` for Nest 12): e2e on Express
//               and Fastify; the README's TypeScript blocks compile in it;
//               the CLI run from its folder with the README's commands.
//   client      a signing-only Nest 12 app calling nest12-esm through
//               ServiceAuthClientModule, with no TypeORM installed.
//   nest11-cjs  Nest 11, CommonJS, jest (`nest new` for Nest 11): installed
//               without --legacy-peer-deps, jest e2e on Express, and the
//               CommonJS and ESM format checks on Nest 11.
// Skipped, saying why, when the registry is unreachable or CONSUMER_TEST=0.
const SECRET = 'consumer-shared-secret-0123456789abcdefghij';
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
const CLIENT_ENTRY = './client';

const skipReason = process.env.CONSUMER_TEST === '0' ? 'CONSUMER_TEST=0' : await registryProblem();
const describeConsumers = skipReason ? describe.skip : describe;
const clientExported = CLIENT_ENTRY in PACKAGE.exports;
const itWithClient = clientExported ? it : it.skip;
const clientSkip = clientExported ? '' : ` [SKIPPED: the packed package has no "${CLIENT_ENTRY}" export]`;

const STEP_MS = 180_000;

describeConsumers(`consumer apps from the packed tarball${skipReason ? ` [SKIPPED: ${skipReason}]` : ''}`, () => {
  let scratch: string;
  const apps: Record<string, ConsumerApp> = {};
  const builds: Record<string, Promise<void>> = {};
  const started = Date.now();
  const timings: string[] = [];

  beforeAll(async () => {
    assertPackageBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'service-auth-consumer-'));
    const [tarball, prebuilds] = await Promise.all([packPackage(scratch), betterSqlitePrebuilds(join(scratch, 'prebuilds'))]);
    const names = ['nest12-esm', 'nest11-cjs', ...(clientExported ? ['client'] : [])];
    const installs = names.map(async (name) => {
      const app = await installApp(name, scratch, tarball, prebuilds);
      apps[name] = app;
      timings.push(`${name}: npm ci ${seconds(app.ci.ms)}, npm install <tarball> ${seconds(app.install?.ms)}`);
      return app;
    });
    // Each app's build starts when its own install is done; the tests await their app's build.
    names.forEach((name, i) => {
      builds[name] = installs[i].then(async (app) => {
        assertInstalled(app);
        const build = await run('npm', ['run', 'build'], { cwd: app.dir, timeoutMs: 120_000 });
        timings.push(`${name}: build ${seconds(build.ms)}`);
        if (build.code !== 0) throw new Error(describeRun(`npm run build in ${name}`, build));
      });
      builds[name].catch(() => undefined);
    });
    await Promise.all(installs);
  }, 420_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    console.log(`consumer test: ${seconds(Date.now() - started)} in all (${timings.join('; ')})`);
  });

  describe('Nest 12, ESM, vitest', () => {
    it(
      'installs the tarball, builds, and its vitest e2e accepts signed requests on Express and Fastify',
      async () => {
        await builds['nest12-esm'];
        const e2e = await run('npx', ['vitest', 'run', '--config', './vitest.config.e2e.ts'], {
          cwd: apps['nest12-esm'].dir,
          env: { CI: '1', NO_COLOR: '1' },
          timeoutMs: 120_000,
        });
        if (e2e.code !== 0) throw new Error(describeRun('vitest e2e (nest12-esm)', e2e));
        expect(e2e.stdout).toMatch(/Tests\s+4 passed \(4\)/);
      },
      STEP_MS,
    );

    it(
      'compiles every TypeScript block of the README in strict mode',
      async () => {
        await builds['nest12-esm'];
        const { snippets, skipped } = extractSnippets(README);
        const dir = join(apps['nest12-esm'].dir, 'readme-check');
        for (const snippet of snippets) {
          mkdirSync(dirname(join(dir, snippet.file)), { recursive: true });
          writeFileSync(join(dir, snippet.file), snippet.code);
        }
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            extends: '../tsconfig.json',
            compilerOptions: { noEmit: true, strict: true, moduleDetection: 'force', rootDir: '.', types: ['node'], incremental: false },
            include: ['**/*.ts'],
          }),
        );
        const tsc = await run('npx', ['tsc', '-p', 'readme-check/tsconfig.json', '--pretty', 'false'], {
          cwd: apps['nest12-esm'].dir,
          timeoutMs: 120_000,
        });
        const where = snippets.map((snippet) => `  README.md:${snippet.line} -> ${snippet.file}`).join('\n');
        const skips = skipped.map((skip) => `  README.md:${skip.line} skipped: ${skip.reason}`).join('\n');
        if (tsc.code !== 0) {
          throw new Error(`README snippets do not compile:\n${toReadmeLines(tsc.stdout + tsc.stderr, snippets)}\n${where}\n${skips}`);
        }
        expect(snippets.length).toBeGreaterThanOrEqual(5);
      },
      STEP_MS,
    );
  });

  describe("the built Nest 12 app with the README's CLI commands and a signing-only client", () => {
    const servers: Record<string, AppProcess> = {};
    let apiKey: string | undefined;
    const cli = (args: string[], env: Record<string, string> = {}) =>
      run('npx', ['service-auth', ...args], {
        cwd: apps['nest12-esm'].dir,
        env: { API_SHARED_SECRET: SECRET, DATABASE_URL: 'sqlite:.data/app.sqlite', SQLITE_PATH: undefined, ...env },
        timeoutMs: 60_000,
      });

    afterAll(() => {
      for (const server of Object.values(servers)) server.stop();
    });

    it('the README states the commands this test runs', () => {
      for (const command of [
        'export DATABASE_URL=sqlite:.data/app.sqlite',
        'npx service-auth migrate',
        'npx service-auth keys create --service orders',
        'npm run build && npm run start:prod',
        'SERVICE_AUTH_SECRET=$API_SHARED_SECRET npx service-auth request GET http://127.0.0.1:3000/invoices/42 --key',
      ]) {
        expect([command, README.includes(command)]).toEqual([command, true]);
      }
    });

    it(
      'CLI from the app folder: migrate, keys create, then request is accepted by the app on Express and on Fastify',
      async () => {
        await builds['nest12-esm'];
        const migrate = await cli(['migrate']);
        if (migrate.code !== 0) throw new Error(describeRun('service-auth migrate', migrate));
        expect(migrate.stdout).toContain('applied CreateApiKeysTable');
        const created = await cli(['keys', 'create', '--service', 'orders']);
        if (created.code !== 0) throw new Error(describeRun('service-auth keys create', created));
        apiKey = /API key:\s+([A-Za-z0-9]{32,128})\b/.exec(created.stdout)?.[1];
        expect(apiKey).toBeDefined();

        for (const adapter of ['express', 'fastify']) {
          servers[adapter] = await AppProcess.start(apps['nest12-esm'].dir, { ADAPTER: adapter, PORT: '0', API_SHARED_SECRET: SECRET });
          const url = `${servers[adapter].url}/invoices/42`;
          const accepted = await cli(['request', 'GET', url, '--key', apiKey!], { SERVICE_AUTH_SECRET: SECRET });
          if (accepted.code !== 0) throw new Error(describeRun(`service-auth request (${adapter})`, accepted));
          expect(accepted.stdout).toContain('"caller":"orders"');
          const wrongSecret = await cli(['request', 'GET', url, '--key', apiKey!], { SERVICE_AUTH_SECRET: `${SECRET}-not-it` });
          expect([adapter, wrongSecret.code, wrongSecret.stdout.includes('invalid_signature')]).toEqual([adapter, 1, true]);
        }
      },
      STEP_MS,
    );

    itWithClient(
      `signing-only client (ServiceAuthClientModule, no TypeORM installed) calls the app on Express and on Fastify${clientSkip}`,
      async () => {
        await builds.client;
        expect(existsSync(join(apps.client.dir, 'node_modules/typeorm'))).toBe(false);
        expect(apiKey).toBeDefined();
        for (const adapter of ['express', 'fastify']) {
          const call = await run('npm', ['run', '--silent', 'start:prod'], {
            cwd: apps.client.dir,
            env: { INVOICES_URL: servers[adapter].url, SERVICE_API_KEY: apiKey!, SERVICE_API_SECRET: SECRET },
            timeoutMs: 60_000,
          });
          if (call.code !== 0) throw new Error(describeRun(`client -> ${adapter}`, call));
          expect(JSON.parse(call.stdout.trim().split('\n').pop()!)).toEqual({ status: 200, body: { id: '42', caller: 'orders' } });
        }
      },
      STEP_MS,
    );
  });

  describe('Nest 11, CommonJS, jest', () => {
    it('installs the tarball without --legacy-peer-deps (peer ranges accept Nest 11 and TypeORM 0.3)', () => {
      assertInstalled(apps['nest11-cjs']);
      const output = apps['nest11-cjs'].install!.stdout + apps['nest11-cjs'].install!.stderr;
      expect(output).not.toMatch(/ERESOLVE|legacy-peer-deps|peer dep/i);
      const installed = (name: string) =>
        (JSON.parse(readFileSync(join(apps['nest11-cjs'].dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
          .version;
      expect(installed('@nestjs/core')).toMatch(/^11\./);
      expect(installed('typeorm')).toMatch(/^0\.3\./);
    });

    it(
      'builds, and its jest e2e loads the CommonJS build and accepts a signed request on Express',
      async () => {
        await builds['nest11-cjs'];
        const e2e = await run('npx', ['jest', '--config', './test/jest-e2e.json'], {
          cwd: apps['nest11-cjs'].dir,
          env: { CI: '1' },
          timeoutMs: 120_000,
        });
        if (e2e.code !== 0) throw new Error(describeRun('jest e2e (nest11-cjs)', e2e));
        expect(e2e.stderr).toMatch(/Tests:\s+3 passed, 3 total/);
      },
      STEP_MS,
    );

    it(
      'CommonJS and ESM format checks pass on Nest 11 (global guard plus @UseGuards, app exception filter)',
      async () => {
        assertInstalled(apps['nest11-cjs']);
        const dir = join(apps['nest11-cjs'].dir, 'format-check');
        cpSync(join(ROOT, 'test/consumer/formats'), dir, { recursive: true });
        for (const [file, label] of [
          ['check.cjs', 'cjs'],
          ['check.mjs', 'esm'],
        ]) {
          const check = await run(process.execPath, [file, 'express'], { cwd: dir, timeoutMs: 60_000 });
          if (check.code !== 0) throw new Error(describeRun(`node ${file} (Nest 11)`, check));
          expect(check.stdout.trim()).toBe(`ok ${label} express`);
        }
      },
      STEP_MS,
    );
  });
});

if (skipReason) {
  // jest prints neither the names nor the console output of a suite whose tests are all skipped: say why on stderr.
  process.stderr.write(`consumer apps from the packed tarball: SKIPPED (${skipReason})\n`);
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? 'not run' : `${Math.round(ms / 1000)} s`;
}
if (!skipReason && !clientExported) {
  process.stderr.write(`consumer apps: the signing-only client SKIPPED (the packed package has no "${CLIENT_ENTRY}" export)\n`);
}
