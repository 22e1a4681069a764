import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiKey } from '../../lib/index.js';
import { UsageError } from '../../cli/cli.error.js';
import { loadKeyRules } from '../../cli/key-rules.js';
import { formatRateLimit, parseRateLimit } from '../../cli/rate-limit.parser.js';
import { assertCliBuilt, expectOneLineError, runCli, tempDir, type CliResult } from '../support/cli.js';

const SHARED = 'cli-test-shared-secret-0123456789-abcdefgh';

function json(result: CliResult): any {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(result.stdout);
}

function ok(result: CliResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}

describe('parseRateLimit', () => {
  // The bounds come from the package's main entry, which the `keys` command loads first.
  beforeAll(loadKeyRules);

  it.each([
    ['1000/1m', { limit: 1000, ttlMs: 60_000 }],
    ['50/10s', { limit: 50, ttlMs: 10_000 }],
    [' 100000/1d ', { limit: 100_000, ttlMs: 86_400_000 }],
    ['1/366d', { limit: 1, ttlMs: 366 * 86_400_000 }],
    ['1000000000/2w', { limit: 1_000_000_000, ttlMs: 14 * 86_400_000 }],
  ])('%p is %j', (raw, limit) => {
    expect(parseRateLimit(raw, '--rate-limit')).toEqual(limit);
  });

  it('takes none for the default only where allowed', () => {
    expect(parseRateLimit('none', '--rate-limit', true)).toBeNull();
    expect(() => parseRateLimit('none', '--rate-limit')).toThrow(
      '--rate-limit must be <requests>/<window> such as 1000/1m or 50/10s (window units s, m, h, d, w), got "none".',
    );
  });

  it.each([
    ['1000', 'must be <requests>/<window>'],
    ['1000/', 'the window of --rate-limit must be a duration'],
    ['/1m', 'must be <requests>/<window>'],
    ['1.5/1m', 'must be <requests>/<window>'],
    ['-1/1m', 'must be <requests>/<window>'],
    ['0/1m', 'allows 1 to 1000000000 requests per window, got "0/1m"'],
    ['1000000001/1m', 'allows 1 to 1000000000 requests per window'],
    ['10/0', 'the window of --rate-limit must be from 1s to 366d, got "0"'],
    ['10/367d', 'must be from 1s to 366d'],
    ['10/1 m', 'the window of --rate-limit must be a duration'],
    ['10/1m/2', 'must be <requests>/<window>'],
  ])('rejects %p with a usage error', (raw, message) => {
    expect(() => parseRateLimit(raw, '--rate-limit', true)).toThrow(UsageError);
    expect(() => parseRateLimit(raw, '--rate-limit', true)).toThrow(message);
  });

  it('formats a limit in the largest unit that divides its window', () => {
    expect(formatRateLimit({ limit: 1000, ttlMs: 60_000 })).toBe('1000/1m');
    expect(formatRateLimit({ limit: 5, ttlMs: 90_000 })).toBe('5/90s');
    expect(formatRateLimit({ limit: 5, ttlMs: 7 * 86_400_000 })).toBe('5/1w');
    expect(formatRateLimit({ limit: 5, ttlMs: 1_500 })).toBe('5/1500ms');
    expect(formatRateLimit(null)).toBe('default');
  });
});

