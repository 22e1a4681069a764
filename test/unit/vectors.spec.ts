import { createHmac } from 'node:crypto';
import { computeMac, formatSignature, matchesAnySecret } from '../../lib/protocol/signature.js';
import {
  deriveKeySecret,
  EMPTY_BODY_SHA256,
  parseCredentials,
  signRequest,
  stringToSign,
  v0StringToSign,
  v1StringToSign,
  type SignedFields,
  type V1SignedFields,
} from '../../lib/protocol/index.js';
import { hmacSha256Hex, sha256Hex } from '../../lib/protocol/crypto.js';
import { flipHexDigit, loadSignatureVectors } from '../support/signature-vectors.js';

const vectors = loadSignatureVectors();
const OTHER_SECRET = 'another-secret-that-is-long-enough-0123456789';

/** The 64 hex digits of a signature header value, without the `v1=` prefix. */
function hexOf(signature: string): string {
  return signature.startsWith('v1=') ? signature.slice(3) : signature;
}

/** Every header-value variant with exactly one hex digit changed. */
function flippedSignatures(signature: string): string[] {
  const prefix = signature.startsWith('v1=') ? 'v1=' : '';
  const hex = hexOf(signature);
  return Array.from({ length: hex.length }, (_, i) => prefix + flipHexDigit(hex, i));
}

