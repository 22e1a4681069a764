import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI, as the published `service-auth` bin runs it. */
export const CLI_MAIN = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  /** Exit status (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Environment of the CLI: nothing else is inherited but PATH. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the CLI after this many ms. Default 20 000. */
  timeoutMs?: number;
}

/** Runs `node dist/cli/main.js ...args` as a child process and collects its output. */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const [name, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[name] = value;
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Fails with a clear message when dist/ is missing or older than the sources
 * (`npm test` builds first; a single jest file run does not).
 */
export function assertCliBuilt(): void {
  if (!existsSync(CLI_MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first.');
  for (const dir of ['cli', 'lib']) {
    for (const source of tsFiles(join(ROOT, dir))) {
      const built = join(ROOT, 'dist', relative(ROOT, source)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
        throw new Error(`${relative(ROOT, built)} is older than ${relative(ROOT, source)}: run \`npm run build\` first.`);
      }
    }
  }
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'service-auth-cli-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The usual shape of a failed run: one line on stderr, no stack trace, nothing on stdout. */
export function expectOneLineError(result: CliResult, exitCode: number, message: RegExp | string): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: exitCode, stderr: expect.any(String) });
  const lines = result.stderr.split('\n').filter((line) => line.length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  if (typeof message === 'string') expect(lines[0]).toContain(message);
  else expect(lines[0]).toMatch(message);
  expect(result.stdout).toBe('');
}
