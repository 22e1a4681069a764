import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Largest multiple of 62 that fits a byte: bytes at or above it are discarded, so there is no modulo bias. */
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** Default and minimum length of an issued key: 32 characters, about 190 bits. */
export const DEFAULT_API_KEY_LENGTH = 32;
/** Longest API key the wire protocol accepts (PROTOCOL.md). */
export const MAX_API_KEY_LENGTH = 128;

/** A new API key: `length` characters of [A-Za-z0-9] from the CSPRNG, without modulo bias. */
export function generateApiKey(length = DEFAULT_API_KEY_LENGTH): string {
  if (!Number.isSafeInteger(length) || length < DEFAULT_API_KEY_LENGTH || length > MAX_API_KEY_LENGTH) {
    throw new RangeError(`API key length must be ${DEFAULT_API_KEY_LENGTH} to ${MAX_API_KEY_LENGTH}, got ${length}.`);
  }
  let key = '';
  while (key.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < UNBIASED_LIMIT) key += ALPHABET[byte % ALPHABET.length];
      if (key.length === length) break;
    }
  }
  return key;
}
