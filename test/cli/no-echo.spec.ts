// Issue 10, finding 10: no error of the CLI repeats what was typed as an option's value (or an argument).
import { createServer } from 'node:net';
import { join } from 'node:path';
import { redactInput, withoutCommanderValues } from '../../cli/error-redaction.js';
import { assertCliBuilt, runCli, tempDir, type CliResult } from '../support/cli.js';

/** Looks like a secret from a vault, and is invalid for every option (it has `+`, `/` and `=`). */
const SECRET = 'S3cr3t+Value/From=A_Vault-0123456789abcdefXYZ';
/** A secret that is well-formed as an API key (a derived secret is 64 hex digits, also a valid key). */
const KEY_LIKE_SECRET = 'S3cr3tLooking0123456789abcdefXYZ';
/** A secret that is well-formed as a service name. */
const NAME_LIKE_SECRET = 's3cr3tlooking-0123456789abcdef';
const KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
const GOOD_SECRET = 'a-good-secret-of-enough-length-0123456789';

/** Pieces of the secrets: none may appear, not even cut or re-quoted. */
const FRAGMENTS = ['S3cr3t', 'A_Vault', 'Value/From', 's3cr3tlooking', '0123456789abcdef'];

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNothingEchoed(result: CliResult): void {
  const output = result.stdout + result.stderr;
  for (const fragment of FRAGMENTS) expect(output).not.toContain(fragment);
}

describe('service-auth never echoes a value in an error (issue 10, finding 10)', () => {
  const tmp = tempDir('service-auth-no-echo-');
  const database = join(tmp.dir, 'keys.sqlite');
  let url: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    assertCliBuilt();
    env = { DATABASE_URL: `sqlite:${database}` };
    expect((await runCli(['migrate'], { env })).code).toBe(0);
    url = `http://127.0.0.1:${await closedPort()}/items`;
  });

  afterAll(() => tmp.remove());

  const request = (...rest: string[]) => ['request', 'GET', url, '--key', KEY, '--secret', GOOD_SECRET, ...rest];

  it.each<[string, () => string[], number, string | RegExp, Record<string, string>?]>([
    // Unknown and mistyped options.
    ['--secert=<value>', () => request('--secert=' + SECRET), 2, "error: unknown option '--secert' (its value is not shown)"],
    ['--secret-typo <value>', () => request('--secret-typo', SECRET), 2, "error: unknown option '--secret-typo'"],
    ['--secert <value> on sign', () => ['sign', 'GET', url, '--key', KEY, '--secert', SECRET], 2, "error: unknown option '--secert'"],
    ['a mistyped option before any command', () => ['--secert=' + SECRET], 2, "error: unknown option '--secert' (its value is not shown)"],
    ['a short option with the value attached', () => request('-X' + SECRET), 2, "error: unknown option '-X' (its value is not shown)"],
    ['a value given to a flag', () => request('--json=' + SECRET), 2, "error: unknown option '--json' (its value is not shown)"],
    ['an unknown option of keys list', () => ['keys', 'list', '--servce=' + NAME_LIKE_SECRET], 2, "error: unknown option '--servce'"],
    // Bad option values.
    [
      '--service=<value>',
      () => ['keys', 'create', '--service=' + SECRET],
      2,
      "error: option '--service <name>': the value given is invalid.",
    ],
    [
      '--service <value>',
      () => ['keys', 'create', '--service', SECRET],
      2,
      "error: option '--service <name>': the value given is invalid.",
    ],
    ['--service of keys list', () => ['keys', 'list', '--service', SECRET], 2, "option '--service <name>': the value given is invalid."],
    [
      '--expires',
      () => ['keys', 'create', '--service', 'orders', '--expires', SECRET],
      2,
      "error: option '--expires <when>': the value given is invalid. the expiry must be",
    ],
    [
      '--expires in the past',
      () => ['keys', 'create', '--service', 'orders', '--expires', '2001-01-01'],
      2,
      'the expiry must be in the future.',
    ],
    [
      '--overlap',
      () => ['keys', 'rotate', '--service', 'orders', '--overlap', SECRET],
      2,
      "error: option '--overlap <duration>': the value given is invalid.",
    ],
    ['--key', () => ['request', 'GET', url, '--key', SECRET], 2, "error: option '--key <apiKey>': the value given is invalid."],
    [
      '--scheme',
      () => request('--scheme', SECRET),
      2,
      "error: option '--scheme <scheme>': the value given is invalid. Allowed choices are v1, rfc9421, v0.",
    ],
    ['--timeout', () => request('--timeout', SECRET), 2, "error: option '--timeout <seconds>': the value given is invalid."],
    [
      'a short --secret',
      () => ['request', 'GET', url, '--key', KEY, '--secret', 'S3cr3t/short'],
      2,
      'error: the secret must be at least 32 characters (it has 12).',
    ],
    ['a header without a colon', () => request('-H', SECRET), 2, "error: invalid header (-H number 1): expected 'Name: value'."],
    ['an X-API-* header', () => request('-H', `X-API-${KEY_LIKE_SECRET}: x`), 2, 'error: header X-API-* is set by service-auth itself'],
    [
      'a --data-file that does not exist',
      () => ['request', 'POST', url, '--key', KEY, '--secret', GOOD_SECRET, '--data-file', `/nonexistent/${SECRET}`],
      2,
      'error: cannot read the --data-file: ENOENT.',
    ],
    ['a body on a GET', () => request('--data', SECRET), 2, 'error: a GET request cannot have a body.'],
    [
      '--data with --data-file',
      () => request('--data', SECRET, '--data-file', SECRET),
      2,
      /^error: option '--data <body>' cannot be used with option '--data-file <path>'$/,
    ],
    // Bad arguments.
    [
      'an invalid API key to revoke',
      () => ['keys', 'revoke', SECRET],
      2,
      "error: argument 'apiKey': the value given is invalid. an API key is 16 to 128 characters",
    ],
    [
      'a bad HTTP method',
      () => ['request', SECRET, url, '--key', KEY, '--secret', GOOD_SECRET],
      2,
      'error: invalid HTTP method: give 1 to 20 letters',
    ],
    [
      'a URL that is no URL',
      () => ['request', 'GET', SECRET, '--key', KEY, '--secret', GOOD_SECRET],
      2,
      'error: invalid URL: give an absolute http:// or https:// URL.',
    ],
    [
      'a URL of another scheme',
      () => ['sign', 'GET', `ftp://user:${KEY_LIKE_SECRET}@host/x`, '--key', KEY, '--secret', GOOD_SECRET],
      2,
      'error: invalid URL: only http:// and https:// are supported.',
    ],
    ['an unknown command', () => [SECRET], 2, 'error: unknown command (run service-auth --help)'],
    ['an unknown command that looks like a name', () => [NAME_LIKE_SECRET.slice(0, 12) + 'x'], 2, 'error: unknown command'],
    ['an unknown keys command', () => ['keys', SECRET], 2, 'error: unknown command (run service-auth --help)'],
    // Excess arguments.
    [
      'an extra argument to keys list',
      () => ['keys', 'list', SECRET],
      2,
      "error: too many arguments for 'list'. Expected 0 arguments but got 1.",
    ],
    [
      'an extra argument to migrate',
      () => ['migrate', SECRET],
      2,
      "error: too many arguments for 'migrate'. Expected 0 arguments but got 1.",
    ],
    ['an extra argument to request', () => request(SECRET), 2, "error: too many arguments for 'request'. Expected 2 arguments but got 3."],
    [
      'an extra argument after a flag',
      () => ['keys', 'create', '--service', 'orders', '--json', SECRET],
      2,
      "error: too many arguments for 'create'.",
    ],
    // Failures after good input.
    [
      'a well-formed key that does not exist',
      () => ['keys', 'revoke', KEY_LIKE_SECRET],
      1,
      'error: no such API key (see `service-auth keys list --all`).',
    ],
    [
      'a well-formed service without a key',
      () => ['keys', 'rotate', '--service', NAME_LIKE_SECRET],
      1,
      'error: the service has no active API key to rotate',
    ],
    [
      'an unreachable server',
      () => ['request', 'GET', url, '--key', KEY, '--secret', SECRET],
      1,
      /^error: GET http:\/\/127\.0\.0\.1:[0-9]+\/items failed: /,
    ],
    [
      'an unreachable server, secret from the environment',
      () => ['request', 'GET', url, '--key', KEY],
      1,
      'failed: ',
      { SERVICE_AUTH_SECRET: SECRET },
    ],
    // A rest parameter: jest would take a fifth named parameter for `done` on the rows without an environment.
  ])('%s', async (...row) => {
    const [, args, code, message, extraEnv] = row;
    const result = await runCli(args(), { env: { ...env, ...extraEnv } });
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: '' });
    const lines = result.stderr.split('\n').filter((line) => line.length > 0);
    expect(lines).toHaveLength(1);
    if (typeof message === 'string') expect(lines[0]).toContain(message);
    else expect(lines[0]).toMatch(message);
    expectNothingEchoed(result);
  });
});

