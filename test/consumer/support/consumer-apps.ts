import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeRun, killTree, ROOT, run, type RunResult } from './run.js';

/** The checked-in consumer apps, each with its own package.json and package-lock.json. */
export const TEMPLATES = join(ROOT, 'test/consumer/templates');

const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline'];

/** Whether the npm registry answers, within `timeoutMs`; the reason when it does not. */
export async function registryProblem(timeoutMs = 15_000): Promise<string | undefined> {
  try {
    const result = await run('npm', ['ping'], { cwd: ROOT, timeoutMs });
    if (result.code === 0) return undefined;
    const reason = result.timedOut ? `no answer within ${timeoutMs / 1000} s` : lastLine(result.stderr) || `exit ${result.code}`;
    return `npm registry unreachable (npm ping: ${reason})`;
  } catch (error) {
    return `npm not available (${(error as Error).message})`;
  }
}

/** `npm pack` of the repository (already built) into `dir`; returns the tarball's path. */
export async function packPackage(dir: string): Promise<string> {
  const result = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(describeRun('npm pack', result));
  const [{ filename }] = JSON.parse(result.stdout) as [{ filename: string }];
  return join(dir, filename);
}

/**
 * A local prebuilt binary of better-sqlite3, from the repository's own
 * install, in the layout prebuild-install looks for under
 * `npm_config_better_sqlite3_local_prebuilds`. Installs of the same version
 * on the same Node ABI then unpack it instead of compiling SQLite (about a
 * minute and a half of CPU each); any other version still compiles as usual.
 */
export async function betterSqlitePrebuilds(dir: string): Promise<string | undefined> {
  const packageDir = join(ROOT, 'node_modules/better-sqlite3');
  if (!existsSync(join(packageDir, 'build/Release/better_sqlite3.node'))) return undefined;
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(dir, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const result = await run('tar', ['czf', join(dir, name), '-C', packageDir, 'build/Release/better_sqlite3.node'], {
    cwd: dir,
    timeoutMs: 30_000,
  });
  return result.code === 0 ? dir : undefined;
}

/** One consumer app copied from its template into the scratch folder, and what installing it printed. */
export interface ConsumerApp {
  name: string;
  dir: string;
  ci: RunResult;
  /** `npm install <tarball>`: undefined when `npm ci` failed. */
  install?: RunResult;
}

/**
 * Copies a template, installs its locked dependencies with `npm ci`, then the
 * tarball with a plain `npm install` (as a user adds the package: peer ranges
 * are checked, no --legacy-peer-deps).
 */
export async function installApp(name: string, scratch: string, tarball: string, prebuilds?: string): Promise<ConsumerApp> {
  const dir = join(scratch, name);
  cpSync(join(TEMPLATES, name), dir, { recursive: true, filter: (path) => !/[\\/](node_modules|dist)$/.test(path) });
  const env = prebuilds ? { npm_config_better_sqlite3_local_prebuilds: prebuilds } : {};
  const ci = await run('npm', ['ci', ...NPM_FLAGS], { cwd: dir, env, timeoutMs: 300_000 });
  if (ci.code !== 0) return { name, dir, ci };
  const install = await run('npm', ['install', ...NPM_FLAGS, tarball], { cwd: dir, env, timeoutMs: 120_000 });
  return { name, dir, ci, install };
}

/** Throws with the output of the first failed install step. */
export function assertInstalled(app: ConsumerApp): void {
  if (app.ci.code !== 0) throw new Error(describeRun(`npm ci in ${app.name}`, app.ci));
  if (!app.install || app.install.code !== 0) throw new Error(describeRun(`npm install <tarball> in ${app.name}`, app.install!));
}

/** A built consumer app running as its own process until `stop()`. */
export class AppProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly output: string[],
  ) {}

  /** Starts `npm run start:prod` in `dir` and waits for its "listening on <url>" line. */
  static start(dir: string, env: Record<string, string>, timeoutMs = 30_000): Promise<AppProcess> {
    const child = spawn('npm', ['run', 'start:prod'], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const output: string[] = [];
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        killTree(child.pid);
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`the app did not start within ${timeoutMs} ms:\n${output.join('')}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString());
        const match = /listening on (http:\/\/\S+)/.exec(output.join(''));
        if (match) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve(new AppProcess(child, match[1].replace('[::1]', '127.0.0.1'), output));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => fail(new Error(`the app exited with ${code}:\n${output.join('')}`)));
    });
  }

  stop(): void {
    killTree(this.child.pid);
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
