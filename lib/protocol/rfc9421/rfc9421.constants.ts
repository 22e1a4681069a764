/** Header names of scheme `rfc9421`, lower-cased as Node exposes them. */
export const HEADER_SIGNATURE_INPUT = 'signature-input';
export const HEADER_RFC9421_SIGNATURE = 'signature';
export const HEADER_CONTENT_DIGEST = 'content-digest';
/** The Content-Type header as a covered component name. */
export const CONTENT_TYPE_COMPONENT = 'content-type';

/** The only algorithm of the profile; `alg`, when present, must be this string. */
export const RFC9421_ALGORITHM = 'hmac-sha256';
/** The label our signer uses. A verifier accepts any label (the one with a `keyid`). */
export const RFC9421_DEFAULT_LABEL = 'sig1';

/** Largest `Signature-Input` or `Signature` field accepted, in bytes. */
export const RFC9421_MAX_FIELD_BYTES = 4096;
/** Most covered components accepted in one signature. */
export const RFC9421_MAX_COMPONENTS = 16;

/** Derived components the profile accepts. */
export const RFC9421_DERIVED_COMPONENTS: readonly string[] = ['@method', '@authority', '@path', '@query', '@request-target'];
/**
 * Derived components the profile refuses: behind a TLS-terminating proxy the
 * verifier cannot know the scheme or the full URI the signer saw.
 */
export const RFC9421_REFUSED_COMPONENTS: readonly string[] = ['@scheme', '@target-uri', '@query-param'];

/** The components our signer covers, in this order (the last two only for a request with a body). */
export const RFC9421_SIGNED_COMPONENTS: readonly string[] = [
  '@method',
  '@authority',
  '@path',
  '@query',
  CONTENT_TYPE_COMPONENT,
  HEADER_CONTENT_DIGEST,
];

/** The signature parameters our signer writes, in this order. */
export const RFC9421_SIGNED_PARAMETERS: readonly Rfc9421Parameter[] = ['created', 'keyid', 'nonce', 'alg'];

/** The signature parameters the profile gives a meaning to; any other is signed as sent. */
export type Rfc9421Parameter = 'created' | 'expires' | 'keyid' | 'nonce' | 'alg' | 'tag';

/** The `Content-Digest` algorithms the verifier checks (RFC 9530); any other member is ignored. */
export type ContentDigestAlgorithm = 'sha-256' | 'sha-512';
export const CONTENT_DIGEST_ALGORITHMS: readonly ContentDigestAlgorithm[] = ['sha-256', 'sha-512'];
