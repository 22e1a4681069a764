import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ServiceAuthException } from './service-auth.exception.js';
import type { IncomingRequest } from './request.reader.js';
import { RoutePolicies } from './route-policy.js';
import { ServiceAuthenticator } from './service-authenticator.js';
import { getServiceCaller, setServiceCaller } from './service-caller.handoff.js';
import type { ServiceCallerInfo } from './service-caller.interface.js';
import { isPromiseLike } from './store-call.js';

/**
 * The Nest side of authentication: reads the route's `@Public()` and
 * `@AllowServices()`, asks the app's `ServiceAuthenticator`, sets the
 * headers of a refusal, and hands the caller to `@ServiceCaller()`.
 *
 * Nest may make several instances of a guard (one per module that applies
 * it); all state that must hold app-wide lives in the authenticator.
 *
 * It has no extension hooks: every check is private, so a subclass cannot
 * skip one by accident. Choose routes with `@Public()`, `@AllowServices()`
 * and `@RateLimit()`; a guard of your own can call the authenticator's
 * `verify()` and `admit()` (as `ServiceAuthThrottlerGuard` does).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly policies: RoutePolicies;

  constructor(
    private readonly authenticator: ServiceAuthenticator,
    reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.policies = new RoutePolicies(reflector);
  }

  /** `true` (at once when every store is in memory, else as a promise), or a `ServiceAuthException`. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const policy = this.policies.of(context.getHandler(), context.getClass());
    if (policy.isPublic) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<IncomingRequest>();
    const response = http.getResponse<unknown>();

    try {
      // The guard may run twice on one request (APP_GUARD and `@UseGuards`):
      // a second authentication would find its own nonce recorded.
      const earlier = getServiceCaller(request);
      if (earlier) {
        this.authenticator.checkAllowedServices(earlier, policy);
        return true;
      }
      const caller = this.authenticator.authenticate(request, policy);
      if (isPromiseLike(caller)) {
        return Promise.resolve(caller).then(
          (found) => this.handOver(request, found),
          (error: unknown) => this.refuse(error, response),
        );
      }
      return this.handOver(request, caller);
    } catch (error) {
      return this.refuse(error, response);
    }
  }

  private handOver(request: IncomingRequest, caller: ServiceCallerInfo): true {
    setServiceCaller(request, caller);
    return true;
  }

  private refuse(error: unknown, response: unknown): never {
    if (error instanceof ServiceAuthException) {
      for (const [name, value] of Object.entries(error.headers)) this.adapterHost.httpAdapter.setHeader(response, name, value);
    }
    throw error;
  }
}
