import {
  isTimestampFresh,
  parseCredentials,
  type CredentialsParseResult,
  type HeaderBag,
  type ParsedCredentials,
} from '../../lib/protocol/index.js';

const KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
const NONCE = 'bm9uY2UtMTIzNDU2Nzg5MA';
const HEX = '0af5c40db6e61ab9efdd29ea6453abd693686ac986d4a0b9329b2be45715e5f3';
const MAC = Buffer.from(HEX, 'hex');

const KEY_MESSAGE = 'X-API-Key must be 16 to 128 characters of [A-Za-z0-9_-].';
const TIMESTAMP_MESSAGE = 'X-API-Timestamp must be Unix time in whole seconds (1 to 12 digits).';
const SIGNATURE_MESSAGE = 'X-API-Signature must be "v1=" followed by 64 hex digits (scheme v1), or 64 hex digits (scheme v0).';
const NONCE_MESSAGE = 'X-API-Nonce must be 16 to 128 characters of [A-Za-z0-9_-].';

function v1Headers(overrides: HeaderBag = {}): HeaderBag {
  return {
    'x-api-key': KEY,
    'x-api-timestamp': '1700000000',
    'x-api-nonce': NONCE,
    'x-api-signature': `v1=${HEX}`,
    ...overrides,
  };
}

function v0Headers(overrides: HeaderBag = {}): HeaderBag {
  return { 'x-api-key': KEY, 'x-api-timestamp': '1700000000', 'x-api-signature': HEX, ...overrides };
}

function parsedOk(headers: HeaderBag): ParsedCredentials {
  const result = parseCredentials(headers);
  if (!result.ok) throw new Error(`expected credentials to parse, got ${result.code}: ${result.message}`);
  return result.credentials;
}

const malformed = (message: string): CredentialsParseResult => ({ ok: false, code: 'malformed_credentials', message });
const missing = (message: string): CredentialsParseResult => ({ ok: false, code: 'missing_credentials', message });

