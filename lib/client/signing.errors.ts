import { ApiKeyAuthConfigurationError } from '../api-key-auth-configuration.errors.js';

/** `signingService.peer(name)` was called with a name that is not among the configured peers. */
export class UnknownPeerError extends ApiKeyAuthConfigurationError {
  constructor(name: string, known: readonly string[]) {
    super(
      `SigningService has no peer named ${JSON.stringify(name)} (configured: ${known.join(', ') || 'none'}). ` +
        'Add it to `peers` of ServiceAuthClientModule.forRoot().',
    );
  }
}

/**
 * A signer configured with per-peer credentials was asked to sign a request
 * to an origin that is none of its peers. Nothing was sent: the credentials of
 * one peer are never used for another.
 */
export class NoPeerForOriginError extends ApiKeyAuthConfigurationError {
  constructor(origin: string, peers: readonly { name: string; origin: string }[]) {
    const known = peers.map((peer) => `${peer.name} at ${peer.origin}`).join(', ');
    super(
      `SigningService has no credentials for ${origin}; its peers are ${known}. Call a peer at its own ` +
        'origin (scheme, host and port exactly as in its `baseUrl`), or add the service to `peers` of ServiceAuthClientModule.forRoot().',
    );
  }
}
