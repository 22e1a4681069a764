import type { Socket } from 'node:net';
import { Cluster, type Redis } from 'ioredis';
import { RedisClusterOfflineQueueError, RedisEvictionPolicyError, RedisEvictionPolicyUnknownError } from './redis-configuration.errors.js';
import { redisReady } from './redis-client.factory.js';
import { REDIS_SCRIPTS } from './redis-scripts.js';

/** What was found on one node connection, valid while that connection (its socket) lasts. */
interface NodeCheck {
  stream: unknown;
  /** `host:port` of the server it reached. */
  name: string;
  /** Set when the node may evict keys: every call is refused until a reconnect finds it safe. */
  error?: Error;
  replica: boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Watches the Redis servers behind a client (one, the Sentinel's current
 * master, or every node of a Cluster): each connection is checked once after
 * it becomes ready (eviction policy `noeviction`, scripts loaded), and no
 * command is let through to a connection not checked yet. It also keeps the
 * time since which the servers hold every nonce: a server that restarted, or
 * a replica that took over, may have lost nonces recorded before.
 */
export class RedisServerMonitor {
  private static readonly byClient = new WeakMap<Redis | Cluster, RedisServerMonitor>();

  /** The one monitor of `client`, shared by every store made on it. */
  static of(client: Redis | Cluster): RedisServerMonitor {
    let monitor = RedisServerMonitor.byClient.get(client);
    if (!monitor) RedisServerMonitor.byClient.set(client, (monitor = new RedisServerMonitor(client)));
    return monitor;
  }

  private readonly checks = new WeakMap<Redis, NodeCheck>();
  private readonly running = new WeakMap<Redis, Promise<void>>();
  private readonly watched = new WeakSet<Redis>();
  /** Per node address: the server process (run_id) last seen there. */
  private readonly runIds = new Map<string, string>();
  /** Per node address: since when it holds every nonce (Unix s); the largest one counts. */
  private readonly sinceByNode = new Map<string, number>();
  /** What `sinceByNode` held before the node's connection closed, restored when the same process is back. */
  private readonly sinceBeforeClose = new Map<string, number>();
  private since = 0;
  private started = false;

  private constructor(private readonly client: Redis | Cluster) {
    if (client instanceof Cluster) {
      client.on('+node', (node: Redis) => this.watch(node));
      client.on('refresh', () => this.notePromotions());
      for (const node of client.nodes('all')) this.watch(node);
    } else {
      this.watch(client);
    }
  }

  /** Unix seconds since which every node holds every nonce it was given. */
  get rememberedSinceSeconds(): number {
    return this.since;
  }

  /**
   * At startup: waits for the connection, then checks every node (every
   * master and replica of a Cluster). Rejects with a named configuration
   * error when a node may evict keys. `fresh`: read every node again, even
   * one already checked on its current connection (a health check).
   */
  async checkAll(timeoutMs = 5_000, fresh = false): Promise<void> {
    await redisReady(this.client, timeoutMs);
    if (this.client instanceof Cluster && this.client.options.enableOfflineQueue !== false) {
      throw new RedisClusterOfflineQueueError();
    }
    await Promise.all(this.nodes().map((node) => (fresh ? this.check(node) : this.checkedNow(node))));
    this.started = true;
  }

  /**
   * Before every command: throws (or rejects) unless every connected node
   * was checked since it connected and found safe. Waits for a check still
   * to be made (the first call after a reconnect); answers at once otherwise.
   */
  assertUsable(attempt = 0): void | Promise<void> {
    if (this.client.status !== 'ready') throw new Error(`Redis is not connected (${this.client.status}).`);
    let pending: Promise<void>[] | undefined;
    for (const node of this.nodes()) {
      // A Cluster refuses commands for a node that is connecting (no offline queue), but queues them on a
      // node not connected yet ('wait') and sends them once it is ready, before it is checked.
      if (node.status === 'wait') node.connect().catch(() => {});
      if (node.status !== 'ready') continue;
      const found = this.checks.get(node);
      if (found === undefined || found.stream !== node.stream) {
        (pending ??= []).push(this.check(node));
      } else if (found.error) {
        throw found.error;
      } else if (found.replica && !node.options.readOnly) {
        this.promoted(found);
      }
    }
    if (!pending) return;
    // Looked at again: a connection may have been replaced while it was checked.
    if (attempt >= 2) throw new Error('the Redis connection kept changing while it was checked.');
    return Promise.all(pending).then(() => this.assertUsable(attempt + 1));
  }

  private nodes(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('all') : [this.client];
  }

  private watch(node: Redis): void {
    if (this.watched.has(node)) return;
    this.watched.add(node);
    node.on('ready', () => {
      this.check(node).catch(() => {
        // The next call checks again, and fails while it cannot.
      });
    });
    node.on('close', () => this.closed(node));
    if (this.started && node.status === 'wait') node.connect().catch(() => {});
  }

