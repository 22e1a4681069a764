import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { KeyRateLimit } from './api-key-record.interface.js';
import { keyRateLimitTransformer } from './key-rate-limit.transformer.js';

export const API_KEYS_TABLE = 'api_keys';

/**
 * One calling service's API key. The table holds no secret: in `shared` mode
 * every service signs with the shared secret, in `derived` mode the secret is
 * derived from the master secret and the key on each request.
 *
 * The table is created and changed only by `apiKeyAuthMigrations`, which
 * choose each database's column types (`timestamptz` on PostgreSQL, `datetime`
 * on MySQL/MariaDB and SQLite, a binary collation for the key on MySQL). An
 * entity has one set of types for every database (`Date`: whatever date-time
 * type the driver maps it to), so it is left out of `synchronize` and
 * `migration:generate`, which would otherwise rewrite the table to those
 * generic types.
 */
@Entity({ name: API_KEYS_TABLE, synchronize: false })
export class ApiKey {
  /** The key itself, matched case-sensitively. */
  @PrimaryColumn({ name: 'api_key', type: 'varchar', length: 128 })
  apiKey!: string;

  /** The calling service the key belongs to (`[a-z0-9][a-z0-9._-]{0,63}`). */
  @Index('idx_api_keys_service_name')
  @Column({ name: 'service_name', type: 'varchar', length: 64 })
  serviceName!: string;

  /** When the key was issued. */
  @CreateDateColumn({ name: 'created_at', type: Date })
  createdAt!: Date;

  /** Set when the key was revoked; a revoked key never authenticates again. */
  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;

  /** The key stops authenticating after this instant (rotation overlap, temporary keys). */
  @Column({ name: 'expires_at', type: Date, nullable: true })
  expiresAt!: Date | null;

  /** Last successful authentication, recorded coarsely (not on every request). */
  @Column({ name: 'last_used_at', type: Date, nullable: true })
  lastUsedAt!: Date | null;

  /**
   * The key's own rate limit, in place of the app's default; `null`: the
   * default. Stored as `<limit>/<ttlMs>` (e.g. `1000/60000`).
   */
  @Column({ name: 'rate_limit', type: 'varchar', length: 32, nullable: true, transformer: keyRateLimitTransformer })
  rateLimit!: KeyRateLimit | null;
}
