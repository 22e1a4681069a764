import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiKey, PreviousSecretWithoutCurrentError } from '../../lib/index.js';
import { assertCliBuilt, expectOneLineError, runCli, tempDir, type CliResult } from '../support/cli.js';
import { describeWithMysql, describeWithPostgres, MYSQL_URL, POSTGRES_URL, scratchDatabaseName } from '../support/databases.js';
import { createScratchMysqlDatabase, dropScratchMysqlDatabase } from '../support/mysql-scratch.js';
import { createScratchPostgresDatabase, dropScratchPostgresDatabase } from '../support/postgres-scratch.js';
import * as protocol from '../../lib/protocol/index.js';

const SHARED = 'cli-test-shared-secret-0123456789-abcdefgh';
const MASTER = 'cli-test-master-secret-0123456789-abcdefgh';
const HOUR = 3_600_000;

beforeAll(() => assertCliBuilt());

/** stdout parsed as JSON, after checking that the run succeeded and wrote nothing else. */
function json(result: CliResult): any {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(result.stdout);
}

function ok(result: CliResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}

/** Reads the key table of an SQLite file directly, without the CLI. */
async function rowsOf(file: string): Promise<ApiKey[]> {
  const dataSource = new DataSource({ type: 'better-sqlite3', database: file, entities: [ApiKey] });
  await dataSource.initialize();
  try {
    return await dataSource.getRepository(ApiKey).find({ order: { createdAt: 'ASC' } });
  } finally {
    await dataSource.destroy();
  }
}

