import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { ServiceAuthException, type ServiceAuthErrorCode } from '../../lib/index.js';

/**
 * Shared by the adversarial suites: a keep-alive HTTP client that sends
 * requests exactly as given, and the checks of an answer from the guard.
 */

/** Header lines in the order they are sent. Nothing is added but Content-Length (when there is a body) and Connection. */
export type HeaderLines = Array<[name: string, value: string]>;

export interface RawRequest {
  method: string;
  /** The request target, byte for byte (a string of code points <= 0xFF: one byte each). */
  target: string;
  headers: HeaderLines;
  body?: Buffer;
  /** Send the body in these chunks with `Transfer-Encoding: chunked` (instead of `body` and Content-Length). */
  chunks?: Buffer[];
}

export type Outcome =
  /** The server answered. */
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  /** node:http refused to put this request on the wire (e.g. a control character in a header): it never reached the server. */
  | { kind: 'refused-by-client'; code: string; message: string }
  /** The connection ended without an answer (e.g. the server closed it on an oversized head). */
  | { kind: 'no-answer'; code: string; message: string };

/** Errors node:http raises before sending anything, for input it will not write. */
const CLIENT_VALIDATION_CODES = new Set([
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_ARG_TYPE',
  'ERR_HTTP_HEADERS_SENT',
]);

const REQUEST_TIMEOUT_MS = 15_000;

/** Connection errors after which a request is sent again: a reset, or an answer that does not parse (the end of an earlier one). */
const isRetriable = (code: string) => code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code.startsWith('HPE_');

/**
 * A keep-alive HTTP/1.1 client: many requests over few connections, with full
 * control of what goes on the wire (header lines in order, names in any case,
 * repeated headers, no Host unless one is given, the target byte for byte).
 */
export class WireClient {
  readonly agent: Agent;
  /** Requests sent again on a new connection (see `send`). */
  retries = 0;
  private readonly port: number;
  private readonly hostname: string;

