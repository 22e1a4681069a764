import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { API_KEY_AUTH_RESOLVED_OPTIONS, API_KEY_STORE } from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import type { ApiKeyRecord } from '../keys/api-key-record.interface.js';
import type { ApiKeyStore } from './api-key-store.interface.js';
import { describeError } from '../observability/describe-error.js';

/** The key store did not answer within `keyCache.lookupTimeoutMs`. */
export class KeyStoreTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the API key store did not answer within ${timeoutMs} ms`);
    this.name = 'KeyStoreTimeoutError';
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KeyStoreTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Entry {
  record: ApiKeyRecord | null;
  expiresAt: number;
}

/**
 * Bounded, TTL-based cache in front of the key store, with a short negative
 * cache for unknown keys and one store query per key at a time: concurrent
 * misses for the same key share a lookup. Found and unknown keys are held in
 * separate maps, so a flood of random keys cannot evict the real ones. With a
 * `keyInvalidation` bus, invalidations reach every instance.
 */
@Injectable()
export class ApiKeyCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyCache');
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly found = new Map<string, Entry>();
  private readonly unknown = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<ApiKeyRecord | null>>();
  private generation = 0;

  constructor(
    @Inject(API_KEY_STORE) private readonly store: ApiKeyStore,
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedApiKeyAuthOptions,
  ) {}

  /** The key's record, from memory when fresh. Rejects when the store fails. */
  get(apiKey: string, now = Date.now()): Promise<ApiKeyRecord | null> | ApiKeyRecord | null {
    const hit = this.found.get(apiKey) ?? this.unknown.get(apiKey);
    if (hit && hit.expiresAt > now) return hit.record;
    const inflight = this.pending.get(apiKey);
    if (inflight) return inflight;
    return this.load(apiKey);
  }

  /** Keys held now: found ones, and ones remembered as unknown (each bounded by `keyCache.maxEntries`). */
  sizes(): { found: number; unknown: number } {
    return { found: this.found.size, unknown: this.unknown.size };
  }

  async onModuleInit(): Promise<void> {
    const bus = this.options.keyInvalidation;
    if (!bus) return;
    this.unsubscribe = await bus.subscribe((apiKey) => {
      if (apiKey === null) this.clear();
      else this.drop(apiKey);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.unsubscribe?.();
  }

  /**
   * Drops a key at once here and, with a `keyInvalidation` bus, on every
   * other instance (on revoke, rotation, creation).
   */
  invalidate(apiKey: string): void {
    this.drop(apiKey);
    this.options.keyInvalidation?.publish(apiKey).catch((error: unknown) => {
      this.logger.error(
        `Could not tell other instances to drop API key ${apiKey} (${describeError(error)}); ` +
          `they will stop accepting it within keyCache.ttlMs (${this.options.keyCache.ttlMs} ms).`,
      );
    });
  }

  /** Drops a key from this instance's cache only. */
  drop(apiKey: string): void {
    this.found.delete(apiKey);
    this.unknown.delete(apiKey);
    this.pending.delete(apiKey);
    this.generation++;
  }

  clear(): void {
    this.found.clear();
    this.unknown.clear();
    this.pending.clear();
    this.generation++;
  }

  private async load(apiKey: string): Promise<ApiKeyRecord | null> {
    const generation = this.generation;
    const lookup = withTimeout(this.store.findByKey(apiKey), this.options.keyCache.lookupTimeoutMs);
    this.pending.set(apiKey, lookup);
    try {
      const record = await lookup;
      // An invalidation during the lookup may make this answer stale: serve it once, cache nothing.
      if (generation === this.generation) this.remember(apiKey, record);
      return record;
    } finally {
      if (this.pending.get(apiKey) === lookup) this.pending.delete(apiKey);
    }
  }

  private remember(apiKey: string, record: ApiKeyRecord | null): void {
    const { ttlMs, negativeTtlMs, maxEntries } = this.options.keyCache;
    const map = record ? this.found : this.unknown;
    // Drop the key from both maps: a stale entry in the other one would shadow this one in get().
    this.found.delete(apiKey);
    this.unknown.delete(apiKey);
    if (map.size >= maxEntries) {
      // Maps iterate in insertion order: the first entry is the oldest.
      map.delete(map.keys().next().value!);
    }
    map.set(apiKey, { record, expiresAt: Date.now() + (record ? ttlMs : negativeTtlMs) });
  }
}
