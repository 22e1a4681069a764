import { hash, timingSafeEqual } from 'node:crypto';
import { DERIVED_SECRET_PREFIX, EMPTY_BODY_SHA256 } from './protocol.constants.js';

/** SHA-256 block size: the length of the HMAC pads. */
const BLOCK_BYTES = 64;
const MAC_BYTES = 32;
/** Messages up to this many UTF-8 bytes are hashed in the shared buffer; longer ones get their own. */
const MAX_SHARED_MESSAGE_BYTES = 16 * 1024;

/**
 * An HMAC-SHA256 key whose RFC 2104 pads (`key XOR ipad`, `key XOR opad`)
 * are computed once, for verifying many requests with one secret.
 *
 * Why not `createHmac`: it builds a native Hmac object per call, which costs
 * more than the hashing itself and adds work for the garbage collector on
 * every request (`npm run bench` measures it). The same HMAC is two one-shot SHA-256
 * calls over the prepared pads, checked against `createHmac` by the test
 * suite for keys and messages of every length.
 */
export class HmacSha256Key {
  /** `key XOR 0x36`, 64 bytes. */
  readonly innerPad: Buffer;
  /** `key XOR 0x5c`, 64 bytes. */
  readonly outerPad: Buffer;

  /** @param secret the key; a string stands for its UTF-8 bytes. */
  constructor(secret: string | Uint8Array) {
    let key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (key.length > BLOCK_BYTES) key = hash('sha256', key, 'buffer');
    this.innerPad = Buffer.alloc(BLOCK_BYTES, 0x36);
    this.outerPad = Buffer.alloc(BLOCK_BYTES, 0x5c);
    for (let i = 0; i < key.length; i++) {
      this.innerPad[i] ^= key[i];
      this.outerPad[i] ^= key[i];
    }
  }
}

/** An HMAC key: the secret string (its UTF-8 bytes are the key) or the same key prepared once by `secretKey()`. */
export type HmacKey = string | HmacSha256Key;

/** The secret's UTF-8 bytes as a reusable HMAC key. */
export function secretKey(secret: string): HmacSha256Key {
  return new HmacSha256Key(secret);
}

// Scratch buffers, reused by every call: each call fills and hashes them synchronously, so calls cannot overlap.
let innerBlock = Buffer.allocUnsafeSlow(BLOCK_BYTES + 1024);
const outerBlock = Buffer.allocUnsafeSlow(BLOCK_BYTES + MAC_BYTES);
const macBlock = Buffer.allocUnsafeSlow(MAC_BYTES);

/**
 * Fills `outerBlock` with `outer pad || SHA-256(inner pad || message)`;
 * hashing it gives the MAC. Digests travel as 'binary' (latin1) strings, one
 * char per byte: Node's `hash()` returns a string much faster than a Buffer.
 */
function prepareOuterBlock(secret: HmacKey, message: string): void {
  const key = typeof secret === 'string' ? new HmacSha256Key(secret) : secret;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes, so the message always fits whole.
  const needed = BLOCK_BYTES + message.length * 3;
  if (needed > innerBlock.length && needed <= BLOCK_BYTES + MAX_SHARED_MESSAGE_BYTES) {
    innerBlock = Buffer.allocUnsafeSlow(needed);
  }
  const block = needed <= innerBlock.length ? innerBlock : Buffer.allocUnsafe(needed);
  key.innerPad.copy(block, 0);
  const written = block.write(message, BLOCK_BYTES, 'utf8');
  const innerDigest = hash('sha256', block.subarray(0, BLOCK_BYTES + written), 'binary');
  key.outerPad.copy(outerBlock, 0);
  outerBlock.write(innerDigest, BLOCK_BYTES, 'binary');
}

/** HMAC-SHA256 of `message` (UTF-8) under the secret, as raw bytes. */
export function hmacSha256(secret: HmacKey, message: string): Buffer {
  prepareOuterBlock(secret, message);
  return Buffer.from(hash('sha256', outerBlock, 'binary'), 'binary');
}

/** HMAC-SHA256 of `message` (UTF-8) under the secret, as lowercase hex. */
export function hmacSha256Hex(secret: HmacKey, message: string): string {
  prepareOuterBlock(secret, message);
  return hash('sha256', outerBlock, 'hex');
}

/**
 * Whether `mac` is the HMAC-SHA256 of `message` under the secret, compared in
 * constant time. Allocates nothing per call beyond the digests' strings.
 */
export function hmacSha256Matches(secret: HmacKey, message: string, mac: Uint8Array): boolean {
  prepareOuterBlock(secret, message);
  macBlock.write(hash('sha256', outerBlock, 'binary'), 0, 'binary');
  return mac.length === MAC_BYTES && timingSafeEqual(macBlock, mac);
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
export function deriveKeySecret(masterSecret: HmacKey, apiKey: string): string {
  return hmacSha256Hex(masterSecret, DERIVED_SECRET_PREFIX + apiKey);
}
