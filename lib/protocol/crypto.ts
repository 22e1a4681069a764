import { createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { DERIVED_SECRET_PREFIX, EMPTY_BODY_SHA256 } from './protocol.constants.js';

/**
 * An HMAC key, either the secret string (its UTF-8 bytes are the key) or the
 * same bytes as a `KeyObject` made once by `secretKey()`, which spares
 * converting the secret on every request.
 */
export type HmacKey = string | KeyObject;

/** The secret's UTF-8 bytes as a reusable HMAC key. */
export function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** HMAC-SHA256 of `message` under the UTF-8 bytes of `secret`, as raw bytes. */
export function hmacSha256(secret: HmacKey, message: string): Buffer {
  return createHmac('sha256', secret).update(message, 'utf8').digest();
}

export function hmacSha256Hex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex');
}

/** Lowercase hex SHA-256 of the body bytes; the empty-body hash when there is none. */
export function sha256Hex(body: Uint8Array | undefined): string {
  if (!body || body.length === 0) return EMPTY_BODY_SHA256;
  // One-shot hash (Node >= 20.12): no Hash object per request.
  return hash('sha256', body, 'hex');
}

/**
 * The per-key secret of `derived` mode:
 * `lowercase_hex(HMAC-SHA256(master, "API-KEY-SECRET-V1\n" + apiKey))`.
 */
export function deriveKeySecret(masterSecret: string, apiKey: string): string {
  return hmacSha256Hex(masterSecret, DERIVED_SECRET_PREFIX + apiKey);
}

/** Constant-time comparison of two 32-byte MACs. */
export function macEquals(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}
