import fc from 'fast-check';
import { signRfc9421 } from '../../lib/protocol/index.js';
import { nodeView, outcomeOf, withLine, type Outcome, type WireRequest } from './rfc9421-helpers.js';
import { API_KEY, SECRET } from './signed-request.js';

/**
 * For any request our signer signs (method, Host, target with percent
 * encodings, Content-Type, an extra covered header, body bytes), the request
 * as signed is accepted, and changing one byte of any covered part, of the
 * body, of Content-Digest, Signature-Input or the signature's bytes is never
 * accepted: a covered value or the body changed is exactly invalid_signature.
 */

const SEED = process.env.FC_SEED === undefined ? 9_421_2026 : Number(process.env.FC_SEED);
const RUNS = Number(process.env.TAMPER_RUNS ?? 400);

const visible = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const token = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{${min},${max}}$`));
const pathSegment = fc.oneof(token(1, 10), fc.constantFrom('%20', '%2F', '%C3%A9', 'a.b', '~x'));

const genuine = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  host: fc
    .tuple(fc.constantFrom('svc', 'billing.internal', '10.1.2.3', 'Orders.Example'), fc.constantFrom('', ':80', ':443', ':3000', ':8443'))
    .map(([h, p]) => h + p),
  target: fc
    .tuple(
      fc.array(pathSegment, { maxLength: 4 }),
      fc.option(fc.array(fc.tuple(token(1, 6), fc.oneof(token(0, 6), fc.constantFrom('%26', 'a+b'))), { maxLength: 3 }), {
        nil: undefined,
      }),
    )
    .map(([segments, query]) => `/${segments.join('/')}${query === undefined ? '' : `?${query.map(([k, v]) => `${k}=${v}`).join('&')}`}`),
  contentType: fc.constantFrom('application/json', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded'),
  requestId: fc.option(fc.stringMatching(/^[!-~]{1,24}$/), { nil: undefined }),
  body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 200 }), { nil: undefined }),
  nonce: token(16, 40),
  created: fc.integer({ min: 0, max: 999_999_999_999 }),
});
type Genuine = typeof genuine extends fc.Arbitrary<infer T> ? T : never;

function sign(g: Genuine): WireRequest {
  const headers = g.requestId === undefined ? undefined : { 'X-Request-Id': g.requestId };
  const contentType = g.body === undefined ? undefined : g.contentType;
  const signed = signRfc9421({
    apiKey: API_KEY,
    secret: SECRET,
    method: g.method,
    host: g.host,
    target: g.target,
    contentType,
    body: g.body,
    headers,
    createdSeconds: g.created,
    nonce: g.nonce,
  });
  const lines: [string, string][] = [];
  if (contentType !== undefined) lines.push(['Content-Type', contentType]);
  if (headers) lines.push(['X-Request-Id', headers['X-Request-Id']]);
  for (const [name, value] of Object.entries(signed.headers)) lines.push([name, value]);
  return { method: g.method, host: g.host, target: g.target, lines, body: g.body === undefined ? undefined : Buffer.from(g.body) };
}

type Part = 'method' | 'host' | 'target' | 'content-type' | 'x-request-id' | 'body' | 'content-digest' | 'signature-input' | 'signature';

const replaceAt = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);
const lineValue = (w: WireRequest, name: string) => w.lines.find(([n]) => n.toLowerCase() === name)?.[1];

/** The request with one byte of `part` changed, and the outcome that must follow; `undefined` when the change is no change. */
function tamper(
  w: WireRequest,
  part: Part,
  position: number,
  byte: string,
  bodyByte: number,
): { wire: WireRequest; expected: Outcome[] } | undefined {
  const at = (s: string) => position % s.length;
  const changed = (s: string) => (s[at(s)] === byte ? undefined : replaceAt(s, at(s), byte));
  switch (part) {
    case 'method':
    case 'host':
    case 'target': {
      const value = changed(w[part]!);
      if (value === undefined) return undefined;
      // The profile lower-cases the host: a change of case is no change.
      if (part === 'host' && value.toLowerCase() === w.host!.toLowerCase()) return undefined;
      const expected: Outcome[] = part === 'target' && at(w.target) === 0 ? ['malformed_credentials'] : ['invalid_signature'];
      return { wire: { ...w, [part]: value }, expected };
    }
    case 'body': {
      if (w.body === undefined) return undefined;
      const body = Buffer.from(w.body);
      body[position % body.length] ^= bodyByte;
      return { wire: { ...w, body }, expected: ['invalid_signature'] };
    }
    case 'signature': {
      const mac = Buffer.from(lineValue(w, 'signature')!.slice('sig1=:'.length, -1), 'base64');
      mac[position % mac.length] ^= bodyByte;
      return { wire: withLine(w, 'signature', `sig1=:${mac.toString('base64')}:`), expected: ['invalid_signature'] };
    }
    default: {
      const current = lineValue(w, part);
      if (current === undefined) return undefined;
      const value = changed(current);
      if (value === undefined) return undefined;
      const expected: Outcome[] =
        part === 'content-type' || part === 'x-request-id' ? ['invalid_signature'] : ['invalid_signature', 'malformed_credentials'];
      return { wire: withLine(w, part, value), expected };
    }
  }
}

const PARTS: Part[] = [
  'method',
  'host',
  'target',
  'content-type',
  'x-request-id',
  'body',
  'content-digest',
  'signature-input',
  'signature',
];

describe('property: one byte changed in any covered part is never accepted (protocol level)', () => {
  it(`${RUNS} signed requests, each with up to 4 tampered copies`, () => {
    const tampered = new Map<Part, number>(PARTS.map((p) => [p, 0]));
    fc.assert(
      fc.property(
        genuine,
        fc.array(fc.tuple(fc.constantFrom(...PARTS), fc.nat(), visible, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (g, changes) => {
          const wire = sign(g);
          expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
          for (const [part, position, byte, bodyByte] of changes) {
            const t = tamper(wire, part, position, byte, bodyByte);
            if (t === undefined) continue;
            tampered.set(part, tampered.get(part)! + 1);
            expect(t.expected).toContain(outcomeOf(nodeView(t.wire), [SECRET]));
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    // Every part was exercised often enough to mean something.
    for (const [part, count] of tampered) expect([part, count >= 20]).toEqual([part, true]);
  });
});
