import type { KeyRateLimit } from './api-key-record.interface.js';

/** A newly issued key, with the secret its service signs with in `derived` mode. */
export interface CreatedApiKey {
  apiKey: string;
  serviceName: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** The key's own rate limit; `null`: the app's default. */
  rateLimit: KeyRateLimit | null;
  /** The key's derived secret in `derived` mode; `null` in `shared` mode (the shared secret is never handed out). */
  secret: string | null;
}

/** A previous key of a rotated service, and the instant it stops authenticating. */
export interface ExpiringApiKey {
  apiKey: string;
  expiresAt: Date;
}

/** The result of `rotate()`: the new key, and the service's previous keys with their expiry. */
export interface RotatedApiKey extends CreatedApiKey {
  /** The service's keys that were active before the rotation, oldest first. */
  expiring: ExpiringApiKey[];
}
