import {
  HEADER_API_KEY,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  V1_SIGNATURE_PREFIX,
  type XApiSignatureScheme,
} from './protocol.constants.js';

/** Credentials as parsed from the `X-API-*` headers of one request. */
export interface ParsedCredentials {
  scheme: XApiSignatureScheme;
  apiKey: string;
  /** The timestamp exactly as sent (it is part of the signed string). */
  timestamp: string;
  timestampSeconds: number;
  /** Present for v1; `undefined` for v0, which ignores the nonce header. */
  nonce: string | undefined;
  /** The 32 MAC bytes decoded from the signature header. */
  mac: Buffer;
}

export type CredentialsErrorCode = 'missing_credentials' | 'malformed_credentials';

export type CredentialsParseResult =
  { ok: true; credentials: ParsedCredentials } | { ok: false; code: CredentialsErrorCode; message: string };

export type HeaderBag = Record<string, string | string[] | undefined>;

export const API_KEY_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
const HEX_MAC_PATTERN = /^[0-9A-Fa-f]{64}$/;

function fail(code: CredentialsErrorCode, message: string): CredentialsParseResult {
  return { ok: false, code, message };
}

/**
 * Reads one protocol header. A header sent twice arrives either as an array
 * or joined with ", " by Node; no valid value contains a comma, so both forms
 * fail the format checks below and are reported as malformed.
 */
function readHeader(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(', ');
  return trimHttpWhitespace(value);
}

const SURROUNDING_HTTP_WHITESPACE = /^[ \t]+|[ \t]+$/g;

/**
 * Removes the whitespace HTTP allows around a header value (spaces and tabs
 * only), so that every implementation reads the same value: JavaScript's
 * `trim()` would also strip Unicode spaces such as U+00A0.
 */
export function trimHttpWhitespace(value: string): string {
  if (value.length === 0 || (!isHttpWhitespace(value.charCodeAt(0)) && !isHttpWhitespace(value.charCodeAt(value.length - 1)))) {
    return value;
  }
  return value.replace(SURROUNDING_HTTP_WHITESPACE, '');
}

function isHttpWhitespace(charCode: number): boolean {
  return charCode === 0x20 || charCode === 0x09;
}

/**
 * Parses and validates the `X-API-*` headers (PROTOCOL.md, step 1). Pure: no
 * I/O, no clock, no secrets. Every value is checked against its bounds before
 * any lookup or cryptographic work is done with it.
 */
export function parseCredentials(headers: HeaderBag): CredentialsParseResult {
  const apiKey = readHeader(headers, HEADER_API_KEY);
  const timestamp = readHeader(headers, HEADER_TIMESTAMP);
  const signature = readHeader(headers, HEADER_SIGNATURE);

  if (apiKey === undefined || timestamp === undefined || signature === undefined) {
    const missing = [
      apiKey === undefined && 'X-API-Key',
      timestamp === undefined && 'X-API-Timestamp',
      signature === undefined && 'X-API-Signature',
    ];
    return fail(
      'missing_credentials',
      `Missing header(s): ${missing.filter(Boolean).join(', ')}. ` +
        'Scheme v1 needs X-API-Key, X-API-Timestamp, X-API-Nonce and X-API-Signature (PROTOCOL.md).',
    );
  }

  if (!API_KEY_PATTERN.test(apiKey)) {
    return fail('malformed_credentials', 'X-API-Key must be 16 to 128 characters of [A-Za-z0-9_-].');
  }
  if (!TIMESTAMP_PATTERN.test(timestamp)) {
    return fail('malformed_credentials', 'X-API-Timestamp must be Unix time in whole seconds (1 to 12 digits).');
  }

  let scheme: XApiSignatureScheme;
  let hex: string;
  if (signature.startsWith(V1_SIGNATURE_PREFIX)) {
    scheme = 'v1';
    hex = signature.slice(V1_SIGNATURE_PREFIX.length);
  } else {
    scheme = 'v0';
    hex = signature;
  }
  if (!HEX_MAC_PATTERN.test(hex)) {
    return fail(
      'malformed_credentials',
      'X-API-Signature must be "v1=" followed by 64 hex digits (scheme v1), or 64 hex digits (scheme v0).',
    );
  }

  let nonce: string | undefined;
  if (scheme === 'v1') {
    nonce = readHeader(headers, HEADER_NONCE);
    if (nonce === undefined) return fail('missing_credentials', 'Missing header(s): X-API-Nonce.');
    if (!NONCE_PATTERN.test(nonce)) {
      return fail('malformed_credentials', 'X-API-Nonce must be 16 to 128 characters of [A-Za-z0-9_-].');
    }
  }

  return {
    ok: true,
    credentials: {
      scheme,
      apiKey,
      timestamp,
      timestampSeconds: Number(timestamp),
      nonce,
      mac: Buffer.from(hex, 'hex'),
    },
  };
}

/** PROTOCOL.md step 2: `|now - timestamp| <= tolerance`, in both directions. */
export function isTimestampFresh(timestampSeconds: number, nowSeconds: number, toleranceSeconds: number): boolean {
  return Math.abs(nowSeconds - timestampSeconds) <= toleranceSeconds;
}
