import { SetMetadata } from '@nestjs/common';
import { RATE_LIMIT_KEY } from '../api-key-auth.constants.js';
import { InvalidOptionError } from '../api-key-auth-configuration.errors.js';
import type { RateLimitOptions } from '../api-key-auth-options.interface.js';

/**
 * The module's built-in rate limit (`rateLimit`) for one route or every
 * route of a controller (the handler's value wins):
 *
 * - `@RateLimit({ limit: 10, ttlMs: 60_000 })`: each key may call the route
 *   `limit` times per `ttlMs`, counted apart from its other routes and in
 *   place of the app-wide limit and the key's own;
 * - `@RateLimit(false)`: the route is not rate limited.
 *
 * Does nothing while the module's `rateLimit` is `false`. Apps limiting
 * with `@nestjs/throttler` use `@Throttle()` and `@SkipThrottle()` instead
 * (see `nestjs-service-auth/throttler`).
 * @throws InvalidOptionError when the app loads, for a limit that is not positive integers.
 */
export const RateLimit = (limit: RateLimitOptions | false): MethodDecorator & ClassDecorator => {
  if (limit !== false) {
    for (const field of ['limit', 'ttlMs', 'blockDurationMs'] as const) {
      const value = limit?.[field];
      if (value === undefined && field === 'blockDurationMs') continue;
      if (!Number.isSafeInteger(value) || value! <= 0) {
        throw new InvalidOptionError(`@RateLimit().${field}`, `must be a positive integer, got ${String(value)}.`);
      }
    }
  }
  const value = limit === false ? false : { limit: limit.limit, ttlMs: limit.ttlMs, blockDurationMs: limit.blockDurationMs ?? limit.ttlMs };
  return SetMetadata(RATE_LIMIT_KEY, value);
};
