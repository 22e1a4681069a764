import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { assertCliBuilt, expectOneLineError, runCli, tempDir, type CliResult } from '../support/cli.js';
import { send } from '../support/signed-request.js';
import { createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const WRONG_SECRET = 'a-wrong-secret-that-is-long-enough-0123456';

beforeAll(() => assertCliBuilt());

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNoSecret(result: CliResult): void {
  for (const secret of [TEST_SECRET, WRONG_SECRET]) expect(result.stdout + result.stderr).not.toContain(secret);
}

/** The parts of the human output: status line, headers, body. */
function parseHuman(stdout: string): { statusLine: string; headers: Record<string, string>; body: string } {
  const split = stdout.indexOf('\n\n');
  const [statusLine, ...headerLines] = stdout.slice(0, split).split('\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
  return { statusLine, headers, body: stdout.slice(split + 2).replace(/\n$/, '') };
}

describe('service-auth request and sign, against a running app', () => {
  const tmp = tempDir('service-auth-request-');
  const database = join(tmp.dir, 'app.sqlite');
  let t: TestApp;
  let apiKey: string;
  /** The key's secret comes from SERVICE_AUTH_SECRET, as the README recommends. */
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, { env });

  beforeAll(async () => {
    t = await createTestApp({
      adapter: 'express',
      database,
      // Every scheme; no key cache, so that changes the CLI makes in its own process show at once.
      auth: { schemes: ['v1', 'v0', 'rfc9421'], keyCache: { ttlMs: 1, negativeTtlMs: 1 } },
    });
    ({ apiKey } = await t.keys.create('orders'));
    env = { SERVICE_AUTH_SECRET: TEST_SECRET, DATABASE_URL: `sqlite:${database}`, API_SHARED_SECRET: TEST_SECRET };
  });
  afterAll(async () => {
    await t?.close();
    tmp.remove();
  });
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  describe('request', () => {
    it('sends a signed GET and prints the status line, the headers and the body (exit 0)', async () => {
      const result = await cli('request', 'GET', `${t.baseUrl}/items/42?expand=lines`, '--key', apiKey);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const { statusLine, headers, body } = parseHuman(result.stdout);
      expect(statusLine).toBe('HTTP 200 OK');
      expect(headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(body)).toEqual({ id: '42', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
      expect(t.log.calls).toEqual(['get:42']);
      expectNoSecret(result);
    });

    it('--json prints {status, statusText, headers, body}; --data is sent as JSON; --secret works too', async () => {
      const result = await runCli(
        [
          'request',
          'post',
          `${t.baseUrl}/items`,
          '--data',
          '{"total":12,"note":"ünïcode"}',
          '--key',
          apiKey,
          '--secret',
          TEST_SECRET,
          '--json',
        ],
        { env: {} },
      );
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const response = JSON.parse(result.stdout);
      expect(Object.keys(response)).toEqual(['status', 'statusText', 'headers', 'body']);
      expect(response).toMatchObject({ status: 201, statusText: 'Created' });
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(response.body)).toEqual({ caller: 'orders', body: { total: 12, note: 'ünïcode' } });
      expect(t.log.calls).toEqual(['create']);
      expectNoSecret(result);
    });

    it('--data-file sends the bytes of the file', async () => {
      const file = join(tmp.dir, 'body.json');
      writeFileSync(file, '{\n  "from": "a file"\n}\n');
      const result = await cli('request', 'POST', `${t.baseUrl}/items`, '--data-file', file, '--key', apiKey, '--json');
      expect(result.code).toBe(0);
      expect(JSON.parse(JSON.parse(result.stdout).body)).toEqual({ caller: 'orders', body: { from: 'a file' } });
    });

    it('-H adds headers to the signed request (here a Content-Type other than the default JSON)', async () => {
      const result = await cli(
        'request',
        'POST',
        `${t.baseUrl}/items`,
        '--key',
        apiKey,
        '--data',
        'total=12&note=a+b',
        '-H',
        'Content-Type: application/x-www-form-urlencoded',
        '--header',
        'X-Trace: abc',
        '--json',
      );
      expect(result.code).toBe(0);
      expect(JSON.parse(JSON.parse(result.stdout).body)).toEqual({ caller: 'orders', body: { total: '12', note: 'a b' } });
    });

    it('--scheme v0 signs with the legacy scheme', async () => {
      const result = await cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', apiKey, '--scheme', 'v0', '--json');
      expect(result.code).toBe(0);
      expect(JSON.parse(JSON.parse(result.stdout).body).caller.scheme).toBe('v0');
    });

    it('--scheme rfc9421 signs with RFC 9421 HTTP Message Signatures (a GET, and a POST with its Content-Digest)', async () => {
      const get = await cli('request', 'GET', `${t.baseUrl}/items/3?a=1`, '--key', apiKey, '--scheme', 'rfc9421', '--json');
      expect({ code: get.code, stderr: get.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(JSON.parse(get.stdout).body)).toEqual({ id: '3', caller: { apiKey, serviceName: 'orders', scheme: 'rfc9421' } });
      const post = await cli(
        'request',
        'POST',
        `${t.baseUrl}/items`,
        '--key',
        apiKey,
        '--scheme',
        'rfc9421',
        '--data',
        '{"n":7}',
        '--json',
      );
      expect(post.code).toBe(0);
      expect(JSON.parse(JSON.parse(post.stdout).body)).toEqual({ caller: 'orders', body: { n: 7 } });
      expect(t.log.calls).toEqual(['get:3', 'create']);
      const wrong = await cli('request', 'GET', `${t.baseUrl}/items/3`, '--key', apiKey, '--scheme', 'rfc9421', '--secret', WRONG_SECRET);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toBe('error: the server answered 401 Unauthorized (invalid_signature)\n');
      expectNoSecret(wrong);
    });

    it('a rejected request: the response on stdout, exit 1, one line on stderr', async () => {
      const result = await cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', apiKey, '--secret', WRONG_SECRET);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('error: the server answered 401 Unauthorized (invalid_signature)\n');
      const { statusLine, headers, body } = parseHuman(result.stdout);
      expect(statusLine).toBe('HTTP 401 Unauthorized');
      expect(headers['x-api-server-time']).toMatch(/^\d+$/);
      expect(JSON.parse(body)).toMatchObject({ statusCode: 401, code: 'invalid_signature' });
      expect(t.log.calls).toEqual([]);
      expectNoSecret(result);

      const asJson = await cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', 'Z'.repeat(32), '--json');
      expect(asJson.code).toBe(1);
      expect(JSON.parse(asJson.stdout).status).toBe(401);
      expect(asJson.stderr).toBe('error: the server answered 401 Unauthorized (invalid_signature)\n');
    });

    it('any HTTP error status is exit 1', async () => {
      const result = await cli('request', 'GET', `${t.baseUrl}/no-such-route`, '--key', apiKey);
      expect(result.code).toBe(1);
      expect(parseHuman(result.stdout).statusLine).toBe('HTTP 404 Not Found');
      expect(result.stderr).toBe('error: the server answered 404 Not Found\n');
    });

    it('a server that cannot be reached is exit 1, one line', async () => {
      const port = await closedPort();
      expectOneLineError(
        await cli('request', 'GET', `http://127.0.0.1:${port}/items/1`, '--key', apiKey),
        1,
        new RegExp(`^error: GET http://127\\.0\\.0\\.1:${port}/items/1 failed: .*ECONNREFUSED`),
      );
    });
  });

  describe('sign', () => {
    it('prints the X-API-* headers; sent with any client they authenticate the request', async () => {
      const result = await cli('sign', 'GET', `${t.baseUrl}/items/9?x=1`, '--key', apiKey);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines.map((line) => line.split(':')[0]).sort()).toEqual(
        ['X-API-Key', 'X-API-Nonce', 'X-API-Signature', 'X-API-Timestamp'].sort(),
      );
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      expect(headers['X-API-Key']).toBe(apiKey);
      expect(headers['X-API-Signature']).toMatch(/^v1=[0-9a-f]{64}$/);
      const res = await send(t, { target: '/items/9?x=1', headers });
      expect(res.status).toBe(200);
      expect(res.json.id).toBe('9');
      // A different target is refused with the same headers.
      expect((await send(t, { target: '/items/10?x=1', headers })).status).toBe(401);
    });

    it('--json, with a body and the v0 scheme', async () => {
      const body = '{"total":3}';
      const result = await cli('sign', 'POST', `${t.baseUrl}/items`, '--data', body, '--key', apiKey, '--json');
      const headers = JSON.parse(result.stdout);
      // v1 signs the Content-Type, so it is printed with the X-API-* headers (v0 ignores it).
      expect(Object.keys(headers).sort()).toEqual(['Content-Type', 'X-API-Key', 'X-API-Nonce', 'X-API-Signature', 'X-API-Timestamp']);
      expect(headers['Content-Type']).toBe('application/json');
      const res = await send(t, { method: 'POST', target: '/items', headers, body });
      expect(res.status).toBe(201);
      expect(res.json.body).toEqual({ total: 3 });

      const v0 = JSON.parse((await cli('sign', 'GET', `${t.baseUrl}/items/1`, '--key', apiKey, '--scheme', 'v0', '--json')).stdout);
      expect(Object.keys(v0).sort()).toEqual(['X-API-Key', 'X-API-Signature', 'X-API-Timestamp']);
      expect((await send(t, { target: '/anything-at-all', headers: v0 })).status).toBe(404);
    });
  });

  describe('sign --scheme rfc9421', () => {
    it('prints Content-Type, Signature-Input, Signature and Content-Digest; sent with any client they authenticate the request', async () => {
      const body = '{"total":4}';
      const result = await cli('sign', 'POST', `${t.baseUrl}/items`, '--data', body, '--key', apiKey, '--scheme', 'rfc9421');
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const lines = result.stdout.trimEnd().split('\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      expect(Object.keys(headers)).toEqual(['Content-Type', 'Signature-Input', 'Signature', 'Content-Digest']);
      expect(headers['Content-Type']).toBe('application/json');
      expect(headers['Signature-Input']).toMatch(
        new RegExp(
          `^sig1=\\("@method" "@authority" "@path" "@query" "content-type" "content-digest"\\);created=\\d+;keyid="${apiKey}";nonce="[A-Za-z0-9_-]{22}";alg="hmac-sha256"$`,
        ),
      );
      expect(headers.Signature).toMatch(/^sig1=:[A-Za-z0-9+/]{43}=:$/);
      expect(headers['Content-Digest']).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/);
      expect(result.stdout).not.toContain('X-API-');
      const res = await send(t, { method: 'POST', target: '/items', headers, body });
      expect(res.status).toBe(201);
      expect(res.json.body).toEqual({ total: 4 });
      // Other bytes with the same headers are refused.
      expect((await send(t, { method: 'POST', target: '/items', headers, body: '{"total":5}' })).status).toBe(401);
    });

    it('--json, for a GET: the two signature headers only', async () => {
      const result = await cli('sign', 'GET', `${t.baseUrl}/items/8`, '--key', apiKey, '--scheme', 'rfc9421', '--json');
      const headers = JSON.parse(result.stdout);
      expect(Object.keys(headers)).toEqual(['Signature-Input', 'Signature']);
      const res = await send(t, { target: '/items/8', headers });
      expect(res.status).toBe(200);
      expect(res.json.caller.scheme).toBe('rfc9421');
    });
  });

  describe('keys changed by the CLI take effect on the running app', () => {
    it('revoke: the key is refused from then on', async () => {
      const { apiKey: doomed } = await t.keys.create('reports');
      expect((await cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', doomed)).code).toBe(0);
      expect((await cli('keys', 'revoke', doomed)).code).toBe(0);
      const after = await cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', doomed);
      expect(after.code).toBe(1);
      expect(after.stderr).toBe('error: the server answered 401 Unauthorized (invalid_signature)\n');
    });

    it('rotate: the new key works, the old one until the overlap ends (here at once)', async () => {
      const { apiKey: old } = await t.keys.create('search');
      const rotated = JSON.parse((await cli('keys', 'rotate', '--service', 'search', '--overlap', '0', '--json')).stdout);
      const [withOld, withNew] = await Promise.all([
        cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', old),
        cli('request', 'GET', `${t.baseUrl}/items/1`, '--key', rotated.apiKey, '--json'),
      ]);
      expect(withOld.code).toBe(1);
      expect(withNew.code).toBe(0);
      expect(JSON.parse(JSON.parse(withNew.stdout).body).caller.serviceName).toBe('search');
    });
  });

  describe('bad input: exit 2, one line, nothing sent', () => {
    /** Looks like a secret but is none the CLI knows of: only the no-echo rule can keep it out of the output. */
    const TYPED_VALUE = 'Typed-Value-Looking-Like-A-Secret-0123456789';
    const url = () => `${t.baseUrl}/items/1`;
    it.each<[string, () => string[], Record<string, string> | undefined, string | RegExp]>([
      [
        'no secret anywhere',
        () => ['request', 'GET', url(), '--key', apiKey],
        { SERVICE_AUTH_SECRET: '' },
        'error: no secret: set SERVICE_AUTH_SECRET (or pass --secret).',
      ],
      [
        'a short secret',
        () => ['request', 'GET', url(), '--key', apiKey, '--secret', 'too-short-secret'],
        undefined,
        'error: the secret must be at least 32 characters (it has 16).',
      ],
      ['no --key', () => ['request', 'GET', url()], undefined, "error: required option '--key <apiKey>' not specified"],
      ['a malformed key', () => ['sign', 'GET', url(), '--key', 'bad key!'], undefined, /an API key is 16 to 128 characters/],
      [
        'the secret given as the key (not echoed)',
        () => ['sign', 'GET', url(), '--key', `${TEST_SECRET}!`],
        undefined,
        "error: option '--key <apiKey>': the value given is invalid. an API key is 16 to 128 characters",
      ],
      [
        'a relative URL',
        () => ['request', 'GET', '/items/1', '--key', apiKey],
        undefined,
        'error: invalid URL: give an absolute http:// or https:// URL.',
      ],
      ['an ftp URL', () => ['sign', 'GET', 'ftp://example.com/x', '--key', apiKey], undefined, 'only http:// and https:// are supported'],
      [
        'a bad method',
        () => ['request', 'GE T', url(), '--key', apiKey],
        undefined,
        'error: invalid HTTP method: give 1 to 20 letters, e.g. GET or POST.',
      ],
      [
        'a GET with a body',
        () => ['request', 'GET', url(), '--key', apiKey, '--data', '{}'],
        undefined,
        'error: a GET request cannot have a body.',
      ],
      [
        '--data with --data-file',
        () => ['request', 'POST', url(), '--key', apiKey, '--data', '{}', '--data-file', 'x.json'],
        undefined,
        /cannot be used with/,
      ],
      [
        'a missing --data-file',
        () => ['request', 'POST', url(), '--key', apiKey, '--data-file', '/nonexistent/body.json'],
        undefined,
        'error: cannot read the --data-file: ENOENT.',
      ],
      [
        'a header without a colon',
        () => ['request', 'GET', url(), '--key', apiKey, '-H', 'X-Trace abc'],
        undefined,
        `error: invalid header (-H number 1): expected 'Name: value'.`,
      ],
      [
        'a Host header',
        () => ['request', 'GET', url(), '--key', apiKey, '-H', 'Host: evil.example'],
        undefined,
        'error: header Host is set by service-auth itself',
      ],
      [
        'an X-API-* header',
        () => ['sign', 'GET', url(), '--key', apiKey, '-H', 'X-API-Signature: v1=00'],
        undefined,
        'error: header X-API-Signature is set by service-auth itself',
      ],
      [
        'a Signature-Input header',
        () => ['request', 'GET', url(), '--key', apiKey, '-H', 'Signature-Input: sig1=()'],
        undefined,
        'error: header Signature-Input is set by service-auth itself',
      ],
      [
        'a Content-Digest header',
        () => ['sign', 'POST', url(), '--key', apiKey, '--scheme', 'rfc9421', '-H', 'content-digest: sha-256=:AA==:'],
        undefined,
        'error: header Content-Digest is set by service-auth itself',
      ],
      [
        'an unknown scheme',
        () => ['request', 'GET', url(), '--key', apiKey, '--scheme', 'v2'],
        undefined,
        "error: option '--scheme <scheme>': the value given is invalid. Allowed choices are v1, rfc9421, v0.",
      ],
      ['a bad timeout', () => ['request', 'GET', url(), '--key', apiKey, '--timeout', 'soon'], undefined, /give a number of seconds/],
      ['no URL', () => ['request', 'GET', '--key', apiKey], undefined, "error: missing required argument 'url'"],
      // No option's value is ever echoed, even one that is not a known secret (a mistyped option name).
      [
        'a mistyped --secret=value',
        () => ['request', 'GET', url(), '--key', apiKey, `--secert=${TYPED_VALUE}`],
        undefined,
        /^error: unknown option '--secert/,
      ],
      [
        'a mistyped --secret value',
        () => ['sign', 'GET', url(), '--key', apiKey, '--secret-typo', TYPED_VALUE],
        undefined,
        "error: unknown option '--secret-typo'",
      ],
      [
        'a value given to a bad --scheme',
        () => ['sign', 'GET', url(), '--key', apiKey, `--scheme=${TYPED_VALUE}`],
        undefined,
        /the value given is invalid/,
      ],
      ['a value given to a bad --key', () => ['sign', 'GET', url(), `--key=${TYPED_VALUE}!`], undefined, /the value given is invalid/],
    ])('%s', async (_name, args, extraEnv, message) => {
      const result = await runCli(args(), { env: { ...env, ...extraEnv } });
      expectOneLineError(result, 2, message);
      expectNoSecret(result);
      expect(result.stdout + result.stderr).not.toContain(TYPED_VALUE);
      expect(t.log.calls).toEqual([]);
    });
  });
});
