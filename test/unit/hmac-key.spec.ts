import { createHash, createHmac } from 'node:crypto';
import { protocol } from '../../lib/index.js';

describe('HMAC keys made once (protocol.secretKey)', () => {
  const secrets = ['test-shared-secret-0123456789-abcdefghij', 'ü-non-ascii-sëcret-0123456789-abcdefghij', 'x'.repeat(200)];
  const message = 'API-HMAC-SHA256-V1\nkey\n1\nnonce\nGET\nhost\n/\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

  it.each(secrets)('gives the same MAC as the secret string (%#)', (secret) => {
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest();
    expect(protocol.hmacSha256(protocol.secretKey(secret), message)).toEqual(expected);
    expect(protocol.hmacSha256(secret, message)).toEqual(expected);
  });

  it('verifies with KeyObjects and strings alike, every secret tried', () => {
    const input = { scheme: 'v1' as const, apiKey: 'k'.repeat(16), timestamp: '1', nonce: 'n'.repeat(16), request: { method: 'GET', host: 'h', target: '/', bodySha256: protocol.EMPTY_BODY_SHA256 } };
    const mac = protocol.computeMac(secrets[1], input);
    expect(protocol.matchesAnySecret(secrets.map(protocol.secretKey), input, mac)).toBe(true);
    expect(protocol.matchesAnySecret([protocol.secretKey(secrets[0])], input, mac)).toBe(false);
  });

  it('hashes bodies as createHash does', () => {
    for (const body of [Buffer.from('x'), Buffer.alloc(1024, 7), new Uint8Array([0, 255, 10])]) {
      expect(protocol.sha256Hex(body)).toBe(createHash('sha256').update(body).digest('hex'));
    }
    expect(protocol.sha256Hex(Buffer.alloc(0))).toBe(protocol.EMPTY_BODY_SHA256);
    expect(protocol.sha256Hex(undefined)).toBe(protocol.EMPTY_BODY_SHA256);
  });
});
