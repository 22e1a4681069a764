import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export const API_KEYS_TABLE = 'api_keys';

/**
 * One calling service's API key. The table holds no secret: in `shared` mode
 * every service signs with the shared secret, in `derived` mode the secret is
 * derived from the master secret and the key on each request.
 */
@Entity({ name: API_KEYS_TABLE })
export class ApiKey {
  @PrimaryColumn({ name: 'api_key', type: 'varchar', length: 128 })
  apiKey!: string;

  @Index('idx_api_keys_service_name')
  @Column({ name: 'service_name', type: 'varchar', length: 64 })
  serviceName!: string;

  @CreateDateColumn({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;

  /** Set when the key was revoked; a revoked key never authenticates again. */
  @Column({ name: 'revoked_at', type: 'datetime', nullable: true })
  revokedAt!: Date | null;

  /** The key stops authenticating after this instant (rotation overlap, temporary keys). */
  @Column({ name: 'expires_at', type: 'datetime', nullable: true })
  expiresAt!: Date | null;

  /** Last successful authentication, recorded coarsely (not on every request). */
  @Column({ name: 'last_used_at', type: 'datetime', nullable: true })
  lastUsedAt!: Date | null;
}
