import { InvalidOptionError } from '../api-key-auth-configuration.errors.js';
import type { SigningCredentials } from '../api-key-auth-options.interface.js';
import { API_KEY_PATTERN } from '../protocol/credentials.js';
import { MIN_SECRET_LENGTH, SIGNATURE_SCHEMES } from '../protocol/protocol.constants.js';

/** Credentials after validation, with the scheme defaulted. */
export type ResolvedSigningCredentials = Required<SigningCredentials>;

/** A service this one calls: where it is, and the credentials it knows this service by. */
export interface SigningPeer {
  /** The name the app refers to the peer by (`signingService.peer(name)`). */
  readonly name: string;
  /** The peer's `scheme://host[:port]`, as `URL.origin` spells it. */
  readonly origin: string;
  readonly credentials: ResolvedSigningCredentials;
}

/** Per-peer credentials: a request is signed only for the peer whose origin it goes to. */
export interface SigningPeerTable {
  readonly peers: readonly SigningPeer[];
  /** Relative URLs are resolved against this origin (set on the signer of one peer). */
  readonly baseUrl?: string;
}

/**
 * What a `SigningService` signs with: one set of credentials for every URL
 * (`withCredentials()`, `ApiKeyAuthModule`'s `signing`), or a peer table.
 */
export type SigningSetup = ResolvedSigningCredentials | SigningPeerTable;

/** Builds the error for a bad option; the problem never quotes a secret. */
export type OptionErrorFactory = (option: string, problem: string) => Error;

const invalidOption: OptionErrorFactory = (option, problem) => new InvalidOptionError(option, problem);

/**
 * Validates one set of credentials. `option` names them in errors
 * (`signing`, `peers.billing`; empty for top-level options); no message
 * contains the key or the secret.
 */
export function resolveSigningCredentials(
  credentials: Partial<SigningCredentials> | undefined,
  option: string,
  fail: OptionErrorFactory = invalidOption,
): ResolvedSigningCredentials {
  const path = (name: string) => (option ? `${option}.${name}` : name);
  if (credentials === null || typeof credentials !== 'object') {
    throw fail(option || 'credentials', 'must be an object { apiKey, secret, scheme? }.');
  }
  if (credentials.apiKey === undefined) throw fail(path('apiKey'), 'is required: the API key the called service issued.');
  if (credentials.secret === undefined)
    throw fail(path('secret'), `is required: the secret of the API key, at least ${MIN_SECRET_LENGTH} characters.`);
  if (typeof credentials.apiKey !== 'string' || !API_KEY_PATTERN.test(credentials.apiKey)) {
    throw fail(path('apiKey'), 'must be 16 to 128 characters of [A-Za-z0-9_-].');
  }
  if (typeof credentials.secret !== 'string' || credentials.secret.length < MIN_SECRET_LENGTH) {
    throw fail(path('secret'), `must be at least ${MIN_SECRET_LENGTH} characters.`);
  }
  const scheme = credentials.scheme ?? 'v1';
  if (!SIGNATURE_SCHEMES.includes(scheme)) {
    throw fail(path('scheme'), `must be 'v1', 'rfc9421' or 'v0', got '${String(scheme).slice(0, 20)}'.`);
  }
  return Object.freeze({ apiKey: credentials.apiKey, secret: credentials.secret, scheme });
}

/** True for a peer table, false for one set of credentials. */
export function isPeerTable(setup: SigningSetup): setup is SigningPeerTable {
  return Array.isArray((setup as SigningPeerTable).peers);
}
