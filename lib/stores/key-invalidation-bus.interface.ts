/**
 * Carries key invalidations (revocations, rotations) between instances, so
 * that every instance drops its cached copy of a key at once.
 */
export interface KeyInvalidationBus {
  /** Tells every instance (this one included) to drop `apiKey` from its cache. */
  publish(apiKey: string): Promise<void>;
  /**
   * Calls `onInvalidate(apiKey)` for every published key, and
   * `onInvalidate(null)` when messages may have been missed (after the
   * subscription was interrupted): the whole cache must then be dropped.
   * @returns a function that ends the subscription and frees its resources.
   */
  subscribe(onInvalidate: (apiKey: string | null) => void): Promise<() => Promise<void>>;
}
