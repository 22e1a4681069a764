// Database queries per request: `node dist/bench/queries.js [--quick] [--adapter fastify|express]`.
// Counts every query TypeORM sends (a counting TypeORM logger) while signed requests,
// then floods of unknown keys, hit a real app on 127.0.0.1. Prints one JSON line (QueriesResult).
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { ApiKeyAuthModule, ApiKeyService, type ApiKeyAuthModuleOptions } from '../lib/index.js';
import { generateApiKey } from '../lib/keys/api-key.generator.js';
import { BENCH_SECRET, BENCH_SERVICE, isMain, makeNonces, nowSeconds, parseArgs, type AdapterName } from './common.js';
import type { QueriesResult } from './report.js';
import { inMemoryKeyTable } from './server.js';
import * as protocol from '../lib/protocol/index.js';

/** Counts the queries TypeORM sends; `reads` are SELECTs (key lookups), the rest writes. */
class CountingLogger implements TypeOrmLogger {
  reads = 0;
  writes = 0;
  get total(): number {
    return this.reads + this.writes;
  }
  reset(): void {
    this.reads = 0;
    this.writes = 0;
  }
  logQuery(query: string): void {
    if (/^\s*select\b/i.test(query)) this.reads++;
    else this.writes++;
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

@Controller()
class ProbeController {
  @Get('items/:id')
  get(@Param('id') id: string) {
    return { id };
  }
}

async function startApp(adapter: AdapterName, auth: ApiKeyAuthModuleOptions) {
  const logger = new CountingLogger();
  @Module({
    imports: [inMemoryKeyTable({ logger }), ApiKeyAuthModule.forRoot({ secrets: [BENCH_SECRET], rateLimit: false, ...auth })],
    controllers: [ProbeController],
  })
  class QueriesAppModule {}
  const app = await NestFactory.create(QueriesAppModule, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
    rawBody: true,
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const { apiKey } = await app.get(ApiKeyService).create(BENCH_SERVICE);
  return { app, port, apiKey, logger };
}

/**
 * Sends `count` signed GETs, `concurrency` at a time, with the key `keyFor(i)`,
 * signed with the right secret (or a wrong one); returns the status counts.
 */
async function send(
  port: number,
  count: number,
  concurrency: number,
  keyFor: (i: number) => string,
  secret = BENCH_SECRET,
): Promise<Map<number, number>> {
  const host = `127.0.0.1:${port}`;
  const nonces = makeNonces(count);
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const headers = protocol.signRequest({
        scheme: 'v1',
        apiKey: keyFor(i),
        secret,
        timestampSeconds: nowSeconds(),
        nonce: nonces[i],
        method: 'GET',
        host,
        target: '/items/1',
      });
      const res = await fetch(`http://${host}/items/1`, { headers, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

function expectOnly(statuses: Map<number, number>, status: number, what: string): void {
  const other = [...statuses].filter(([s]) => s !== status);
  if (other.length > 0) throw new Error(`${what}: expected only ${status}, got ${JSON.stringify([...statuses])}`);
}

export async function runQueries(quick: boolean, adapter: AdapterName = 'fastify'): Promise<QueriesResult> {
  const steadyRequests = quick ? 200 : 3000;
  const floodRequests = quick ? 200 : 3000;
  const distinctRequests = quick ? 100 : 1000;
  const distinctKeys = 20;
  const negativeTtlMs = 5_000;

  const result = {} as QueriesResult;
  result.adapter = adapter;
  {
    const { app, port, apiKey, logger } = await startApp(adapter, { failedAttempts: false, keyCache: { negativeTtlMs } });
    try {
      logger.reset();
      expectOnly(await send(port, 1, 1, () => apiKey), 200, 'first request');
      result.coldStart = { requests: 1, queries: logger.total };

      logger.reset();
      expectOnly(await send(port, steadyRequests, 20, () => apiKey), 200, 'steady state');
      result.steady = { requests: steadyRequests, queries: logger.total, perRequest: logger.total / steadyRequests };

      const unknown = Array.from({ length: distinctKeys }, () => generateApiKey());
      logger.reset();
      expectOnly(await send(port, floodRequests, 50, (i) => unknown[i % distinctKeys]), 401, 'flood of repeated unknown keys');
      result.floodRepeatedUnknown = { requests: floodRequests, distinctKeys, queries: logger.total, negativeTtlMs };

      logger.reset();
      expectOnly(await send(port, distinctRequests, 50, () => generateApiKey()), 401, 'flood of distinct unknown keys');
      result.floodDistinctUnknown = { requests: distinctRequests, distinctKeys: distinctRequests, queries: logger.total };

      // What an attacker without the secret can send: random keys, wrong signatures.
      logger.reset();
      const wrongSecret = `${BENCH_SECRET}-wrong`;
      expectOnly(await send(port, distinctRequests, 50, () => generateApiKey(), wrongSecret), 401, 'flood of wrongly signed unknown keys');
      result.floodWrongSignature = { requests: distinctRequests, distinctKeys: distinctRequests, queries: logger.total };
    } finally {
      await app.close();
    }
  }
  {
    // The default failed-attempt limit: 30 failures per minute per address, then 429 without a lookup.
    const { app, port, logger } = await startApp(adapter, {});
    try {
      logger.reset();
      const statuses = await send(port, distinctRequests, 50, () => generateApiKey());
      result.floodDistinctWithFailedAttemptLimit = {
        requests: distinctRequests,
        queries: logger.total,
        answered429: statuses.get(429) ?? 0,
      };
    } finally {
      await app.close();
    }
  }
  return result;
}

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const result = await runQueries(args.has('quick'), (args.get('adapter') as AdapterName | undefined) ?? 'fastify');
  process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
