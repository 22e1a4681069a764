import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

// eslint-disable-next-line no-control-regex -- the ESC of ANSI colour codes, which the output is stripped of
const ANSI = /\x1b\[[0-9;]*m/g;

/** The sample harness (test/support/sample-harness), as `npm run build` builds it. */
export const SAMPLE_MAIN = 'dist/test/support/sample-harness/main.js';

/** Whether the harness was built (`npm test` builds it first). */
export const sampleBuilt = (): boolean => existsSync(SAMPLE_MAIN);

/**
 * The sample harness (or another built app given as `main`, which logs
 * `Listening on <url>` too) running as a separate process on 127.0.0.1
 * (PORT=0: a free port).
 */
export class SampleProcess {
  readonly output: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  get host(): string {
    return new URL(this.url).host;
  }

  static async start(env: Record<string, string>, timeoutMs = 30_000, main = SAMPLE_MAIN): Promise<SampleProcess> {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`sample did not start within ${timeoutMs} ms:\n${output.join('')}`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString().replace(ANSI, ''));
        const match = /Listening on (http:\/\/[^\s)]+)/.exec(output.join(''));
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => fail(new Error(`sample exited with ${code}:\n${output.join('')}`)));
    });
    const sample = new SampleProcess(child, url);
    sample.output.push(...output);
    child.stdout.on('data', (chunk: Buffer) => sample.output.push(chunk.toString().replace(ANSI, '')));
    child.stderr.on('data', (chunk: Buffer) => sample.output.push(chunk.toString().replace(ANSI, '')));
    return sample;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}
