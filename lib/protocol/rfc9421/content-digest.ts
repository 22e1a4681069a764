import { hash, timingSafeEqual } from 'node:crypto';
import { isInnerList, parseDictionary, serializeDictionary } from 'structured-headers';
import { CONTENT_DIGEST_ALGORITHMS, type ContentDigestAlgorithm } from './rfc9421.constants.js';

/** One `Content-Digest` member the verifier checks. */
export interface ContentDigestMember {
  algorithm: ContentDigestAlgorithm;
  /** The digest bytes as sent. */
  digest: Buffer;
}

export type ContentDigestParseResult = { ok: true; members: readonly ContentDigestMember[] } | { ok: false; message: string };

const NODE_ALGORITHM: Record<ContentDigestAlgorithm, 'sha256' | 'sha512'> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/**
 * Parses a `Content-Digest` value (RFC 9530): an RFC 8941 dictionary whose
 * `sha-256` and `sha-512` members must be byte sequences. Other algorithms
 * are ignored; at least one supported member is required.
 */
export function parseContentDigest(value: string): ContentDigestParseResult {
  let dictionary;
  try {
    dictionary = parseDictionary(value);
  } catch {
    return { ok: false, message: 'Content-Digest is not a valid RFC 8941 dictionary.' };
  }
  const members: ContentDigestMember[] = [];
  for (const algorithm of CONTENT_DIGEST_ALGORITHMS) {
    const member = dictionary.get(algorithm);
    if (member === undefined) continue;
    if (isInnerList(member) || !(member[0] instanceof ArrayBuffer)) {
      return { ok: false, message: `Content-Digest member ${algorithm} must be a byte sequence (:base64:).` };
    }
    members.push({ algorithm, digest: Buffer.from(member[0]) });
  }
  if (members.length === 0) return { ok: false, message: 'Content-Digest must have a sha-256 or sha-512 member.' };
  return { ok: true, members };
}

/**
 * Whether every member matches the body bytes as sent (an absent body is the
 * empty one). All members are checked, whatever the first one answers.
 */
export function contentDigestMatches(members: readonly ContentDigestMember[], body: Uint8Array | undefined): boolean {
  const bytes = body ?? new Uint8Array(0);
  let matched = members.length > 0;
  for (const { algorithm, digest } of members) {
    const actual = hash(NODE_ALGORITHM[algorithm], bytes, 'buffer');
    if (actual.length !== digest.length || !timingSafeEqual(actual, digest)) matched = false;
  }
  return matched;
}

/** The `Content-Digest` value a signer sends: `sha-256=:<base64>:`. */
export function formatContentDigest(body: Uint8Array | undefined): string {
  const digest = hash('sha256', body ?? new Uint8Array(0), 'buffer');
  return serializeDictionary(new Map([['sha-256', [digest, new Map()]]]));
}
