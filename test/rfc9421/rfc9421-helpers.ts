import { readFileSync } from 'node:fs';
import { hmacSha256, type HmacKey } from '../../lib/protocol/crypto.js';
import { parseRfc9421Credentials, verifyRfc9421, type Rfc9421Request } from '../../lib/protocol/index.js';

/** One `rfc9421[]` case of test/fixtures/signatures.json. */
export interface Rfc9421Vector {
  secret: string;
  method: string;
  host: string;
  target: string;
  bodyBase64: string;
  headers: Record<string, string>;
  signatureInput: string;
  signature: string;
  signatureBase: string;
  derivedFrom?: { master: string; apiKey: string };
}

/** The `rfc9421Appendix[]` case: RFC 9421 Appendix B.2.5. */
export interface Rfc9421AppendixVector {
  keyBase64: string;
  method: string;
  host: string;
  target: string;
  headers: Record<string, string>;
  bodyBase64: string;
  signatureInput: string;
  signature: string;
}

export function loadRfc9421Vectors(): { rfc9421: Rfc9421Vector[]; rfc9421Appendix: Rfc9421AppendixVector[] } {
  return JSON.parse(readFileSync(new URL('../fixtures/signatures.json', import.meta.url), 'utf8'));
}

/** A request as it arrives: header lines in order (names as sent), possibly repeated. */
export interface WireRequest {
  method: string;
  host: string | undefined;
  target: string;
  /** `[name, value]` lines as sent; a name may repeat. */
  lines: ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array;
}

/** Node's view of a request: `req.headers` (repeats joined by `, `, except the ones Node drops) and `rawHeaders`. */
export function nodeView(wire: WireRequest): Rfc9421Request {
  const dropped = new Set(['content-type', 'content-length', 'host', 'authorization', 'user-agent', 'from', 'referer']);
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  for (const [name, value] of wire.lines) {
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    if (headers[key] === undefined) headers[key] = value;
    else if (!dropped.has(key)) headers[key] += `, ${value}`;
  }
  return {
    method: wire.method,
    host: wire.host,
    target: wire.target,
    header: (name) => headers[name],
    rawHeaders,
    body: wire.body,
  };
}

/** The vector's request as sent, with its signature headers. */
export function vectorRequest(v: Rfc9421Vector): WireRequest {
  const body = Buffer.from(v.bodyBase64, 'base64');
  return {
    method: v.method,
    host: v.host,
    target: v.target,
    lines: [...Object.entries(v.headers), ['Signature-Input', v.signatureInput], ['Signature', v.signature]],
    body: body.length > 0 ? body : undefined,
  };
}

export type Outcome = 'accepted' | 'invalid_signature' | 'missing_credentials' | 'malformed_credentials';

/** What the protocol module answers for the request: the parse refusal code, or the verification's outcome. */
export function outcomeOf(request: Rfc9421Request, keys: readonly HmacKey[]): Outcome {
  const parsed = parseRfc9421Credentials(request);
  if (!parsed.ok) return parsed.code;
  return verifyRfc9421(keys, parsed.credentials, request.body) ? 'accepted' : 'invalid_signature';
}

/** The wire request with the first line named `name` replaced (or removed when `value` is undefined). */
export function withLine(wire: WireRequest, name: string, value: string | undefined): WireRequest {
  const lines = wire.lines.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  return { ...wire, lines: value === undefined ? lines : [...lines, [name, value]] };
}

/** The value of the first line named `name` (case-insensitive). */
export function lineOf(wire: WireRequest, name: string): string | undefined {
  return wire.lines.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/**
 * The request with `Signature` replaced by a correct signature of its current
 * `Signature-Input` (of the label that has a keyid), so that a rule can be
 * tested on a request whose signature is otherwise valid.
 */
export function resign(wire: WireRequest, secret: HmacKey, label = 'sig1'): WireRequest {
  const placeholder = withLine(wire, 'Signature', `${label}=:${Buffer.alloc(32).toString('base64')}:`);
  const parsed = parseRfc9421Credentials(nodeView(placeholder));
  if (!parsed.ok) throw new Error(`cannot re-sign a request the parser refuses: ${parsed.message}`);
  const mac = hmacSha256(secret, parsed.credentials.signatureBase);
  const others = (lineOf(wire, 'Signature') ?? '').split(', ').filter((member) => member !== '' && !member.startsWith(`${label}=`));
  return withLine(wire, 'Signature', [...others, `${label}=:${mac.toString('base64')}:`].join(', '));
}
