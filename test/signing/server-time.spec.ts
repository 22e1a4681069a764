import { readFileSync } from 'node:fs';
import { flipHexDigit } from '../support/signature-vectors.js';
import * as protocol from '../../lib/protocol/index.js';
import { secretKey } from '../../lib/protocol/crypto.js';

interface ServerTimeVector {
  secret: string;
  apiKey: string;
  nonce: string;
  serverTime: string;
  signature: string;
}

const vectors = (
  JSON.parse(readFileSync(new URL('../fixtures/signatures.json', import.meta.url), 'utf8')) as { serverTime: ServerTimeVector[] }
).serverTime;

describe('X-API-Server-Time-Signature (protocol.signServerTime / verifyServerTime)', () => {
  it('the fixtures hold server-time vectors, one of them for v0 (empty nonce)', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(3);
    expect(vectors.some((v) => v.nonce === '')).toBe(true);
  });

  describe.each(vectors.map((v, i) => [i, v] as const))('vector #%i', (_i, v) => {
    const fields = { apiKey: v.apiKey, nonce: v.nonce, serverTime: v.serverTime };

    it('signs to the vector', () => {
      expect(protocol.serverTimeStringToSign(fields)).toBe(`API-SERVER-TIME-V1\n${v.apiKey}\n${v.nonce}\n${v.serverTime}`);
      expect(protocol.signServerTime(v.secret, fields)).toBe(v.signature);
      expect(protocol.signServerTime(secretKey(v.secret), fields)).toBe(v.signature);
    });

    it('verifies the vector, with the secret as a string or a prepared key', () => {
      expect(protocol.verifyServerTime(v.secret, fields, v.signature)).toBe(true);
      expect(protocol.verifyServerTime(secretKey(v.secret), fields, v.signature)).toBe(true);
    });

    it('does not verify when any field, the secret or any digit differs', () => {
      const other = 'another-secret-of-enough-length-0123456789';
      expect(protocol.verifyServerTime(other, fields, v.signature)).toBe(false);
      expect(protocol.verifyServerTime(v.secret, { ...fields, apiKey: `${v.apiKey}x` }, v.signature)).toBe(false);
      expect(protocol.verifyServerTime(v.secret, { ...fields, nonce: `${v.nonce}x` }, v.signature)).toBe(false);
      expect(protocol.verifyServerTime(v.secret, { ...fields, serverTime: String(Number(v.serverTime) + 310) }, v.signature)).toBe(false);
      for (const index of [3, 10, 66]) {
        expect(protocol.verifyServerTime(v.secret, fields, flipHexDigit(v.signature, index))).toBe(false);
      }
    });

    it.each([
      ['missing', undefined],
      ['null (Headers.get of an absent header)', null],
      ['empty', ''],
      ['without the v1= prefix', (s: string) => s.slice(3)],
      ['with another prefix', (s: string) => `v2=${s.slice(3)}`],
      ['upper-case hex', (s: string) => `v1=${s.slice(3).toUpperCase()}`],
      ['truncated', (s: string) => s.slice(0, -2)],
      ['with a trailing digit', (s: string) => `${s}0`],
      ['sent twice (joined by Headers)', (s: string) => `${s}, ${s}`],
      ['with surrounding spaces', (s: string) => ` ${s} `],
    ])('a signature header that is %s does not verify', (_name, make) => {
      const header = typeof make === 'function' ? make(v.signature) : make;
      expect(protocol.verifyServerTime(v.secret, fields, header)).toBe(false);
    });

    it.each([['1.5e9'], [''], [' 1700000400'], ['1234567890123'], ['-1']])(
      'a server time %j that is not 1 to 12 digits never verifies, even when signed',
      (serverTime) => {
        const signed = protocol.signServerTime(v.secret, { ...fields, serverTime });
        expect(protocol.verifyServerTime(v.secret, { ...fields, serverTime }, signed)).toBe(false);
      },
    );
  });
});