  constructor(baseUrl: string, maxSockets = 8) {
    const url = new URL(baseUrl);
    this.hostname = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /**
   * Sends `req`. A request whose connection breaks before a whole answer
   * arrived is sent once more, on a new connection of its own: a keep-alive
   * connection can be closed by the server right after its answer to the
   * previous request, without `Connection: close` (Fastify's answers to
   * requests Node cannot parse, e.g. its 431 to an oversized head), and the
   * agent may already have put the next request on it. A request that breaks
   * its own connection too is reported as `no-answer`.
   */
  async send(req: RawRequest): Promise<Outcome> {
    const outcome = await this.sendOnce(req, this.agent);
    if (outcome.kind !== 'no-answer' || !isRetriable(outcome.code)) return outcome;
    this.retries++;
    return this.sendOnce(req, false);
  }

  /** Sends all requests, at most `maxSockets` at a time (the agent queues the rest). */
  sendAll(requests: RawRequest[]): Promise<Outcome[]> {
    return Promise.all(requests.map((r) => this.send(r)));
  }

  close(): void {
    this.agent.destroy();
  }

  private sendOnce(req: RawRequest, agent: Agent | false): Promise<Outcome> {
    return new Promise((resolve) => {
      const headers: string[] = [];
      for (const [name, value] of req.headers) headers.push(name, value);
      if (req.chunks !== undefined) headers.push('Transfer-Encoding', 'chunked');
      else if (req.body !== undefined) headers.push('Content-Length', String(req.body.length));

      let settled = false;
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const failed = (error: unknown): void => {
        const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
        const rawPacket = (error as { rawPacket?: Buffer }).rawPacket;
        const message =
          ((error as Error).message ?? String(error)) +
          (rawPacket ? ` (received: ${JSON.stringify(rawPacket.toString('latin1').slice(0, 300))})` : '');
        if (CLIENT_VALIDATION_CODES.has(code)) settle({ kind: 'refused-by-client', code, message });
        else settle({ kind: 'no-answer', code, message });
      };

      let clientRequest: ReturnType<typeof httpRequest>;
      try {
        clientRequest = httpRequest({
          host: this.hostname,
          port: this.port,
          method: req.method,
          path: req.target,
          agent,
          setHost: false,
          headers: headers as unknown as Record<string, string>,
        });
      } catch (error) {
        failed(error);
        return;
      }
      clientRequest.setTimeout(REQUEST_TIMEOUT_MS, () => {
        clientRequest.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`), { code: 'TIMEOUT' }));
      });
      clientRequest.on('error', (error) => failed(error));
      clientRequest.on('response', (res) => {
        if (req.method.toUpperCase() === 'HEAD') {
          // No body follows an answer to HEAD: it is complete now. (Bytes after it can be a second answer
          // Fastify writes on a connection Node already answered and closes, e.g. to a request without Host
          // whose body Node then parses as a request line: the client would report them as a parse error.)
          res.resume();
          settle({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => failed(error));
        res.on('end', () => settle({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      try {
        if (req.chunks !== undefined) {
          for (const chunk of req.chunks) if (chunk.length > 0) clientRequest.write(chunk);
          clientRequest.end();
        } else {
          clientRequest.end(req.body);
        }
      } catch (error) {
        clientRequest.destroy();
        failed(error);
      }
    });
  }
}

/** A string whose code points are the bytes of `text` in UTF-8: node:http writes it as those bytes (latin1). */
export function utf8AsWireString(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * Every `code` of PROTOCOL.md, as `ServiceAuthErrorCode` lists them: the
 * `satisfies` makes the type checker fail here when a code is added or removed.
 */
export const GUARD_CODES = Object.keys({
  missing_credentials: true,
  malformed_credentials: true,
  stale_timestamp: true,
  host_not_allowed: true,
  invalid_signature: true,
  replayed_request: true,
  unverifiable_body: true,
  https_required: true,
  body_too_large: true,
  unsupported_content_encoding: true,
  service_not_allowed: true,
  rate_limited: true,
  too_many_failed_attempts: true,
  key_store_unavailable: true,
  nonce_store_unavailable: true,
  rate_limit_store_unavailable: true,
} satisfies Record<ServiceAuthErrorCode, true>) as ServiceAuthErrorCode[];

/** The status each code is answered with, taken from the exception the guard throws. */
export const GUARD_STATUS: ReadonlyMap<string, number> = new Map(
  GUARD_CODES.map((code) => [code, new ServiceAuthException(code).getStatus()]),
);

/** The `error` of each guard status ("Unauthorized", ...), taken from the same exceptions. */
const ERROR_NAMES: ReadonlyMap<number, unknown> = new Map(
  GUARD_CODES.map((code) => {
    const exception = new ServiceAuthException(code);
    return [exception.getStatus(), (exception.getResponse() as { error?: unknown }).error];
  }),
);

/**
 * Statuses that, in the test apps, only the guard answers with: such an answer
 * must be the guard's JSON. (A 413 may come from the body parser as well: it
 * is checked as the guard's only when it carries a `code`.)
 */
export const GUARD_STATUSES = new Set([401, 403, 429, 503]);

/**
 * Checks an answer that came from the guard (PROTOCOL.md: JSON
 * `{statusCode, error, code, message}`, `X-API-Server-Time` on every 401,
 * `Retry-After` on every 429). Returns what is wrong, or `undefined`.
 * `headOnly`: the answer to a HEAD request, which has no body.
 */
export function guardAnswerProblem(
  res: { status: number; headers: IncomingHttpHeaders; body: Buffer },
  headOnly = false,
): string | undefined {
  if (res.status === 401 && !/^[0-9]{1,12}$/.test(String(res.headers['x-api-server-time'] ?? ''))) {
    return 'a 401 without X-API-Server-Time';
  }
  if (res.status === 429 && !/^[0-9]+$/.test(String(res.headers['retry-after'] ?? ''))) return 'a 429 without Retry-After';
  if (headOnly) return undefined;
  if (!/^application\/json/.test(String(res.headers['content-type'] ?? ''))) return 'a guard answer that is not JSON';
  let json: unknown;
  try {
    json = JSON.parse(res.body.toString('utf8'));
  } catch {
    return 'a guard answer whose body is not JSON';
  }
  const body = json as Record<string, unknown>;
  const code = body?.code;
  if (typeof code !== 'string' || !GUARD_STATUS.has(code)) return `an unknown code ${JSON.stringify(code)}`;
  if (GUARD_STATUS.get(code) !== res.status) return `code ${code} with status ${res.status}`;
  if (body.statusCode !== res.status || body.error !== ERROR_NAMES.get(res.status)) return 'statusCode/error do not match the status';
  if (typeof body.message !== 'string' || body.message.length === 0) return 'no message';
  if (Object.keys(body).sort().join() !== 'code,error,message,statusCode') return `other fields: ${Object.keys(body).join()}`;
  return undefined;
}

/** The first of `needles` found in the answer (body and headers, case-insensitively), or `undefined`. */
export function leakedIn(res: { headers: IncomingHttpHeaders; body: Buffer }, needles: readonly string[]): string | undefined {
  const haystack = (res.body.toString('latin1') + '\n' + JSON.stringify(res.headers)).toLowerCase();
  return needles.find((needle) => needle.length > 0 && haystack.includes(needle.toLowerCase()));
}
