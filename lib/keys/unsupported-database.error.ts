import { ApiKeyAuthConfigurationError } from '../api-key-auth-configuration.errors.js';

/**
 * The TypeORM data source that holds the `api_keys` table uses a driver this
 * module is not tested on. Thrown at startup (and by `apiKeyAuthMigrations`)
 * before any key is read or written.
 */
export class UnsupportedDatabaseError extends ApiKeyAuthConfigurationError {
  constructor(
    /** The data source's `type` option, as given. */
    readonly databaseType: string,
    /** The `type` values that are supported, e.g. `postgres (PostgreSQL, driver pg)`. */
    supported: readonly string[],
  ) {
    super(
      `the TypeORM data source of the api_keys table has type ${JSON.stringify(databaseType)}, which is not supported. ` +
        `Use one of: ${supported.join('; ')}.`,
    );
  }
}
