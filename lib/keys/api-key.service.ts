import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { API_KEY_AUTH_RESOLVED_OPTIONS, SERVICE_NAME_PATTERN } from '../api-key-auth.constants.js';
import { resolveApiKeyAuthOptions, type ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import type { ApiKeyAuthModuleOptions } from '../api-key-auth-options.interface.js';
import { ApiKey } from './api-key.entity.js';
import { checkedKeyRateLimit } from './key-rate-limit.transformer.js';
import { InvalidExpiryError, InvalidServiceNameError, NoActiveKeyError } from './key-management.errors.js';
import { isKeyActive, type KeyRateLimit } from './api-key-record.interface.js';
import type { CreatedApiKey, ExpiringApiKey, RotatedApiKey } from './issued-api-key.interface.js';
import { deriveKeySecret } from '../protocol/crypto.js';
import { ApiKeyCache } from '../stores/api-key.cache.js';
import { TypeOrmApiKeyStore } from '../stores/typeorm-api-key.store.js';
import { generateApiKey } from './api-key.generator.js';

/** The options of `ApiKeyService.forRepository()`: those of `ApiKeyAuthModule.forRoot()` that key management uses. */
export type ApiKeyServiceOptions = Pick<ApiKeyAuthModuleOptions, 'secrets' | 'secretMode' | 'apiKeyLength'>;

/** Largest rotation overlap accepted: 10 years, far beyond any sane overlap, well within `Date`. */
const MAX_OVERLAP_MS = 10 * 366 * 24 * 3600 * 1000;

/**
 * Issues, lists, revokes and rotates API keys. Every change takes effect on
 * this instance's key cache at once; other instances see it within their
 * `keyCache.ttlMs`. Expiry instants are stored to the second (rounded down),
 * the same on every database.
 */
@Injectable()
export class ApiKeyService {
  constructor(
    @InjectRepository(ApiKey) private readonly repository: Repository<ApiKey>,
    private readonly cache: ApiKeyCache,
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedApiKeyAuthOptions,
  ) {}

  /**
   * An ApiKeyService outside a Nest app (an admin script, the `service-auth`
   * CLI): keys are read and written through `repository`, from a data source
   * that has the `ApiKey` entity. `options` are validated as by
   * `ApiKeyAuthModule.forRoot()` (secrets default to `API_SHARED_SECRET`);
   * running apps see a change within their `keyCache.ttlMs`, or at once through
   * a `keyInvalidation` bus the caller publishes to.
   * @throws ApiKeyAuthConfigurationError when an option is invalid.
   * @throws UnsupportedDatabaseError when the data source is of a type the `api_keys` table is not made for.
   */
  static forRepository(repository: Repository<ApiKey>, options: ApiKeyServiceOptions = {}): ApiKeyService {
    const resolved = resolveApiKeyAuthOptions(options);
    return new ApiKeyService(repository, new ApiKeyCache(new TypeOrmApiKeyStore(repository), resolved), resolved);
  }

  /**
   * Issues a new key for `serviceName`, valid until `expiresAt` (default: no
   * expiry), with its own `rateLimit` (default: the app's).
   * @throws InvalidServiceNameError, InvalidExpiryError, InvalidRateLimitError
   */
  async create(serviceName: string, options: { expiresAt?: Date | null; rateLimit?: KeyRateLimit | null } = {}): Promise<CreatedApiKey> {
    assertServiceName(serviceName);
    const expiresAt = toExpiry(options.expiresAt);
    const row = this.newRow(serviceName, expiresAt, checkedKeyRateLimit(options.rateLimit));
    await this.repository.insert(row);
    this.cache.invalidate(row.apiKey);
    return this.created(row);
  }

  /**
   * Issues a new key for `serviceName` and lets the service's active keys
   * expire `overlapMs` from now, so that its instances can switch over. The
   * expiry is stored in the database (it survives restarts and applies to every
   * instance); a key already due to expire sooner keeps its earlier expiry.
   * The new key takes the rate limit of the service's newest active key.
   * Runs in one transaction.
   * @throws InvalidServiceNameError, InvalidExpiryError, NoActiveKeyError (the service has no active key)
   */
  async rotate(serviceName: string, options: { overlapMs: number }): Promise<RotatedApiKey> {
    assertServiceName(serviceName);
    const overlapMs = options?.overlapMs;
    if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_OVERLAP_MS) {
      throw new InvalidExpiryError(
        `Invalid rotation overlap ${String(overlapMs)}: give a whole number of milliseconds from 0 to ${MAX_OVERLAP_MS}.`,
      );
    }
    const now = Date.now();
    const until = toWholeSeconds(new Date(now + overlapMs));
    const row = this.newRow(serviceName, null, null);

    const expiring = await this.repository.manager.transaction(async (manager) => {
      const repository = manager.getRepository(ApiKey);
      const previous = await repository.find({
        where: { serviceName, revokedAt: IsNull() },
        order: { createdAt: 'ASC', apiKey: 'ASC' },
      });
      const active = previous.filter((key) => isKeyActive(key, now));
      if (active.length === 0) throw new NoActiveKeyError(serviceName);
      row.rateLimit = active[active.length - 1].rateLimit;
      await repository.insert(row);
      const result: ExpiringApiKey[] = [];
      for (const key of active) {
        if (key.expiresAt !== null && key.expiresAt.getTime() <= until.getTime()) {
          result.push({ apiKey: key.apiKey, expiresAt: key.expiresAt });
          continue;
        }
        await repository.update({ apiKey: key.apiKey, revokedAt: IsNull() }, { expiresAt: until });
        result.push({ apiKey: key.apiKey, expiresAt: until });
      }
      return result;
    });

    this.cache.invalidate(row.apiKey);
    for (const key of expiring) this.cache.invalidate(key.apiKey);
    return { ...this.created(row), expiring };
  }

  /** The secret `apiKey` signs with in `derived` mode (current master); `null` in `shared` mode. */
  secretFor(apiKey: string): string | null {
    return this.options.secretMode === 'derived' ? deriveKeySecret(this.options.secrets[0], apiKey) : null;
  }

  /** Revokes a key for good. @returns false when there is no such active key. */
  async revoke(apiKey: string): Promise<boolean> {
    const result = await this.repository.update({ apiKey, revokedAt: IsNull() }, { revokedAt: toWholeSeconds(new Date()) });
    this.cache.invalidate(apiKey);
    return (result.affected ?? 0) > 0;
  }

  /**
   * Sets a key's own rate limit, or with `null` returns it to the app's
   * default. Takes effect on this instance at once, and on the others as a
   * revocation does (at once with a `keyInvalidation` bus).
   * @returns false when there is no such key.
   * @throws InvalidRateLimitError
   */
  async setRateLimit(apiKey: string, rateLimit: KeyRateLimit | null): Promise<boolean> {
    const checked = checkedKeyRateLimit(rateLimit);
    const result = await this.repository.update({ apiKey }, { rateLimit: checked });
    this.cache.invalidate(apiKey);
    return (result.affected ?? 0) > 0;
  }

  /**
   * `setRateLimit` for every active key of `serviceName` (e.g. both keys
   * during a rotation's overlap; each key still has its own counter).
   * @returns the keys changed.
   * @throws InvalidServiceNameError, InvalidRateLimitError
   */
  async setServiceRateLimit(serviceName: string, rateLimit: KeyRateLimit | null): Promise<string[]> {
    assertServiceName(serviceName);
    const checked = checkedKeyRateLimit(rateLimit);
    const now = Date.now();
    const keys = (await this.repository.find({ where: { serviceName, revokedAt: IsNull() } }))
      .filter((key) => isKeyActive(key, now))
      .map((key) => key.apiKey);
    for (const apiKey of keys) {
      await this.repository.update({ apiKey }, { rateLimit: checked });
      this.cache.invalidate(apiKey);
    }
    return keys;
  }

  async findByKey(apiKey: string): Promise<ApiKey | null> {
    const row = await this.repository.findOneBy({ apiKey });
    return row && row.apiKey === apiKey ? row : null;
  }

  /**
   * Keys of one or all services, oldest first; revoked ones only with `includeRevoked`.
   * @throws InvalidServiceNameError
   */
  async list(options: { serviceName?: string; includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    if (options.serviceName !== undefined) assertServiceName(options.serviceName);
    return this.repository.find({
      where: {
        ...(options.serviceName !== undefined && { serviceName: options.serviceName }),
        ...(!options.includeRevoked && { revokedAt: IsNull() }),
      },
      order: { createdAt: 'ASC', apiKey: 'ASC' },
    });
  }

  private newRow(serviceName: string, expiresAt: Date | null, rateLimit: KeyRateLimit | null): ApiKey {
    const row = new ApiKey();
    row.apiKey = generateApiKey(this.options.apiKeyLength);
    row.serviceName = serviceName;
    row.createdAt = toWholeSeconds(new Date());
    row.expiresAt = expiresAt;
    row.revokedAt = null;
    row.lastUsedAt = null;
    row.rateLimit = rateLimit;
    return row;
  }

  private created(row: ApiKey): CreatedApiKey {
    return {
      apiKey: row.apiKey,
      serviceName: row.serviceName,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      rateLimit: row.rateLimit,
      secret: this.secretFor(row.apiKey),
    };
  }
}

function assertServiceName(serviceName: unknown): asserts serviceName is string {
  if (typeof serviceName !== 'string' || !SERVICE_NAME_PATTERN.test(serviceName)) {
    throw new InvalidServiceNameError(serviceName);
  }
}

function toExpiry(expiresAt: Date | null | undefined): Date | null {
  if (expiresAt === undefined || expiresAt === null) return null;
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
    throw new InvalidExpiryError(`Invalid expiresAt ${String(expiresAt)}: give a valid Date, or null for no expiry.`);
  }
  return toWholeSeconds(expiresAt);
}

/** The instant rounded down to the second: what a DATETIME keeps, so that every database stores the same value. */
function toWholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
