import { ApiKeyAuthConfigurationError } from '../api-key-auth-configuration.errors.js';

/**
 * An option of `ServiceAuthClientModule.forRoot()` / `forRootAsync()` is
 * missing or out of range. The message names the option and says what it
 * must be; it never contains a key or a secret.
 */
export class InvalidClientOptionError extends ApiKeyAuthConfigurationError {
  constructor(
    /** The option, as a path: `secret`, `peers.billing.baseUrl`. */
    readonly option: string,
    problem: string,
  ) {
    super(`ServiceAuthClientModule option \`${option}\` ${problem}`);
  }
}
