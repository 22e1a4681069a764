import { timingSafeEqual } from 'node:crypto';
import { hmacSha256, type HmacKey } from './crypto.js';
import { V1_SIGNATURE_PREFIX } from './protocol.constants.js';

/** The first line of the string a server signs its time with (PROTOCOL.md, `X-API-Server-Time-Signature`). */
export const SERVER_TIME_LINE = 'API-SERVER-TIME-V1';

const SIGNATURE_FORM = /^v1=[0-9a-fA-F]{64}$/;

function serverTimeMac(secret: HmacKey, apiKey: string, nonce: string, serverTime: string): Buffer {
  return hmacSha256(secret, `${SERVER_TIME_LINE}\n${apiKey}\n${nonce}\n${serverTime}`);
}

/**
 * The `X-API-Server-Time-Signature` value a verifier sends with `401
 * stale_timestamp`: it proves to the signer that the server time came from
 * a holder of its secret. `nonce` is the request's nonce (`''` for v0).
 */
export function signServerTime(secret: HmacKey, apiKey: string, nonce: string, serverTime: string): string {
  return V1_SIGNATURE_PREFIX + serverTimeMac(secret, apiKey, nonce, serverTime).toString('hex');
}

/** Whether `signature` is the server-time signature for the key and nonce the signer sent, compared in constant time. */
export function serverTimeSignatureMatches(
  secret: HmacKey,
  apiKey: string,
  nonce: string,
  serverTime: string,
  signature: string | null | undefined,
): boolean {
  if (typeof signature !== 'string' || !SIGNATURE_FORM.test(signature)) return false;
  const expected = serverTimeMac(secret, apiKey, nonce, serverTime);
  return timingSafeEqual(expected, Buffer.from(signature.slice(V1_SIGNATURE_PREFIX.length), 'hex'));
}
