/** Header names of the wire protocol, lower-cased as Node exposes them. */
export const HEADER_API_KEY = 'x-api-key';
export const HEADER_TIMESTAMP = 'x-api-timestamp';
export const HEADER_NONCE = 'x-api-nonce';
export const HEADER_SIGNATURE = 'x-api-signature';
export const HEADER_SERVER_TIME = 'x-api-server-time';

export const V1_ALGORITHM_LINE = 'API-HMAC-SHA256-V1';
export const V1_SIGNATURE_PREFIX = 'v1=';
export const DERIVED_SECRET_PREFIX = 'API-KEY-SECRET-V1\n';

/** SHA-256 of the empty string: the body hash of a request without a body. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const MIN_SECRET_LENGTH = 32;
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The signature schemes of PROTOCOL.md. */
export type SignatureScheme = 'v0' | 'v1' | 'rfc9421';
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = ['v0', 'v1', 'rfc9421'];
/** The schemes of the `X-API-*` headers (`rfc9421` uses `Signature-Input` and `Signature` instead). */
export type XApiSignatureScheme = Exclude<SignatureScheme, 'rfc9421'>;
