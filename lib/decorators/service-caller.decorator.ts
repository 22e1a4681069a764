import { createParamDecorator, ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import { SERVICE_CALLER_PROPERTY } from '../api-key-auth.constants.js';
import type { ServiceCallerInfo } from '../interfaces/service-caller.interface.js';

/**
 * Injects the authenticated caller `{ apiKey, serviceName, scheme }`.
 * Throws when used on a route the guard did not authenticate (a `@Public()`
 * route, or one without `ApiKeyGuard`), rather than handing out `undefined`.
 */
export const ServiceCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ServiceCallerInfo => {
    const request = context.switchToHttp().getRequest();
    const caller = request[SERVICE_CALLER_PROPERTY] as ServiceCallerInfo | undefined;
    if (!caller) {
      throw new InternalServerErrorException(
        '@ServiceCaller() used on a route that ApiKeyGuard did not authenticate.',
      );
    }
    return caller;
  },
);
