import { trimHttpWhitespace } from './credentials.js';
import { hmacSha256, hmacSha256Matches, sha256Hex, type HmacKey } from './crypto.js';
import {
  HEADER_API_KEY,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  type SignatureScheme,
  V1_SIGNATURE_PREFIX,
  type XApiSignatureScheme,
} from './protocol.constants.js';
import { signRfc9421 } from './rfc9421/rfc9421-sign.js';
import { stringToSign, type SignedFields } from './string-to-sign.js';

/** The raw HMAC bytes of the fields under `secret`. */
export function computeMac(secret: HmacKey, fields: SignedFields): Buffer {
  return hmacSha256(secret, stringToSign(fields));
}

/** The `X-API-Signature` header value for a MAC. */
export function formatSignature(scheme: XApiSignatureScheme, mac: Buffer): string {
  const hex = mac.toString('hex');
  return scheme === 'v1' ? V1_SIGNATURE_PREFIX + hex : hex;
}

/**
 * Compares `mac` against the signature under every accepted secret, in
 * constant time per comparison. Every secret is tried, so the work done does
 * not depend on which one (if any) matched.
 */
export function matchesAnySecret(secrets: readonly HmacKey[], fields: SignedFields, mac: Uint8Array): boolean {
  const message = stringToSign(fields);
  let matched = false;
  for (const secret of secrets) {
    if (hmacSha256Matches(secret, message, mac)) matched = true;
  }
  return matched;
}

/** Everything a signer needs to produce the headers of one request. */
export interface SignRequestInput {
  scheme: SignatureScheme;
  apiKey: string;
  secret: string;
  /** `X-API-Timestamp`; for rfc9421 the `created` parameter. */
  timestampSeconds: number;
  /** Required for v1 and rfc9421. */
  nonce?: string;
  method: string;
  host: string;
  target: string;
  /** The `Content-Type` header the request is sent with; omit when it has none (rfc9421: required with a body). */
  contentType?: string;
  body?: Uint8Array;
}

/**
 * The signature headers for a request, per PROTOCOL.md, lower-case names:
 * the `X-API-*` headers for v0 and v1; `Signature-Input`, `Signature` and,
 * with a body, `Content-Digest` for rfc9421 (label `sig1`, the profile's
 * components and parameters).
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  if (input.scheme === 'rfc9421') return signRfc9421Request(input);
  const timestamp = String(Math.floor(input.timestampSeconds));
  let fields: SignedFields;
  if (input.scheme === 'v0') {
    fields = { scheme: 'v0', apiKey: input.apiKey, timestamp };
  } else {
    if (input.nonce === undefined) throw new TypeError('Scheme v1 signs a nonce: pass one (generateNonce()).');
    fields = {
      scheme: 'v1',
      apiKey: input.apiKey,
      timestamp,
      nonce: input.nonce,
      method: input.method,
      host: input.host,
      target: input.target,
      contentType: trimHttpWhitespace(input.contentType ?? ''),
      bodySha256: sha256Hex(input.body),
    };
  }
  const headers: Record<string, string> = {
    [HEADER_API_KEY]: input.apiKey,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_SIGNATURE]: formatSignature(input.scheme, computeMac(input.secret, fields)),
  };
  if (fields.scheme === 'v1') headers[HEADER_NONCE] = fields.nonce;
  return headers;
}

function signRfc9421Request(input: SignRequestInput): Record<string, string> {
  if (input.nonce === undefined) throw new TypeError('Scheme rfc9421 signs a nonce: pass one (generateNonce()).');
  const { headers } = signRfc9421({
    apiKey: input.apiKey,
    secret: input.secret,
    method: input.method,
    host: input.host,
    target: input.target,
    contentType: input.contentType,
    body: input.body,
    createdSeconds: input.timestampSeconds,
    nonce: input.nonce,
  });
  const signed: Record<string, string> = { 'signature-input': headers['signature-input'], signature: headers.signature };
  if (headers['content-digest'] !== undefined) signed['content-digest'] = headers['content-digest'];
  return signed;
}
