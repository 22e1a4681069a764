import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { IncomingRequest } from '../auth/request.reader.js';
import { RoutePolicies, type RoutePolicy } from '../auth/route-policy.js';
import { ServiceAuthenticator } from '../auth/service-authenticator.js';
import { getServiceCaller, keyRateLimitOf, setServiceCaller } from '../auth/service-caller.handoff.js';
import { ServiceAuthException } from '../auth/service-auth.exception.js';
import type { KeyRateLimit } from '../keys/api-key-record.interface.js';

/** The metadata `@Throttle()` writes per throttler name (@nestjs/throttler does not export these keys). */
const THROTTLE_METADATA = ['THROTTLER:LIMIT', 'THROTTLER:TTL'];

/**
 * `@nestjs/throttler`'s `ThrottlerGuard`, counting per API key.
 *
 * On every route that is not `@Public()` it authenticates the request as
 * `ApiKeyGuard` does, whichever of the two runs first:
 *
 * - after `ApiKeyGuard`, it counts the caller `ApiKeyGuard` handed over;
 * - before it, it verifies the request (PROTOCOL.md steps 1 to 4) and checks
 *   the route's allowed services (step 5), then counts in every throttler,
 *   then admits the request (steps 6 and 7: the module's own `rateLimit`,
 *   when on, and the nonce), and hands the caller over, so `ApiKeyGuard`
 *   lets it through without verifying it again or recording its nonce
 *   twice. A request refused by a throttler records no nonce.
 *
 * A request that fails authentication gets the module's answer (`401`,
 * `403`, ...) and costs no throttler quota. On `@Public()` routes it counts
 * per client address, as `ThrottlerGuard` does. A throttler's refusal is
 * `429 rate_limited` with `Retry-After`, the module's own answer; the
 * ThrottlerModule's `errorMessage`, when set, gives its message.
 *
 * A key's own rate limit (`api_keys.rate_limit`) replaces the limit and ttl
 * of the `default` throttler (`keyRateLimitThrottler`) for that key, on
 * routes whose `@Throttle()` does not set that throttler.
 */
@Injectable()
export class ServiceAuthThrottlerGuard extends ThrottlerGuard {
  /**
   * The throttler whose limit a key's own rate limit replaces. Default
   * `'default'`: ThrottlerModule's throttler without a `name`. Override it
   * in a subclass for an app whose throttlers are all named.
   */
  protected keyRateLimitThrottler = 'default';
  private readonly policies: RoutePolicies;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storageService: ThrottlerStorage,
    reflector: Reflector,
    private readonly authenticator: ServiceAuthenticator,
  ) {
    super(options, storageService, reflector);
    this.policies = new RoutePolicies(reflector);
  }

  /** ThrottlerGuard's setup; warns when no throttler takes the keys' own rate limits. */
  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    if (this.throttlers.length > 0 && !this.throttlers.some((throttler) => throttler.name === this.keyRateLimitThrottler)) {
      this.logger.warn(
        `No throttler is named "${this.keyRateLimitThrottler}", so the keys' own rate limits (api_keys.rate_limit) ` +
          'are not applied by ServiceAuthThrottlerGuard. Add a throttler without a name, or set keyRateLimitThrottler in a subclass.',
      );
    }
  }

  /** Authenticates (unless `@Public()` or done already), then throttles: `true`, or a `ServiceAuthException`. */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return super.canActivate(context);
    const { req, res } = this.getRequestResponse(context);
    try {
      const policy = this.policies.of(context.getHandler(), context.getClass());
      if (policy.isPublic || getServiceCaller(req)) return await super.canActivate(context);
      return await this.authenticateAndThrottle(context, req as IncomingRequest, policy);
    } catch (error) {
      if (error instanceof ServiceAuthException) {
        for (const [name, value] of Object.entries(error.headers)) this.setResponseHeader(res, name, value);
      }
      throw error;
    }
  }

  /** The caller's API key once authenticated; the client address (ThrottlerGuard's tracker) on `@Public()` routes. */
  protected override async getTracker(req: Record<string, any>): Promise<string> {
    return getServiceCaller(req)?.apiKey ?? super.getTracker(req);
  }

  /** ThrottlerGuard's counting, with the key's own limit in place of the `keyRateLimitThrottler` throttler's. */
  protected override handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const own = this.keyRateLimitFor(request);
    return super.handleRequest(own ? { ...request, limit: own.limit, ttl: own.ttlMs, blockDuration: own.ttlMs } : request);
  }

  /** `429 rate_limited` with `Retry-After`, as the module's own limit answers. */
  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const configured = !Array.isArray(this.options) && this.options.errorMessage !== undefined;
    const byKey = getServiceCaller(this.getRequestResponse(context).req) !== undefined;
    const message = configured
      ? await this.getErrorMessage(context, detail)
      : byKey
        ? undefined
        : 'Rate limit exceeded for this client address.';
    throw new ServiceAuthException('rate_limited', message, { 'Retry-After': String(Math.max(1, detail.timeToBlockExpire)) });
  }

  private async authenticateAndThrottle(context: ExecutionContext, request: IncomingRequest, policy: RoutePolicy): Promise<boolean> {
    const verified = await this.authenticator.verify(request);
    this.authenticator.checkAllowedServices(verified.caller, policy);
    // Set before counting, so that the throttlers (and an app's own getTracker) see the caller.
    setServiceCaller(request, verified.caller);
    try {
      if (!(await super.canActivate(context))) {
        setServiceCaller(request, undefined);
        return false;
      }
      await this.authenticator.admit(verified, policy);
      return true;
    } catch (error) {
      setServiceCaller(request, undefined);
      throw error;
    }
  }

  private keyRateLimitFor({ context, throttler }: ThrottlerRequest): KeyRateLimit | undefined {
    if (throttler.name !== this.keyRateLimitThrottler) return undefined;
    const caller = getServiceCaller(this.getRequestResponse(context).req);
    const own = caller && keyRateLimitOf(caller);
    if (!own) return undefined;
    const targets = [context.getHandler(), context.getClass()];
    const routeSetsIt = THROTTLE_METADATA.some((key) => this.reflector.getAllAndOverride(key + throttler.name, targets) !== undefined);
    return routeSetsIt ? undefined : own;
  }
}
