import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the package being tested). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RunResult {
  /** Exit status; null when killed (see `timedOut`). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Wall time in ms. */
  ms: number;
}

export interface RunOptions {
  cwd: string;
  /**
   * Added to the inherited environment; `undefined` removes a variable.
   * NODE_OPTIONS is not inherited (jest's --experimental-vm-modules is for jest alone).
   */
  env?: Record<string, string | undefined>;
  /** Kill the process tree after this many ms. */
  timeoutMs: number;
}

/** Runs a command (no shell) and collects its output; never rejects for a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child.pid);
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** Kills a process started by `run` and everything it started (it leads its own process group). */
export function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A failed step's output, cut to what a reader needs. */
export function describeRun(what: string, result: RunResult): string {
  const tail = (text: string) => text.trim().split('\n').slice(-40).join('\n');
  return (
    `${what} ${result.timedOut ? 'timed out' : `exited with ${result.code}`} after ${Math.round(result.ms / 1000)} s\n` +
    `--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`
  );
}

/**
 * Fails with a clear message when a build of lib/ is missing or older than the
 * sources (`npm test` builds first; a single jest file run does not).
 */
export function assertPackageBuilt(): void {
  const builds = [
    { name: 'the ESM build', dir: join(ROOT, 'dist/lib') },
    { name: 'the CommonJS build', dir: join(ROOT, 'dist/cjs') },
  ];
  for (const source of tsFiles(join(ROOT, 'lib'))) {
    for (const build of builds) {
      const built = join(build.dir, relative(join(ROOT, 'lib'), source)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
        throw new Error(`${build.name} is missing or older than ${relative(ROOT, source)}: run \`npm run build\` first.`);
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
