export * from './rfc9421.constants.js';
export { headerLookup, type HeaderLookup, type Rfc9421Request } from './rfc9421-request.js';
export { rfc9421Authority } from './components.js';
export {
  contentDigestMatches,
  formatContentDigest,
  parseContentDigest,
  type ContentDigestMember,
  type ContentDigestParseResult,
} from './content-digest.js';
export { rfc9421SignatureBase, serializeSignatureParams, type ComponentLine } from './signature-base.js';
export type { SelectedSignatureInput } from './signature-input.js';
export {
  isRfc9421Request,
  parseRfc9421Credentials,
  type Rfc9421Credentials,
  type Rfc9421ParseResult,
} from './rfc9421-credentials.js';
export { rfc9421Expired, rfc9421MacMatches, verifyRfc9421 } from './rfc9421-verify.js';
export { signRfc9421, type Rfc9421Headers, type Rfc9421SignInput, type Rfc9421SignResult } from './rfc9421-sign.js';
