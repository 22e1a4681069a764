import type { KeyRateLimit } from '../keys/api-key-record.interface.js';
import type { SignatureScheme } from '../protocol/protocol.constants.js';
import type { ServiceCallerInfo } from './service-caller.interface.js';

/**
 * The brand of a caller this module authenticated. `Symbol.for` so that the
 * ESM and the CommonJS copy of the package, if an app ends up loading both,
 * recognise each other's callers (an `instanceof` check would not); no
 * value parsed from a request (JSON, a query string, a header) can carry a
 * symbol-keyed property, so a caller-shaped object copied from input onto
 * the request is never taken for one.
 */
const AUTHENTICATED: unique symbol = Symbol.for('nestjs-service-auth.authenticated-caller');

/**
 * The key's own rate limit, on the caller: a symbol-keyed, non-enumerable
 * property, so that the caller a handler receives (and its JSON) stays
 * `{ apiKey, serviceName, scheme }`, and whichever guard runs second
 * (`ApiKeyGuard` or `ServiceAuthThrottlerGuard`) has it without a lookup.
 */
const KEY_RATE_LIMIT: unique symbol = Symbol.for('nestjs-service-auth.key-rate-limit');

/** The request property the caller is handed over in (read by `@ServiceCaller()`). */
export const SERVICE_CALLER_PROPERTY = 'serviceCaller';

class AuthenticatedCaller implements ServiceCallerInfo {
  constructor(
    readonly apiKey: string,
    readonly serviceName: string,
    readonly scheme: SignatureScheme,
    rateLimit: KeyRateLimit | null,
  ) {
    if (rateLimit) Object.defineProperty(this, KEY_RATE_LIMIT, { value: rateLimit });
  }
}
Object.defineProperty(AuthenticatedCaller.prototype, AUTHENTICATED, { value: true });

/** A request as far as the handoff is concerned. */
export interface CallerCarrier {
  [SERVICE_CALLER_PROPERTY]?: unknown;
}

/** The caller as authenticated by the module, with its key's own rate limit if it has one. */
export function authenticatedCaller(
  apiKey: string,
  serviceName: string,
  scheme: SignatureScheme,
  rateLimit: KeyRateLimit | null = null,
): ServiceCallerInfo {
  return new AuthenticatedCaller(apiKey, serviceName, scheme, rateLimit);
}

/** The own rate limit of an authenticated caller's key (`api_keys.rate_limit`); `undefined`: the default applies. */
export function keyRateLimitOf(caller: ServiceCallerInfo): KeyRateLimit | undefined {
  return (caller as { [KEY_RATE_LIMIT]?: KeyRateLimit })[KEY_RATE_LIMIT];
}

/**
 * The caller this module authenticated for `request`, or `undefined`. A
 * `serviceCaller` property that anything else set is not one.
 */
export function getServiceCaller(request: CallerCarrier): ServiceCallerInfo | undefined {
  // Own properties only: a miss is then not looked up through the framework's prototype
  // chain (slow on Express's request), and `setServiceCaller` always writes an own one.
  if (!Object.hasOwn(request, SERVICE_CALLER_PROPERTY)) return undefined;
  const caller = request[SERVICE_CALLER_PROPERTY];
  return typeof caller === 'object' && caller !== null && (caller as Record<symbol, unknown>)[AUTHENTICATED] === true
    ? (caller as ServiceCallerInfo)
    : undefined;
}

/**
 * Hands the caller over to the handler. One property, written by name: the
 * guard adds nothing else to the request (each added property makes the
 * framework's request object dearer to use). `undefined` takes it back,
 * from a request refused after its caller was set.
 */
export function setServiceCaller(request: CallerCarrier, caller: ServiceCallerInfo | undefined): void {
  request[SERVICE_CALLER_PROPERTY] = caller;
}
