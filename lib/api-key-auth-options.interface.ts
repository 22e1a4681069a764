import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ObservabilityOptions } from './observability/observability-options.interface.js';
import type { SignatureScheme } from './protocol/protocol.constants.js';
import type { ApiKeyStore } from './stores/api-key-store.interface.js';
import type { KeyInvalidationBus } from './stores/key-invalidation-bus.interface.js';
import type { NonceStore } from './stores/nonce-store.interface.js';

/** How each API key's HMAC secret is obtained (PROTOCOL.md, "Secret modes"). */
export type SecretMode = 'shared' | 'derived';

/** Per-API-key rate limit, applied after a request authenticates (also the argument of `@RateLimit()`). */
export interface RateLimitOptions {
  /** Requests allowed per key within `ttlMs`. */
  limit: number;
  /** Length of the counting window, in milliseconds. */
  ttlMs: number;
  /** How long a key that went over the limit is refused, in ms. Default: `ttlMs`. */
  blockDurationMs?: number;
}

/** Limit on failed authentication attempts per client address (brute force). */
export interface FailedAttemptLimitOptions {
  /** Failed attempts allowed per address within `ttlMs`. */
  limit: number;
  /** Length of the counting window, in milliseconds. */
  ttlMs: number;
  /**
   * How long an address that went over the limit stays over it, in ms:
   * meanwhile its failed attempts answer `429 too_many_failed_attempts`, and
   * its unsigned or malformed requests are refused before any cryptographic
   * work. A request whose signature verifies is still accepted from it, so
   * valid callers behind a shared address (NAT, a sidecar) are never locked
   * out. Default: `ttlMs`.
   */
  blockDurationMs?: number;
}

/** Cache of key lookups, so that steady traffic makes no database query. */
export interface KeyCacheOptions {
  /** How long a found key is served from memory, in ms. Bounds how long a key revoked elsewhere keeps working on this instance. Default 30 000. */
  ttlMs?: number;
  /**
   * How long a key-store lookup may take, in ms, before the request is
   * refused with 503 `key_store_unavailable`: a stalled database answers
   * quickly instead of holding requests. Default 1 000.
   */
  lookupTimeoutMs?: number;
  /** How long an unknown key is remembered as unknown, in ms. Default 5 000. */
  negativeTtlMs?: number;
  /** Most keys held (found and unknown each). Default 10 000. */
  maxEntries?: number;
}

/** Replay protection for schemes v1 and rfc9421. */
export interface NonceOptions {
  /** A shared store (e.g. Redis) for several instances. Default: in memory, per process. */
  store?: NonceStore;
  /**
   * Capacity of the default in-memory store. It never evicts an unexpired
   * nonce; when full, requests are refused with 503 until nonces expire.
   * Default 1 000 000.
   */
  maxEntries?: number;
}

/** Credentials this service signs its own outgoing calls with (SigningService). */
export interface SigningCredentials {
  /** This service's API key, as registered with the services it calls. */
  apiKey: string;
  /** Its secret: the shared secret, or the key's derived secret. */
  secret: string;
  /** Scheme to sign with: `'v1'` (default), `'rfc9421'` (RFC 9421 HTTP Message Signatures) or `'v0'`. */
  scheme?: SignatureScheme;
}

