import { Inject, Injectable, Optional } from '@nestjs/common';
import { SIGNING_CREDENTIALS } from '../api-key-auth.constants.js';
import { resolveSigning } from '../api-key-auth-options.factory.js';
import { SigningNotConfiguredError } from '../errors/configuration.error.js';
import type { SigningCredentials } from '../interfaces/api-key-auth-options.interface.js';
import { generateNonce, HEADER_SERVER_TIME, SignatureScheme, signRequest } from '../protocol/index.js';

/** What `SigningService.sign()` needs to know about the request it signs. */
export interface SignableRequest {
  method: string;
  /** Absolute URL the request is sent to. Its host and path+query are signed. */
  url: string | URL;
  /** The exact body bytes that will be sent. */
  body?: string | Uint8Array;
  /** The `Content-Type` header the request is sent with (v1 signs it); omit when it has none. */
  contentType?: string;
  /** Overrides the configured scheme for this request. */
  scheme?: SignatureScheme;
}

/** `RequestInit` whose body is bytes the signer can hash, as sent. */
export interface SignedFetchInit extends Omit<RequestInit, 'body'> {
  body?: string | Uint8Array;
  /** Overrides the configured scheme for this request. */
  scheme?: SignatureScheme;
}

/**
 * Signs this service's outgoing calls. `sign()` returns the `X-API-*` headers;
 * `fetch()` sends a request signed over exactly the bytes it sends and, when
 * the peer answers `401 stale_timestamp` with its clock in
 * `X-API-Server-Time`, corrects this signer's clock offset and retries once.
 */
@Injectable()
export class SigningService {
  /**
   * Correction added to the local clock for each peer origin, in ms, learned
   * from that peer's `X-API-Server-Time`: one peer's clock never moves the
   * timestamps sent to another.
   */
  protected readonly clockOffsets = new Map<string, number>();

  constructor(
    @Optional() @Inject(SIGNING_CREDENTIALS) protected readonly credentials?: Required<SigningCredentials>,
  ) {}

  /** A signer for other credentials (e.g. one key per called service), sharing nothing with this one. */
  withCredentials(credentials: SigningCredentials): SigningService {
    return new (this.constructor as typeof SigningService)(resolveSigning(credentials));
  }

  /** The clock correction in ms currently applied to requests to `url`'s origin. */
  clockOffset(url: string | URL): number {
    return this.clockOffsets.get(toUrl(url).origin) ?? 0;
  }

  /** The `X-API-*` headers for one request. Each call uses a fresh nonce. */
  sign(request: SignableRequest): Record<string, string> {
    const credentials = this.requireCredentials();
    const url = toUrl(request.url);
    return signRequest({
      scheme: request.scheme ?? credentials.scheme,
      apiKey: credentials.apiKey,
      secret: credentials.secret,
      timestampSeconds: Math.floor((Date.now() + (this.clockOffsets.get(url.origin) ?? 0)) / 1000),
      nonce: generateNonce(),
      method: request.method,
      host: url.host,
      target: url.pathname + url.search,
      contentType: request.contentType,
      body: toBytes(request.body),
    });
  }

  /** `fetch()` with signed headers; see the class description for the clock-skew retry. */
  async fetch(url: string | URL, init: SignedFetchInit = {}): Promise<Response> {
    assertSignableBody(init.body);
    const response = await this.send(url, init);
    if (!(await this.learnServerClock(toUrl(url).origin, response))) return response;
    await response.body?.cancel();
    return this.send(url, init);
  }

  private send(url: string | URL, init: SignedFetchInit): Promise<Response> {
    const { scheme, ...rest } = init;
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    const contentType = headers.get('content-type') ?? (typeof init.body === 'string' ? 'text/plain;charset=UTF-8' : undefined);
    if (contentType !== undefined) headers.set('content-type', contentType);
    const signed = this.sign({ method, url, body: init.body, contentType, scheme });
    for (const [name, value] of Object.entries(signed)) headers.set(name, value);
    return this.dispatch(url, { ...rest, method, headers, body: init.body });
  }

  /**
   * Sends the signed request; override to use another HTTP client. The
   * signature covers `url` as the WHATWG URL parser normalises it (what
   * `fetch` sends): a client that sends the URL string verbatim must be given
   * an already-normalised URL.
   */
  protected dispatch(url: string | URL, init: RequestInit): Promise<Response> {
    return globalThis.fetch(url, init);
  }

  /** True when the response is a clock-skew rejection and the offset was corrected. */
  private async learnServerClock(origin: string, response: Response): Promise<boolean> {
    if (response.status !== 401) return false;
    const serverTime = response.headers.get(HEADER_SERVER_TIME);
    if (serverTime === null || !/^[0-9]{1,12}$/.test(serverTime)) return false;
    let code: unknown;
    try {
      code = ((await response.clone().json()) as { code?: unknown }).code;
    } catch {
      return false;
    }
    if (code !== 'stale_timestamp') return false;
    // The peer's clock is somewhere in [serverTime, serverTime + 1s): aim for the middle.
    this.clockOffsets.set(origin, Number(serverTime) * 1000 + 500 - Date.now());
    return true;
  }

  private requireCredentials(): Required<SigningCredentials> {
    if (!this.credentials) throw new SigningNotConfiguredError();
    return this.credentials;
  }
}

function toUrl(url: string | URL): URL {
  return typeof url === 'string' ? new URL(url) : url;
}

function toBytes(body: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function assertSignableBody(body: unknown): void {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) return;
  throw new TypeError(
    'SigningService.fetch() signs exactly the bytes it sends: pass the body as a string or a Uint8Array/Buffer ' +
      '(serialize JSON with JSON.stringify; streams, FormData and Blobs cannot be signed before they are sent).',
  );
}
