import { randomBytes } from 'node:crypto';
import { generateApiKey } from '../../lib/keys/api-key.generator.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Upper critical values of the chi-square distribution with 61 degrees of
 * freedom (62 symbols): P(X > 110.84) = 1e-4 and P(X > 128.52) = 1e-6.
 */
const CHI2_61_P1E4 = 110.84;

/** Pearson's chi-square statistic of the character counts of `text` against the uniform distribution on ALPHABET. */
function chiSquare(text: string): number {
  const counts = new Map<string, number>();
  for (const char of ALPHABET) counts.set(char, 0);
  for (const char of text) {
    const count = counts.get(char);
    if (count === undefined) throw new Error(`character ${JSON.stringify(char)} outside the alphabet`);
    counts.set(char, count + 1);
  }
  const expected = text.length / ALPHABET.length;
  let statistic = 0;
  for (const count of counts.values()) statistic += (count - expected) ** 2 / expected;
  return statistic;
}

/** What a naive generator does: `byte % 62`, which favours the first 8 characters (5/256 instead of 4/256). */
function moduloBiasedKey(length: number): string {
  return Array.from(randomBytes(length), (byte) => ALPHABET[byte % ALPHABET.length]).join('');
}

describe('generateApiKey', () => {
  it('makes 32 characters of [A-Za-z0-9] by default', () => {
    for (let i = 0; i < 1_000; i++) expect(generateApiKey()).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it.each([32, 33, 64, 100, 128])('makes keys of %i characters', (length) => {
    const key = generateApiKey(length);
    expect(key).toHaveLength(length);
    expect(key).toMatch(/^[A-Za-z0-9]+$/);
  });

  it.each([0, 1, 16, 31, 129, 256, -32, 32.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects a length of %p', (length) => {
    expect(() => generateApiKey(length)).toThrow(new RangeError(`API key length must be 32 to 128, got ${length}.`));
    expect(() => generateApiKey(length)).toThrow(RangeError);
  });

  it('produces keys the protocol accepts on the wire', () => {
    expect(generateApiKey()).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
    expect(generateApiKey(128)).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
  });

  it('never repeats a key over 10 000 keys', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 10_000; i++) keys.add(generateApiKey());
    expect(keys.size).toBe(10_000);
  });

  it('draws characters uniformly from the alphabet (chi-square, 61 degrees of freedom, p = 1e-4)', () => {
    const keys: string[] = [];
    for (let i = 0; i < 20_000; i++) keys.push(generateApiKey());
    const text = keys.join('');
    expect(text).toHaveLength(640_000);
    expect(new Set(text).size).toBe(62);
    expect(chiSquare(text)).toBeLessThan(CHI2_61_P1E4);
  });

  it('the same test detects a modulo-biased generator', () => {
    const text = Array.from({ length: 20_000 }, () => moduloBiasedKey(32)).join('');
    // Expected statistic around 4 300 for this sample size.
    expect(chiSquare(text)).toBeGreaterThan(CHI2_61_P1E4 * 10);
  });

  it.each([48, 128])('draws keys of %i characters uniformly too (chi-square, p = 1e-4) and never repeats one', (length) => {
    const keys = Array.from({ length: Math.ceil(640_000 / length) }, () => generateApiKey(length));
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key).toMatch(new RegExp(`^[A-Za-z0-9]{${length}}$`));
    const text = keys.join('');
    expect(new Set(text).size).toBe(62);
    expect(chiSquare(text)).toBeLessThan(CHI2_61_P1E4);
  });

  it('uses every character at every position (no fixed or sequential parts)', () => {
    const seen = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 5_000; i++) {
      const key = generateApiKey();
      for (let p = 0; p < 32; p++) seen[p].add(key[p]);
    }
    // With 5 000 keys, a given character is missing at a given position with probability about 1e-35.
    for (const chars of seen) expect(chars.size).toBe(62);
  });
});
