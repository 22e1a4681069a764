// `nestjs-service-auth/protocol`: the pure functions and constants of PROTOCOL.md,
// for code that signs or verifies requests without Nest (scripts, other
// frameworks, tests). Nothing here loads Nest, TypeORM or Redis.

// Header names and the protocol's constants.
export {
  DEFAULT_TOLERANCE_SECONDS,
  EMPTY_BODY_SHA256,
  HEADER_API_KEY,
  HEADER_NONCE,
  HEADER_SERVER_TIME,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  MIN_SECRET_LENGTH,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
  type XApiSignatureScheme,
} from './protocol.constants.js';
export {
  HEADER_CONTENT_DIGEST,
  HEADER_RFC9421_SIGNATURE,
  HEADER_SIGNATURE_INPUT,
  RFC9421_ALGORITHM,
  RFC9421_DEFAULT_LABEL,
  RFC9421_SIGNED_COMPONENTS,
  RFC9421_SIGNED_PARAMETERS,
} from './rfc9421/rfc9421.constants.js';

// Schemes v0 and v1: signing, the string to sign, and reading the credentials.
export { signRequest, type SignRequestInput } from './signature.js';
export {
  stringToSign,
  v0StringToSign,
  v1StringToSign,
  type SignedFields,
  type V0SignedFields,
  type V1SignedFields,
} from './string-to-sign.js';
export {
  API_KEY_PATTERN,
  isTimestampFresh,
  NONCE_PATTERN,
  parseCredentials,
  type CredentialsErrorCode,
  type CredentialsParseResult,
  type HeaderBag,
  type ParsedCredentials,
} from './credentials.js';
export { generateNonce } from './nonce.js';
export { deriveKeySecret } from './crypto.js';

// The server-time signature of `401 stale_timestamp` answers.
export {
  HEADER_SERVER_TIME_SIGNATURE,
  serverTimeStringToSign,
  signServerTime,
  verifyServerTime,
  type ServerTimeFields,
} from './server-time.js';

// Scheme rfc9421 (PROTOCOL.md's profile of RFC 9421).
export { signRfc9421, type Rfc9421Headers, type Rfc9421SignInput, type Rfc9421SignResult } from './rfc9421/rfc9421-sign.js';
export { rfc9421SignatureBase, serializeSignatureParams, type ComponentLine } from './rfc9421/signature-base.js';
export {
  isRfc9421Request,
  parseRfc9421Credentials,
  type Rfc9421Credentials,
  type Rfc9421ParseResult,
} from './rfc9421/rfc9421-credentials.js';
export { rfc9421Expired, verifyRfc9421 } from './rfc9421/rfc9421-verify.js';
export { headerLookup, type HeaderLookup, type Rfc9421Request } from './rfc9421/rfc9421-request.js';
export { formatContentDigest } from './rfc9421/content-digest.js';
