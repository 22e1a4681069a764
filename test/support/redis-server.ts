import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { Redis } from 'ioredis';

/** Whether a `redis-server` binary is on the PATH (for suites that start their own). */
export function hasRedisServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A private redis-server on 127.0.0.1 that a test may kill, pause and start
 * again on the same port, to simulate outages without touching the shared one.
 */
export class DisposableRedis {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly args: string[],
    private readonly nextSecond: boolean,
  ) {}

  /**
   * @param args more `redis-server` arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`.
   * @param options.nextSecond wait for the next second after each start (see `start()`); default true.
   */
  static async start(args: string[] = [], options: { nextSecond?: boolean } = {}): Promise<DisposableRedis> {
    const redis = new DisposableRedis(await freePort(), args, options.nextSecond ?? true);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts the server and returns once it answers and a new second has begun:
   * the Redis store refuses requests signed in the second its Redis started
   * (they may predate it), so a test's first request is not one of them.
   */
  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', ...this.args],
      { stdio: 'ignore' },
    );
    await waitForRedis(this.url);
    if (this.nextSecond) await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000) + 20));
  }

  /** Kills the server (an outage); `start()` brings it back on the same port, empty. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Freezes the server: connections stay open but nothing answers. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
  }

  /** Runs one command on a connection of its own, e.g. `command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru')`. */
  async command(...args: string[]): Promise<unknown> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      return await client.call(args[0], ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }
}

/** Resolves once a Redis answers PING at `url` (within 10 s). */
export async function waitForRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const deadline = Date.now() + 10_000;
  // A raw socket until the port is open: an ioredis client whose first connection failed keeps the process alive.
  while (!(await portOpen(hostname, Number(port)))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on ${hostname}:${port} after 10 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
  probe.on('error', () => {});
  try {
    for (;;) {
      try {
        await probe.ping();
        return;
      } catch (error) {
        // LOADING, or not connected yet.
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  } finally {
    probe.disconnect();
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `describe` for suites that start their own redis-server; skipped, with the reason in its name, without one. */
export const describeWithRedisServer: jest.Describe = hasRedisServer()
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} [SKIPPED: redis-server is not installed (apt-get install redis-server)]`, fn)) as jest.Describe);