/** Options of `ApiKeyAuthModule.forRoot()` / `forRootAsync()`. */
export interface ApiKeyAuthModuleOptions {
  /**
   * Accepted secrets, current first, then previous ones still accepted during
   * a rotation. Each at least 32 characters. In `derived` mode these are master
   * secrets. Default: `API_SHARED_SECRET`, then the comma-separated
   * `API_SHARED_SECRET_PREVIOUS`.
   */
  secrets?: string[];
  /** `'shared'` (default): one secret for all services. `'derived'`: a per-key secret derived from the master. */
  secretMode?: SecretMode;
  /**
   * Signature schemes accepted. Default `['v1']`. Add `'rfc9421'` to also
   * accept RFC 9421 HTTP Message Signatures (PROTOCOL.md's profile: callers
   * signing with an off-the-shelf library), e.g. `['v1', 'rfc9421']`; add
   * `'v0'` only for legacy clients (it is replayable).
   */
  schemes?: SignatureScheme[];
  /**
   * The host names this service answers to, as callers sign them (the
   * `Host` header): `["billing.internal", "billing.internal:8443"]`. An entry
   * without a port allows any port. A request signed for another host is
   * refused with `401 host_not_allowed` before any cryptographic work, so a
   * request captured on its way to another service that shares this key
   * table is never accepted here. Without it, any host is accepted and a
   * warning is logged at startup. Default: not set.
   */
  allowedHosts?: string[];
  /** Allowed clock difference in seconds, both directions. Default 300. */
  toleranceSeconds?: number;
  /**
   * Refuse requests that did not arrive over HTTPS, with `403 https_required`,
   * before anything else is done with them. Behind a TLS-terminating proxy,
   * `X-Forwarded-Proto` counts only where the adapter's trust-proxy setting
   * says so (Express: `app.set('trust proxy', ...)`; Fastify:
   * `new FastifyAdapter({ trustProxy })`). Default `false`.
   */
  requireHttps?: boolean;
  /**
   * Largest body, in bytes, the guard hashes; a larger one is refused with
   * `413 body_too_large` before any hashing or lookup. Set the adapter's own
   * body limit too (Express `bodyParser` limit, Fastify `bodyLimit`), which
   * stops reading earlier. Default 1 048 576 (1 MiB).
   */
  maxBodyBytes?: number;
  /**
   * Per-key rate limit, or `false` to disable. Default 600 requests per
   * minute. A key's own limit (`api_keys.rate_limit`) replaces it for that
   * key, and a route's `@RateLimit()` for that route; `false` turns those off
   * too (for an app that counts with `ServiceAuthThrottlerGuard` instead).
   */
  rateLimit?: RateLimitOptions | false;
  /** Failed-attempt limit per client address, or `false` to disable. Default 30 per minute, blocked for a minute. */
  failedAttempts?: FailedAttemptLimitOptions | false;
  /**
   * Storage for both limits, shared by instances when it is (e.g. a Redis
   * `ThrottlerStorage`). Default: a private in-memory `MemoryThrottlerStorage`,
   * separate from any ThrottlerModule of the host app.
   */
  throttlerStorage?: ThrottlerStorage;
  /**
   * Where the guard looks keys up, instead of the `api_keys` table through
   * TypeORM: e.g. keys held in the app's configuration or secret store. Its
   * records get the same checks (revoked, expired, rate limit) and go through
   * the same `keyCache`. Verification then makes no TypeORM query; the module
   * still registers the `ApiKey` entity, and `ApiKeyService` and the
   * `last_used_at` updates work on the `api_keys` table only. Default: the
   * `api_keys` table of the app's default TypeORM data source.
   */
  keyStore?: ApiKeyStore;
  /** Key lookup cache. */
  keyCache?: KeyCacheOptions;
  /**
   * Carries revocations to every instance so each drops the key from its
   * cache at once (e.g. `RedisKeyInvalidationBus`). Without it, a key revoked
   * on another instance keeps working here until `keyCache.ttlMs` passes.
   */
  keyInvalidation?: KeyInvalidationBus;
  /** Replay protection (v1 nonces). */
  nonces?: NonceOptions;
  /** Credentials for outgoing calls made through `SigningService`. */
  signing?: SigningCredentials;
  /**
   * Length of the API keys `ApiKeyService` issues, in characters of
   * `[A-Za-z0-9]` (about 5.95 bits each). 32 to 128. Default 32. Existing keys
   * keep their length; the guard accepts any key of 16 to 128 characters.
   */
  apiKeyLength?: number;
  /**
   * OpenTelemetry metrics, listeners of every authentication decision (audit
   * events), and the refusal log (README, "Observability"). Default: metrics
   * where `@opentelemetry/api` and an SDK are installed, no listener, refusals
   * logged at `debug`, at most 60 lines per minute.
   */
  observability?: ObservabilityOptions;
}

/** Options that decide the module's shape, so they are given outside `useFactory`. */
export interface ApiKeyAuthModuleExtras {
  /** Register the module globally so its providers are injectable everywhere. Default `false`. */
  isGlobal?: boolean;
  /**
   * Register `ApiKeyGuard` as a global guard (APP_GUARD): every route then
   * requires a signed request unless marked `@Public()`. Default `true`. With
   * `false`, apply `@UseGuards(ApiKeyGuard)` per controller or route.
   */
  globalGuard?: boolean;
}
