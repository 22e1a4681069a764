// Drives one server with autocannon and measures what it cost the server (CPU per request).
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import {
  BENCH_SECRET,
  GET_TARGET,
  jsonBody,
  makeNonces,
  nowSeconds,
  POST_TARGET,
  signFields,
  signRfc9421Fields,
  V1_SIGNED_AUTHS,
  type Variant,
} from './common.js';
import * as protocol from '../lib/protocol/index.js';
import { sha256Hex } from '../lib/protocol/crypto.js';

export interface LoadOptions {
  connections: number;
  /** Seconds. */
  duration: number;
  /** Requests the signed pool is sized for (pre-signed before the clock starts); more are signed on the fly. */
  poolSize: number;
  /** Total requests per second to send (autocannon `overallRate`); unset: as fast as the server answers. */
  rate?: number;
}

export interface RunResult {
  variant: string;
  round: number;
  durationSeconds: number;
  requests: number;
  /** 2xx responses per second. */
  rps: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Server process CPU time (user + system, all threads) per 2xx response, in microseconds. */
  serverCpuUsPerRequest: number | null;
  /** Server CPU use during the run, in cores (1.0 = one core busy all the time). */
  serverCpuCores: number | null;
  /** The load generator's (this process's) CPU use during the run, in cores. */
  clientCpuCores: number;
  /**
   * CPU used during the run by everything else on the machine (other processes
   * and the kernel outside of these two), in cores. A high value means the run
   * was disturbed.
   */
  otherCpuCores: number | null;
  /** Requests that had to be signed during the run because the pre-signed pool ran out. */
  signedDuringRun: number;
  /** How many times this run was measured again because other work disturbed it. */
  retries: number;
}

export interface Target {
  port: number;
  apiKey: string;
  pid: number;
}

const POST_BODY = jsonBody(1024);
const POST_BODY_SHA256 = sha256Hex(POST_BODY);
const POST_CONTENT_DIGEST = protocol.formatContentDigest(POST_BODY);
/** Stands in for the signature where the server does not check one (same length as a v1 value). */
const FAKE_V1_SIGNATURE = `v1=${'0'.repeat(64)}`;

/** /proc/<pid>/stat utime + stime, in seconds (Linux); null elsewhere. */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100;

/** CPU time the whole machine spent busy (user, nice, system, steal), in seconds (Linux); null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + steal) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * Waits, at most `maxWaitMs`, until the rest of the machine is quiet (other
 * work using less than `maxBusyCores`, sampled over half a second). Returns
 * how long it waited.
 */
export async function waitForQuiet(maxBusyCores: number, maxWaitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const before = machineBusySeconds();
    if (before === null) return 0;
    await new Promise((r) => setTimeout(r, 500));
    const busy = (machineBusySeconds()! - before) / 0.5;
    const waited = Date.now() - started;
    if (busy <= maxBusyCores || waited >= maxWaitMs) return waited;
  }
}

/**
 * Pre-signed header values for `count` requests. Every request gets its own
 * nonce (the server's nonce store would answer `replayed_request` to a reused
 * one). Only the variants that check signatures get real ones; the rfc9421
 * variant gets `Signature-Input` and `Signature` instead of the `X-API-*` ones.
 */
class SignedPool {
  private readonly nonces: string[];
  private readonly signatures: string[] | undefined;
  private readonly rfc9421Inputs: string[] | undefined;
  private next = 0;
  signedDuringRun = 0;

  constructor(
    private readonly variant: Variant,
    private readonly target: Target,
    count: number,
    readonly timestamp = String(nowSeconds()),
  ) {
    this.nonces = makeNonces(count);
    if (variant.auth === 'rfc9421') {
      const signed = this.nonces.map((nonce) => this.signRfc9421(nonce));
      this.rfc9421Inputs = signed.map((h) => h['signature-input']);
      this.signatures = signed.map((h) => h.signature);
    } else if (V1_SIGNED_AUTHS.includes(variant.auth)) {
      this.signatures = this.nonces.map((nonce) => this.sign(nonce).signature);
    } else if (variant.auth === 'v0') {
      this.signatures = [this.sign(this.nonces[0] ?? 'unused-nonce-0000').signature];
    }
  }

  private sign(nonce: string) {
    const post = this.variant.route === 'post';
    return signFields({
      scheme: this.variant.auth === 'v0' ? 'v0' : 'v1',
      apiKey: this.target.apiKey,
      secret: BENCH_SECRET,
      timestampSeconds: Number(this.timestamp),
      nonce,
      method: post ? 'POST' : 'GET',
      host: `127.0.0.1:${this.target.port}`,
      target: post ? POST_TARGET : GET_TARGET,
      contentType: post ? 'application/json' : undefined,
      bodySha256: post ? POST_BODY_SHA256 : protocol.EMPTY_BODY_SHA256,
    });
  }

  private signRfc9421(nonce: string) {
    const post = this.variant.route === 'post';
    return signRfc9421Fields({
      apiKey: this.target.apiKey,
      secret: BENCH_SECRET,
      createdSeconds: Number(this.timestamp),
      nonce,
      method: post ? 'POST' : 'GET',
      host: `127.0.0.1:${this.target.port}`,
      target: post ? POST_TARGET : GET_TARGET,
      contentType: post ? 'application/json' : undefined,
      body: post ? POST_BODY : undefined,
    });
  }

