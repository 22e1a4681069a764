/** The name of the module's meter (its instrumentation scope). */
export const SERVICE_AUTH_METER_NAME = 'nestjs-service-auth';

/** The module's instruments (README, "Observability", lists each with its unit and attributes). */
export const SERVICE_AUTH_METRICS = {
  /** Counter (asynchronous: see AttemptCounts), `{attempt}`: authentication decisions, by result, code, scheme and (authenticated) service. */
  attempts: 'service_auth.authentication.attempts',
  /** Histogram, `s`: from the start of verification to the decision, by result, code and scheme. */
  duration: 'service_auth.authentication.duration',
  /** Gauge, `{nonce}`: unexpired nonces held by the in-memory nonce store. */
  nonceStoreUsage: 'service_auth.nonce_store.usage',
  /** Gauge, `{nonce}`: the in-memory nonce store's capacity (`nonces.maxEntries`). */
  nonceStoreLimit: 'service_auth.nonce_store.limit',
  /** Gauge, `{key}`: keys in the key cache, by state (`found`, `unknown`). */
  keyCacheUsage: 'service_auth.key_cache.usage',
  /** Gauge, `{key}`: the key cache's bound per state (`keyCache.maxEntries`). */
  keyCacheLimit: 'service_auth.key_cache.limit',
} as const;

/** The attributes of the module's instruments. */
export const SERVICE_AUTH_ATTRIBUTES = {
  /** `accepted` or `rejected`. */
  result: 'service_auth.result',
  /** The refusal's code (PROTOCOL.md); absent when accepted. */
  code: 'service_auth.code',
  /** `v1`, `v0` or `rfc9421`; absent when the request names no known scheme. */
  scheme: 'service_auth.scheme',
  /** The calling service's name; only once its signature and key were verified. */
  service: 'service_auth.service',
  /** Of the key cache gauges: `found` or `unknown`. */
  keyCacheState: 'service_auth.key_cache.state',
} as const;
