/**
 * Thrown at startup when the module is configured in a way that cannot be
 * run safely. The message always says how to fix it; the app does not start.
 */
export class ApiKeyAuthConfigurationError extends Error {
  constructor(message: string) {
    super(`nestjs-service-auth: ${message}`);
    this.name = new.target.name;
  }
}

/** No secret was configured. */
export class MissingSecretError extends ApiKeyAuthConfigurationError {
  constructor() {
    super(
      'no signing secret is configured. Set API_SHARED_SECRET (at least 32 characters, e.g. ' +
        '`openssl rand -base64 48`) or pass `secrets: [current, ...previous]` to ApiKeyAuthModule.forRoot().',
    );
  }
}

/** API_SHARED_SECRET_PREVIOUS without API_SHARED_SECRET. */
export class PreviousSecretWithoutCurrentError extends ApiKeyAuthConfigurationError {
  constructor() {
    super(
      'API_SHARED_SECRET_PREVIOUS is set but API_SHARED_SECRET is not. Set API_SHARED_SECRET to the current secret ' +
        '(the one callers sign with now), or unset API_SHARED_SECRET_PREVIOUS.',
    );
  }
}

/** A configured secret is shorter than PROTOCOL.md allows. */
export class WeakSecretError extends ApiKeyAuthConfigurationError {
  constructor(position: number, minLength: number) {
    super(
      `secret #${position + 1} is shorter than ${minLength} characters. ` +
        `Use a random secret of at least ${minLength} characters (e.g. \`openssl rand -base64 48\`).`,
    );
  }
}

/** An option has a value outside what the module accepts. */
export class InvalidOptionError extends ApiKeyAuthConfigurationError {
  constructor(option: string, problem: string) {
    super(`option \`${option}\` ${problem}`);
  }
}

/** SigningService was used without caller credentials. */
export class SigningNotConfiguredError extends ApiKeyAuthConfigurationError {
  constructor() {
    super(
      'SigningService has no caller credentials. Pass `signing: { apiKey, secret }` to ' +
        'ApiKeyAuthModule.forRoot(), or call signingService.withCredentials({ apiKey, secret }).',
    );
  }
}

/** `@Public()` on a handler that `@AllowServices()` restricts. */
export class PublicRestrictedRouteError extends ApiKeyAuthConfigurationError {
  constructor(route: string) {
    super(
      `${route} is marked both @Public() and @AllowServices(). A route restricted to services always ` +
        'requires a signed request: remove @Public() from it (or the restriction, if the route is meant to be open).',
    );
  }
}