  /** Sets the per-request headers: three for v1 and v0, two for rfc9421. */
  fill(headers: Record<string, string>): void {
    const i = this.next++;
    if (this.rfc9421Inputs) {
      let input = this.rfc9421Inputs[i];
      let signature = this.signatures![i];
      if (input === undefined) {
        this.signedDuringRun++;
        const signed = this.signRfc9421(makeNonces(1)[0]);
        input = signed['signature-input'];
        signature = signed.signature;
      }
      headers['signature-input'] = input;
      headers.signature = signature;
      return;
    }
    let nonce = this.nonces[i];
    let signature: string;
    if (nonce === undefined) {
      // Pool exhausted: sign now (costs the load generator CPU; counted and reported).
      this.signedDuringRun++;
      nonce = makeNonces(1)[0];
      signature = V1_SIGNED_AUTHS.includes(this.variant.auth) ? this.sign(nonce).signature : (this.signatures?.[0] ?? FAKE_V1_SIGNATURE);
    } else {
      signature = this.signatures ? (this.signatures[i] ?? this.signatures[0]) : FAKE_V1_SIGNATURE;
    }
    headers['x-api-timestamp'] = this.timestamp;
    headers['x-api-nonce'] = nonce;
    headers['x-api-signature'] = signature;
  }
}

/** Latencies in whole microseconds, up to 1 s; above that in the last bucket. */
class LatencyHistogram {
  private readonly counts = new Uint32Array(1_000_001);
  private total = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.counts[us < 1_000_000 ? us : 1_000_000]++;
    this.total++;
    this.sum += us;
    if (us > this.max) this.max = us;
  }

  percentile(p: number): number {
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let us = 0; us < this.counts.length; us++) {
      seen += this.counts[us];
      if (seen >= rank && seen > 0) return us;
    }
    return this.max;
  }

  summary() {
    return {
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.max,
      mean: this.total ? Math.round(this.sum / this.total) : 0,
    };
  }
}

/**
 * Every variant is driven the same way: the same headers (host, key,
 * timestamp, nonce, signature; content type and a 1 KiB JSON body for POST;
 * for rfc9421 Signature-Input, Signature and Content-Digest instead of the
 * X-API-* ones), set per request by the same `setupRequest`, so the load
 * generator's work is the same whatever the server does with them.
 */
export async function drive(variant: Variant, target: Target, round: number, options: LoadOptions): Promise<RunResult> {
  const pool = new SignedPool(variant, target, options.poolSize);
  const post = variant.route === 'post';
  const staticHeaders: Record<string, string> = {
    host: `127.0.0.1:${target.port}`,
    ...(variant.auth === 'rfc9421' ? post && { 'content-digest': POST_CONTENT_DIGEST } : { 'x-api-key': target.apiKey }),
    ...(post && { 'content-type': 'application/json' }),
  };
  const histogram = new LatencyHistogram();

  const serverCpuBefore = processCpuSeconds(target.pid);
  const machineBefore = machineBusySeconds();
  const clientCpuBefore = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  const instance = autocannon({
    url: `http://127.0.0.1:${target.port}`,
    connections: options.connections,
    duration: options.duration,
    timeout: 10,
    ...(options.rate && { overallRate: options.rate }),
    requests: [
      {
        method: post ? 'POST' : 'GET',
        path: post ? POST_TARGET : GET_TARGET,
        headers: staticHeaders,
        ...(post && { body: POST_BODY }),
        setupRequest: (request) => {
          pool.fill(request.headers as Record<string, string>);
          return request;
        },
      },
    ],
  });
  // Without a callback, autocannon returns its tracker (an EventEmitter) made thenable.
  (instance as unknown as import('node:events').EventEmitter).on(
    'response',
    (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => histogram.record(responseTimeMs),
  );
  const result = await instance;
  const elapsedSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuAfter = processCpuSeconds(target.pid);
  const machineAfter = machineBusySeconds();

  const ok = result['2xx'];
  const clientCpuCores = (clientCpu.user + clientCpu.system) / 1e6 / elapsedSeconds;
  const serverCpuSeconds = serverCpuBefore === null || serverCpuAfter === null ? null : serverCpuAfter - serverCpuBefore;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(
    (result as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats ?? {},
  )) {
    statusCodes[code] = stat.count;
  }
  return {
    variant: variant.id,
    round,
    durationSeconds: result.duration,
    requests: ok,
    rps: ok / result.duration,
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyUs: histogram.summary(),
    serverCpuUsPerRequest: serverCpuSeconds === null || ok === 0 ? null : (serverCpuSeconds * 1e6) / ok,
    serverCpuCores: serverCpuSeconds === null ? null : serverCpuSeconds / elapsedSeconds,
    clientCpuCores,
    otherCpuCores:
      serverCpuSeconds === null || machineBefore === null || machineAfter === null
        ? null
        : Math.max(0, (machineAfter - machineBefore - serverCpuSeconds) / elapsedSeconds - clientCpuCores),
    signedDuringRun: pool.signedDuringRun,
    retries: 0,
  };
}