describe('parseCredentials', () => {
  it('parses a v1 request', () => {
    expect(parseCredentials(v1Headers())).toEqual({
      ok: true,
      credentials: {
        scheme: 'v1',
        apiKey: KEY,
        timestamp: '1700000000',
        timestampSeconds: 1_700_000_000,
        nonce: NONCE,
        mac: MAC,
      },
    });
  });

  it('parses a v0 request (no nonce)', () => {
    expect(parseCredentials(v0Headers())).toEqual({
      ok: true,
      credentials: {
        scheme: 'v0',
        apiKey: KEY,
        timestamp: '1700000000',
        timestampSeconds: 1_700_000_000,
        nonce: undefined,
        mac: MAC,
      },
    });
  });

  describe('missing headers', () => {
    const V1_HINT = 'Scheme v1 needs X-API-Key, X-API-Timestamp, X-API-Nonce and X-API-Signature (PROTOCOL.md).';

    it('lists every missing header, and every header v1 needs', () => {
      expect(parseCredentials({})).toEqual(missing(`Missing header(s): X-API-Key, X-API-Timestamp, X-API-Signature. ${V1_HINT}`));
    });

    it.each([
      ['x-api-key', 'X-API-Key'],
      ['x-api-timestamp', 'X-API-Timestamp'],
      ['x-api-signature', 'X-API-Signature'],
    ])('reports %s alone', (header, name) => {
      expect(parseCredentials(v1Headers({ [header]: undefined }))).toEqual(missing(`Missing header(s): ${name}. ${V1_HINT}`));
    });

    it('checks presence before format', () => {
      expect(parseCredentials({ 'x-api-key': 'bad', 'x-api-signature': 'bad' })).toEqual(
        missing(`Missing header(s): X-API-Timestamp. ${V1_HINT}`),
      );
    });

    it('requires the nonce for v1 only', () => {
      expect(parseCredentials(v1Headers({ 'x-api-nonce': undefined }))).toEqual(missing('Missing header(s): X-API-Nonce.'));
      expect(parsedOk(v0Headers()).nonce).toBeUndefined();
    });

    it('ignores the nonce header of a v0 request, even a malformed one', () => {
      expect(parsedOk(v0Headers({ 'x-api-nonce': NONCE })).nonce).toBeUndefined();
      expect(parsedOk(v0Headers({ 'x-api-nonce': 'bad nonce!' })).nonce).toBeUndefined();
      expect(parsedOk(v0Headers({ 'x-api-nonce': ['a', 'b'] })).nonce).toBeUndefined();
    });
  });

  describe('X-API-Key', () => {
    it.each([16, 17, 32, 127, 128])('accepts %i characters', (length) => {
      const key = 'k'.repeat(length);
      expect(parsedOk(v1Headers({ 'x-api-key': key })).apiKey).toBe(key);
    });

    it.each([0, 1, 15, 129, 256])('rejects %i characters', (length) => {
      expect(parseCredentials(v1Headers({ 'x-api-key': 'k'.repeat(length) }))).toEqual(malformed(KEY_MESSAGE));
    });

    it('accepts the whole charset [A-Za-z0-9_-]', () => {
      const charset = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
      expect(parsedOk(v1Headers({ 'x-api-key': charset })).apiKey).toBe(charset);
      expect(parsedOk(v1Headers({ 'x-api-key': '________________' })).apiKey).toBe('________________');
      expect(parsedOk(v1Headers({ 'x-api-key': '----------------' })).apiKey).toBe('----------------');
    });

    it.each(['.', '+', '/', '=', ' ', ':', ',', 'é', '\u0000', '\n', '%'])('rejects a key containing %j', (char) => {
      const key = 'abcdefgh' + char + 'ijklmnop';
      expect(parseCredentials(v1Headers({ 'x-api-key': key }))).toEqual(malformed(KEY_MESSAGE));
    });

    it('is case-sensitive (returned exactly as sent)', () => {
      expect(parsedOk(v1Headers({ 'x-api-key': KEY.toLowerCase() })).apiKey).toBe(KEY.toLowerCase());
    });
  });

  describe('X-API-Timestamp', () => {
    it.each([
      ['1', 1],
      ['0', 0],
      ['1700000000', 1_700_000_000],
      ['999999999999', 999_999_999_999],
      ['000000000001', 1],
    ])('accepts %j', (timestamp, seconds) => {
      const credentials = parsedOk(v1Headers({ 'x-api-timestamp': timestamp }));
      // The string is kept as sent: it is part of the signed string.
      expect(credentials.timestamp).toBe(timestamp);
      expect(credentials.timestampSeconds).toBe(seconds);
    });

    it.each(['1000000000000', '9999999999999', '-1', '+1', '1.5', '1e9', '0x10', '17000 00', '１７', 'abc', 'NaN'])(
      'rejects %j',
      (timestamp) => {
        expect(parseCredentials(v1Headers({ 'x-api-timestamp': timestamp }))).toEqual(malformed(TIMESTAMP_MESSAGE));
      },
    );
  });

  describe('X-API-Signature', () => {
    it('accepts upper-case hex and decodes it to the same bytes', () => {
      const upper = parsedOk(v1Headers({ 'x-api-signature': `v1=${HEX.toUpperCase()}` }));
      expect(upper.scheme).toBe('v1');
      expect(upper.mac.equals(MAC)).toBe(true);
      const upperV0 = parsedOk(v0Headers({ 'x-api-signature': HEX.toUpperCase() }));
      expect(upperV0.scheme).toBe('v0');
      expect(upperV0.mac.equals(MAC)).toBe(true);
      const mixed = HEX.split('')
        .map((c, i) => (i % 2 ? c.toUpperCase() : c))
        .join('');
      expect(parsedOk(v1Headers({ 'x-api-signature': `v1=${mixed}` })).mac).toEqual(MAC);
    });

    it('decodes 32 MAC bytes', () => {
      expect(parsedOk(v1Headers()).mac).toHaveLength(32);
    });

    it('the "v1=" prefix selects v1; without it the signature is v0', () => {
      expect(parsedOk(v1Headers()).scheme).toBe('v1');
      expect(parsedOk(v0Headers()).scheme).toBe('v0');
    });

    it.each([
      ['63 hex digits', 'v1=' + HEX.slice(1)],
      ['65 hex digits', 'v1=' + HEX + '0'],
      ['a non-hex digit', 'v1=' + HEX.slice(1) + 'g'],
      ['an upper-case prefix', 'V1=' + HEX],
      ['another version prefix', 'v2=' + HEX],
      ['a v0= prefix', 'v0=' + HEX],
      ['a space after the prefix', 'v1= ' + HEX],
      ['the prefix only', 'v1='],
      ['base64', MAC.toString('base64')],
      ['v0 with 63 digits', HEX.slice(1)],
      ['v0 with 66 digits', HEX + '00'],
      ['a doubled prefix', 'v1=v1=' + HEX],
    ])('rejects %s', (_name, signature) => {
      expect(parseCredentials(v1Headers({ 'x-api-signature': signature }))).toEqual(malformed(SIGNATURE_MESSAGE));
    });
  });

  describe('X-API-Nonce (v1)', () => {
    it.each([16, 22, 128])('accepts %i characters', (length) => {
      const nonce = 'N'.repeat(length);
      expect(parsedOk(v1Headers({ 'x-api-nonce': nonce })).nonce).toBe(nonce);
    });

    it('accepts _ and -', () => {
      expect(parsedOk(v1Headers({ 'x-api-nonce': 'abc_def-ghi_jkl-' })).nonce).toBe('abc_def-ghi_jkl-');
    });

    it.each([
      ['15 characters', 'N'.repeat(15)],
      ['129 characters', 'N'.repeat(129)],
      ['a dot', 'abcdefgh.ijklmnop'],
      ['base64 padding', 'bm9uY2UtMTIzNDU2Nzg5MA=='],
      ['base64 +/', 'bm9uY2UtMTIz+DU2Nzg5/A'],
    ])('rejects %s', (_name, nonce) => {
      expect(parseCredentials(v1Headers({ 'x-api-nonce': nonce }))).toEqual(malformed(NONCE_MESSAGE));
    });
  });

  describe('duplicated headers are malformed', () => {
    it.each([
      ['x-api-key', KEY, KEY_MESSAGE],
      ['x-api-timestamp', '1700000000', TIMESTAMP_MESSAGE],
      ['x-api-signature', `v1=${HEX}`, SIGNATURE_MESSAGE],
      ['x-api-nonce', NONCE, NONCE_MESSAGE],
    ])('%s sent twice, as an array or joined with ", "', (header, value, message) => {
      expect(parseCredentials(v1Headers({ [header]: [value, value] }))).toEqual(malformed(message));
      expect(parseCredentials(v1Headers({ [header]: `${value}, ${value}` }))).toEqual(malformed(message));
      expect(parseCredentials(v1Headers({ [header]: `${value},${value}` }))).toEqual(malformed(message));
    });

    it('a v0 signature sent twice', () => {
      expect(parseCredentials(v0Headers({ 'x-api-signature': [HEX, HEX] }))).toEqual(malformed(SIGNATURE_MESSAGE));
      expect(parseCredentials(v0Headers({ 'x-api-signature': `${HEX}, ${HEX}` }))).toEqual(malformed(SIGNATURE_MESSAGE));
    });
  });

  it('trims surrounding whitespace from every value', () => {
    expect(
      parseCredentials({
        'x-api-key': `  ${KEY}\t`,
        'x-api-timestamp': ' 1700000000 ',
        'x-api-nonce': `\t${NONCE}  `,
        'x-api-signature': `  v1=${HEX.toUpperCase()} `,
      }),
    ).toEqual({
      ok: true,
      credentials: {
        scheme: 'v1',
        apiKey: KEY,
        timestamp: '1700000000',
        timestampSeconds: 1_700_000_000,
        nonce: NONCE,
        mac: MAC,
      },
    });
    expect(parsedOk(v0Headers({ 'x-api-signature': ` ${HEX} ` })).scheme).toBe('v0');
  });

  it.each([
    ['a no-break space (U+00A0)', '\u00a0'],
    ['a line separator (U+2028)', '\u2028'],
    ['an ideographic space (U+3000)', '\u3000'],
    ['a vertical tab', '\u000b'],
  ])('does not strip %s: only spaces and tabs are HTTP whitespace', (_name, ch) => {
    expect(parseCredentials(v0Headers({ 'x-api-key': `${ch}${KEY}` }))).toEqual(malformed(KEY_MESSAGE));
    expect(parseCredentials(v0Headers({ 'x-api-timestamp': `1700000000${ch}` })).ok).toBe(false);
  });

  describe('empty values are present but malformed', () => {
    it.each([
      ['x-api-key', KEY_MESSAGE],
      ['x-api-timestamp', TIMESTAMP_MESSAGE],
      ['x-api-signature', SIGNATURE_MESSAGE],
      ['x-api-nonce', NONCE_MESSAGE],
    ])('%s', (header, message) => {
      expect(parseCredentials(v1Headers({ [header]: '' }))).toEqual(malformed(message));
      expect(parseCredentials(v1Headers({ [header]: '   ' }))).toEqual(malformed(message));
    });
  });

  it('checks the key first, then the timestamp, then the signature, then the nonce', () => {
    const allBad = { 'x-api-key': 'x', 'x-api-timestamp': 'x', 'x-api-signature': 'v1=x', 'x-api-nonce': 'x' };
    expect(parseCredentials(allBad)).toEqual(malformed(KEY_MESSAGE));
    expect(parseCredentials({ ...allBad, 'x-api-key': KEY })).toEqual(malformed(TIMESTAMP_MESSAGE));
    expect(parseCredentials({ ...allBad, 'x-api-key': KEY, 'x-api-timestamp': '1' })).toEqual(malformed(SIGNATURE_MESSAGE));
    expect(parseCredentials({ ...allBad, 'x-api-key': KEY, 'x-api-timestamp': '1', 'x-api-signature': `v1=${HEX}` })).toEqual(
      malformed(NONCE_MESSAGE),
    );
  });
});

