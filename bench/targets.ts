// The targets of the performance issue, judged on one run's figures: a target is met only when
// the whole 95% interval is on the right side of it.
import type { VariantSummary } from './aggregate.js';
import { addedCpu, addedRatio } from './aggregate.js';
import type { CallgrindResult } from './callgrind.js';
import type { RunResult } from './load.js';
import type { MicroResult } from './micro.js';
import type { NonceMemoryResult, QueriesResult, RedisTripsResult } from './report.js';
import { formatInterval, type Interval } from './stats.js';

export interface TargetResult {
  name: string;
  wanted: string;
  measured: string;
  /** The 95% interval of the measured median, when the figure has one. */
  interval?: [number, number] | null;
  met: boolean | null;
}

export interface TargetInputs {
  runs: RunResult[];
  variants: VariantSummary[];
  maxOtherCpu: number;
  micro: MicroResult | null;
  callgrind: CallgrindResult | null;
  queries: QueriesResult | null;
  nonceMemory: NonceMemoryResult | null;
  redisTrips: RedisTripsResult | null;
}

const ADAPTER_LABEL: Record<string, string> = { express: 'Express', fastify: 'Fastify' };

function judged(
  name: string,
  wanted: string,
  value: Interval | null | undefined,
  side: 'atMost' | 'atLeast',
  limit: number,
  digits: number,
  unit: string,
): TargetResult {
  if (!value || !Number.isFinite(value.median)) return { name, wanted, measured: 'not measured', interval: null, met: null };
  const interval: [number, number] | null = value.low === null || value.high === null ? null : [value.low, value.high];
  const met = interval === null ? false : side === 'atMost' ? interval[1] <= limit : interval[0] >= limit;
  return { name, wanted, measured: formatInterval(value, digits, unit), interval, met };
}

export function evaluateTargets(input: TargetInputs): TargetResult[] {
  const targets: TargetResult[] = [];
  const micro = input.micro;
  const ratio = (id: string, route: 'get' | 'post') => micro?.cases.find((c) => c.id === id && c.route === route)?.ratioToFloor;
  const comparison = (name: string, route: 'get' | 'post') => micro?.comparisons.find((c) => c.name === name && c.route === route)?.value;

  // Micro: ratios to the crypto floor measured in the same rounds.
  targets.push(judged('v1 canActivate, GET, to the crypto floor', '<= 1.0x', ratio('v1', 'get'), 'atMost', 1.0, 2, 'x'));
  targets.push(judged('v1 canActivate, 1 KiB POST, to the crypto floor', '<= 1.0x', ratio('v1', 'post'), 'atMost', 1.0, 2, 'x'));
  targets.push(judged('full stack canActivate, GET, to the crypto floor', '<= 1.3x', ratio('full', 'get'), 'atMost', 1.3, 2, 'x'));
  for (const route of ['get', 'post'] as const) {
    const label = route === 'get' ? 'GET' : '1 KiB POST';
    targets.push(
      judged(`@hapi/hawk / v1 canActivate, ${label}`, '>= 2x', comparison('@hapi/hawk / v1 guard', route), 'atLeast', 2, 2, 'x'),
    );
    targets.push(
      judged(
        `http-message-signatures / v1 canActivate, ${label}`,
        '>= 2x',
        comparison('http-message-signatures / v1 guard', route),
        'atLeast',
        2,
        2,
        'x',
      ),
    );
  }
  const cg = input.callgrind;
  if (cg?.available && cg.reproducible && cg.v1ToFloor !== null) {
    const value = cg.v1ToFloor;
    targets.push({
      name: 'v1 canActivate, GET, to the crypto floor (instruction counts)',
      wanted: '<= 1.0x',
      measured: `${value.toFixed(2)}x`,
      met: value <= 1.0,
    });
  } else if (cg) {
    const spreads = cg.loops.map((l) => `${l.name} ${(100 * l.spread).toFixed(1)}%`).join(', ');
    targets.push({
      name: 'instruction counts reproducible (two runs within 1%)',
      wanted: 'within 1%',
      measured: cg.available ? `spread ${spreads}` : 'valgrind not installed: no counts',
      met: cg.available ? false : null,
    });
  }

  // End to end: server CPU per request, paired within rounds.
  const floor = micro?.floorPlusNonceUs.median;
  for (const adapter of ['fastify', 'express'] as const) {
    const a = ADAPTER_LABEL[adapter];
    const v = (auth: string) => input.variants.find((s) => s.id === `${auth}-${adapter}-get`);
    if (floor === undefined) continue;
    targets.push(
      judged(
        `v1 guard added CPU minus passport's, ${a}, GET`,
        `<= 1.5 x floor (${(1.5 * floor).toFixed(1)} us)`,
        v('v1')?.addedVsPassport,
        'atMost',
        1.5 * floor,
        1,
        ' us',
      ),
    );
    targets.push(
      judged(
        `full stack added CPU minus passport's, ${a}, GET`,
        `<= 2 x floor (${(2 * floor).toFixed(1)} us)`,
        v('full')?.addedVsPassport,
        'atMost',
        2 * floor,
        1,
        ' us',
      ),
    );
  }
  const expressOverFastify = addedRatio(
    input.runs,
    ['v1-express-get', 'bare-express-get'],
    ['v1-fastify-get', 'bare-fastify-get'],
    input.maxOtherCpu,
  );
  targets.push(judged('v1 guard added CPU, Express / Fastify, GET', '<= 1.5x', expressOverFastify, 'atMost', 1.5, 2, 'x'));
  for (const adapter of ['fastify', 'express'] as const) {
    const added = addedCpu(input.runs, `metrics-${adapter}-get`, `v1-${adapter}-get`, input.maxOtherCpu);
    if (!added) continue;
    targets.push({
      ...judged(
        `metrics on (OpenTelemetry SDK), added to the v1 guard, ${ADAPTER_LABEL[adapter]}, GET`,
        'reported',
        added,
        'atMost',
        Infinity,
        1,
        ' us',
      ),
      met: null,
    });
  }

  // Kept from earlier issues.
  const q = input.queries;
  targets.push({
    name: 'database queries per authenticated request, steady state',
    wanted: '0',
    measured: q ? `${q.steady.queries} in ${q.steady.requests} requests` : 'not measured',
    met: q ? q.steady.queries === 0 : null,
  });
  const r = input.redisTrips;
  targets.push({
    name: 'Redis round trips per authenticated request (RedisAuthStateStore)',
    wanted: '1',
    measured: r ? `${r.commands} commands in ${r.requests} requests` : 'not measured',
    met: r ? r.commands === r.requests : null,
  });
  const n = input.nonceMemory;
  targets.push({
    name: 'bytes per nonce, in-memory store',
    wanted: '<= 25',
    measured: n ? `${n.bytesPerEntry.toFixed(1)} at ${n.entries} entries` : 'not measured',
    met: n ? n.bytesPerEntry <= 25 : null,
  });
  return targets;
}
