import fc from 'fast-check';
import { parseRfc9421Credentials } from '../../lib/protocol/index.js';
import { nodeView, outcomeOf, type WireRequest } from './rfc9421-helpers.js';
import { API_KEY, SECRET } from './signed-request.js';

/**
 * Fuzzed Signature-Input, Signature and Content-Digest values, built from
 * fragments of the grammar (valid and invalid component names, parameters
 * with values of every RFC 8941 type) with random bytes mixed in: the parser
 * never throws, answers one of its two codes or a valid parse, nothing is
 * accepted, and no message quotes the signature.
 */

const SEED = process.env.FC_SEED === undefined ? 9_421_0001 : Number(process.env.FC_SEED);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);

const component = fc.constantFrom(
  '"@method"',
  '"@authority"',
  '"@path"',
  '"@query"',
  '"@request-target"',
  '"content-type"',
  '"content-digest"',
  '"x-request-id"',
  '"@scheme"',
  '"@target-uri"',
  '"@query-param";name="a"',
  '"@status"',
  '"Content-Type"',
  '"content-type";sf',
  '"@query";req',
  '""',
  'token',
  '1',
  '"\\"x"',
);
const paramValue = fc.oneof(
  fc.constantFrom(
    `"${API_KEY}"`,
    '"rfc-fuzz-nonce-000001"',
    '"hmac-sha256"',
    '"rsa-pss-sha512"',
    '1700000000',
    '-1',
    '1.5',
    '?0',
    ':AAAA:',
    'tok',
    '@1700000000',
    '%"x"',
    '"short"',
  ),
  fc.integer({ min: -1e15 + 1, max: 1e15 - 1 }).map(String),
);
const param = fc
  .tuple(fc.constantFrom('created', 'keyid', 'nonce', 'alg', 'expires', 'tag', 'x', 'Created'), fc.option(paramValue, { nil: undefined }))
  .map(([k, v]) => (v === undefined ? `;${k}` : `;${k}=${v}`));
const innerList = fc
  .tuple(fc.array(component, { maxLength: 18 }), fc.array(param, { maxLength: 8 }))
  .map(([c, p]) => `(${c.join(' ')})${p.join('')}`);
const member = fc
  .tuple(fc.constantFrom('sig1', 'sig2', 'proxy', 'Sig', '1x', ''), fc.oneof(innerList, paramValue))
  .map(([label, value]) => `${label}=${value}`);
const noise = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 6 });
/** Members joined into a dictionary-ish value, sometimes with a little noise inserted at a random place. */
const fuzzed = (members: fc.Arbitrary<string>) =>
  fc
    .tuple(
      fc.array(members, { maxLength: 4 }),
      fc.constantFrom(', ', ',', ' ,  '),
      fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: noise }),
      fc.nat(),
    )
    .map(([m, separator, n, at]) => {
      const value = m.join(separator);
      if (n === undefined) return value;
      const i = at % (value.length + 1);
      return value.slice(0, i) + n + value.slice(i);
    });

/** A Signature-Input of the right shape: the profile's components and parameters, with optional extras. */
const wellFormedInput = fc
  .tuple(fc.array(param, { maxLength: 2 }), fc.constantFrom('sig1', 'other'))
  .map(
    ([extra, label]) =>
      `${label}=("@method" "@authority" "@path" "@query" "content-type" "content-digest" "x-request-id");created=1700000000;keyid="${API_KEY}";nonce="rfc-fuzz-nonce-000001"${extra.join('')}`,
  );
const macMember = fc
  .tuple(
    fc.constantFrom('sig1', 'sig2', 'other'),
    fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 48 })),
  )
  .map(([l, b]) => `${l}=:${Buffer.from(b).toString('base64')}:`);
const digestMember = fc
  .tuple(fc.constantFrom('sha-256', 'sha-512', 'md5', 'SHA-256'), fc.uint8Array({ maxLength: 64 }))
  .map(([a, b]) => `${a}=:${Buffer.from(b).toString('base64')}:`);

describe('property: fuzzed rfc9421 headers never throw and are never accepted', () => {
  it(`${RUNS} requests`, () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.oneof(fuzzed(member), fuzzed(fc.oneof(wellFormedInput, member)), wellFormedInput),
        fc.option(fuzzed(macMember), { nil: undefined, freq: 10 }),
        fc.option(fuzzed(digestMember), { nil: undefined, freq: 10 }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 16 }), { nil: undefined, freq: 1 }),
        (signatureInput, signature, digest, body) => {
          const lines: [string, string][] = [
            ['Signature-Input', signatureInput],
            ['Content-Type', 'application/json'],
            ['X-Request-Id', 'r-1'],
          ];
          if (signature !== undefined) lines.push(['Signature', signature]);
          if (digest !== undefined) lines.push(['Content-Digest', digest]);
          const wire: WireRequest = { method: 'POST', host: 'svc:3000', target: '/a?b=1', lines, body: body && Buffer.from(body) };
          const request = nodeView(wire);
          const result = parseRfc9421Credentials(request);
          seen.add(result.ok ? 'parsed' : result.code);
          expect(['invalid_signature', 'malformed_credentials', 'missing_credentials']).toContain(outcomeOf(request, [SECRET]));
          if (!result.ok) {
            for (const [, b64] of (signature ?? '').matchAll(/:([A-Za-z0-9+/=]{8,}):/g)) expect(result.message).not.toContain(b64);
            expect(result.message).not.toMatch(/[\r\n]/);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    // The fuzzing reaches every kind of answer, including a full parse (then a wrong signature).
    expect([...seen].sort()).toEqual(['malformed_credentials', 'missing_credentials', 'parsed']);
  });
});
