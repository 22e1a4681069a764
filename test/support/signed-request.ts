import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { TestApp } from './test-app.js';
import * as protocol from '../../lib/protocol/index.js';

/** What a signer signs; every field defaults to a valid v1 GET of `/items/1` on the test app. */
export interface SignSpec {
  apiKey: string;
  secret: string;
  scheme?: protocol.SignatureScheme;
  method?: string;
  /** Host the signature covers. Default: the test app's `127.0.0.1:<port>`. */
  host?: string;
  target?: string;
  body?: string | Buffer;
  timestampSeconds?: number;
  nonce?: string;
  /** The Content-Type signed (v1, rfc9421). Default: `application/json` when there is a body, else none. */
  contentType?: string;
}

/** What is put on the wire. Headers are sent as given: an array value sends the header once per element. */
export interface WireRequest {
  method?: string;
  /** The request target, byte for byte as on the request line. */
  target: string;
  /** The Host header. Default: the test app's `127.0.0.1:<port>`; `null` sends no Host header. */
  host?: string | null;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** A body sent in these chunks with `Transfer-Encoding: chunked` (instead of `body`). */
  chunks?: string[];
  /** Local address to connect from (any of 127.0.0.0/8), i.e. the client address the server sees. */
  localAddress?: string;
}

export interface WireResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json: any;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function freshNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** The signature headers for `spec` (`X-API-*`; rfc9421: Signature-Input, Signature, Content-Digest), made with the library's own signer (`protocol.signRequest`). */
export function sign(t: TestApp, spec: SignSpec): Record<string, string> {
  const scheme = spec.scheme ?? 'v1';
  return protocol.signRequest({
    scheme,
    apiKey: spec.apiKey,
    secret: spec.secret,
    timestampSeconds: spec.timestampSeconds ?? nowSeconds(),
    nonce: scheme === 'v0' ? undefined : (spec.nonce ?? freshNonce()),
    method: spec.method ?? 'GET',
    host: spec.host ?? t.host,
    target: spec.target ?? '/items/1',
    contentType: contentTypeOf(spec),
    body: spec.body === undefined ? undefined : Buffer.from(spec.body),
  });
}

function contentTypeOf(spec: SignSpec): string | undefined {
  return spec.contentType ?? (spec.body !== undefined ? 'application/json' : undefined);
}

/**
 * Sends one HTTP/1.1 request with node:http, without a connection pool and
 * without any normalisation of the target, the Host header or the body.
 */
export function send(t: TestApp, wire: WireRequest): Promise<WireResponse> {
  const url = new URL(t.baseUrl);
  return new Promise<WireResponse>((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname,
      port: Number(url.port),
      method: wire.method ?? 'GET',
      path: wire.target,
      agent: false,
      setHost: false,
      localAddress: wire.localAddress,
    });
    if (wire.host !== null) req.setHeader('Host', wire.host ?? t.host);
    for (const [name, value] of Object.entries(wire.headers ?? {})) req.setHeader(name, value);
    if (wire.body !== undefined) req.setHeader('Content-Length', Buffer.byteLength(wire.body));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          get json() {
            return JSON.parse(text);
          },
        });
      });
    });
    for (const chunk of wire.chunks ?? []) req.write(chunk);
    req.end(wire.body);
  });
}

/** Signs `spec` and sends exactly that request (JSON content type when there is a body). */
export function sendSigned(t: TestApp, spec: SignSpec, extraHeaders: Record<string, string> = {}): Promise<WireResponse> {
  return send(t, {
    method: spec.method ?? 'GET',
    target: spec.target ?? '/items/1',
    host: spec.host ?? t.host,
    headers: {
      ...(contentTypeOf(spec) !== undefined && { 'content-type': contentTypeOf(spec)! }),
      ...sign(t, spec),
      ...extraHeaders,
    },
    body: spec.body,
  });
}

/** The exact error body of PROTOCOL.md, with its status, error name and code. */
export function expectAuthError(res: WireResponse, status: number, code: string): void {
  const error = {
    401: 'Unauthorized',
    403: 'Forbidden',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    503: 'Service Unavailable',
  }[status];
  expect({ status: res.status, code: res.json.code }).toEqual({ status, code });
  expect(Object.keys(res.json).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  expect(res.json).toEqual({ statusCode: status, error, code, message: expect.any(String) });
  expect(res.json.message.length).toBeGreaterThan(0);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  if (status === 401) {
    const serverTime = res.headers['x-api-server-time'];
    expect(serverTime).toMatch(/^[0-9]{1,12}$/);
    expect(Math.abs(Number(serverTime) - nowSeconds())).toBeLessThanOrEqual(5);
  } else {
    expect(res.headers['x-api-server-time']).toBeUndefined();
  }
}

/** `Retry-After` as PROTOCOL.md step 7 wants it: whole seconds, at least 1, at most `maxSeconds`. */
export function expectRetryAfter(res: WireResponse, maxSeconds: number): number {
  const value = res.headers['retry-after'];
  expect(value).toMatch(/^[0-9]+$/);
  const seconds = Number(value);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
  return seconds;
}

/** Waits until the wall clock is early in a second, so that a request sent now is checked in the same second. */
export async function startOfSecond(): Promise<void> {
  const ms = Date.now() % 1000;
  if (ms > 300) await new Promise((resolve) => setTimeout(resolve, 1005 - ms));
}

/** Writes `text` as is on a new connection and returns the raw response (for requests node:http cannot make). */
export function sendRawText(t: TestApp, text: string): Promise<{ status: number; head: string; body: string }> {
  const url = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const response = Buffer.concat(chunks).toString('utf8');
      const split = response.indexOf('\r\n\r\n');
      const head = split === -1 ? response : response.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        body: split === -1 ? '' : response.slice(split + 4),
      });
    });
  });
}

/** A rejection as PROTOCOL.md prescribes it, and the proof that no handler ran. */
export function expectRejected(t: TestApp, res: WireResponse, status: number, code: string): void {
  expectAuthError(res, status, code);
  expect(t.log.calls).toEqual([]);
}
