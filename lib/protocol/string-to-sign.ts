import { V1_ALGORITHM_LINE, type SignatureScheme } from './protocol.constants.js';

/** What a scheme-v0 signature covers. */
export interface V0SignedFields {
  scheme: 'v0';
  apiKey: string;
  /** The timestamp exactly as sent. */
  timestamp: string;
}

/** What a scheme-v1 signature covers (PROTOCOL.md, "Scheme v1"), as the signer sent it. */
export interface V1SignedFields {
  scheme: 'v1';
  apiKey: string;
  /** The timestamp exactly as sent. */
  timestamp: string;
  nonce: string;
  /** Request method; upper-cased in the string to sign. */
  method: string;
  /** `Host` header value (HTTP/2: `:authority`); lower-cased in the string to sign. */
  host: string;
  /** Request target exactly as on the request line: path, then `?query`. */
  target: string;
  /** `Content-Type` exactly as sent, trimmed; `''` when the request has none. */
  contentType: string;
  /** Lowercase hex SHA-256 of the body bytes as sent. */
  bodySha256: string;
}

/** The one record a signature covers, shared by the signer and the verifier. */
export type SignedFields = V0SignedFields | V1SignedFields;

export function v0StringToSign(apiKey: string, timestamp: string): string {
  return apiKey + timestamp;
}

export function v1StringToSign(fields: Omit<V1SignedFields, 'scheme'>): string {
  return (
    V1_ALGORITHM_LINE +
    '\n' +
    fields.apiKey +
    '\n' +
    fields.timestamp +
    '\n' +
    fields.nonce +
    '\n' +
    fields.method.toUpperCase() +
    '\n' +
    fields.host.toLowerCase() +
    '\n' +
    fields.target +
    '\n' +
    fields.contentType +
    '\n' +
    fields.bodySha256
  );
}

/** The string to sign for either scheme. */
export function stringToSign(fields: SignedFields): string {
  return fields.scheme === 'v0' ? v0StringToSign(fields.apiKey, fields.timestamp) : v1StringToSign(fields);
}

/** Whether a scheme carries a nonce (and so is protected against replay). */
export function schemeHasNonce(scheme: SignatureScheme): boolean {
  return scheme !== 'v0';
}
