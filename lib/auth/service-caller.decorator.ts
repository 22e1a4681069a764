import { createParamDecorator, ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import { getServiceCaller } from './service-caller.handoff.js';
import type { ServiceCallerInfo } from './service-caller.interface.js';

/**
 * Injects the authenticated caller `{ apiKey, serviceName, scheme }`.
 * Throws when used on a route the module did not authenticate (a `@Public()`
 * route, or one without `ApiKeyGuard`), rather than handing out `undefined`
 * or a caller-shaped object that other code put on the request.
 */
export const ServiceCaller = createParamDecorator((_data: unknown, context: ExecutionContext): ServiceCallerInfo => {
  const caller = getServiceCaller(context.switchToHttp().getRequest());
  if (!caller) {
    throw new InternalServerErrorException('@ServiceCaller() used on a route that ApiKeyGuard did not authenticate.');
  }
  return caller;
});
