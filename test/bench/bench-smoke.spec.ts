// The benchmark is not a test (no timing is asserted here); this only checks that
// `npm run bench` runs end to end and writes results of the documented shape.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(process.cwd());
const runner = join(root, 'dist', 'bench', 'run.js');

describe('npm run bench (smoke)', () => {
  let out: string;

  beforeAll(() => {
    // `npm test` builds first; a bare `jest` run may not have.
    if (!existsSync(runner)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
    out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  });

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('runs three variants (bare, v1, rfc9421) for a second each, the micro cases and the counts, and writes JSON and Markdown results', () => {
    const run = spawnSync(
      process.execPath,
      [
        runner,
        '--duration',
        '1',
        '--warmup',
        '0',
        '--initial-warmup',
        '0',
        '--rounds',
        '1',
        '--retries',
        '0',
        '--quiet-budget',
        '0',
        '--connections',
        '10',
        '--only',
        'bare-fastify-get,v1-fastify-get,rfc9421-fastify-get',
        '--quick',
        '--skip',
        'callgrind',
        '--out',
        out,
      ],
      { cwd: root, encoding: 'utf8', timeout: 150_000 },
    );
    expect({ status: run.status, signal: run.signal, stderr: run.status === 0 ? '' : run.stderr }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });

    const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(report).toMatchObject({
      version: 2,
      date: expect.any(String),
      machine: { cpus: expect.any(Number), node: process.version },
      settings: { duration: 1, rounds: 1, connections: 10, variants: ['bare-fastify-get', 'v1-fastify-get', 'rfc9421-fastify-get'] },
      callgrind: null,
      valid: true,
      totalSeconds: expect.any(Number),
    });
    expect(report.variants.map((v: { id: string }) => v.id)).toEqual(['bare-fastify-get', 'v1-fastify-get', 'rfc9421-fastify-get']);
    for (const v of report.variants) {
      expect(v).toMatchObject({
        rounds: 1,
        rps: expect.any(Number),
        serverCpuUsPerRequest: { median: expect.any(Number), n: 1 },
        latencyUs: { p50: expect.any(Number), p99: expect.any(Number) },
        non2xx: 0,
        errors: 0,
        valid: true,
      });
      expect(v.requests).toBeGreaterThan(0);
    }
    const [bare, v1, rfc9421] = report.variants;
    expect(bare.ratioToBare).toBe(1);
    expect(v1.addedVsBare).toMatchObject({ median: expect.any(Number), n: 1 });
    // Every rfc9421 request was accepted (non2xx: 0 above): the load generator signs them as the guard wants.
    expect(rfc9421).toMatchObject({ auth: 'rfc9421', ratioToBare: expect.any(Number) });

    const caseIds = report.micro.cases.map((c: { id: string; route: string }) => `${c.id}-${c.route}`);
    for (const id of ['floor', 'verify', 'v1', 'full', 'v0', 'rfc9421', 'metrics', 'listener', 'hawk', 'httpsig']) {
      expect(caseIds).toEqual(expect.arrayContaining([`${id}-get`, `${id}-post`]));
    }
    for (const c of report.micro.cases) expect(c.ratioToFloor).toMatchObject({ median: expect.any(Number), n: report.micro.rounds });
    expect(report.micro.floorPlusNonceUs).toMatchObject({ median: expect.any(Number) });
    expect(report.queries).toMatchObject({
      coldStart: { requests: 1, queries: 1 },
      steady: { queries: 0 },
    });
    expect(report.queries.floodRepeatedUnknown.queries).toBeLessThanOrEqual(report.queries.floodRepeatedUnknown.distinctKeys);
    expect(report.nonceMemory).toMatchObject({ entries: 100_000, bytesPerEntry: expect.any(Number) });
    expect(report.redisTrips).toMatchObject({ requests: expect.any(Number), commands: report.redisTrips.requests });
    for (const t of report.targets)
      expect(t).toMatchObject({ name: expect.any(String), wanted: expect.any(String), measured: expect.any(String) });
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['v1 canActivate, GET, to the crypto floor', "v1 guard added CPU minus passport's, Fastify, GET"]),
    );

    const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(markdown).toContain('| variant | adapter | route | server us/req |');
    expect(markdown).toContain('| rfc9421 guard | fastify | GET |');
    expect(markdown).toContain('@hapi/hawk server.authenticate');
    expect(run.stdout).toContain("README.md's short table");
  }, 180_000);
});

describe('npm run bench:timing (smoke)', () => {
  it('sends every kind of rejected request, all answered 401, and writes its comparison', () => {
    const out = mkdtempSync(join(tmpdir(), 'timing-smoke-'));
    try {
      const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'timing.js'), '--requests', '40', '--out', out], {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
      const result = JSON.parse(readFileSync(join(out, 'timing.json'), 'utf8'));
      expect(result.summary.map((s: { kind: string; n: number }) => [s.kind, s.n])).toEqual([
        ['unknown key', 40],
        ['revoked key', 40],
        ['active key, wrong signature', 40],
        ['unknown key, valid signature (insider)', 40],
        ['revoked key, valid signature (insider)', 40],
      ]);
      expect(result.comparisons).toHaveLength(4);
      for (const c of result.comparisons) {
        expect(c.ks).toBeGreaterThanOrEqual(0);
        expect(c.ks).toBeLessThanOrEqual(1);
      }
      expect(readFileSync(join(out, 'timing.md'), 'utf8')).toContain('| revoked key | unknown key |');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
