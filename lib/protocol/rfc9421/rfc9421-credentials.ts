import { isInnerList, parseDictionary, type Dictionary } from 'structured-headers';
import { HEADER_SIGNATURE } from '../protocol.constants.js';
import type { CredentialsErrorCode } from '../credentials.js';
import { componentValue, rfc9421Authority } from './components.js';
import { parseContentDigest, type ContentDigestMember } from './content-digest.js';
import {
  HEADER_CONTENT_DIGEST,
  CONTENT_TYPE_COMPONENT,
  HEADER_RFC9421_SIGNATURE,
  HEADER_SIGNATURE_INPUT,
  RFC9421_MAX_FIELD_BYTES,
} from './rfc9421.constants.js';
import { combinedFieldValue, hasBody, type Rfc9421Request } from './rfc9421-request.js';
import { rfc9421SignatureBase, type ComponentLine } from './signature-base.js';
import { exceedsFieldBound, parseSignatureInput, type SelectedSignatureInput } from './signature-input.js';

/** HMAC-SHA256 output length: the only signature length of the profile. */
const MAC_BYTES = 32;

/** A request's rfc9421 credentials, checked against the profile and ready to verify. */
export interface Rfc9421Credentials extends SelectedSignatureInput {
  scheme: 'rfc9421';
  /** The signed `@authority` (lower-cased, default port removed), for a verifier that restricts its host names. */
  authority: string;
  /** The signature base to verify: the exact bytes (UTF-8) the signer's HMAC covers. */
  signatureBase: string;
  /** The 32 MAC bytes of the label's member of `Signature`. */
  mac: Buffer;
  /** The covered `Content-Digest` members to check against the body; `undefined` when it is not covered. */
  contentDigest: readonly ContentDigestMember[] | undefined;
}

export type Rfc9421ParseResult = { ok: true; credentials: Rfc9421Credentials } | { ok: false; code: CredentialsErrorCode; message: string };

/** Whether the request chose scheme `rfc9421` (PROTOCOL.md: by the presence of `Signature-Input`). */
export function isRfc9421Request(request: Pick<Rfc9421Request, 'header'>): boolean {
  return request.header(HEADER_SIGNATURE_INPUT) !== undefined;
}

function fail(code: CredentialsErrorCode, message: string): Rfc9421ParseResult {
  return { ok: false, code, message };
}

function macOf(signatures: string, label: string): Buffer | string {
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(signatures);
  } catch {
    return 'Signature is not a valid RFC 8941 dictionary.';
  }
  const member = dictionary.get(label);
  if (member === undefined) return 'Signature has no signature with the label of Signature-Input.';
  if (isInnerList(member) || !(member[0] instanceof ArrayBuffer)) return 'The signature of Signature must be a byte sequence (:base64:).';
  if (member[0].byteLength !== MAC_BYTES) return `The signature of Signature must be ${MAC_BYTES} bytes (HMAC-SHA256).`;
  return Buffer.from(member[0]);
}

/**
 * Parses and checks the rfc9421 credentials of a request (PROTOCOL.md, step
 * 1, scheme rfc9421), and builds its signature base. Pure: no I/O, no clock,
 * no secrets. Messages never quote a signature.
 */
export function parseRfc9421Credentials(request: Rfc9421Request): Rfc9421ParseResult {
  const signatureInput = combinedFieldValue(request, HEADER_SIGNATURE_INPUT);
  if (signatureInput === undefined) return fail('missing_credentials', 'Missing header(s): Signature-Input.');
  if (request.header(HEADER_SIGNATURE) !== undefined) {
    return fail('malformed_credentials', 'A request may carry Signature-Input or X-API-Signature, not both.');
  }
  const signatures = combinedFieldValue(request, HEADER_RFC9421_SIGNATURE);
  if (signatures === undefined) return fail('missing_credentials', 'Missing header(s): Signature.');
  if (exceedsFieldBound(signatures)) return fail('malformed_credentials', `Signature may be at most ${RFC9421_MAX_FIELD_BYTES} bytes.`);

  const parsed = parseSignatureInput(signatureInput);
  if (!parsed.ok) return fail('malformed_credentials', parsed.message);
  const input = parsed.input;
  if (hasBody(request)) {
    for (const required of [HEADER_CONTENT_DIGEST, CONTENT_TYPE_COMPONENT]) {
      if (!input.components.includes(required)) {
        return fail('malformed_credentials', `A request with a body must cover "${required}" in Signature-Input.`);
      }
    }
  }

  const mac = macOf(signatures, input.label);
  if (typeof mac === 'string') return fail('malformed_credentials', mac);

  const lines: ComponentLine[] = [];
  let contentDigest: readonly ContentDigestMember[] | undefined;
  for (const name of input.components) {
    const value = componentValue(name, request);
    if (!value.ok) return fail('malformed_credentials', value.message);
    lines.push({ name, value: value.value });
    if (name === HEADER_CONTENT_DIGEST) {
      const digest = parseContentDigest(value.value);
      if (!digest.ok) return fail('malformed_credentials', digest.message);
      contentDigest = digest.members;
    }
  }

  return {
    ok: true,
    credentials: {
      scheme: 'rfc9421',
      ...input,
      authority: rfc9421Authority(request.host ?? ''),
      signatureBase: rfc9421SignatureBase(lines, input.signatureParams),
      mac,
      contentDigest,
    },
  };
}
