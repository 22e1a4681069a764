import { SetMetadata } from '@nestjs/common';
import { ALLOWED_SERVICES_KEY } from '../api-key-auth.constants.js';

/**
 * Restricts a route or controller to the named services. Any other
 * authenticated caller gets `403 service_not_allowed`. A route-level list
 * replaces the controller-level one.
 */
export const AllowServices = (...serviceNames: string[]): MethodDecorator & ClassDecorator => {
  if (serviceNames.length === 0) {
    throw new TypeError('@AllowServices() needs at least one service name.');
  }
  return SetMetadata(ALLOWED_SERVICES_KEY, serviceNames);
};
