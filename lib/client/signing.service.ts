import { Inject, Injectable, Optional } from '@nestjs/common';
import { SIGNING_CREDENTIALS } from '../api-key-auth.constants.js';
import { SigningNotConfiguredError } from '../api-key-auth-configuration.errors.js';
import type { SigningCredentials } from '../api-key-auth-options.interface.js';
import { generateNonce } from '../protocol/nonce.js';
import { HEADER_SERVER_TIME, SignatureScheme } from '../protocol/protocol.constants.js';
import { HEADER_SERVER_TIME_SIGNATURE, verifyServerTime } from '../protocol/server-time.js';
import { signRequest } from '../protocol/signature.js';
import {
  isPeerTable,
  resolveSigningCredentials,
  type ResolvedSigningCredentials,
  type SigningSetup,
} from './signing-credentials.resolver.js';
import { NoPeerForOriginError, UnknownPeerError } from './signing.errors.js';

/** What `SigningService.sign()` needs to know about the request it signs. */
export interface SignableRequest {
  method: string;
  /**
   * URL the request is sent to: absolute, or relative to the peer's `baseUrl`
   * on a signer from `peer(name)`. Its host and path+query are signed.
   */
  url: string | URL;
  /** The exact body bytes that will be sent. */
  body?: string | Uint8Array;
  /**
   * The `Content-Type` header the request is sent with (v1 and rfc9421 sign
   * it; rfc9421 requires one with a body); omit when it has none.
   */
  contentType?: string;
  /** Overrides the configured scheme for this request (`'v1'`, `'rfc9421'` or `'v0'`). */
  scheme?: SignatureScheme;
}

/** `RequestInit` whose body is bytes the signer can hash, as sent. */
export interface SignedFetchInit extends Omit<RequestInit, 'body'> {
  body?: string | Uint8Array;
  /** Overrides the configured scheme for this request (`'v1'`, `'rfc9421'` or `'v0'`). */
  scheme?: SignatureScheme;
}

/** The headers that sign one request, and the nonce they carry (empty for v0). */
interface SignedHeaders {
  headers: Record<string, string>;
  nonce: string;
}

/** One signed request as sent: what the peer's server-time signature must be bound to. */
interface SentRequest {
  response: Response;
  apiKey: string;
  /** The nonce sent; empty for v0. */
  nonce: string;
}

/**
 * Signs this service's outgoing calls. `sign()` returns the signature headers
 * (`X-API-*` for v1 and v0; `Signature-Input`, `Signature` and
 * `Content-Digest` for rfc9421); `fetch()` sends a request signed over
 * exactly the bytes it sends.
 *
 * Credentials are either one set for every URL, or one per peer: then a
 * request is signed only with the credentials of the peer whose origin it goes
 * to, and a request to any other origin throws `NoPeerForOriginError` before
 * anything is sent.
 *
 * When a peer answers `401 stale_timestamp` with `X-API-Server-Time` and an
 * `X-API-Server-Time-Signature` that verifies, under this signer's secret, for
 * the key and nonce just sent, `fetch()` corrects its clock offset for that
 * peer and retries once with a new nonce. Any other answer is returned
 * unchanged: a forged server time never moves the clock.
 */
@Injectable()
export class SigningService {
  /**
   * Correction added to the local clock for each peer origin, in ms, learned
   * from that peer's authenticated `X-API-Server-Time`: one peer's clock never
   * moves the timestamps sent to another.
   */
  protected clockOffsets = new Map<string, number>();
  private readonly peerSigners = new Map<string, SigningService>();

  constructor(@Optional() @Inject(SIGNING_CREDENTIALS) private readonly setup?: SigningSetup) {}

  /** A signer for other credentials (e.g. one key per called service), sharing nothing with this one. */
  withCredentials(credentials: SigningCredentials): SigningService {
    return new (this.constructor as typeof SigningService)(resolveSigningCredentials(credentials, 'signing'));
  }

  /**
   * The signer of one configured peer (`peers` of ServiceAuthClientModule):
   * it signs with that peer's credentials, resolves relative URLs against its
   * `baseUrl`, and refuses every other origin. Shares the clock corrections
   * of this signer.
   * @throws UnknownPeerError when no peer has this name.
   */
  peer(name: string): SigningService {
    const peers = this.setup && isPeerTable(this.setup) ? this.setup.peers : [];
    const peer = peers.find((candidate) => candidate.name === name);
    if (!peer)
      throw new UnknownPeerError(
        name,
        peers.map((candidate) => candidate.name),
      );
    let signer = this.peerSigners.get(name);
    if (!signer) {
      signer = new (this.constructor as typeof SigningService)({ peers: [peer], baseUrl: peer.origin });
      signer.clockOffsets = this.clockOffsets;
      this.peerSigners.set(name, signer);
    }
    return signer;
  }