describe('service-auth keys --rate-limit on SQLite', () => {
  let template: ReturnType<typeof tempDir>;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, { env });

  /** The api_keys.rate_limit column as stored, by key. */
  async function stored(): Promise<Record<string, string | null>> {
    const dataSource = new DataSource({ type: 'better-sqlite3', database: file, entities: [ApiKey] });
    await dataSource.initialize();
    try {
      const rows: { api_key: string; rate_limit: string | null }[] = await dataSource.query('SELECT api_key, rate_limit FROM api_keys');
      return Object.fromEntries(rows.map((row) => [row.api_key, row.rate_limit]));
    } finally {
      await dataSource.destroy();
    }
  }

  beforeAll(async () => {
    assertCliBuilt();
    template = tempDir();
    ok(await runCli(['migrate'], { env: { DATABASE_URL: `sqlite:${join(template.dir, 'keys.sqlite')}` } }));
  });
  afterAll(() => template?.remove());

  beforeEach(() => {
    tmp = tempDir();
    file = join(tmp.dir, 'db', 'keys.sqlite');
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(join(template.dir, 'keys.sqlite'), file);
    env = { DATABASE_URL: `sqlite:${file}`, API_SHARED_SECRET: SHARED };
  });
  afterEach(() => tmp?.remove());

  it('keys create --rate-limit stores the limit, prints it, and keys list shows it', async () => {
    const created = json(await cli('keys', 'create', '--service', 'orders', '--rate-limit', '1000/1m', '--json'));
    expect(created.rateLimit).toEqual({ limit: 1000, ttlMs: 60_000 });
    const human = ok(await cli('keys', 'create', '--service', 'orders'));
    expect(human).toContain('\n  rate limit: default\n');
    const plain = /API key: +(\S+)/.exec(human)![1];
    expect(await stored()).toEqual({ [created.apiKey]: '1000/60000', [plain]: null });

    const table = ok(await cli('keys', 'list'))
      .trimEnd()
      .split('\n');
    expect(table.find((line) => line.startsWith(created.apiKey))).toMatch(/ +1000\/1m$/);
    expect(table.find((line) => line.startsWith(plain))).toMatch(/ +default$/);
    // Keys created within one second are listed by key, so compare without their order.
    const listed = json(await cli('keys', 'list', '--json'));
    const limits = Object.fromEntries(listed.map((k: { apiKey: string; rateLimit: unknown }) => [k.apiKey, k.rateLimit]));
    expect(listed).toHaveLength(2);
    expect(limits).toEqual({ [created.apiKey]: { limit: 1000, ttlMs: 60_000 }, [plain]: null });
  });

  it('keys update <apiKey> sets and clears one key; --service sets every active key of the service', async () => {
    const a = json(await cli('keys', 'create', '--service', 'orders', '--json'));
    const b = json(await cli('keys', 'create', '--service', 'orders', '--json'));
    const other = json(await cli('keys', 'create', '--service', 'billing', '--json'));

    expect(ok(await cli('keys', 'update', a.apiKey, '--rate-limit', '50/10s'))).toBe(
      `Set the rate limit of API key ${a.apiKey} (service orders) to 50/10s.\n`,
    );
    expect(await stored()).toEqual({ [a.apiKey]: '50/10000', [b.apiKey]: null, [other.apiKey]: null });

    const updated = json(await cli('keys', 'update', '--service', 'orders', '--rate-limit', '2000/1h', '--json'));
    expect({ ...updated, apiKeys: [...updated.apiKeys].sort() }).toEqual({
      serviceName: 'orders',
      apiKeys: [a.apiKey, b.apiKey].sort(),
      rateLimit: { limit: 2000, ttlMs: 3_600_000 },
    });
    expect(ok(await cli('keys', 'update', a.apiKey, '--rate-limit', 'none'))).toBe(
      `Set the rate limit of API key ${a.apiKey} (service orders) to the app's default.\n`,
    );
    expect(await stored()).toEqual({ [a.apiKey]: null, [b.apiKey]: '2000/3600000', [other.apiKey]: null });
  });

  it("keys rotate gives the new key the rate limit of the service's newest key, and prints it", async () => {
    ok(await cli('keys', 'create', '--service', 'orders', '--rate-limit', '300/1m'));
    const human = ok(await cli('keys', 'rotate', '--service', 'orders'));
    expect(human).toContain('\n  rate limit: 300/1m\n');
  });

  it('fails with exit 1 for an unknown key, or a service without an active key, changing nothing', async () => {
    const unknown = 'Z'.repeat(32);
    expectOneLineError(await cli('keys', 'update', unknown, '--rate-limit', '1/1s'), 1, `error: no such API key: ${unknown}`);
    expectOneLineError(
      await cli('keys', 'update', '--service', 'nobody', '--rate-limit', '1/1s'),
      1,
      'error: service [hidden] has no active API key.',
    );
    expect(await stored()).toEqual({});
  });

  it.each<[string, string[], string | RegExp]>([
    [
      'create with a bad --rate-limit',
      ['keys', 'create', '--service', 'orders', '--rate-limit', '1000'],
      /the rate limit must be <requests>\/<window>/,
    ],
    [
      'create with --rate-limit none',
      ['keys', 'create', '--service', 'orders', '--rate-limit', 'none'],
      /the rate limit must be <requests>\/<window>/,
    ],
    ['create with a zero window', ['keys', 'create', '--service', 'orders', '--rate-limit', '10/0'], /must be from 1s to 366d/],
    [
      'update without --rate-limit',
      ['keys', 'update', 'A'.repeat(32)],
      "error: required option '--rate-limit <requests/window>' not specified",
    ],
    [
      'update without a key or --service',
      ['keys', 'update', '--rate-limit', '1/1s'],
      'error: give either an API key or --service <name>, not both and not neither.',
    ],
    ['update with both', ['keys', 'update', 'A'.repeat(32), '--service', 'orders', '--rate-limit', '1/1s'], 'not both and not neither'],
    ['update with a malformed key', ['keys', 'update', 'not a key', '--rate-limit', '1/1s'], /an API key is 16 to 128 characters/],
    [
      'update with too many requests',
      ['keys', 'update', 'A'.repeat(32), '--rate-limit', '9999999999/1s'],
      /allows 1 to 1000000000 requests/,
    ],
  ])('%s: exit 2, one line, nothing stored', async (_name, args, message) => {
    json(await cli('keys', 'create', '--service', 'orders', '--json'));
    const before = await stored();
    expectOneLineError(await cli(...args), 2, message);
    expect(await stored()).toEqual(before);
  });
});
