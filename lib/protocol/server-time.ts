import { hmacSha256Hex, hmacSha256Matches, type HmacKey } from './crypto.js';

/** Header of a `401 stale_timestamp` answer that authenticates its `X-API-Server-Time` (lower-cased as Node exposes it). */
export const HEADER_SERVER_TIME_SIGNATURE = 'x-api-server-time-signature';
/** First line of the string signed by `X-API-Server-Time-Signature`. */
export const SERVER_TIME_ALGORITHM_LINE = 'API-SERVER-TIME-V1';
/** Prefix of the `X-API-Server-Time-Signature` value. */
export const SERVER_TIME_SIGNATURE_PREFIX = 'v1=';

/** `X-API-Server-Time` values: Unix time in whole seconds, 1 to 12 digits. */
const SERVER_TIME_PATTERN = /^[0-9]{1,12}$/;
const SERVER_TIME_SIGNATURE_PATTERN = /^v1=[0-9a-f]{64}$/;

/** What `X-API-Server-Time-Signature` binds together (PROTOCOL.md, "Responses"). */
export interface ServerTimeFields {
  /** The API key of the request answered. */
  apiKey: string;
  /** The nonce of the request answered; empty for v0. */
  nonce: string;
  /** The value of `X-API-Server-Time`, exactly as sent. */
  serverTime: string;
}

/** `"API-SERVER-TIME-V1\n" + apiKey + "\n" + nonce + "\n" + serverTime`. */
export function serverTimeStringToSign(fields: ServerTimeFields): string {
  return `${SERVER_TIME_ALGORITHM_LINE}\n${fields.apiKey}\n${fields.nonce}\n${fields.serverTime}`;
}

/**
 * The `X-API-Server-Time-Signature` value for a `401 stale_timestamp`
 * answer: `v1=` + lowercase hex HMAC-SHA256 under the key's current secret.
 */
export function signServerTime(secret: HmacKey, fields: ServerTimeFields): string {
  return SERVER_TIME_SIGNATURE_PREFIX + hmacSha256Hex(secret, serverTimeStringToSign(fields));
}

/**
 * Whether `signature` (the `X-API-Server-Time-Signature` received) is the
 * signature of `fields` under `secret`, compared in constant time. A missing,
 * malformed or repeated header, or a `serverTime` that is not 1 to 12 digits,
 * never verifies.
 */
export function verifyServerTime(secret: HmacKey, fields: ServerTimeFields, signature: string | null | undefined): boolean {
  if (typeof signature !== 'string' || !SERVER_TIME_SIGNATURE_PATTERN.test(signature)) return false;
  if (!SERVER_TIME_PATTERN.test(fields.serverTime)) return false;
  const mac = Buffer.from(signature.slice(SERVER_TIME_SIGNATURE_PREFIX.length), 'hex');
  return hmacSha256Matches(secret, serverTimeStringToSign(fields), mac);
}
