import { hmacSha256Matches, type HmacKey } from '../crypto.js';
import { contentDigestMatches } from './content-digest.js';
import type { Rfc9421Credentials } from './rfc9421-credentials.js';

/**
 * Whether `mac` is the HMAC-SHA256 of the signature base under any of the
 * accepted keys. Every key is tried, each compared in constant time, so the
 * work does not depend on which key (if any) matched.
 */
export function rfc9421MacMatches(keys: readonly HmacKey[], signatureBase: string, mac: Uint8Array): boolean {
  let matched = false;
  for (const key of keys) {
    if (hmacSha256Matches(key, signatureBase, mac)) matched = true;
  }
  return matched;
}

/**
 * PROTOCOL.md step 3 for scheme rfc9421: the signature verifies under one of
 * the keys, and the covered `Content-Digest` matches the body bytes as sent.
 * Both are always computed; a mismatch of either is `invalid_signature`. A
 * body whose digest is not covered never verifies (the parser refuses such a
 * request; this guards a caller that passes another body).
 */
export function verifyRfc9421(keys: readonly HmacKey[], credentials: Rfc9421Credentials, body: Uint8Array | undefined): boolean {
  const digestOk =
    credentials.contentDigest === undefined
      ? body === undefined || body.length === 0
      : contentDigestMatches(credentials.contentDigest, body);
  const macOk = rfc9421MacMatches(keys, credentials.signatureBase, credentials.mac);
  return digestOk && macOk;
}

/** Whether a present `expires` has passed (PROTOCOL.md: answered `401 stale_timestamp`, like a stale `created`). */
export function rfc9421Expired(credentials: Pick<Rfc9421Credentials, 'expiresSeconds'>, nowSeconds: number): boolean {
  return credentials.expiresSeconds !== undefined && nowSeconds > credentials.expiresSeconds;
}
