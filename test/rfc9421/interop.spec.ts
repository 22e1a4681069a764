import fc from 'fast-check';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { formatContentDigest, generateNonce, signRfc9421 } from '../../lib/protocol/index.js';
import { loadRfc9421Vectors, nodeView, outcomeOf, vectorRequest, type WireRequest } from './rfc9421-helpers.js';
import { API_KEY, SECRET } from './signed-request.js';

/**
 * Interop with an independent implementation of RFC 9421, the npm library
 * http-message-signatures (dev dependency, the version the vectors name):
 * what it signs (hmac-sha256, with a Content-Digest we add) verifies with our
 * verifier, and what our signer signs verifies with its verifyMessage.
 */

const OTHER_SECRET = 'another-secret-that-is-long-enough-0123456789';
const now = () => Math.floor(Date.now() / 1000);

interface Call {
  method: string;
  url: string;
  contentType?: string;
  body?: Buffer;
  headers?: Record<string, string>;
}

/** Signs the call with http-message-signatures and returns it as it goes on the wire. */
async function signedByLibrary(
  call: Call,
  fields: string[],
  params: string[] = ['created', 'keyid', 'nonce', 'alg'],
  paramValues = {},
): Promise<WireRequest> {
  const url = new URL(call.url);
  const headers: Record<string, string> = { ...call.headers };
  if (call.contentType) headers['Content-Type'] = call.contentType;
  if (call.body) headers['Content-Digest'] = formatContentDigest(call.body);
  const signed = await httpbis.signMessage(
    {
      key: createSigner(SECRET, 'hmac-sha256', API_KEY),
      name: 'sig1',
      fields,
      params,
      paramValues: { created: new Date(), nonce: generateNonce(), ...paramValues },
    },
    { method: call.method, url: call.url, headers },
  );
  return {
    method: call.method,
    host: url.host,
    target: url.pathname + url.search,
    lines: Object.entries<string>(signed.headers),
    body: call.body,
  };
}

/** Whether http-message-signatures' verifyMessage accepts the request with our key. */
function libraryVerifies(wire: WireRequest, secret = SECRET, scheme = 'http'): Promise<boolean | null> {
  const headers = Object.fromEntries(wire.lines);
  return httpbis.verifyMessage(
    {
      keyLookup: async (params) =>
        params.keyid === API_KEY ? { id: API_KEY, algs: ['hmac-sha256'], verify: createVerifier(secret, 'hmac-sha256') } : null,
      requiredParams: ['created', 'keyid', 'nonce'],
    },
    { method: wire.method, url: `${scheme}://${wire.host}${wire.target}`, headers },
  );
}

/** Our signer, for the same call, as it goes on the wire. */
function signedByUs(call: Call, extra: Partial<Parameters<typeof signRfc9421>[0]> = {}): WireRequest {
  const url = new URL(call.url);
  const { headers } = signRfc9421({
    apiKey: API_KEY,
    secret: SECRET,
    method: call.method,
    url,
    contentType: call.contentType,
    body: call.body,
    headers: call.headers,
    createdSeconds: now(),
    nonce: generateNonce(),
    ...extra,
  });
  const lines: [string, string][] = [...Object.entries(call.headers ?? {})];
  if (call.contentType) lines.push(['Content-Type', call.contentType]);
  for (const [name, value] of Object.entries(headers)) lines.push([name, value]);
  return { method: call.method, host: url.host, target: url.pathname + url.search, lines, body: call.body };
}

const CALLS: Array<[string, Call]> = [
  ['GET with a query', { method: 'GET', url: 'http://orders.internal:3000/v1/items/42?a=1&b=%20x' }],
  ['GET without a query', { method: 'GET', url: 'http://127.0.0.1:3000/health' }],
  [
    'POST JSON',
    {
      method: 'POST',
      url: 'http://billing:8080/invoices',
      contentType: 'application/json',
      body: Buffer.from('{"amount":1250,"currency":"EUR"}'),
    },
  ],
  [
    'PUT text with an extra header',
    {
      method: 'PUT',
      url: 'http://localhost:3000/a%20b/c?q=%C3%A9&q=2',
      contentType: 'text/plain; charset=UTF-8',
      body: Buffer.from('héllo\n'),
      headers: { 'X-Request-Id': 'req-123' },
    },
  ],
  ['DELETE on the default port', { method: 'DELETE', url: 'https://billing.internal/v1/invoices/7' }],
];