  /** The clock correction in ms currently applied to requests to `url`'s origin. */
  clockOffset(url: string | URL): number {
    return this.clockOffsets.get(this.resolveUrl(url).origin) ?? 0;
  }

  /** The signature headers for one request, lower-case names. Each call uses a fresh nonce. */
  sign(request: SignableRequest): Record<string, string> {
    const url = this.resolveUrl(request.url);
    return this.signWith(this.credentialsFor(url), url, request).headers;
  }

  /** `fetch()` with signed headers; see the class description for the clock-skew retry. */
  async fetch(url: string | URL, init: SignedFetchInit = {}): Promise<Response> {
    assertSignableBody(init.body);
    const target = this.resolveUrl(url);
    const credentials = this.credentialsFor(target);
    const first = await this.send(target, init, credentials);
    if (!(await this.adoptServerClock(target.origin, credentials, first))) return first.response;
    await first.response.body?.cancel();
    return (await this.send(target, init, credentials)).response;
  }

  /**
   * Sends the signed request; override to use another HTTP client. The
   * signature covers `url` as the WHATWG URL parser normalises it (what
   * `fetch` sends): a client that sends the URL string verbatim must be given
   * an already-normalised URL. Redirects are not followed unless the caller
   * asks for it (`redirect: 'follow'`): the signed headers are for this URL only.
   */
  protected dispatch(url: string | URL, init: RequestInit): Promise<Response> {
    return globalThis.fetch(url, init);
  }

  private signWith(credentials: ResolvedSigningCredentials, url: URL, request: Omit<SignableRequest, 'url'>): SignedHeaders {
    const scheme = request.scheme ?? credentials.scheme;
    const nonce = generateNonce();
    const headers = signRequest({
      scheme,
      apiKey: credentials.apiKey,
      secret: credentials.secret,
      timestampSeconds: Math.floor((Date.now() + (this.clockOffsets.get(url.origin) ?? 0)) / 1000),
      nonce,
      method: request.method,
      host: url.host,
      target: url.pathname + url.search,
      contentType: request.contentType,
      body: toBytes(request.body),
    });
    return { headers, nonce: scheme === 'v0' ? '' : nonce };
  }

  private async send(url: URL, init: SignedFetchInit, credentials: ResolvedSigningCredentials): Promise<SentRequest> {
    const { scheme, ...rest } = init;
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    // v1 and rfc9421 sign the Content-Type: fetch() would add text/plain for a string body itself, so it is set
    // (and signed) here. rfc9421 requires one with a body: bytes without one are sent as application/octet-stream.
    const contentType =
      headers.get('content-type') ??
      (typeof init.body === 'string'
        ? 'text/plain;charset=UTF-8'
        : (scheme ?? credentials.scheme) === 'rfc9421' && init.body instanceof Uint8Array && init.body.length > 0
          ? 'application/octet-stream'
          : undefined);
    if (contentType !== undefined) headers.set('content-type', contentType);
    const signed = this.signWith(credentials, url, { method, body: init.body, contentType, scheme });
    for (const [name, value] of Object.entries(signed.headers)) headers.set(name, value);
    const response = await this.dispatch(url, {
      ...rest,
      method,
      headers,
      body: init.body,
      redirect: init.redirect ?? 'manual',
    });
    return { response, apiKey: credentials.apiKey, nonce: signed.nonce };
  }

  /** True when the response is an authenticated clock-skew rejection and the offset was corrected. */
  private async adoptServerClock(origin: string, credentials: ResolvedSigningCredentials, sent: SentRequest): Promise<boolean> {
    const { response } = sent;
    if (response.status !== 401) return false;
    const serverTime = response.headers.get(HEADER_SERVER_TIME);
    const signature = response.headers.get(HEADER_SERVER_TIME_SIGNATURE);
    if (serverTime === null) return false;
    if (!verifyServerTime(credentials.secret, { apiKey: sent.apiKey, nonce: sent.nonce, serverTime }, signature)) {
      return false;
    }
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

  private credentialsFor(url: URL): ResolvedSigningCredentials {
    const setup = this.setup;
    if (!setup) throw new SigningNotConfiguredError();
    if (!isPeerTable(setup)) return setup;
    const peer = setup.peers.find((candidate) => candidate.origin === url.origin);
    if (!peer) throw new NoPeerForOriginError(url.origin, setup.peers);
    return peer.credentials;
  }

  private resolveUrl(url: string | URL): URL {
    if (typeof url !== 'string') return url;
    return new URL(url, this.setup && isPeerTable(this.setup) ? this.setup.baseUrl : undefined);
  }
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
