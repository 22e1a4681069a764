import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import * as protocol from '../../lib/protocol/index.js';
import { secretKey, hmacSha256, hmacSha256Hex, hmacSha256Matches, HmacSha256Key, sha256Hex } from '../../lib/protocol/crypto.js';
import { computeMac, matchesAnySecret } from '../../lib/protocol/signature.js';

const reference = (key: string | Uint8Array, message: string): Buffer =>
  createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    .update(message, 'utf8')
    .digest();

describe('HMAC-SHA256 over prepared pads (protocol.secretKey)', () => {
  const secrets = ['test-shared-secret-0123456789-abcdefghij', 'ü-non-ascii-sëcret-0123456789-abcdefghij', 'x'.repeat(200)];
  const message = 'API-HMAC-SHA256-V1\nkey\n1\nnonce\nGET\nhost\n/\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

  it.each(secrets)('gives the same MAC as createHmac, for a prepared key and for the string (%#)', (secret) => {
    const expected = reference(secret, message);
    expect(hmacSha256(secretKey(secret), message)).toEqual(expected);
    expect(hmacSha256(secret, message)).toEqual(expected);
    expect(hmacSha256Hex(secret, message)).toBe(expected.toString('hex'));
    expect(hmacSha256Matches(secretKey(secret), message, expected)).toBe(true);
  });

  it('agrees with createHmac for keys of 0 to 200 bytes and messages of any length and characters', () => {
    // Keys around the 64-byte block (longer ones are hashed first), messages beyond the shared 16 KiB buffer.
    const keys = fc.oneof(fc.uint8Array({ maxLength: 200, size: 'max' }), fc.string({ unit: 'binary', maxLength: 80, size: 'max' }));
    const messages = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300, size: 'max' }),
      fc.string({ unit: 'grapheme', maxLength: 50 }),
      fc.integer({ min: 5_000, max: 20_000 }).map((n) => 'é'.repeat(n)),
    );
    fc.assert(
      fc.property(keys, messages, (key, text) => {
        const expected = reference(key, text);
        const prepared = new HmacSha256Key(key);
        expect(hmacSha256(prepared, text)).toEqual(expected);
        expect(hmacSha256Matches(prepared, text, expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reports a MAC that differs in any bit, or has another length, as not matching', () => {
    const key = secretKey(secrets[0]);
    const mac = reference(secrets[0], message);
    for (let bit = 0; bit < mac.length * 8; bit++) {
      const flipped = Buffer.from(mac);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect(hmacSha256Matches(key, message, flipped)).toBe(false);
    }
    expect(hmacSha256Matches(key, message, mac.subarray(0, 31))).toBe(false);
    expect(hmacSha256Matches(key, message, Buffer.concat([mac, Buffer.alloc(1)]))).toBe(false);
    expect(hmacSha256Matches(key, message, Buffer.alloc(0))).toBe(false);
  });

  it('keeps no state between calls: interleaved keys and messages give each their own MAC', () => {
    const long = 'y'.repeat(40_000);
    const calls: Array<[string, string]> = [
      [secrets[0], message],
      [secrets[2], long],
      [secrets[1], ''],
      [secrets[0], message],
    ];
    for (const [secret, text] of calls) expect(hmacSha256(secret, text)).toEqual(reference(secret, text));
  });

  it('verifies with prepared keys and strings alike, every secret tried', () => {
    const input = {
      scheme: 'v1' as const,
      apiKey: 'k'.repeat(16),
      timestamp: '1',
      nonce: 'n'.repeat(16),
      method: 'GET',
      host: 'h',
      target: '/',
      contentType: '',
      bodySha256: protocol.EMPTY_BODY_SHA256,
    };
    const mac = computeMac(secrets[1], input);
    expect(matchesAnySecret(secrets.map(secretKey), input, mac)).toBe(true);
    expect(matchesAnySecret(secrets, input, mac)).toBe(true);
    expect(matchesAnySecret([secretKey(secrets[0])], input, mac)).toBe(false);
  });

  it('derives per-key secrets with a prepared master as with the string', () => {
    const master = secrets[0];
    const expected = reference(master, `API-KEY-SECRET-V1\n${'k'.repeat(16)}`).toString('hex');
    expect(protocol.deriveKeySecret(master, 'k'.repeat(16))).toBe(expected);
    expect(protocol.deriveKeySecret(secretKey(master), 'k'.repeat(16))).toBe(expected);
  });

  it('hashes bodies as createHash does', () => {
    for (const body of [Buffer.from('x'), Buffer.alloc(1024, 7), new Uint8Array([0, 255, 10])]) {
      expect(sha256Hex(body)).toBe(createHash('sha256').update(body).digest('hex'));
    }
    expect(sha256Hex(Buffer.alloc(0))).toBe(protocol.EMPTY_BODY_SHA256);
    expect(sha256Hex(undefined)).toBe(protocol.EMPTY_BODY_SHA256);
  });
});
