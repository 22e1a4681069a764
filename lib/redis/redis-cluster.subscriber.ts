import { Redis, type Cluster } from 'ioredis';
import { redisReady } from './redis-client.factory.js';

/**
 * One channel of classic pub/sub on a Redis Cluster, where a message
 * published on any node reaches subscribers on every node. It subscribes on
 * one node (a connection of its own) and, when that connection ends (the node
 * failed or left), subscribes on another; `onGap` is then called once
 * subscribed again, since messages may have been missed in between.
 *
 * ioredis's own Cluster subscriber moves between nodes too, but says nothing
 * when it does, and a missed revocation must drop the whole key cache.
 */
export class RedisClusterSubscriber {
  private connection: Redis | undefined;
  private stopped = false;
  private attempt = 0;
  /** Index of the node to try next; instances start at different nodes, so no node holds every subscriber. */
  private next = Math.floor(Math.random() * 1_000);
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly channel: string,
    private readonly onMessage: (message: string) => void,
    private readonly onGap: () => void,
  ) {}

  /** Resolves once subscribed on some node; rejects when no node can be reached. */
  async start(timeoutMs = 5_000): Promise<void> {
    await redisReady(this.cluster, timeoutMs);
    const nodes = this.cluster.nodes('all');
    let lastError: unknown;
    for (let i = 0; i < nodes.length; i++) {
      try {
        await this.subscribeOnNextNode();
        return;
      } catch (error) {
        lastError = error;
      }
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the last node's attempt threw, as it was
    throw lastError ?? new Error('the Redis Cluster has no node to subscribe on.');
  }

  /** Ends the subscription and its connection. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.connection?.disconnect();
  }

  private async subscribeOnNextNode(): Promise<void> {
    const nodes = this.cluster.nodes('all');
    if (nodes.length === 0) throw new Error('the Redis Cluster has no known node.');
    const { host, port, username, password, tls, family, connectTimeout } = nodes[this.next++ % nodes.length].options;
    const connection = new Redis({
      host,
      port,
      username,
      password,
      tls,
      family,
      connectTimeout,
      lazyConnect: true,
      // This class moves to another node itself when the connection ends.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    connection.on('error', () => {
      // Ends the connection; 'end' moves to another node.
    });
    connection.on('message', (channel: string, message: string) => {
      if (channel === this.channel && connection === this.connection) this.onMessage(message);
    });
    try {
      await connection.connect();
      await connection.subscribe(this.channel);
    } catch (error) {
      connection.disconnect();
      throw error;
    }
    if (this.stopped) {
      connection.disconnect();
      return;
    }
    const interrupted = this.connection !== undefined;
    this.connection = connection;
    this.attempt = 0;
    connection.once('end', () => this.lost(connection));
    if (interrupted) this.onGap();
  }

  private lost(connection: Redis): void {
    if (this.stopped || connection !== this.connection) return;
    const delay = Math.min(this.attempt++ * 100, 1_000);
    this.retryTimer = setTimeout(() => {
      this.subscribeOnNextNode().catch(() => this.lost(connection));
    }, delay);
  }
}
