import { trimHttpWhitespace, type HeaderBag } from '../credentials.js';

/** Reads one request header by its lower-case name, as Node's `req.headers` gives it. */
export type HeaderLookup = (lowerCaseName: string) => string | string[] | undefined;

/**
 * The request as the verifier received it, or as a signer is about to send
 * it. Nothing here is normalized yet: the component rules of PROTOCOL.md are
 * applied by this module.
 */
export interface Rfc9421Request {
  /** The request method as sent. */
  method: string;
  /** The `Host` header value as sent (HTTP/2: `:authority`); `undefined` when the request has none. */
  host: string | undefined;
  /** The request target exactly as on the request line (`req.url` in Node). */
  target: string;
  /** Header lookup by lower-case name. Repeated headers may arrive joined (`, `) or as an array. */
  header: HeaderLookup;
  /**
   * Node's `rawHeaders` (`[name, value, name, value, ...]`), when available.
   * Node joins some repeated headers and silently drops repeats of others
   * (`Content-Type`, `Host`, ...); only the raw lines show that a covered
   * header was sent twice, which the profile refuses.
   */
  rawHeaders?: readonly string[];
  /**
   * The body bytes as sent, or `undefined` when the request has no body. A
   * verifier that could not read the raw bytes must refuse the request
   * instead of passing `undefined`: a body is never treated as empty.
   */
  body: Uint8Array | undefined;
}

/** A `HeaderLookup` over a plain header object such as `req.headers`. */
export function headerLookup(headers: HeaderBag): HeaderLookup {
  return (name) => headers[name];
}

/** Whether the request has a body: at least one byte. */
export function hasBody(request: Pick<Rfc9421Request, 'body'>): boolean {
  return request.body !== undefined && request.body.length > 0;
}

/** The value of a field that may legitimately span several lines (a dictionary): lines joined by `, ` (RFC 9110 section 5.3). */
export function combinedFieldValue(request: Rfc9421Request, name: string): string | undefined {
  const value = request.header(name);
  if (value === undefined) return undefined;
  return trimHttpWhitespace(Array.isArray(value) ? value.join(', ') : value);
}

/**
 * A covered header's single value, surrounding whitespace removed: `absent`
 * when the request has no such header, `repeated` when it has more than one
 * line of it.
 */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- names the two markers for the reader
export function singleFieldValue(request: Rfc9421Request, name: string): string | 'absent' | 'repeated' {
  if (request.rawHeaders !== undefined) {
    let found: string | undefined;
    let count = 0;
    const raw = request.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i].length === name.length && raw[i].toLowerCase() === name) {
        count++;
        found = raw[i + 1];
      }
    }
    if (count > 1) return 'repeated';
    if (found !== undefined) return trimHttpWhitespace(found);
  }
  const value = request.header(name);
  if (value === undefined) return 'absent';
  if (Array.isArray(value)) {
    if (value.length !== 1) return value.length === 0 ? 'absent' : 'repeated';
    return trimHttpWhitespace(value[0]);
  }
  return trimHttpWhitespace(value);
}