describe('signature test vectors (test/fixtures/signatures.json)', () => {
  it('has vectors of every kind', () => {
    expect(vectors.v0.length).toBeGreaterThan(0);
    expect(vectors.v1.length).toBeGreaterThan(0);
    expect(vectors.derivedSecrets.length).toBeGreaterThan(0);
    expect(vectors.derivedV1.length).toBeGreaterThan(0);
    expect(vectors.serverTime.length).toBeGreaterThan(0);
    expect(vectors.revision).toBe(2);
  });

  it('the empty-body hash is the SHA-256 of the empty string', () => {
    expect(sha256Hex(undefined)).toBe(EMPTY_BODY_SHA256);
    expect(sha256Hex(new Uint8Array(0))).toBe(EMPTY_BODY_SHA256);
    expect(EMPTY_BODY_SHA256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  describe.each(vectors.v0.map((v, i) => [i, v] as const))('v0 #%i', (_i, v) => {
    const input: SignedFields = { scheme: 'v0', apiKey: v.apiKey, timestamp: v.timestamp };

    it('builds the string to sign', () => {
      expect(v0StringToSign(v.apiKey, v.timestamp)).toBe(v.stringToSign);
      expect(stringToSign(input)).toBe(v.stringToSign);
    });

    it('computes the signature (lowercase hex HMAC-SHA256 over the UTF-8 secret)', () => {
      expect(formatSignature('v0', computeMac(v.secret, input))).toBe(v.signature);
      expect(hmacSha256Hex(v.secret, v.stringToSign)).toBe(v.signature);
      // Independent of lib: node:crypto directly on the UTF-8 bytes.
      expect(createHmac('sha256', Buffer.from(v.secret, 'utf8')).update(Buffer.from(v.stringToSign, 'utf8')).digest('hex')).toBe(
        v.signature,
      );
    });

    it('signRequest produces the headers (no nonce for v0, whatever request it is)', () => {
      const headers = signRequest({
        scheme: 'v0',
        apiKey: v.apiKey,
        secret: v.secret,
        timestampSeconds: Number(v.timestamp),
        nonce: 'ignored-nonce-0123456789',
        method: 'POST',
        host: 'anything.example',
        target: '/whatever?x=1',
        body: Buffer.from('ignored body'),
      });
      expect(headers).toEqual({
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-signature': v.signature,
      });
    });

    it('verifies through parseCredentials + matchesAnySecret, and not with one digit flipped', () => {
      const parsed = parseCredentials({
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-signature': v.signature,
      });
      if (!parsed.ok) throw new Error(`did not parse: ${parsed.message}`);
      expect(parsed.credentials).toEqual({
        scheme: 'v0',
        apiKey: v.apiKey,
        timestamp: v.timestamp,
        timestampSeconds: Number(v.timestamp),
        nonce: undefined,
        mac: Buffer.from(v.signature, 'hex'),
      });
      const verifyInput: SignedFields = { scheme: 'v0', apiKey: v.apiKey, timestamp: parsed.credentials.timestamp };
      expect(matchesAnySecret([v.secret], verifyInput, parsed.credentials.mac)).toBe(true);
      expect(matchesAnySecret([OTHER_SECRET, v.secret], verifyInput, parsed.credentials.mac)).toBe(true);
      expect(matchesAnySecret([OTHER_SECRET], verifyInput, parsed.credentials.mac)).toBe(false);
      expect(matchesAnySecret([], verifyInput, parsed.credentials.mac)).toBe(false);

      const upper = parseCredentials({
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-signature': v.signature.toUpperCase(),
      });
      expect(upper.ok && matchesAnySecret([v.secret], verifyInput, upper.credentials.mac)).toBe(true);

      for (const flipped of flippedSignatures(v.signature)) {
        const bad = parseCredentials({ 'x-api-key': v.apiKey, 'x-api-timestamp': v.timestamp, 'x-api-signature': flipped });
        if (!bad.ok) throw new Error(`did not parse: ${bad.message}`);
        expect(matchesAnySecret([v.secret], verifyInput, bad.credentials.mac)).toBe(false);
      }
    });
  });

  describe.each(vectors.v1.map((v, i) => [i, v] as const))('v1 #%i', (_i, v) => {
    const body = Buffer.from(v.bodyBase64, 'base64');
    const bodySha256 = sha256Hex(body);
    const input: V1SignedFields = {
      scheme: 'v1',
      apiKey: v.apiKey,
      timestamp: v.timestamp,
      nonce: v.nonce,
      method: v.method,
      host: v.host,
      target: v.target,
      contentType: v.contentType,
      bodySha256,
    };

    it('signs the Content-Type on the eighth line and the body hash on the last', () => {
      expect(v.stringToSign.split('\n')).toHaveLength(9);
      expect(v.stringToSign.split('\n')[7]).toBe(v.contentType);
      expect(v.stringToSign.split('\n')[8]).toBe(bodySha256);
      if (body.length === 0) expect(bodySha256).toBe(EMPTY_BODY_SHA256);
    });

    it('builds the string to sign (method upper-cased, host lower-cased, target and type verbatim)', () => {
      expect(v1StringToSign(input)).toBe(v.stringToSign);
      expect(stringToSign(input)).toBe(v.stringToSign);
    });

    it('computes the signature header value', () => {
      expect(formatSignature('v1', computeMac(v.secret, input))).toBe(v.signature);
      expect('v1=' + hmacSha256Hex(v.secret, v.stringToSign)).toBe(v.signature);
    });

    it('signRequest produces the headers from the body bytes and the Content-Type', () => {
      expect(
        signRequest({
          scheme: 'v1',
          apiKey: v.apiKey,
          secret: v.secret,
          timestampSeconds: Number(v.timestamp),
          nonce: v.nonce,
          method: v.method,
          host: v.host,
          target: v.target,
          contentType: v.contentType === '' ? undefined : v.contentType,
          body,
        }),
      ).toEqual({
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-nonce': v.nonce,
        'x-api-signature': v.signature,
      });
    });

    it('verifies through parseCredentials + matchesAnySecret, and not with any signed field or digit changed', () => {
      const headers = {
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-nonce': v.nonce,
        'x-api-signature': v.signature,
      };
      const parsed = parseCredentials(headers);
      if (!parsed.ok) throw new Error(`did not parse: ${parsed.message}`);
      expect(parsed.credentials).toEqual({
        scheme: 'v1',
        apiKey: v.apiKey,
        timestamp: v.timestamp,
        timestampSeconds: Number(v.timestamp),
        nonce: v.nonce,
        mac: Buffer.from(hexOf(v.signature), 'hex'),
      });
      expect(matchesAnySecret([v.secret], input, parsed.credentials.mac)).toBe(true);
      expect(matchesAnySecret([OTHER_SECRET, v.secret], input, parsed.credentials.mac)).toBe(true);
      expect(matchesAnySecret([OTHER_SECRET], input, parsed.credentials.mac)).toBe(false);

      const changed: V1SignedFields[] = [
        { ...input, nonce: v.nonce + 'x' },
        { ...input, timestamp: String(Number(v.timestamp) + 1) },
        { ...input, target: v.target + 'x' },
        { ...input, host: v.host + 'x' },
        { ...input, method: v.method === 'GET' ? 'HEAD' : 'GET' },
        { ...input, contentType: v.contentType === '' ? 'application/json' : '' },
        { ...input, contentType: v.contentType + ';charset=utf-8' },
        { ...input, bodySha256: sha256Hex(Buffer.concat([body, Buffer.from([0])])) },
      ];
      for (const other of changed) expect(matchesAnySecret([v.secret], other, parsed.credentials.mac)).toBe(false);

      for (const flipped of flippedSignatures(v.signature)) {
        const bad = parseCredentials({ ...headers, 'x-api-signature': flipped });
        if (!bad.ok) throw new Error(`did not parse: ${bad.message}`);
        expect(matchesAnySecret([v.secret], input, bad.credentials.mac)).toBe(false);
      }
    });
  });

  it('v1 cases 2 and 3 differ only in contentType, and so in signature', () => {
    const [, second, third] = vectors.v1;
    expect({ ...second, contentType: '', stringToSign: '', signature: '' }).toEqual({
      ...third,
      contentType: '',
      stringToSign: '',
      signature: '',
    });
    expect(second.contentType).not.toBe(third.contentType);
    expect(second.signature).not.toBe(third.signature);
  });

  describe.each(vectors.derivedSecrets.map((v, i) => [i, v] as const))('derived secret #%i', (_i, v) => {
    it('derives the per-key secret from the master', () => {
      expect(deriveKeySecret(v.master, v.apiKey)).toBe(v.secret);
      expect(hmacSha256Hex(v.master, 'API-KEY-SECRET-V1\n' + v.apiKey)).toBe(v.secret);
      expect(v.secret).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe.each(vectors.derivedV1.map((v, i) => [i, v] as const))('derived v1 #%i', (_i, v) => {
    const body = Buffer.from(v.bodyBase64, 'base64');
    const request = { method: v.method, host: v.host, target: v.target, contentType: v.contentType };
    const input: V1SignedFields = {
      scheme: 'v1',
      apiKey: v.apiKey,
      timestamp: v.timestamp,
      nonce: v.nonce,
      ...request,
      bodySha256: sha256Hex(body),
    };

    it('signs with the derived secret, not the master', () => {
      expect(deriveKeySecret(v.master, v.apiKey)).toBe(v.derivedSecret);
      const sign = (secret: string) =>
        signRequest({ scheme: 'v1', apiKey: v.apiKey, secret, timestampSeconds: Number(v.timestamp), nonce: v.nonce, ...request, body });
      expect(sign(v.derivedSecret)).toEqual({
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-nonce': v.nonce,
        'x-api-signature': v.signature,
      });
      expect(sign(v.master)['x-api-signature']).not.toBe(v.signature);
    });

    it('verifies with the secret derived from the master, and not with one digit flipped', () => {
      const headers = {
        'x-api-key': v.apiKey,
        'x-api-timestamp': v.timestamp,
        'x-api-nonce': v.nonce,
        'x-api-signature': v.signature,
      };
      const parsed = parseCredentials(headers);
      if (!parsed.ok) throw new Error(`did not parse: ${parsed.message}`);
      expect(matchesAnySecret([deriveKeySecret(v.master, v.apiKey)], input, parsed.credentials.mac)).toBe(true);
      expect(matchesAnySecret([v.master], input, parsed.credentials.mac)).toBe(false);
      for (const flipped of flippedSignatures(v.signature)) {
        const bad = parseCredentials({ ...headers, 'x-api-signature': flipped });
        if (!bad.ok) throw new Error(`did not parse: ${bad.message}`);
        expect(matchesAnySecret([v.derivedSecret], input, bad.credentials.mac)).toBe(false);
      }
    });
  });

  it('signRequest refuses v1 without a nonce', () => {
    expect(() =>
      signRequest({
        scheme: 'v1',
        apiKey: 'k'.repeat(16),
        secret: 's'.repeat(32),
        timestampSeconds: 1,
        method: 'GET',
        host: 'h',
        target: '/',
      }),
    ).toThrow(new TypeError('Scheme v1 signs a nonce: pass one (generateNonce()).'));
  });
});