describe('service-auth CLI on SQLite: migrate and keys', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, { env });

  /** A database migrated once by the CLI, copied for each test that needs the table. */
  let template: ReturnType<typeof tempDir>;
  const templateFile = () => join(template.dir, 'keys.sqlite');
  const migratedCopy = () => {
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(templateFile(), file);
  };

  beforeAll(async () => {
    template = tempDir();
    ok(await runCli(['migrate'], { env: { DATABASE_URL: `sqlite:${templateFile()}` } }));
  });
  afterAll(() => template?.remove());

  beforeEach(() => {
    tmp = tempDir();
    file = join(tmp.dir, 'db', 'keys.sqlite');
    env = { DATABASE_URL: `sqlite:${file}`, API_SHARED_SECRET: SHARED };
  });
  afterEach(() => tmp?.remove());

  describe('migrate', () => {
    it('creates the file, its folder and the table (no secret needed); a second run has nothing to do', async () => {
      const other = join(tmp.dir, 'other', 'keys.sqlite');
      const [human, asJson] = await Promise.all([
        cli('migrate'),
        runCli(['migrate', '--json'], { env: { DATABASE_URL: `sqlite:${other}` } }),
      ]);
      expect(ok(human)).toBe(
        `Migrated SQLite ${file}:\n  applied CreateApiKeysTable1764300000000\n  applied AddApiKeyRateLimit1764400000000\n`,
      );
      expect(json(asJson)).toEqual({
        database: `SQLite ${other}`,
        applied: ['CreateApiKeysTable1764300000000', 'AddApiKeyRateLimit1764400000000'],
      });
      expect(await rowsOf(file)).toEqual([]);
      expect(await rowsOf(other)).toEqual([]);
      expect(ok(await cli('migrate'))).toBe(`SQLite ${file} is up to date.\n`);
    });

    it('fails with exit 1 and one line when the file is not a database', async () => {
      const notADatabase = join(tmp.dir, 'garbage.sqlite');
      writeFileSync(notADatabase, 'this is not an SQLite database, just text '.repeat(100));
      const result = await runCli(['migrate'], { env: { DATABASE_URL: `sqlite:${notADatabase}` } });
      expectOneLineError(result, 1, /^error: (cannot connect to|migrating) SQLite .*garbage\.sqlite.*: /);
    });
  });

  describe('keys create', () => {
    beforeEach(() => migratedCopy());

    it('--json prints one JSON object {apiKey, serviceName, createdAt, expiresAt, rateLimit, secret}, and the key is stored', async () => {
      const before = Math.floor(Date.now() / 1000) * 1000;
      const result = await cli('keys', 'create', '--service', 'orders', '--json');
      const created = json(result);
      expect(Object.keys(created)).toEqual(['apiKey', 'serviceName', 'createdAt', 'expiresAt', 'rateLimit', 'secret']);
      expect(created).toEqual({
        apiKey: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
        serviceName: 'orders',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
        expiresAt: null,
        rateLimit: null,
        secret: null,
      });
      expect(Date.parse(created.createdAt)).toBeGreaterThanOrEqual(before);
      expect(result.stdout).not.toContain(SHARED);

      const rows = await rowsOf(file);
      expect(rows.map((r) => [r.apiKey, r.serviceName, r.createdAt.toISOString(), r.expiresAt, r.revokedAt])).toEqual([
        [created.apiKey, 'orders', created.createdAt, null, null],
      ]);
    });

    it('prints a readable summary without --json', async () => {
      const out = ok(await cli('keys', 'create', '--service', 'billing-admin'));
      const [row] = await rowsOf(file);
      expect(out).toContain('Created an API key for service billing-admin:');
      expect(out).toContain(`  API key:  ${row.apiKey}\n`);
      expect(out).toContain('  expires:  never\n');
      expect(out).toMatch(/secret: +none: in shared mode/);
      expect(out).not.toContain(SHARED);
    });

    it("in derived mode prints the key's derived secret", async () => {
      env.API_SECRET_MODE = 'derived';
      env.API_SHARED_SECRET = MASTER;
      const [asJson, asText] = await Promise.all([
        cli('keys', 'create', '--service', 'orders', '--json'),
        cli('keys', 'create', '--service', 'orders'),
      ]);
      const created = json(asJson);
      expect(created.secret).toBe(protocol.deriveKeySecret(MASTER, created.apiKey));
      const human = ok(asText);
      const apiKey = /API key: +(\S+)/.exec(human)![1];
      expect(human).toContain(`  secret:   ${protocol.deriveKeySecret(MASTER, apiKey)}\n`);
      expect(human).not.toContain(MASTER);
    });

    it('in derived mode refuses to issue a key without the master secret (exit 2), and stores nothing', async () => {
      const result = await runCli(['keys', 'create', '--service', 'orders'], {
        env: { DATABASE_URL: env.DATABASE_URL, API_SECRET_MODE: 'derived' },
      });
      expectOneLineError(result, 2, 'API_SECRET_MODE=derived: set API_SHARED_SECRET to the master secret');
      expect(await rowsOf(file)).toEqual([]);
    });

    it('in shared mode needs no secret at all', async () => {
      const result = await runCli(['keys', 'create', '--service', 'orders', '--json'], {
        env: { DATABASE_URL: env.DATABASE_URL },
      });
      expect(json(result).secret).toBeNull();
    });

    it('--expires 30d, 12h, 90m set the expiry that far ahead, to the second', async () => {
      const durations: [string, number][] = [
        ['30d', 30 * 24 * HOUR],
        ['12h', 12 * HOUR],
        ['90m', 90 * 60_000],
      ];
      const before = Date.now();
      const results = await Promise.all(durations.map(([raw]) => cli('keys', 'create', '--service', 'orders', '--expires', raw, '--json')));
      const after = Date.now();
      const rows = await rowsOf(file);
      durations.forEach(([, ms], i) => {
        const created = json(results[i]);
        const expiresAt = Date.parse(created.expiresAt);
        expect(expiresAt % 1000).toBe(0);
        expect(expiresAt).toBeGreaterThanOrEqual(Math.floor((before + ms) / 1000) * 1000);
        expect(expiresAt).toBeLessThanOrEqual(after + ms);
        expect(rows.find((row) => row.apiKey === created.apiKey)!.expiresAt!.getTime()).toBe(expiresAt);
      });
    });

    it('--expires takes an ISO 8601 date or date-time', async () => {
      const day = json(await cli('keys', 'create', '--service', 'orders', '--expires', '2099-03-04', '--json'));
      expect(day.expiresAt).toBe('2099-03-04T00:00:00.000Z');
      const time = json(await cli('keys', 'create', '--service', 'orders', '--expires', '2099-03-04T05:06:07+01:00', '--json'));
      expect(time.expiresAt).toBe('2099-03-04T04:06:07.000Z');
    });
  });

  describe('keys list, revoke, rotate', () => {
    beforeEach(() => migratedCopy());

    it('lists keys as a table, as JSON, by service, and revoked ones only with --all', async () => {
      expect(ok(await cli('keys', 'list'))).toBe('No API keys.\n');
      expect(json(await cli('keys', 'list', '--json'))).toEqual([]);

      const [a, b, c] = (
        await Promise.all([
          cli('keys', 'create', '--service', 'orders', '--json'),
          cli('keys', 'create', '--service', 'billing', '--expires', '2099-01-01', '--json'),
          cli('keys', 'create', '--service', 'orders', '--json'),
        ])
      ).map(json);
      ok(await cli('keys', 'revoke', c.apiKey));

      const table = ok(await cli('keys', 'list'))
        .trimEnd()
        .split('\n');
      expect(table[0]).toMatch(/^API KEY +SERVICE +STATUS +CREATED +EXPIRES +LAST USED +RATE LIMIT$/);
      expect(table).toHaveLength(3);
      expect(table.find((line) => line.startsWith(a.apiKey))).toMatch(/^\S+ +orders +active +\S+Z +never +- +default$/);
      expect(table.find((line) => line.startsWith(b.apiKey))).toMatch(/^\S+ +billing +active +\S+Z +2099-01-01T00:00:00Z +- +default$/);

      const listed = json(await cli('keys', 'list', '--json'));
      expect(listed.map((k: { apiKey: string }) => k.apiKey).sort()).toEqual([a.apiKey, b.apiKey].sort());
      expect(listed.find((k: { apiKey: string }) => k.apiKey === a.apiKey)).toEqual({
        apiKey: a.apiKey,
        serviceName: 'orders',
        createdAt: a.createdAt,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        rateLimit: null,
        status: 'active',
      });
      expect(json(await cli('keys', 'list', '--service', 'billing', '--json')).map((k: ApiKey) => k.apiKey)).toEqual([b.apiKey]);
      const all = json(await cli('keys', 'list', '--service', 'orders', '--all', '--json'));
      expect(all.map((k: { apiKey: string; status: string }) => [k.apiKey, k.status]).sort()).toEqual(
        [
          [a.apiKey, 'active'],
          [c.apiKey, 'revoked'],
        ].sort(),
      );
    });

    it('revokes a key; revoking it again says so (exit 0); an unknown key is exit 1', async () => {
      const a = json(await cli('keys', 'create', '--service', 'orders', '--json'));
      expect(ok(await cli('keys', 'revoke', a.apiKey))).toBe(`Revoked API key ${a.apiKey} (service orders).\n`);
      const [row] = await rowsOf(file);
      expect(row.revokedAt).toBeInstanceOf(Date);

      const again = json(await cli('keys', 'revoke', a.apiKey, '--json'));
      expect(again).toEqual({
        apiKey: a.apiKey,
        serviceName: 'orders',
        revokedAt: row.revokedAt!.toISOString(),
        alreadyRevoked: true,
      });
      expect(ok(await cli('keys', 'revoke', a.apiKey))).toMatch(/was already revoked at /);

      const unknown = 'Z'.repeat(32);
      expectOneLineError(await cli('keys', 'revoke', unknown), 1, 'error: no such API key (see `service-auth keys list --all`).');
    });

    it('rotates: a new key, the old ones expire after the overlap (24h by default)', async () => {
      const old = json(await cli('keys', 'create', '--service', 'orders', '--json'));
      const before = Date.now();
      const rotated = json(await cli('keys', 'rotate', '--service', 'orders', '--json'));
      const after = Date.now();
      expect(Object.keys(rotated)).toEqual(['apiKey', 'serviceName', 'createdAt', 'expiresAt', 'rateLimit', 'secret', 'expiring']);
      expect(rotated).toMatchObject({ serviceName: 'orders', expiresAt: null, secret: null });
      expect(rotated.apiKey).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(rotated.expiring).toEqual([{ apiKey: old.apiKey, expiresAt: expect.any(String) }]);
      const until = Date.parse(rotated.expiring[0].expiresAt);
      expect(until).toBeGreaterThanOrEqual(Math.floor((before + 24 * HOUR) / 1000) * 1000);
      expect(until).toBeLessThanOrEqual(after + 24 * HOUR);

      const rows = await rowsOf(file);
      expect(rows.find((r) => r.apiKey === old.apiKey)!.expiresAt!.getTime()).toBe(until);
      expect(rows.find((r) => r.apiKey === rotated.apiKey)!.expiresAt).toBeNull();

      // Again with a shorter overlap: both previous keys now expire 90 minutes from now.
      const human = ok(await cli('keys', 'rotate', '--service', 'orders', '--overlap', '90m'));
      // eslint-disable-next-line no-regex-spaces -- the CLI's aligned columns, as printed
      expect(human).toMatch(/^Rotated the keys of service orders:\n  API key:  [A-Za-z0-9]{32}\n/);
      const previous = human.slice(human.indexOf('Previous keys:\n')).trimEnd().split('\n').slice(1);
      expect(previous.map((line) => line.trim().split(/ +/)[0]).sort()).toEqual([old.apiKey, rotated.apiKey].sort());
      for (const line of previous) {
        const expires = Date.parse(/ expires (\S+)$/.exec(line)![1]);
        expect(Math.abs(expires - (Date.now() + 90 * 60_000))).toBeLessThan(60_000);
      }
    });

    it('rotates in derived mode with the new secret; --overlap 0 expires the old keys at once', async () => {
      env.API_SECRET_MODE = 'derived';
      env.API_SHARED_SECRET = MASTER;
      json(await cli('keys', 'create', '--service', 'orders', '--json'));
      const rotated = json(await cli('keys', 'rotate', '--service', 'orders', '--overlap', '0', '--json'));
      expect(rotated.secret).toBe(protocol.deriveKeySecret(MASTER, rotated.apiKey));
      expect(Date.parse(rotated.expiring[0].expiresAt)).toBeLessThanOrEqual(Date.now());
      const statuses = json(await cli('keys', 'list', '--json')).map((k: { status: string }) => k.status);
      expect(statuses.sort()).toEqual(['active', 'expired']);
    });

    it('refuses to rotate a service without an active key (exit 1)', async () => {
      expectOneLineError(
        await cli('keys', 'rotate', '--service', 'nobody'),
        1,
        'error: the service has no active API key to rotate; issue one with `service-auth keys create --service <name>`.',
      );
      expect(await rowsOf(file)).toEqual([]);
    });
  });

  describe('bad input: exit 2, one line on stderr, nothing done', () => {
    it.each<[string, string[], Record<string, string> | undefined, string | RegExp]>([
      ['no command', [], undefined, /Usage: service-auth/],
      ['an unknown command', ['frobnicate'], undefined, "error: unknown command 'frobnicate'"],
      ['an unknown option', ['keys', 'list', '--colour'], undefined, "error: unknown option '--colour'"],
      ['keys without a subcommand', ['keys'], undefined, /Usage: service-auth keys/],
      ['create without --service', ['keys', 'create'], undefined, "error: required option '--service <name>' not specified"],
      [
        'an upper-case service name',
        ['keys', 'create', '--service', 'Orders'],
        undefined,
        "error: option '--service <name>': the value given is invalid. use 1 to 64 characters",
      ],
      ['a service name with a space', ['keys', 'create', '--service', 'my service'], undefined, /is invalid/],
      ['a service name of 65 characters', ['keys', 'create', '--service', 'a'.repeat(65)], undefined, /is invalid/],
      ['a bad --expires', ['keys', 'create', '--service', 'orders', '--expires', 'soon'], undefined, /the expiry must be a duration/],
      ['a past --expires', ['keys', 'create', '--service', 'orders', '--expires', '2001-01-01'], undefined, /must be in the future/],
      ['an impossible date', ['keys', 'create', '--service', 'orders', '--expires', '2099-02-30'], undefined, /is not a valid date/],
      ['a bad --overlap', ['keys', 'rotate', '--service', 'orders', '--overlap', '1 day'], undefined, /the overlap must be a duration/],
      ['a bad service in list', ['keys', 'list', '--service', '_x'], undefined, /is invalid/],
      ['a malformed key to revoke', ['keys', 'revoke', 'not a key'], undefined, /an API key is 16 to 128 characters/],
      ['revoke without a key', ['keys', 'revoke'], undefined, "error: missing required argument 'apiKey'"],
      [
        'a bad DATABASE_URL',
        ['keys', 'list'],
        { DATABASE_URL: 'mssql://x/y' },
        'error: DATABASE_URL must be sqlite:<file>, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db.',
      ],
      [
        'a postgres URL without a database',
        ['migrate'],
        { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432' },
        'error: DATABASE_URL needs a host and a database name: postgres://user:pass@host:port/db.',
      ],
      [
        'a postgresql URL without a host',
        ['keys', 'list'],
        { DATABASE_URL: 'postgresql:///keys' },
        'error: DATABASE_URL needs a host and a database name: postgresql://user:pass@host:port/db.',
      ],
      ['an empty sqlite: path', ['keys', 'list'], { DATABASE_URL: 'sqlite:' }, 'needs a file path'],
      ['a mysql URL without a database', ['migrate'], { DATABASE_URL: 'mysql://root@127.0.0.1:3306' }, 'needs a host and a database name'],
      [
        'a bad API_SECRET_MODE',
        ['keys', 'list'],
        { API_SECRET_MODE: 'per-key' },
        'error: API_SECRET_MODE must be shared or derived, got "per-key".',
      ],
      [
        'a short API_SHARED_SECRET',
        ['keys', 'list'],
        { API_SHARED_SECRET: 'short-secret-0123' },
        'error: API_SHARED_SECRET must be at least 32 characters (it has 17); try `openssl rand -base64 48`.',
      ],
      [
        'a short previous secret',
        ['keys', 'list'],
        { API_SHARED_SECRET_PREVIOUS: `${SHARED},tiny-old-secret` },
        'API_SHARED_SECRET_PREVIOUS (entry 2) must be at least 32 characters',
      ],
      [
        'a previous secret without a current one',
        ['keys', 'list'],
        { API_SHARED_SECRET: '', API_SHARED_SECRET_PREVIOUS: SHARED },
        `error: ${new PreviousSecretWithoutCurrentError().message}`,
      ],
    ])('%s', async (_name, args, extraEnv, message) => {
      const result = await runCli(args, { env: { ...env, ...extraEnv } });
      if (message instanceof RegExp && message.source.startsWith('Usage')) {
        // Commander prints the help on stderr for a missing command: a usage error too.
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(result.stdout).toBe('');
      } else {
        expectOneLineError(result, 2, message);
      }
      for (const secret of [SHARED, 'short-secret-0123', 'tiny-old-secret']) {
        expect(result.stderr + result.stdout).not.toContain(secret);
      }
    });
  });

  describe('database failures: exit 1, one line', () => {
    it('a missing SQLite file is not created by a key command', async () => {
      expectOneLineError(
        await cli('keys', 'list'),
        1,
        `error: DATABASE_URL names the SQLite file ${file}, which does not exist. Set DATABASE_URL to your app's database; ` +
          'only if your app uses this very file, create it with `service-auth migrate`.',
      );
      expectOneLineError(await cli('keys', 'create', '--service', 'orders'), 1, 'does not exist');
    });

    it('a database without the key table says to run migrate', async () => {
      const empty = join(tmp.dir, 'empty.sqlite');
      const dataSource = new DataSource({ type: 'better-sqlite3', database: empty });
      await dataSource.initialize();
      await dataSource.query('CREATE TABLE unrelated (id INTEGER)');
      await dataSource.destroy();
      expectOneLineError(
        await runCli(['keys', 'list'], { env: { DATABASE_URL: `sqlite:${empty}` } }),
        1,
        `error: SQLite ${empty} has no api_keys table; create it with \`service-auth migrate\`.`,
      );
    });

    it('an unreachable MySQL server fails fast, without the password', async () => {
      const started = Date.now();
      const result = await runCli(['keys', 'list'], {
        env: { DATABASE_URL: 'mysql://svc:hunter2-password@127.0.0.1:9/keys' },
      });
      expectOneLineError(result, 1, /^error: cannot connect to MySQL\/MariaDB 127\.0\.0\.1:9\/keys: .*ECONNREFUSED/);
      expect(result.stderr).not.toContain('hunter2');
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it.each(['postgres', 'postgresql'])('an unreachable %s:// server fails fast, without the password', async (scheme) => {
      const started = Date.now();
      const result = await runCli(['keys', 'list'], {
        env: { DATABASE_URL: `${scheme}://svc:hunter2-password@127.0.0.1:9/keys` },
      });
      expectOneLineError(result, 1, /^error: cannot connect to PostgreSQL 127\.0\.0\.1:9\/keys: .*ECONNREFUSED/);
      expect(result.stderr).not.toContain('hunter2');
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });

  describe('help', () => {
    it('--help documents the environment and the exit codes (exit 0)', async () => {
      const out = ok(await runCli(['--help']));
      for (const text of ['DATABASE_URL', 'API_SHARED_SECRET', 'API_SHARED_SECRET_PREVIOUS', 'API_SECRET_MODE', 'SERVICE_AUTH_SECRET']) {
        expect(out).toContain(text);
      }
      expect(out.replace(/\s+/g, ' ')).toContain('Exit status: 0 success, 1 failure');
      for (const command of ['keys', 'migrate', 'request', 'sign']) expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    });

    it('every command has help (exit 0)', async () => {
      const results = await Promise.all(
        [['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['keys', 'rotate'], ['migrate'], ['request'], ['sign']].map((command) =>
          runCli([...command, '--help']),
        ),
      );
      for (const result of results) expect(ok(result)).toMatch(/^Usage: service-auth /);
      expect(results[5].stdout.replace(/\s+/g, ' ')).toContain('better set SERVICE_AUTH_SECRET, which stays out of shell history and `ps`');
    });

    it('--version prints the package version', async () => {
      expect(ok(await runCli(['--version']))).toMatch(/^\d+\.\d+\.\d+/);
    });
  });
});

/** The CLI on a database server: the URL of a fresh scratch database, and how the CLI names it. */
function serverSuite(label: string, scheme: string, open: () => Promise<string>, drop: () => Promise<void>, available: boolean) {
  let url: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    url = await open();
    env = { DATABASE_URL: url, API_SHARED_SECRET: SHARED };
  });
  afterAll(() => (available ? drop() : undefined));
  const cli = (...args: string[]) => runCli(args, { env });
  const where = () => `${label} ${new URL(url).host}${new URL(url).pathname}`;

  it('says to run migrate while the database has no key table (exit 1)', async () => {
    expectOneLineError(await cli('keys', 'list'), 1, `error: ${where()} has no api_keys table; create it with \`service-auth migrate\`.`);
  });

  it(`migrates, creates, lists, rotates and revokes keys through a ${scheme}// URL`, async () => {
    expect(json(await cli('migrate', '--json'))).toEqual({
      database: where(),
      applied: ['CreateApiKeysTable1764300000000', 'AddApiKeyRateLimit1764400000000'],
    });
    expect(json(await cli('migrate', '--json'))).toEqual({ database: where(), applied: [] });

    const created = json(await cli('keys', 'create', '--service', 'orders', '--expires', '2099-01-02T03:04:05Z', '--json'));
    expect(created.expiresAt).toBe('2099-01-02T03:04:05.000Z');
    const rotated = json(await cli('keys', 'rotate', '--service', 'orders', '--overlap', '2h', '--json'));
    expect(rotated.expiring.map((k: { apiKey: string }) => k.apiKey)).toEqual([created.apiKey]);
    ok(await cli('keys', 'revoke', rotated.apiKey));

    const listed = json(await cli('keys', 'list', '--all', '--json'));
    const byKey = new Map(listed.map((k: { apiKey: string }) => [k.apiKey, k]));
    expect(byKey.get(created.apiKey)).toMatchObject({ status: 'active', expiresAt: rotated.expiring[0].expiresAt });
    expect(byKey.get(rotated.apiKey)).toMatchObject({ status: 'revoked', createdAt: rotated.createdAt });
    // Keys are case-sensitive on every database.
    const swapped = created.apiKey.replace(/[a-z]/, (c: string) => c.toUpperCase());
    if (swapped !== created.apiKey) expectOneLineError(await cli('keys', 'revoke', swapped), 1, 'no such API key');
    // About ten CLI processes, each connecting to a database server.
  }, 120_000);

  it(`sets and clears a key's own rate limit through a ${scheme}// URL`, async () => {
    const created = json(await cli('keys', 'create', '--service', 'billing', '--rate-limit', '1000/1m', '--json'));
    expect(created.rateLimit).toEqual({ limit: 1000, ttlMs: 60_000 });
    const rateLimitOf = async (apiKey: string) =>
      json(await cli('keys', 'list', '--service', 'billing', '--json')).find((k: { apiKey: string }) => k.apiKey === apiKey).rateLimit;
    expect(await rateLimitOf(created.apiKey)).toEqual({ limit: 1000, ttlMs: 60_000 });
    expect(json(await cli('keys', 'update', created.apiKey, '--rate-limit', '20/10s', '--json'))).toEqual({
      serviceName: 'billing',
      apiKeys: [created.apiKey],
      rateLimit: { limit: 20, ttlMs: 10_000 },
    });
    expect(await rateLimitOf(created.apiKey)).toEqual({ limit: 20, ttlMs: 10_000 });
    ok(await cli('keys', 'update', '--service', 'billing', '--rate-limit', 'none'));
    expect(await rateLimitOf(created.apiKey)).toBeNull();
  }, 120_000);
}

const MYSQL_DB = scratchDatabaseName('service_auth_cli_test');
describeWithMysql('service-auth CLI on MySQL/MariaDB', () =>
  serverSuite(
    'MySQL/MariaDB',
    'mysql:',
    () => createScratchMysqlDatabase(MYSQL_DB),
    () => dropScratchMysqlDatabase(MYSQL_DB),
    MYSQL_URL !== undefined,
  ),
);

const POSTGRES_DB = scratchDatabaseName('service_auth_cli_test');
describeWithPostgres('service-auth CLI on PostgreSQL', () => {
  describe('postgres:// URLs', () =>
    serverSuite(
      'PostgreSQL',
      'postgres:',
      () => createScratchPostgresDatabase(POSTGRES_DB),
      () => dropScratchPostgresDatabase(POSTGRES_DB),
      POSTGRES_URL !== undefined,
    ));
  describe('postgresql:// URLs', () =>
    serverSuite(
      'PostgreSQL',
      'postgresql:',
      async () => (await createScratchPostgresDatabase(`${POSTGRES_DB}_2`)).replace(/^postgres:/, 'postgresql:'),
      () => dropScratchPostgresDatabase(`${POSTGRES_DB}_2`),
      POSTGRES_URL !== undefined,
    ));
});