describe('isTimestampFresh', () => {
  const NOW = 1_700_000_000;

  it('accepts the same second', () => {
    expect(isTimestampFresh(NOW, NOW, 300)).toBe(true);
  });

  it('accepts a timestamp exactly `tolerance` in the past and rejects one second more', () => {
    expect(isTimestampFresh(NOW - 300, NOW, 300)).toBe(true);
    expect(isTimestampFresh(NOW - 301, NOW, 300)).toBe(false);
  });

  it('accepts a timestamp exactly `tolerance` in the future and rejects one second more', () => {
    expect(isTimestampFresh(NOW + 300, NOW, 300)).toBe(true);
    expect(isTimestampFresh(NOW + 301, NOW, 300)).toBe(false);
  });

  it('uses the given tolerance', () => {
    expect(isTimestampFresh(NOW - 1, NOW, 1)).toBe(true);
    expect(isTimestampFresh(NOW + 1, NOW, 1)).toBe(true);
    expect(isTimestampFresh(NOW - 2, NOW, 1)).toBe(false);
    expect(isTimestampFresh(NOW + 2, NOW, 1)).toBe(false);
  });

  it('rejects far-off timestamps in both directions', () => {
    expect(isTimestampFresh(0, NOW, 300)).toBe(false);
    expect(isTimestampFresh(999_999_999_999, NOW, 300)).toBe(false);
  });
});