const fieldsOf = (call: Call) => [
  '@method',
  '@authority',
  '@path',
  '@query',
  ...(call.body ? ['content-type', 'content-digest'] : []),
  ...Object.keys(call.headers ?? {}).map((n) => n.toLowerCase()),
];

describe('interop with http-message-signatures 1.0.6', () => {
  it('is the version the vectors name, and it verifies every rfc9421 vector', async () => {
    const { version } = (await import('http-message-signatures/package.json', { with: { type: 'json' } })).default;
    expect(version).toBe('1.0.6');
    for (const v of loadRfc9421Vectors().rfc9421) {
      const scheme = v.host.endsWith(':443') ? 'https' : 'http';
      const wire = vectorRequest(v);
      const headers = Object.fromEntries(wire.lines);
      const ok = await httpbis.verifyMessage(
        {
          keyLookup: async () => ({ algs: ['hmac-sha256'], verify: createVerifier(v.secret, 'hmac-sha256') }),
          notAfter: Number.MAX_SAFE_INTEGER,
        },
        { method: v.method, url: `${scheme}://${v.host}${v.target}`, headers },
      );
      expect(ok).toBe(true);
    }
  });

  describe.each(CALLS)('%s', (_name, call) => {
    it('signed by the library (hmac-sha256, Content-Digest added by us): accepted by our verifier', async () => {
      const wire = await signedByLibrary(call, fieldsOf(call));
      expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
      expect(outcomeOf(nodeView(wire), [OTHER_SECRET])).toBe('invalid_signature');
    });

    it('signed by the library with @request-target, keyid first, expires and a tag: accepted', async () => {
      const fields = ['@request-target', '@authority', '@method', ...fieldsOf(call).slice(4)];
      const wire = await signedByLibrary(call, fields, ['keyid', 'nonce', 'created', 'expires', 'tag'], { tag: 'interop' });
      expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
    });

    it('signed by us: verified by the library, and refused by it with another secret', async () => {
      const wire = signedByUs(call);
      const scheme = call.url.startsWith('https:') ? 'https' : 'http';
      await expect(libraryVerifies(wire, SECRET, scheme)).resolves.toBe(true);
      await expect(libraryVerifies(wire, OTHER_SECRET, scheme)).resolves.toBe(false);
      expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
    });
  });

  it('the library signs what our signer signs, byte for byte', async () => {
    const call = CALLS[3][1];
    const created = 1_700_000_000;
    const nonce = 'interop-nonce-000000001';
    const ours = signedByUs(call, { createdSeconds: created, nonce });
    const theirs = await signedByLibrary(call, fieldsOf(call), undefined, { created: new Date(created * 1000), nonce });
    const pick = (w: WireRequest) => Object.fromEntries(w.lines.map(([n, v]) => [n.toLowerCase(), v]));
    expect(pick(theirs)['signature-input']).toBe(pick(ours)['signature-input']);
    expect(pick(theirs).signature).toBe(pick(ours).signature);
  });

  it('property: random requests signed by either side verify with the other', async () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    const queryPart = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}=[A-Za-z0-9%_-]{0,8}$/).filter((s) => !/%(?![0-9A-F]{2})/.test(s));
    const call = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      host: fc.constantFrom('svc:3000', 'svc.internal:8443', '10.0.0.7:80', 'localhost:443'),
      path: fc.array(segment, { minLength: 0, maxLength: 4 }).map((s) => `/${s.join('/')}`),
      query: fc.array(queryPart, { maxLength: 3 }).map((q) => (q.length ? `?${q.join('&')}` : '')),
      body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined }),
      requestId: fc.option(fc.stringMatching(/^[!-~]{1,20}$/), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(call, async (c) => {
        const scheme = c.host.endsWith(':443') ? 'https' : 'http';
        const value: Call = {
          method: c.method,
          url: `${scheme}://${c.host}${c.path}${c.query}`,
          contentType: c.body ? 'application/octet-stream' : undefined,
          body: c.body ? Buffer.from(c.body) : undefined,
          headers: c.requestId ? { 'X-Request-Id': c.requestId } : undefined,
        };
        const theirs = await signedByLibrary(value, fieldsOf(value));
        expect(outcomeOf(nodeView(theirs), [SECRET])).toBe('accepted');
        const ours = signedByUs(value);
        await expect(libraryVerifies(ours, SECRET, scheme)).resolves.toBe(true);
      }),
      { numRuns: 150, seed: 9421 },
    );
  });
});
