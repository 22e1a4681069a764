import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../api-key-auth.constants.js';
import { assertControllerNotPublicAndRestricted, assertNotPublicAndRestricted } from './route-policy.js';

/**
 * Marks a route or controller as open: `ApiKeyGuard` lets it through
 * unauthenticated. It never opens a route that `@AllowServices()` restricts:
 * on the same handler (or a handler of a restricted controller) it is a
 * configuration error, and on a controller it leaves restricted handlers
 * authenticated.
 */
export const Public = (): MethodDecorator & ClassDecorator => {
  const mark = SetMetadata(IS_PUBLIC_KEY, true);
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor) {
      mark(target, key!, descriptor);
      assertNotPublicAndRestricted(target, key, descriptor.value);
      return;
    }
    mark(target as Function);
    assertControllerNotPublicAndRestricted(target as Function);
  };
};
