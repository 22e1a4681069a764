import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { headerLookup, signRfc9421 } from '../../lib/protocol/index.js';
import { loadRfc9421Vectors, nodeView, outcomeOf, type WireRequest } from './rfc9421-helpers.js';
import { API_KEY, SECRET } from './signed-request.js';

/**
 * The rfc9421 examples in examples/ sign exactly as our signer does: each is
 * run with --dry-run for fixed inputs, and its headers are compared with
 * signRfc9421's and verified by our verifier. (Against a real app they run in
 * test/examples/examples.spec.ts.)
 */

const run = promisify(execFile);
const CREATED = 1_700_000_000;
const NONCE = 'example-nonce-0000000001';

async function has(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

const python = await has('python3');
const EXAMPLES = [
  [
    `Python, standard library (examples/rfc9421_request.py)${python ? '' : ' [SKIPPED: python3 not installed]'}`,
    'python3',
    'examples/rfc9421_request.py',
  ],
  ['Node, http-message-signatures (examples/rfc9421-fetch.mjs)', 'node', 'examples/rfc9421-fetch.mjs'],
] as const;

// Rows of equal length: jest passes `done` to a test whose row is shorter than its parameters.
const CALLS: Array<[method: string, url: string, body: string | undefined]> = [
  ['GET', 'http://127.0.0.1:3000/items/42', undefined],
  ['get', 'http://127.0.0.1:3000/items/42?a=1&b=%20x&a=2', undefined],
  ['POST', 'http://127.0.0.1:3000/items', '{"total":12.5}'],
  ['PUT', 'http://Orders.Internal:8443/a%20b/c?q=%C3%A9', '{"name":"h\u00e9llo"}'],
  ['DELETE', 'https://billing.internal/v1/invoices/7?force=true', undefined],
];

async function headersFrom(command: string, script: string, secret: string, call: (typeof CALLS)[number]): Promise<Record<string, string>> {
  const env = { ...process.env, API_KEY: API_KEY, API_SECRET: secret, SIGN_CREATED: String(CREATED), SIGN_NONCE: NONCE };
  const { stdout } = await run(command, [script, '--dry-run', ...call.filter((a): a is string => a !== undefined)], { env });
  return JSON.parse(stdout);
}

const lower = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([n, v]) => [n.toLowerCase(), v]));

describe.each(EXAMPLES)('%s', (_name, command, script) => {
  const maybe = command === 'python3' && !python ? it.skip : it;

  maybe.each(CALLS)('%s %s signs as our signer does, and verifies', async (method, url, body) => {
    const headers = lower(await headersFrom(command, script, SECRET, [method, url, body]));
    const parsed = new URL(url);
    const ours = signRfc9421({
      apiKey: API_KEY,
      secret: SECRET,
      method: method.toUpperCase(),
      url: parsed,
      contentType: body === undefined ? undefined : 'application/json',
      body,
      createdSeconds: CREATED,
      nonce: NONCE,
    });
    expect(headers).toEqual({ ...ours.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
    const wire: WireRequest = {
      method: method.toUpperCase(),
      host: parsed.host,
      target: parsed.pathname + parsed.search,
      lines: Object.entries(headers),
      body: body === undefined ? undefined : Buffer.from(body),
    };
    expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
    expect(outcomeOf(nodeView(wire), ['another-secret-that-is-long-enough-0123456789'])).toBe('invalid_signature');
  });

  maybe('reproduces the rfc9421 vectors made with the profile defaults', async () => {
    const profile = loadRfc9421Vectors().rfc9421.filter((v) => v.signatureInput.startsWith('sig1=') && v.signatureInput.includes('alg='));
    expect(profile).toHaveLength(2);
    for (const v of profile) {
      const nonce = v.signatureInput.match(/nonce="([^"]+)"/)![1];
      const created = v.signatureInput.match(/created=(\d+)/)![1];
      const scheme = v.host.endsWith(':443') ? 'https' : 'http';
      const env = {
        ...process.env,
        API_KEY: v.derivedFrom?.apiKey ?? API_KEY,
        API_SECRET: v.secret,
        SIGN_CREATED: created,
        SIGN_NONCE: nonce,
      };
      const { stdout } = await run(
        command,
        [script, '--dry-run', v.method, `${scheme}://${v.host}${v.target}`, Buffer.from(v.bodyBase64, 'base64').toString()],
        { env },
      );
      expect(lower(JSON.parse(stdout))).toEqual({
        'content-type': v.headers['Content-Type'],
        'content-digest': v.headers['Content-Digest'],
        'signature-input': v.signatureInput,
        signature: v.signature,
      });
    }
  });
});

/**
 * On the wire: each example sends its request to a plain node:http server
 * that verifies it with this module from what Node received (`req.headers`,
 * `rawHeaders`, `req.url`, the body bytes), so the Host, target and body the
 * examples sign are the ones their HTTP clients really send.
 */
describe.each(EXAMPLES)('%s, sent to a node:http server that verifies with this module', (_name, command, script) => {
  const maybe = command === 'python3' && !python ? it.skip : it;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const request = {
          method: req.method!,
          host: req.headers.host,
          target: req.url!,
          header: headerLookup(req.headers),
          rawHeaders: req.rawHeaders,
          body: body.length > 0 ? body : undefined,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outcome: outcomeOf(request, [SECRET]) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  maybe.each([
    ['GET', '/items/42?a=1&b=%20x', undefined, 'accepted'],
    ['POST', '/items', '{"total":12.5}', 'accepted'],
    ['PATCH', '/a%20b/c?q=%C3%A9', '{"name":"h\u00e9llo"}', 'accepted'],
  ])('%s %s with body %j: %s', async (method, path, body, outcome) => {
    const env = { ...process.env, API_KEY: API_KEY, API_SECRET: SECRET };
    const { stdout } = await run(command, [script, method, `${baseUrl}${path}`, ...(body === undefined ? [] : [body])], {
      env,
      timeout: 10_000,
    });
    const [status, answer] = stdout.trim().split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(answer)).toEqual({ outcome });
  });

  maybe('a wrong secret is invalid_signature', async () => {
    const env = { ...process.env, API_KEY: API_KEY, API_SECRET: 'x'.repeat(40) };
    const { stdout } = await run(command, [script, 'POST', `${baseUrl}/items`, '{"n":1}'], { env, timeout: 10_000 });
    expect(JSON.parse(stdout.trim().split('\n')[1])).toEqual({ outcome: 'invalid_signature' });
  });
});
