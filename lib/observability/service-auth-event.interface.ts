import type { ServiceAuthErrorCode } from '../auth/service-auth.exception.js';

/**
 * The scheme a request was signed with: the authenticated caller's, or, for
 * a refused request, the one its headers claim (`Signature-Input` present:
 * `rfc9421`; else the prefix of `X-API-Signature`). `undefined` when the
 * request names none the module knows.
 */
export type ServiceAuthEventScheme = 'v0' | 'v1' | 'rfc9421';

/**
 * One authentication decision, given to every `observability.onAuthentication`
 * listener after the request was accepted or refused. It never carries a
 * secret or a signature. Frozen: listeners share it.
 */
export interface ServiceAuthEvent {
  /** When the decision was made. */
  readonly time: Date;
  readonly result: 'accepted' | 'rejected';
  /** The refusal's code (PROTOCOL.md); `undefined` when accepted. */
  readonly code: ServiceAuthErrorCode | undefined;
  /** The HTTP status of the refusal; `undefined` when accepted (the handler decides it). */
  readonly status: number | undefined;
  readonly scheme: ServiceAuthEventScheme | undefined;
  /**
   * The calling service, set only when the request's signature and key were
   * verified: on acceptance, and on the refusals that follow verification
   * (`service_not_allowed`, `rate_limited`, `replayed_request`, a store failing then).
   */
  readonly service: string | undefined;
  /**
   * The API key: the caller's when `service` is set; otherwise the key the
   * request names, when it is a well-formed key (16 to 128 characters of
   * `[A-Za-z0-9_-]`), which proves nothing about who sent it.
   */
  readonly apiKey: string | undefined;
  /** The HTTP method. */
  readonly method: string;
  /**
   * The route as declared (`/items/:id`), so that events of one route group
   * together; the path without its query string where the adapter does not say.
   */
  readonly route: string;
  /** The client address, as the failed-attempt limit counts it (`request.ip`, under the adapter's trust-proxy setting). */
  readonly address: string;
}

/**
 * Receives every `ServiceAuthEvent`. Called after the decision, outside the
 * request's processing (the next turn of the event loop): what it returns
 * (a promise, for an async listener) is not awaited, and what it throws or
 * rejects with is logged (rate-limited), so it can neither change nor delay
 * the answer. It must not block the event loop, which every request shares.
 */
export type ServiceAuthEventListener = (event: ServiceAuthEvent) => void;
