import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PreviousSecretWithoutCurrentError } from '../../lib/index.js';
import { TEST_SECRET } from '../support/test-app.js';

/** The short example of `npm start` (sample/), as built by `npm run build`. */
const EXAMPLE_MAIN = resolve('dist/sample/main.js');
const describeBuilt = existsSync(EXAMPLE_MAIN)
  ? describe
  : (name: string, fn: () => void) => describe.skip(`${name} [SKIPPED: ${EXAMPLE_MAIN} is missing: run npm run build]`, fn);

/** Runs the example in `cwd` until its output matches `until` (then stops it) or it exits. */
function runExample(cwd: string, env: Record<string, string>, until: RegExp): Promise<{ output: string; code: number | null }> {
  const child = spawn(process.execPath, [EXAMPLE_MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), fail(new Error(`no ${String(until)} within 30 s:\n${output}`))), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ output, code });
    });
  });
}

describeBuilt('the example of npm start (sample/)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'example-spec-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('with no set-up: SQLite in .data/app.sqlite, a key, one signed call accepted and one tampered call refused', async () => {
    const first = await runExample(dir, {}, /Try it: curl/);
    expect(first.output).toContain('this run uses a random throwaway secret');
    expect(first.output).toMatch(/Created the API key of service "orders": [A-Za-z0-9]{32}/);
    expect(first.output).toMatch(/Signed call: +POST \/invoices -> 201\n/);
    expect(first.output).toMatch(/Tampered call: POST \/invoices, body changed after signing -> 401 invalid_signature\n/);
    expect(existsSync(join(dir, '.data', 'app.sqlite'))).toBe(true);

    // Started again, it reuses its key.
    const second = await runExample(dir, { API_SHARED_SECRET: TEST_SECRET }, /Tampered call/);
    expect(second.output).toMatch(/Reusing the API key of service "orders"/);
    expect(second.output).not.toContain('throwaway');
    expect(second.output).not.toContain(TEST_SECRET);
  });

  it("refuses API_SHARED_SECRET_PREVIOUS without API_SHARED_SECRET, with the module's message", async () => {
    const run = await runExample(dir, { API_SHARED_SECRET_PREVIOUS: TEST_SECRET }, /(?!)/); // (?!): until it exits
    expect(run.code).toBe(1);
    expect(run.output.trim()).toBe(new PreviousSecretWithoutCurrentError().message);
  });
});
