import type { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { describeError } from '../observability/describe-error.js';
import { ServiceAuthException } from './service-auth.exception.js';
import type { ThrottlerRecord } from '../stores/nonce-and-rate-limit-store.interface.js';
import { MemoryThrottlerStorage } from '../stores/memory-throttler.storage.js';

/**
 * A value now or later. In-memory stores answer at once, and the module
 * then answers without a promise: the usual request (a cached key,
 * in-memory stores) costs no trip through the microtask queue.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** `next(value)`, at once when `value` is already there, else once it is. */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromiseLike(value) ? Promise.resolve(value).then(next) : next(value);
}

/** A store's failure answered as a 503 with `code`. */
export type StoreFailure = (error: unknown) => never;

/**
 * Calls a store that answers at once or with a promise; a throw or a
 * rejection goes to `failed`. Errors of what runs after the answer are not
 * the store's, and are not caught here.
 */
export function callStore<T>(call: () => MaybePromise<T>, failed: StoreFailure): MaybePromise<T> {
  let answer: MaybePromise<T>;
  try {
    answer = call();
  } catch (error) {
    return failed(error);
  }
  return isPromiseLike(answer) ? Promise.resolve(answer).catch(failed) : answer;
}

/** Logs a store's failure (its error only, never the request) and answers 503 with `code`. */
export function storeFailure(
  logger: Logger,
  code: 'key_store_unavailable' | 'nonce_store_unavailable' | 'rate_limit_store_unavailable',
  what: string,
): StoreFailure {
  return (error) => {
    logger.error(`${what}: ${describeError(error)}`);
    throw new ServiceAuthException(code);
  };
}

/** Counts a hit in a `ThrottlerStorage`; at once with the in-memory storage. */
export function incrementCounter(
  storage: ThrottlerStorage,
  key: string,
  limit: { limit: number; ttlMs: number; blockDurationMs: number },
  throttlerName: string,
  failed: StoreFailure,
): MaybePromise<ThrottlerRecord> {
  return callStore(
    () =>
      storage instanceof MemoryThrottlerStorage
        ? storage.incrementNow(key, limit.ttlMs, limit.limit, limit.blockDurationMs, throttlerName)
        : storage.increment(key, limit.ttlMs, limit.limit, limit.blockDurationMs, throttlerName),
    failed,
  );
}
