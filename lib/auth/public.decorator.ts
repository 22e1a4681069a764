import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../api-key-auth.constants.js';
import { checkedAccessDecorator } from './route-policy.js';

/**
 * Marks a route or controller as open: `ApiKeyGuard` lets it through
 * unauthenticated. It never opens a route that `@AllowServices()` restricts:
 * on the same handler (or a handler of a restricted controller) it is a
 * configuration error, and on a controller it leaves restricted handlers
 * authenticated.
 */
export const Public = (): MethodDecorator & ClassDecorator => checkedAccessDecorator(SetMetadata(IS_PUBLIC_KEY, true), false);
