import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { databaseDialect } from '../keys/supported-databases.constants.js';
import { ApiKey } from '../keys/api-key.entity.js';
import type { ApiKeyRecord } from '../keys/api-key-record.interface.js';
import type { ApiKeyStore } from './api-key-store.interface.js';

/**
 * Reads keys from the `api_keys` table of the app's default TypeORM data source.
 * @throws UnsupportedDatabaseError when created on a database the table is not made for.
 */
@Injectable()
export class TypeOrmApiKeyStore implements ApiKeyStore {
  constructor(@InjectRepository(ApiKey) private readonly repository: Repository<ApiKey>) {
    // The startup check normally refuses it earlier; this covers a data source it could not see.
    databaseDialect(repository.metadata.connection.options.type);
  }

  async findByKey(apiKey: string): Promise<ApiKeyRecord | null> {
    const row = await this.repository.findOne({
      where: { apiKey },
      select: { apiKey: true, serviceName: true, revokedAt: true, expiresAt: true, rateLimit: true },
    });
    // Exact match even where the column's collation is case-insensitive.
    if (!row || row.apiKey !== apiKey) return null;
    return {
      apiKey: row.apiKey,
      serviceName: row.serviceName,
      revokedAt: row.revokedAt,
      expiresAt: row.expiresAt,
      rateLimit: row.rateLimit,
    };
  }
}
