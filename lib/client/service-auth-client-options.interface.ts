import type { SignatureScheme } from '../protocol/protocol.constants.js';

/** A service this one calls, and the credentials it knows this service by. */
export interface ServiceAuthClientPeer {
  /**
   * Where the peer is: `http(s)://host[:port]`, nothing else (no path, query,
   * user or fragment). Its origin decides which requests get this peer's
   * credentials: only requests to exactly this scheme, host and port. Relative
   * URLs given to `signingService.peer(name)` are resolved against it.
   */
  baseUrl: string;
  /** The API key the peer issued to this service (16 to 128 characters of `[A-Za-z0-9_-]`). */
  apiKey: string;
  /**
   * The secret that key signs with: the peer's shared secret, or in the
   * peer's `derived` mode the key's own secret (never the peer's master
   * secret). At least 32 characters.
   */
  secret: string;
  /**
   * Scheme to sign calls to this peer with: `'v1'`, `'rfc9421'` (the peer
   * must list it in its `schemes`) or `'v0'`. Default: the module's `scheme`,
   * else `'v1'`.
   */
  scheme?: SignatureScheme;
}

/**
 * Options of `ServiceAuthClientModule.forRoot()` / `forRootAsync()`: give
 * either `apiKey` and `secret` (one set of credentials, sent with every call,
 * whatever the URL) or `peers` (credentials per called service, each sent
 * only to its own origin), not both.
 */
export interface ServiceAuthClientModuleOptions {
  /** This service's API key, for every call (without `peers`). */
  apiKey?: string;
  /** The secret of `apiKey`: the shared secret, or the key's derived secret. At least 32 characters. */
  secret?: string;
  /** Scheme to sign with (`'v1'`, `'rfc9421'` or `'v0'`), for `apiKey` and for every peer without its own. Default `'v1'`. */
  scheme?: SignatureScheme;
  /**
   * Credentials per called service, by a name of your choice
   * (`signingService.peer('billing')`): `{ billing: { baseUrl, apiKey, secret } }`.
   * A call to an origin that is no peer's throws `NoPeerForOriginError` and
   * sends nothing. No two peers may share an origin.
   */
  peers?: Record<string, ServiceAuthClientPeer>;
}

/** Options that decide the module's shape, so they are given outside `useFactory`. */
export interface ServiceAuthClientModuleExtras {
  /** Register the module globally so `SigningService` is injectable everywhere. Default `false`. */
  isGlobal?: boolean;
}
