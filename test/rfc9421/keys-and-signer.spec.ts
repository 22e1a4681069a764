import { HmacSha256Key, hmacSha256 } from '../../lib/protocol/crypto.js';
import { parseRfc9421Credentials, rfc9421Expired, signRfc9421, verifyRfc9421 } from '../../lib/protocol/index.js';
import { rfc9421MacMatches } from '../../lib/protocol/rfc9421/rfc9421-verify.js';
import { nodeView } from './rfc9421-helpers.js';
import { SECRET, signedRequest } from './signed-request.js';

const BASE = '"@method": GET\n"@authority": a.example\n"@path": /\n"@query": ?\n"@signature-params": ("@method");created=1;keyid="k"';
const RIGHT = 'right-secret-that-is-long-enough-0123456789';
const WRONG = 'wrong-secret-that-is-long-enough-0123456789';

/** A key that counts how often its pads are read: once per MAC computed with it. */
function countingKey(secret: string): { key: HmacSha256Key; uses: () => number } {
  const real = new HmacSha256Key(secret);
  let reads = 0;
  const key = Object.create(HmacSha256Key.prototype, {
    innerPad: { get: () => (reads++, real.innerPad) },
    outerPad: { get: () => real.outerPad },
  }) as HmacSha256Key;
  return { key, uses: () => reads };
}

describe('rfc9421MacMatches: every accepted key, in constant time', () => {
  const mac = hmacSha256(RIGHT, BASE);

  it.each([
    [[RIGHT], true],
    [[RIGHT, WRONG], true],
    [[WRONG, RIGHT], true],
    [[WRONG, RIGHT, WRONG], true],
    [[WRONG], false],
    [[], false],
  ])('keys %j: %s', (keys, expected) => {
    expect(rfc9421MacMatches(keys, BASE, mac)).toBe(expected);
  });

  it('tries every key, whichever matches', () => {
    const keys = [countingKey(RIGHT), countingKey(WRONG), countingKey(WRONG)];
    expect(
      rfc9421MacMatches(
        keys.map((k) => k.key),
        BASE,
        mac,
      ),
    ).toBe(true);
    expect(keys.map((k) => k.uses())).toEqual([1, 1, 1]);
  });

  it('a MAC of another length never matches', () => {
    expect(rfc9421MacMatches([RIGHT], BASE, mac.subarray(0, 31))).toBe(false);
    expect(rfc9421MacMatches([RIGHT], BASE, Buffer.concat([mac, Buffer.alloc(1)]))).toBe(false);
  });

  it('a key given as raw bytes is those bytes (a string key: its UTF-8 bytes)', () => {
    expect(rfc9421MacMatches([new HmacSha256Key(Buffer.from(RIGHT, 'utf8'))], BASE, mac)).toBe(true);
    expect(rfc9421MacMatches([new HmacSha256Key(Buffer.from(RIGHT, 'utf8').subarray(1))], BASE, mac)).toBe(false);
  });

  it('verifyRfc9421 computes the MAC with every key even when the body does not match its digest', () => {
    const wire = signedRequest();
    const parsed = parseRfc9421Credentials(nodeView(wire));
    if (!parsed.ok) throw new Error(parsed.message);
    const keys = [countingKey(WRONG), countingKey(SECRET)];
    expect(
      verifyRfc9421(
        keys.map((k) => k.key),
        parsed.credentials,
        Buffer.from('another body'),
      ),
    ).toBe(false);
    expect(keys.map((k) => k.uses())).toEqual([1, 1]);
    expect(
      verifyRfc9421(
        keys.map((k) => k.key),
        parsed.credentials,
        wire.body,
      ),
    ).toBe(true);
  });
});

describe('signRfc9421 refuses input our verifier would refuse', () => {
  const base = {
    apiKey: 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF',
    secret: RIGHT,
    method: 'GET',
    host: 'svc:3000',
    target: '/x',
    createdSeconds: 1_700_000_000,
    nonce: 'rfc-test-nonce-0000000001',
  };

  it.each<[string, Partial<Parameters<typeof signRfc9421>[0]>, string]>([
    ['a short API key', { apiKey: 'short' }, 'The API key must be 16 to 128 characters of [A-Za-z0-9_-].'],
    ['a short nonce', { nonce: 'short' }, 'The nonce must be 16 to 128 characters of [A-Za-z0-9_-].'],
    [
      'a created time that is not a number',
      { createdSeconds: Number.NaN },
      'createdSeconds must be Unix time in seconds (a number of at least 0).',
    ],
    ['a body without a content type', { method: 'POST', body: 'x' }, 'A request with a body needs a content type: give contentType.'],
    [
      'a refused component',
      { components: ['@method', '@authority', '@target-uri'] },
      'Signature-Input may not cover "@target-uri": the verifier cannot know what the signer saw behind a proxy.',
    ],
    ['a header value with a line break', { headers: { 'X-Trace': 'a\r\nb' } }, 'The value of "x-trace" contains a line break.'],
    ['neither url nor host and target', { host: undefined }, 'Scheme rfc9421 signs the host and target: give url, or host and target.'],
    [
      'a listed parameter without a value',
      { parameters: ['created', 'keyid', 'nonce', 'tag'] },
      'The signature parameter tag is listed but has no value.',
    ],
  ])('%s', (_name, change, message) => {
    expect(() => signRfc9421({ ...base, ...change })).toThrow(new TypeError(message));
  });
});

describe('rfc9421Expired', () => {
  it('a present expires has passed once now is after it; an absent one never', () => {
    expect(rfc9421Expired({ expiresSeconds: 100 }, 99)).toBe(false);
    expect(rfc9421Expired({ expiresSeconds: 100 }, 100)).toBe(false);
    expect(rfc9421Expired({ expiresSeconds: 100 }, 101)).toBe(true);
    expect(rfc9421Expired({ expiresSeconds: undefined }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
