import { ApiKeyAuthConfigurationError } from '../api-key-auth-configuration.errors.js';

/** `observability.metrics: true`, and `@opentelemetry/api` cannot be loaded. */
export class OpenTelemetryApiMissingError extends ApiKeyAuthConfigurationError {
  constructor(reason: string) {
    super(
      `observability.metrics is true, but @opentelemetry/api could not be loaded (${reason}). ` +
        'Install it (`npm install @opentelemetry/api`), or leave observability.metrics unset to record ' +
        'metrics only where it is installed.',
    );
  }
}
