import { hmacSha256, hmacSha256Matches, sha256Hex, type HmacKey } from './crypto.js';
import { HEADER_API_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignatureScheme, V1_SIGNATURE_PREFIX } from './protocol.constants.js';
import { v0StringToSign, v1StringToSign } from './string-to-sign.js';

/** What a request carries besides its credentials, as the signer sent it. */
export interface RequestParts {
  method: string;
  host: string;
  target: string;
  bodySha256: string;
}

/** The signed fields common to signer and verifier. */
export interface SignatureInput {
  scheme: SignatureScheme;
  apiKey: string;
  timestamp: string;
  /** Required for v1, ignored by v0. */
  nonce?: string;
  /** Required for v1, ignored by v0. */
  request?: RequestParts;
}

/** The string to sign for either scheme. */
export function stringToSign(input: SignatureInput): string {
  if (input.scheme === 'v0') return v0StringToSign(input.apiKey, input.timestamp);
  if (input.nonce === undefined || input.request === undefined) {
    throw new TypeError('Scheme v1 signs the nonce and the request: both are required.');
  }
  return v1StringToSign({
    apiKey: input.apiKey,
    timestamp: input.timestamp,
    nonce: input.nonce,
    ...input.request,
  });
}

/** The raw HMAC bytes for the input under `secret`. */
export function computeMac(secret: HmacKey, input: SignatureInput): Buffer {
  return hmacSha256(secret, stringToSign(input));
}

/** The `X-API-Signature` header value for a MAC. */
export function formatSignature(scheme: SignatureScheme, mac: Buffer): string {
  const hex = mac.toString('hex');
  return scheme === 'v1' ? V1_SIGNATURE_PREFIX + hex : hex;
}

/**
 * Compares `mac` against the signature under every accepted secret, in
 * constant time per comparison. Every secret is tried, so the work done does
 * not depend on which one (if any) matched.
 */
export function matchesAnySecret(secrets: readonly HmacKey[], input: SignatureInput, mac: Uint8Array): boolean {
  const message = stringToSign(input);
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
  timestampSeconds: number;
  /** Required for v1. */
  nonce?: string;
  method: string;
  host: string;
  target: string;
  body?: Uint8Array;
}

/** The `X-API-*` headers for a request, per PROTOCOL.md. */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const timestamp = String(Math.floor(input.timestampSeconds));
  const mac = computeMac(input.secret, {
    scheme: input.scheme,
    apiKey: input.apiKey,
    timestamp,
    nonce: input.nonce,
    request: {
      method: input.method,
      host: input.host,
      target: input.target,
      bodySha256: sha256Hex(input.body),
    },
  });
  const headers: Record<string, string> = {
    [HEADER_API_KEY]: input.apiKey,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_SIGNATURE]: formatSignature(input.scheme, mac),
  };
  if (input.scheme === 'v1') headers[HEADER_NONCE] = input.nonce!;
  return headers;
}