  /** Resolves at once for a node already checked on its current connection. */
  private async checkedNow(node: Redis): Promise<void> {
    const found = this.checks.get(node);
    if (found === undefined || found.stream !== node.stream || node.status !== 'ready') return this.check(node);
    if (found.error) throw found.error;
  }

  private check(node: Redis): Promise<void> {
    let check = this.running.get(node);
    if (!check) {
      check = this.inspect(node).finally(() => this.running.delete(node));
      this.running.set(node, check);
    }
    return check;
  }

  private async inspect(node: Redis): Promise<void> {
    if (node.status === 'wait') await node.connect();
    const stream = node.stream;
    const name = nodeName(node);
    const pipeline = node.pipeline().config('GET', 'maxmemory-policy').info('server');
    for (const script of REDIS_SCRIPTS) pipeline.script('LOAD', script.source);
    const [[configError, config], [infoError, info]] = (await pipeline.exec()) as [Error | null, unknown][];
    if (infoError && infoError.name !== 'ReplyError') throw infoError;
    // Without INFO (renamed away), every reconnect counts as a restart.
    const server = infoError ? {} : infoFields(info as string);
    this.noteServer(name, server.run_id, Number(server.uptime_in_seconds));

    let error: Error | undefined;
    try {
      const policy = configError ? await policyFromInfo(node, name, configError) : (config as string[])[1];
      if (policy !== 'noeviction') error = new RedisEvictionPolicyError(name, policy ?? 'unknown');
    } catch (failure) {
      if (!(failure instanceof RedisEvictionPolicyUnknownError)) throw failure;
      error = failure;
    }
    if (node.stream === stream) this.checks.set(node, { stream, name, error, replica: Boolean(node.options.readOnly) });
    if (error) throw error;
  }

  /**
   * A connection that closed may come back to another server process (a
   * restart, a failover) that lacks nonces recorded before: requests signed
   * up to now are refused until the same process is found back.
   */
  private closed(node: Redis): void {
    const name = this.checks.get(node)?.name;
    if (name === undefined) return;
    if (!this.sinceBeforeClose.has(name)) this.sinceBeforeClose.set(name, this.sinceByNode.get(name) ?? 0);
    this.setSince(name, nowSeconds() + 1);
  }

  private noteServer(name: string, runId: string | undefined, uptimeSeconds: number): void {
    const known = this.runIds.get(name);
    const before = this.sinceBeforeClose.get(name);
    this.sinceBeforeClose.delete(name);
    if (runId !== undefined) this.runIds.set(name, runId);
    if (runId !== undefined && known === runId) {
      // The same process: it lost nothing while the connection was down.
      if (before !== undefined) this.setSince(name, before, true);
    } else if (known === undefined && !this.started && Number.isFinite(uptimeSeconds)) {
      // First seen at startup: it holds what it was given since it started.
      this.setSince(name, nowSeconds() - uptimeSeconds + 1);
    } else if (before === undefined) {
      // Another process than before, or a node that appeared later (a failover).
      this.setSince(name, nowSeconds() + 1);
    }
  }

  /** A replica now serves as a master (a failover): it may lack the last writes of the old one. */
  private promoted(found: NodeCheck): void {
    found.replica = false;
    this.setSince(found.name, nowSeconds() + 1);
  }

  private notePromotions(): void {
    for (const node of this.nodes()) {
      const found = this.checks.get(node);
      if (found?.replica && !node.options.readOnly) this.promoted(found);
    }
  }

  private setSince(name: string, seconds: number, replace = false): void {
    this.sinceByNode.set(name, replace ? seconds : Math.max(seconds, this.sinceByNode.get(name) ?? 0));
    this.since = Math.max(0, ...this.sinceByNode.values());
  }
}

/** `host:port` of the server a node connection reaches (a Sentinel client: its current master). */
function nodeName(node: Redis): string {
  const socket = node.stream as Socket | undefined;
  if (node.options.sentinels && socket?.remoteAddress) return `${socket.remoteAddress}:${socket.remotePort}`;
  return `${node.options.host ?? 'localhost'}:${node.options.port ?? 6379}`;
}

/** Where `CONFIG` is disabled or renamed (managed Redis): the policy from `INFO memory`. */
async function policyFromInfo(node: Redis, name: string, configError: Error): Promise<string> {
  if (configError.name !== 'ReplyError') throw configError;
  let memory: string;
  try {
    memory = await node.info('memory');
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ReplyError') throw error;
    throw new RedisEvictionPolicyUnknownError(name, `${configError.message}; ${error.message}`);
  }
  const policy = infoFields(memory).maxmemory_policy;
  if (!policy) throw new RedisEvictionPolicyUnknownError(name, `${configError.message}; INFO has no maxmemory_policy`);
  return policy;
}

function infoFields(info: string): Record<string, string | undefined> {
  const fields: Record<string, string> = {};
  for (const line of info.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
