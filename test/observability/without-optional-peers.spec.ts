// Issue 15: the integrations are optional peers. The main entry, both builds, loads and authenticates in an app
// where @opentelemetry/api, @nestjs/terminus and @nestjs/swagger cannot be resolved; asking for metrics
// explicitly there is a startup error that says what to install.
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertCliBuilt } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/observability/fixtures');

function runPlainApp(entry: string, observability: unknown, deny: boolean): Promise<Record<string, unknown>> {
  const flags = deny ? ['--import', join(FIXTURES, 'deny-optional-peers.mjs')] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, join(FIXTURES, 'plain-app.mjs')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ENTRY: entry, OBSERVABILITY: JSON.stringify(observability) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, ...JSON.parse(stdout.trim().split('\n').pop() ?? '') });
      } catch {
        reject(new Error(`exit ${code}, stdout ${stdout}, stderr ${stderr}`));
      }
    });
  });
}

jest.setTimeout(60_000);

describe.each(['dist/lib/index.js', 'dist/cjs/index.js'])('%s in an app without the optional integrations', (entry) => {
  beforeAll(() => assertCliBuilt());

  it('loads, accepts a signed request and refuses a forged one (metrics left to their default)', async () => {
    expect(await runPlainApp(entry, {}, true)).toEqual({ code: 0, otelLoadable: false, accepted: 200, refused: 401 });
  });

  it('observability.metrics: true refuses to start, saying what to install', async () => {
    const run = await runPlainApp(entry, { metrics: true }, true);
    expect(run).toEqual({
      code: 0,
      otelLoadable: false,
      startupError: expect.stringMatching(/^OpenTelemetryApiMissingError: .*npm install @opentelemetry\/api/),
    });
  });

  it('the same app with the package installed starts with metrics: true (the denial above is real)', async () => {
    expect(await runPlainApp(entry, { metrics: true }, false)).toEqual({ code: 0, otelLoadable: true, accepted: 200, refused: 401 });
  });
});
