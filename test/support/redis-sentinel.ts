import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForRedis } from './redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A master, one replica and one Sentinel (quorum 1) on free loopback ports,
 * for one test file: killing the master makes the Sentinel promote the
 * replica within a few seconds.
 */
export class DisposableSentinelGroup {
  readonly name = 'service-auth-test';
  private readonly processes = new Map<number, ChildProcess>();

  private constructor(
    readonly masterPort: number,
    readonly replicaPort: number,
    readonly sentinelPort: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<DisposableSentinelGroup> {
    const [m, r, s] = [await freePort(), await freePort(), await freePort()];
    const group = new DisposableSentinelGroup(m, r, s, mkdtempSync(join(tmpdir(), 'service-auth-sentinel-')));
    try {
      await group.startServer(m, []);
      await group.startServer(r, ['--replicaof', '127.0.0.1', String(m)]);
      await group.waitUntil(async () => ((await group.command(r, 'INFO', 'replication')) as string).includes('master_link_status:up'));
      const config = join(group.dir, 'sentinel.conf');
      writeFileSync(
        config,
        [
          `port ${s}`,
          'bind 127.0.0.1',
          `dir ${group.dir}`,
          `sentinel monitor ${group.name} 127.0.0.1 ${m} 1`,
          `sentinel down-after-milliseconds ${group.name} 1500`,
          `sentinel failover-timeout ${group.name} 2000`,
          '',
        ].join('\n'),
      );
      group.spawn(s, [config, '--sentinel']);
      await waitForRedis(`redis://127.0.0.1:${s}`);
      await group.waitUntil(async () => {
        const replicas = (await group.command(s, 'SENTINEL', 'REPLICAS', group.name)) as string[][];
        return replicas.some((fields) => fields.includes(String(r)));
      });
    } catch (error) {
      await group.stop();
      throw error;
    }
    return group;
  }

  get sentinels(): { host: string; port: number }[] {
    return [{ host: '127.0.0.1', port: this.sentinelPort }];
  }

  /** The port of the master, as the Sentinel tells it. */
  async currentMasterPort(): Promise<number> {
    const [, port] = (await this.command(this.sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as string[];
    return Number(port);
  }

  /** Runs one command on the server at `port`, on a connection of its own. */
  async command(port: number, ...args: string[]): Promise<unknown> {
    const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    client.on('error', () => {});
    try {
      return await client.call(args[0], ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }

  async kill(port: number): Promise<void> {
    const child = this.processes.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async waitUntil(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`the Sentinel group did not settle within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((port) => this.kill(port)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async startServer(port: number, args: string[]): Promise<void> {
    this.spawn(port, [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--repl-diskless-sync-delay',
      '0',
      ...args,
    ]);
    await waitForRedis(`redis://127.0.0.1:${port}`);
  }

  private spawn(port: number, args: string[]): void {
    this.processes.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
  }
}
