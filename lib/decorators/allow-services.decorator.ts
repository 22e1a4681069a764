import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ALLOWED_SERVICES_KEY } from '../api-key-auth.constants.js';
import { ApiKeyGuard } from '../guards/api-key.guard.js';

/**
 * Restricts a route or controller to the named services. Any other
 * authenticated caller gets `403 service_not_allowed`. A route-level list
 * replaces the controller-level one. It applies `ApiKeyGuard` itself, so the
 * restriction holds even where the guard is not registered globally (the
 * guard authenticates each request once, however often it is applied).
 */
export const AllowServices = (...serviceNames: string[]): MethodDecorator & ClassDecorator => {
  if (serviceNames.length === 0) {
    throw new TypeError('@AllowServices() needs at least one service name.');
  }
  return applyDecorators(SetMetadata(ALLOWED_SERVICES_KEY, serviceNames), UseGuards(ApiKeyGuard));
};
