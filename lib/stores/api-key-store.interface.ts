import type { ApiKeyRecord } from '../keys/api-key-record.interface.js';

/** Where the guard looks keys up: the `keyStore` option, or by default the `api_keys` table through TypeORM. */
export interface ApiKeyStore {
  /**
   * @returns the key's record, or `null` when no such key exists.
   * @throws when the store cannot be reached: the request is refused with 503.
   */
  findByKey(apiKey: string): Promise<ApiKeyRecord | null>;
}
