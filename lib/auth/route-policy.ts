import type { Reflector } from '@nestjs/core';
import { ALLOWED_SERVICES_KEY, IS_PUBLIC_KEY, RATE_LIMIT_KEY, THROTTLER_NAME_PER_KEY } from '../api-key-auth.constants.js';
import type { ResolvedLimit } from '../api-key-auth-options.factory.js';
import { PublicRestrictedRouteError } from '../api-key-auth-configuration.errors.js';

/** A route's own `@RateLimit()`, and the name of its counters (one per key). */
export interface RouteRateLimit extends ResolvedLimit {
  /** `service-auth-key:<Controller>.<handler>`: the same on every instance, so that a shared store shares it. */
  counter: string;
}

/** What a route's decorators say about its callers. */
export interface RoutePolicy {
  /** No authentication: `@Public()`, and no `@AllowServices()` anywhere on the route. */
  isPublic: boolean;
  /** Services allowed to call it (handler's list, else the controller's); `undefined`: any authenticated service. */
  allowedServices: readonly string[] | undefined;
  /** The route's `@RateLimit()`: its own limit, `false` for none; `undefined`: the app-wide one. */
  rateLimit?: RouteRateLimit | false;
}

/**
 * The policy of a route, handler first, then controller. A restriction to
 * services always requires authentication (PROTOCOL.md step 5), so a
 * `@Public()` on the controller does not open a handler that
 * `@AllowServices()` restricts.
 */
export function readRoutePolicy(reflector: Reflector, handler: Function, controller: Function): RoutePolicy {
  const targets = [handler, controller];
  const allowedServices = reflector.getAllAndOverride<string[] | undefined>(ALLOWED_SERVICES_KEY, targets);
  const markedPublic = Boolean(reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets));
  const limit = reflector.getAllAndOverride<ResolvedLimit | false | undefined>(RATE_LIMIT_KEY, targets);
  const rateLimit = limit ? { ...limit, counter: `${THROTTLER_NAME_PER_KEY}:${controller.name}.${handler.name}` } : limit;
  return { isPublic: markedPublic && allowedServices === undefined, allowedServices, rateLimit };
}

/**
 * Route policies by controller class, then handler, read once per route:
 * decorators do not change while the app runs, and the metadata lookups
 * per request would cost more than the rest of the routing checks.
 */
export class RoutePolicies {
  private readonly policies = new WeakMap<Function, WeakMap<Function, RoutePolicy>>();

  constructor(private readonly reflector: Reflector) {}

  of(handler: Function, controller: Function): RoutePolicy {
    let byHandler = this.policies.get(controller);
    if (!byHandler) this.policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (!policy) byHandler.set(handler, (policy = readRoutePolicy(this.reflector, handler, controller)));
    return policy;
  }
}

/**
 * Refuses, when the decorators are applied (that is, while the app loads),
 * an explicit `@Public()` on a handler that `@AllowServices()` restricts
 * (on the handler or on its controller): one of the two is a mistake, and
 * guessing which could open the route.
 */
function assertNotPublicAndRestricted(target: object, method: string | symbol | undefined, handler: unknown): void {
  if (typeof handler !== 'function') return;
  const owner = typeof target === 'function' ? target : target.constructor;
  if (Reflect.getMetadata(IS_PUBLIC_KEY, handler) !== true) return;
  const restricted =
    Reflect.getMetadata(ALLOWED_SERVICES_KEY, handler) !== undefined || Reflect.getMetadata(ALLOWED_SERVICES_KEY, owner) !== undefined;
  if (restricted) throw new PublicRestrictedRouteError(`${owner.name}.${String(method)}`);
}

/** The same rule for a controller marked both `@Public()` and `@AllowServices()`. */
function assertControllerNotPublicAndRestricted(controller: Function): void {
  if (Reflect.getMetadata(IS_PUBLIC_KEY, controller) === true && Reflect.getMetadata(ALLOWED_SERVICES_KEY, controller) !== undefined) {
    throw new PublicRestrictedRouteError(controller.name);
  }
}

/** Every method of a controller class, with its name. */
export function controllerMethods(controller: Function): [string, unknown][] {
  const prototype = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => [name, Object.getOwnPropertyDescriptor(prototype, name)?.value]);
}

/**
 * `decorate` (the metadata of `@Public()` or `@AllowServices()`) for a handler
 * or a controller, then the check that no route is both public and
 * restricted; on a controller, with `checkHandlers`, each of its handlers too.
 * @throws PublicRestrictedRouteError
 */
export function checkedAccessDecorator(
  decorate: MethodDecorator & ClassDecorator,
  checkHandlers: boolean,
): MethodDecorator & ClassDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor) {
      decorate(target, key!, descriptor);
      assertNotPublicAndRestricted(target, key, descriptor.value);
      return;
    }
    decorate(target as Function);
    assertControllerNotPublicAndRestricted(target as Function);
    if (!checkHandlers) return;
    for (const [name, handler] of controllerMethods(target as Function)) assertNotPublicAndRestricted(target, name, handler);
  };
}
