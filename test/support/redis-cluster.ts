import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, hasRedisServer, waitForRedis } from './redis-server.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasRedisCli(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-cli'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `describe` for suites that start a cluster; skipped, with the reason in its name, without redis-server or redis-cli. */
export const describeWithRedisCluster: jest.Describe =
  hasRedisServer() && hasRedisCli()
    ? describe
    : (((name: string, fn: () => void) =>
        describe.skip(`${name} [SKIPPED: needs redis-server and redis-cli 7 (apt-get install redis-server)]`, fn)) as jest.Describe);

/** One redis-server of the cluster. */
class ClusterNodeProcess {
  process: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly busPort: number,
    private readonly dir: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(this.busPort),
        '--cluster-config-file',
        `nodes-${this.port}.conf`,
        '--cluster-node-timeout',
        String(this.nodeTimeoutMs),
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        // The slots of a failed master are refused, the others still served.
        '--cluster-require-full-coverage',
        'no',
        // Replicas sync at once (the default waits 5 s for more replicas to share one transfer).
        '--repl-diskless-sync-delay',
        '0',
        // A replica is listed in CLUSTER SLOTS once its master pinged it (every 10 s by default).
        '--repl-ping-replica-period',
        '1',
      ],
      { stdio: 'ignore' },
    );
    await waitForRedis(this.url);
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/**
 * A Redis Cluster of `masters` masters with `replicas` replicas each, on free
 * loopback ports, made for one test file and removed by `stop()`. It needs
 * `redis-server` and `redis-cli` (Redis 7: `--cluster-port`).
 */
export class DisposableRedisCluster {
  private constructor(
    readonly nodes: ClusterNodeProcess[],
    private readonly dir: string,
  ) {}

  static async start(options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<DisposableRedisCluster> {
    const { masters = 3, replicas = 1, nodeTimeoutMs = 1_000 } = options;
    const dir = mkdtempSync(join(tmpdir(), 'service-auth-cluster-'));
    const ports = new Set<number>();
    while (ports.size < masters * (1 + replicas) * 2) ports.add(await freePort());
    const list = [...ports];
    const nodes = Array.from(
      { length: masters * (1 + replicas) },
      (_, i) => new ClusterNodeProcess(list[2 * i], list[2 * i + 1], dir, nodeTimeoutMs),
    );
    const cluster = new DisposableRedisCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((node) => node.start()));
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await cluster.waitUntil(() => cluster.settled(masters, replicas), 20_000);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Where a client starts: every node. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  node(port: number): ClusterNodeProcess {
    const found = this.nodes.find((node) => node.port === port);
    if (!found) throw new Error(`no cluster node on port ${port}`);
    return found;
  }

  /** Runs one command on the node at `port`, on a connection of its own. */
  async command(port: number, ...args: (string | number)[]): Promise<unknown> {
    const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    client.on('error', () => {});
    try {
      return await client.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      client.disconnect();
    }
  }

  /** Ports of the masters that hold slots, as a live node sees them. */
  async masterPorts(): Promise<number[]> {
    const slots = (await this.fromLiveNode('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return [...new Set(slots.map((range) => range[2][1]))].sort();
  }

  /** Port of the master that holds `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const slot = (await this.fromLiveNode('CLUSTER', 'KEYSLOT', key)) as number;
    const slots = (await this.fromLiveNode('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`slot ${slot} is not served`);
    return range[2][1];
  }

  async waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`the Redis cluster did not settle within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private live(): ClusterNodeProcess[] {
    return this.nodes.filter((node) => node.process && node.process.exitCode === null && node.process.signalCode === null);
  }

  private async fromLiveNode(...args: (string | number)[]): Promise<unknown> {
    return this.command(this.live()[0].port, ...args);
  }

  /** Every node sees every master with its replicas, and every replica is in sync with its master. */
  private async settled(masters: number, replicas: number): Promise<boolean> {
    for (const node of this.live()) {
      const [info, slots, replication] = await Promise.all([
        this.command(node.port, 'CLUSTER', 'INFO') as Promise<string>,
        this.command(node.port, 'CLUSTER', 'SLOTS') as Promise<unknown[][]>,
        this.command(node.port, 'INFO', 'replication') as Promise<string>,
      ]);
      if (!info.includes('cluster_state:ok')) return false;
      if (new Set(slots.map((range) => (range[2] as unknown[])[1])).size !== masters) return false;
      if (!slots.every((range) => range.length === 3 + replicas)) return false;
      if (!replication.includes('role:master') && !replication.includes('master_link_status:up')) return false;
    }
    return true;
  }
}
