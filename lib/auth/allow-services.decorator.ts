import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ALLOWED_SERVICES_KEY } from '../api-key-auth.constants.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { assertControllerNotPublicAndRestricted, assertNotPublicAndRestricted, controllerMethods } from './route-policy.js';

/**
 * Restricts a route or controller to the named services. Any other
 * authenticated caller gets `403 service_not_allowed`. A route-level list
 * replaces the controller-level one. The restriction always requires
 * authentication: a `@Public()` on the controller does not lift it, and a
 * `@Public()` on a restricted handler stops the app at startup. It applies
 * `ApiKeyGuard` itself, so the restriction holds even where the guard is not
 * registered globally (each request is authenticated once, however often
 * the guard is applied).
 */
export const AllowServices = (...serviceNames: string[]): MethodDecorator & ClassDecorator => {
  if (serviceNames.length === 0) {
    throw new TypeError('@AllowServices() needs at least one service name.');
  }
  const restrict = applyDecorators(SetMetadata(ALLOWED_SERVICES_KEY, serviceNames), UseGuards(ApiKeyGuard));
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor) {
      restrict(target, key, descriptor);
      assertNotPublicAndRestricted(target, key, descriptor.value);
      return;
    }
    restrict(target as Function);
    assertControllerNotPublicAndRestricted(target as Function);
    for (const [name, handler] of controllerMethods(target as Function)) assertNotPublicAndRestricted(target, name, handler);
  };
};
