import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A command a Redis received from a client (not from inside a script), as MONITOR shows it. */
export interface SeenCommand {
  name: string;
  /** `host:port` of the client connection that sent it. */
  source: string;
}

/**
 * Watches what the Redis at `url` receives from clients (MONITOR), until
 * `stop()`: the commands scripts run are left out, and so is the marker that
 * `stop()` sends to know it has seen everything sent before.
 */
export async function watchCommands(url: string): Promise<{ stop(): Promise<SeenCommand[]> }> {
  const connection = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  const monitor = await connection.monitor();
  const seen: SeenCommand[] = [];
  const markers = new Set<string>();
  const markerSeen = new Map<string, () => void>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    if (args[0]?.toLowerCase() === 'echo' && markers.has(args[1])) {
      markerSeen.get(args[1])?.();
      return;
    }
    seen.push({ name: args[0].toLowerCase(), source });
  });
  return {
    async stop() {
      const marker = randomBytes(8).toString('hex');
      markers.add(marker);
      const arrived = new Promise<void>((resolve) => markerSeen.set(marker, resolve));
      const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
      try {
        await probe.echo(marker);
        await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error('MONITOR lost its marker')), 2_000))]);
      } finally {
        probe.disconnect();
        monitor.disconnect();
        connection.disconnect();
      }
      return seen;
    },
  };
}

/**
 * Calls of `command` (a subcommand as `config|get`) the Redis at `url`
 * counted since it started (`INFO commandstats`, commands of scripts included).
 */
export async function commandCount(url: string, command: string): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    const stats = await connection.info('commandstats');
    return Number(new RegExp(`^cmdstat_${command.replace(/[|]/g, '\\|')}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  } finally {
    connection.disconnect();
  }
}
