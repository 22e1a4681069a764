import type { Reflector } from '@nestjs/core';
import { ALLOWED_SERVICES_KEY, IS_PUBLIC_KEY } from '../api-key-auth.constants.js';
import { PublicRestrictedRouteError } from '../errors/configuration.error.js';

/** What a route's decorators say about its callers. */
export interface RoutePolicy {
  /** No authentication: `@Public()`, and no `@AllowServices()` anywhere on the route. */
  isPublic: boolean;
  /** Services allowed to call it (handler's list, else the controller's); `undefined`: any authenticated service. */
  allowedServices: readonly string[] | undefined;
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
  return { isPublic: markedPublic && allowedServices === undefined, allowedServices };
}

/**
 * Refuses, when the decorators are applied (that is, while the app loads),
 * an explicit `@Public()` on a handler that `@AllowServices()` restricts
 * (on the handler or on its controller): one of the two is a mistake, and
 * guessing which could open the route.
 */
export function assertNotPublicAndRestricted(target: object, method: string | symbol | undefined, handler: unknown): void {
  if (typeof handler !== 'function') return;
  const owner = typeof target === 'function' ? target : target.constructor;
  if (Reflect.getMetadata(IS_PUBLIC_KEY, handler) !== true) return;
  const restricted =
    Reflect.getMetadata(ALLOWED_SERVICES_KEY, handler) !== undefined ||
    Reflect.getMetadata(ALLOWED_SERVICES_KEY, owner) !== undefined;
  if (restricted) throw new PublicRestrictedRouteError(`${owner.name}.${String(method)}`);
}

/** The same rule for a controller marked both `@Public()` and `@AllowServices()`. */
export function assertControllerNotPublicAndRestricted(controller: Function): void {
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
