/** Options of `ServiceAuthHealthIndicator.checkKeyStore()`. */
export interface KeyStoreCheckOptions {
  /** How long the query may take before the store counts as down, in ms. Default: `keyCache.lookupTimeoutMs` (1 000). */
  timeoutMs?: number;
}

/** Options of `ServiceAuthHealthIndicator.checkNonceStore()`. */
export interface NonceStoreCheckOptions {
  /** How long the store's check (Redis: a round trip to every node) may take, in ms. Default 1 000. */
  timeoutMs?: number;
  /**
   * Share of an in-memory store's capacity above which it reports `degraded`
   * (still serving; when full, signed requests are refused with 503). From 0
   * to 1. Default 0.8.
   */
  degradedAbove?: number;
}