describe('error redaction (cli/error-redaction.ts)', () => {
  it.each([
    [
      "error: option '--key <apiKey>' argument 'a' is invalid.' is invalid. x' is invalid. reason",
      "error: option '--key <apiKey>': the value given is invalid. reason",
    ],
    ["error: unknown option '--a=b'\n(Did you mean --all?)", "error: unknown option '--a' (its value is not shown) (Did you mean --all?)"],
    ["error: unknown option '--bad\nname'", 'error: unknown option'],
    ["error: unknown option '--x'\n(Did you mean s3cr3t!?)", "error: unknown option '--x'"],
    [
      "error: option '--secret <secret>' value 'abc' from env 'SERVICE_AUTH_SECRET' is invalid.",
      "error: option '--secret <secret>': the value of SERVICE_AUTH_SECRET is invalid.",
    ],
    [
      "error: command-argument value 'x' is invalid for argument 'a'.' is invalid for argument 'apiKey'. why",
      "error: argument 'apiKey': the value given is invalid. why",
    ],
    ["error: unknown command 'kyes'\n(Did you mean keys?)", "error: unknown command 'kyes' (Did you mean keys?)"],
    ['error: too many arguments. Expected 0 arguments but got 1.\n', 'error: too many arguments. Expected 0 arguments but got 1.'],
  ])('rewrites %j', (text, expected) => {
    expect(withoutCommanderValues(text)).toBe(expected);
  });

  it('hides typed option values and the secrets of the environment, longest first', () => {
    const argv = [
      'request',
      'GET',
      'http://x/',
      '--key',
      'key-value-1',
      '--secret=secret-value-2',
      '-Hheader-value-3',
      '--json',
      'after-flag-4',
      'x',
    ];
    const text = 'key-value-1 secret-value-2 header-value-3 after-flag-4 env-secret-5 previous-secret-6 http://x/ GET x';
    expect(redactInput(text, argv, { SERVICE_AUTH_SECRET: 'env-secret-5', API_SHARED_SECRET_PREVIOUS: 'a,previous-secret-6' })).toBe(
      '[hidden] [hidden] [hidden] [hidden] [hidden] [hidden] http://x/ GET x',
    );
    expect(redactInput('ab abcdef', ['--key', 'ab', '--x=abcdef'], {})).toBe('ab [hidden]');
  });
});
