import { AddApiKeyRateLimit1764400000000 } from './add-api-key-rate-limit.migration.js';
import { CreateApiKeysTable1764300000000 } from './create-api-keys-table.migration.js';

/** Every migration of this module, in order: add them to your DataSource's `migrations`. */
export const apiKeyAuthMigrations = [CreateApiKeysTable1764300000000, AddApiKeyRateLimit1764400000000];
