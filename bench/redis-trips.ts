// Redis commands per authenticated request: `node dist/bench/redis-trips.js [--requests N] [--redis URL]`.
// The v1 guard in process with RedisAuthStateStore as nonce store and rate-limit storage (the full
// stack), every command the client sends counted. Prints one JSON line (RedisTripsResult).
import 'reflect-metadata';
import type { Redis } from 'ioredis';
import { RedisAuthStateStore, createRedisClient } from '../lib/redis/index.js';
import { isMain, makeNonces, nowSeconds, parseArgs } from './common.js';
import { contextFor, makeGuard, v1Requests } from './micro-requests.js';
import type { RedisTripsResult } from './report.js';

export async function countRedisTrips(requests: number, url: string): Promise<RedisTripsResult> {
  const client = createRedisClient(url);
  try {
    const store = new RedisAuthStateStore(client, { keyPrefix: `bench-${process.pid}:` });
    await store.checkUsable();
    const guard = await makeGuard({ rateLimit: { limit: 1_000_000_000, ttlMs: 60_000 } }, { nonceStore: store, throttlerStorage: store });
    const contexts = v1Requests('get', requests + 1, makeNonces, nowSeconds()).map(contextFor);
    // The first request caches the key (no Redis command for it either).
    await guard.canActivate(contexts[requests]);
    let commands = 0;
    const send = client.sendCommand.bind(client);
    client.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      commands++;
      return send(...args);
    };
    for (let i = 0; i < requests; i++) {
      if ((await guard.canActivate(contexts[i])) !== true) throw new Error('guard refused a valid request');
    }
    return { requests, commands };
  } finally {
    client.disconnect();
  }
}

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const result = await countRedisTrips(
    Number(args.get('requests') ?? 200),
    args.get('redis') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  );
  process.stderr.write(`Redis: ${result.commands} commands in ${result.requests} authenticated requests\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
