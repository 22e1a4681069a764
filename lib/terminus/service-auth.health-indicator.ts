import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { API_KEY_AUTH_RESOLVED_OPTIONS, API_KEY_STORE, API_KEY_THROTTLER_STORAGE, NONCE_STORE } from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { describeError } from '../observability/describe-error.js';
import type { ApiKeyStore } from '../stores/api-key-store.interface.js';
import type { NonceStore } from '../stores/nonce-store.interface.js';
import type { KeyStoreCheckOptions, NonceStoreCheckOptions } from './health-check.options.js';
import { publicReason, timedProbe } from './store-probe.js';

/** No issued key looks like this (they are `[A-Za-z0-9]` only), so the lookup finds nothing, by the table's index. */
const PROBE_KEY = '~service-auth-health-probe~';
const DEFAULT_NONCE_TIMEOUT_MS = 1_000;
const DEFAULT_DEGRADED_ABOVE = 0.8;

/** A store that says how full it is (the in-memory nonce store). */
interface Bounded {
  size: number;
  maxEntries: number;
}

/** A store behind a connection that says whether it is up (`RedisAuthStateStore`). */
interface Connected {
  connectionStatus: string;
  checkUsable(): Promise<void>;
  /** Reads the server again even on a connection already checked. */
  probeUsable?(): Promise<void>;
}

const isBounded = (store: object): store is Bounded =>
  typeof (store as Partial<Bounded>).size === 'number' && typeof (store as Partial<Bounded>).maxEntries === 'number';
const isConnected = (store: object): store is Connected =>
  typeof (store as Partial<Connected>).connectionStatus === 'string' && typeof (store as Partial<Connected>).checkUsable === 'function';

/**
 * `@nestjs/terminus` health indicators of the module's stores, for a
 * `HealthCheckService.check([...])`:
 *
 * ```ts
 * @Get('health') @HealthCheck() @Public()
 * check() {
 *   return this.health.check([
 *     () => this.serviceAuth.checkKeyStore(),
 *     () => this.serviceAuth.checkNonceStore(),
 *   ]);
 * }
 * ```
 *
 * Each answers `up`, `degraded` (still serving) or `down`, with a `reason`
 * unless up. It finds the module's stores in the app, wherever
 * `ApiKeyAuthModule` is imported.
 */
@Injectable()
export class ServiceAuthHealthIndicator {
  private readonly logger = new Logger('ServiceAuthHealthIndicator');

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * The key store: one lookup of a key that does not exist (the query
   * authentication makes on a cache miss), within `timeoutMs`. Down when it
   * fails or takes longer: requests with uncached keys then answer 503.
   */
  async checkKeyStore<const Key extends string = 'service_auth_key_store'>(
    key: Key = 'service_auth_key_store' as Key,
    options: KeyStoreCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.health.check(key);
    const timeoutMs = options.timeoutMs ?? this.get<ResolvedApiKeyAuthOptions>(API_KEY_AUTH_RESOLVED_OPTIONS).keyCache.lookupTimeoutMs;
    const store = this.get<ApiKeyStore>(API_KEY_STORE);
    const probe = await timedProbe(() => store.findByKey(PROBE_KEY), timeoutMs);
    if (probe.error === undefined) return indicator.up({ responseTimeMs: probe.ms });
    this.logger.warn(`The API key store is down: ${describeError(probe.error)}`);
    return indicator.down({ reason: publicReason('The API key store', probe.error), responseTimeMs: probe.ms });
  }

  /**
   * The nonce store (and the rate-limit storage, when it is another store
   * with a check of its own): for Redis, whether it is connected, and
   * whether every node still refuses to evict keys (`maxmemory-policy
   * noeviction`), within `timeoutMs`; for the in-memory store, the capacity
   * left, `degraded` above `degradedAbove`, `down` when full.
   */
  async checkNonceStore<const Key extends string = 'service_auth_nonce_store'>(
    key: Key = 'service_auth_nonce_store' as Key,
    options: NonceStoreCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.health.check(key);
    const timeoutMs = options.timeoutMs ?? DEFAULT_NONCE_TIMEOUT_MS;
    const degradedAbove = options.degradedAbove ?? DEFAULT_DEGRADED_ABOVE;
    const nonces = this.get<NonceStore>(NONCE_STORE);
    const limits = this.get<object>(API_KEY_THROTTLER_STORAGE);
    const stores = limits !== (nonces as object) && isConnected(limits) ? [nonces, limits] : [nonces];

    for (const store of stores) {
      if (!isConnected(store)) continue;
      if (store.connectionStatus !== 'ready') {
        return indicator.down({
          store: 'redis',
          reason: `Redis is not connected (${store.connectionStatus}): signed requests are refused (503).`,
        });
      }
      const probe = await timedProbe(() => (store.probeUsable ? store.probeUsable() : store.checkUsable()), timeoutMs);
      if (probe.error !== undefined) {
        this.logger.warn(`The nonce store is down: ${describeError(probe.error)}`);
        return indicator.down({ store: 'redis', reason: publicReason('Redis', probe.error), responseTimeMs: probe.ms });
      }
    }
    if (isBounded(nonces)) {
      const used = nonces.size / nonces.maxEntries;
      const data = { store: 'memory', size: nonces.size, capacity: nonces.maxEntries, free: Math.max(0, nonces.maxEntries - nonces.size) };
      const percent = `${Math.round(used * 100)}% full`;
      if (nonces.size >= nonces.maxEntries)
        return indicator.down({ ...data, reason: `The nonce store is full: signed requests are refused (503) until nonces expire.` });
      if (used > degradedAbove)
        return indicator.degraded({ ...data, reason: `The nonce store is ${percent}; when full, signed requests are refused (503).` });
      return indicator.up(data);
    }
    return indicator.up({ store: isConnected(nonces) ? 'redis' : 'custom' });
  }

  private get<T>(token: symbol): T {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      throw new Error('ServiceAuthHealthIndicator: ApiKeyAuthModule is not imported in this app.');
    }
  }
}
