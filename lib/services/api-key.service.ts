import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { API_KEY_AUTH_RESOLVED_OPTIONS } from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { ApiKey } from '../entities/api-key.entity.js';
import { deriveKeySecret } from '../protocol/index.js';
import { ApiKeyCache } from '../stores/api-key.cache.js';
import { generateApiKey } from './api-key.generator.js';

/** A newly issued key, with the secret its service signs with in `derived` mode. */
export interface CreatedApiKey {
  apiKey: string;
  serviceName: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** The key's derived secret in `derived` mode; `null` in `shared` mode (the shared secret is never handed out). */
  secret: string | null;
}

export const SERVICE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Thrown for a service name outside `[a-z0-9][a-z0-9._-]{0,63}`. */
export class InvalidServiceNameError extends Error {
  constructor(name: string) {
    super(
      `Invalid service name ${JSON.stringify(name)}: use 1 to 64 characters of [a-z0-9._-], starting with a letter or digit.`,
    );
    this.name = 'InvalidServiceNameError';
  }
}

/** Issues and retires API keys. Changes take effect on this instance's cache at once. */
@Injectable()
export class ApiKeyService {
  constructor(
    @InjectRepository(ApiKey) protected readonly repository: Repository<ApiKey>,
    protected readonly cache: ApiKeyCache,
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) protected readonly options: ResolvedApiKeyAuthOptions,
  ) {}

  async create(serviceName: string, options: { expiresAt?: Date | null } = {}): Promise<CreatedApiKey> {
    if (!SERVICE_NAME_PATTERN.test(serviceName)) throw new InvalidServiceNameError(serviceName);
    const apiKey = generateApiKey();
    const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const expiresAt = options.expiresAt ?? null;
    await this.repository.insert({ apiKey, serviceName, createdAt, expiresAt, revokedAt: null, lastUsedAt: null });
    this.cache.invalidate(apiKey);
    return { apiKey, serviceName, createdAt, expiresAt, secret: this.secretFor(apiKey) };
  }

  /** The secret `apiKey` signs with in `derived` mode (current master); `null` in `shared` mode. */
  secretFor(apiKey: string): string | null {
    return this.options.secretMode === 'derived' ? deriveKeySecret(this.options.secrets[0], apiKey) : null;
  }

  /** Revokes a key for good. @returns false when there is no such active key. */
  async revoke(apiKey: string): Promise<boolean> {
    const result = await this.repository.update({ apiKey, revokedAt: IsNull() }, { revokedAt: new Date() });
    this.cache.invalidate(apiKey);
    return (result.affected ?? 0) > 0;
  }

  async findByKey(apiKey: string): Promise<ApiKey | null> {
    const row = await this.repository.findOneBy({ apiKey });
    return row && row.apiKey === apiKey ? row : null;
  }

  /** Keys of one or all services, oldest first; revoked ones only with `includeRevoked`. */
  async list(options: { serviceName?: string; includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    return this.repository.find({
      where: {
        ...(options.serviceName !== undefined && { serviceName: options.serviceName }),
        ...(!options.includeRevoked && { revokedAt: IsNull() }),
      },
      order: { createdAt: 'ASC', apiKey: 'ASC' },
    });
  }
}
