import { ServiceAuthException } from './service-auth.exception.js';
import { trimHttpWhitespace } from '../protocol/credentials.js';
import type { CallerCarrier } from './service-caller.handoff.js';

/** The request shapes of Express and Fastify that the module reads. */
export interface IncomingRequest extends CallerCarrier {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  originalUrl?: string;
  rawBody?: Buffer;
  ip?: string;
  rawHeaders?: string[];
  raw?: { url?: string; originalUrl?: string; rawHeaders?: string[] };
  socket?: { remoteAddress?: string; encrypted?: boolean };
  protocol?: string;
}

/** Fastify's Node request, or an Express request itself: where the request line and header lines are read. */
type RawRequest = NonNullable<IncomingRequest['raw']>;

/** The parts of a request besides its credentials that v1 and rfc9421 sign, read as sent. */
export interface SignedRequestParts {
  host: string;
  target: string;
  contentType: string;
}

/**
 * Host, target and Content-Type as the signer sent them. Node keeps only
 * the first of several `Host` or `Content-Type` headers, and a proxy or a
 * body parser may act on another one, so either sent twice is malformed.
 */
export function readSignedParts(
  request: IncomingRequest,
  scheme: 'v1' | 'rfc9421' = 'v1',
  headers: IncomingRequest['headers'] = request.headers,
): SignedRequestParts {
  // Each read once: on Express, `headers` is a getter and `raw` a miss, both looked up through
  // the framework's prototype chain (bench/README.md, "Express").
  const raw = request.raw ?? request;
  const host = headers[':authority'] ?? headers.host;
  if (typeof host !== 'string' || host.length === 0) {
    throw new ServiceAuthException('malformed_credentials', `Scheme ${scheme} requires a Host header.`);
  }
  const rawHeaders = rawHeadersOf(request, raw);
  if (rawHeaders) {
    const [hosts, contentTypes] = countHostAndContentType(rawHeaders);
    if (hosts > 1) throw new ServiceAuthException('malformed_credentials', 'The Host header was sent more than once.');
    if (contentTypes > 1) throw new ServiceAuthException('malformed_credentials', 'The Content-Type header was sent more than once.');
  }
  const contentType = headers['content-type'];
  return {
    host: trimHttpWhitespace(host),
    target: requestTarget(request, raw),
    contentType: typeof contentType === 'string' ? trimHttpWhitespace(contentType) : '',
  };
}

/** The request target as on the request line (the framework may have rewritten `request.url`). */
function requestTarget(request: IncomingRequest, raw: RawRequest): string {
  return raw.originalUrl ?? raw.url ?? request.url;
}

/** Node's header lines as received, when the framework exposes them; a caller that has read `raw` already passes it. */
export function rawHeadersOf(request: IncomingRequest, raw: RawRequest = request.raw ?? request): string[] | undefined {
  return raw.rawHeaders ?? request.rawHeaders;
}

/** Whether a request declares a `Content-Encoding` other than `identity`. */
export function hasContentEncoding(headers: Record<string, unknown>): boolean {
  const encoding = headers['content-encoding'];
  return encoding !== undefined && !(typeof encoding === 'string' && /^[ \t]*identity[ \t]*$/i.test(encoding));
}

/**
 * Refuses a `Content-Encoding` on both adapters alike: Express hands over
 * the decoded bytes and Fastify the encoded ones, so neither can be checked
 * against what the signer hashed (PROTOCOL.md: the body bytes as sent).
 */
export function refuseContentEncoding(headers: IncomingRequest['headers']): void {
  if (hasContentEncoding(headers)) throw new ServiceAuthException('unsupported_content_encoding');
}

/** The body bytes as sent, or `undefined` when the request has none. A body over `maxBodyBytes` is refused before it is hashed. */
export function readRawBody(
  request: IncomingRequest,
  maxBodyBytes: number,
  headers: IncomingRequest['headers'] = request.headers,
): Buffer | undefined {
  const body = request.rawBody;
  if (Buffer.isBuffer(body)) {
    if (body.length > maxBodyBytes) throw new ServiceAuthException('body_too_large');
    return body;
  }
  if (!announcesBody(headers)) return undefined;
  throw new ServiceAuthException('unverifiable_body');
}

/** Stands for a body whose bytes step 1 does not read: present, not empty. */
const UNREAD_BODY = new Uint8Array(1);

/**
 * The body as far as step 1 needs it (whether there is one: rfc9421 then
 * requires a covered Content-Digest), without refusing anything yet: the raw
 * bytes when the framework kept them, a placeholder when the headers announce
 * a body whose bytes are not available, else `undefined`. Step 3 reads the
 * body with `readRawBody`, which refuses an oversized or unreadable one.
 */
export function bodyPresence(request: IncomingRequest): Uint8Array | undefined {
  const body = request.rawBody;
  if (Buffer.isBuffer(body)) return body;
  return announcesBody(request.headers) ? UNREAD_BODY : undefined;
}

function announcesBody(headers: IncomingRequest['headers']): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Whether the request came over HTTPS: the framework's `request.protocol`,
 * which believes `X-Forwarded-Proto` only under the adapter's trust-proxy
 * setting, else the connection itself.
 */
export function cameOverHttps(request: IncomingRequest): boolean {
  if (request.protocol !== undefined) return request.protocol === 'https';
  return request.socket?.encrypted === true;
}

/** The address failed attempts are counted against. Honours the adapter's trust-proxy setting. */
export function clientAddress(request: IncomingRequest): string {
  return request.ip ?? request.socket?.remoteAddress ?? 'unknown';
}

/** Occurrences of `Host` and `Content-Type` in Node's `rawHeaders` ([name, value, name, value, ...]), in one pass. */
function countHostAndContentType(rawHeaders: string[]): [number, number] {
  let hosts = 0;
  let contentTypes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (name.length === 12 && name.toLowerCase() === 'content-type') contentTypes++;
  }
  return [hosts, contentTypes];
}
