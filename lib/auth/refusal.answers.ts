import type { Logger } from '@nestjs/common';
import { describeError } from '../observability/describe-error.js';
import { ServiceAuthException } from './service-auth.exception.js';
import type { ServiceAuthObserver } from '../observability/service-auth.observer.js';
import { HEADER_SERVER_TIME } from '../protocol/index.js';
import type { FailedAttemptLimiter } from './failed-attempt.limiter.js';
import { nowSeconds } from './freshness.check.js';
import { clientAddress, type IncomingRequest } from './request.reader.js';
import { andThen } from './store-call.js';
import type { VerifiedRequest } from './verified-request.js';

/**
 * How a refusal is answered and observed: failures of steps 1 to 4 are
 * counted per client address (`429 too_many_failed_attempts` over the
 * limit), every 401 carries `X-API-Server-Time`, and anything that is not a
 * `ServiceAuthException` is logged and answered as an unavailable store.
 */
export class RefusalAnswers {
  constructor(
    private readonly logger: Logger,
    private readonly failedAttempts: FailedAttemptLimiter,
    private readonly observer: ServiceAuthObserver,
  ) {}

  /** A failure of steps 1 to 4, answered (as `countFailure` decides) and observed. */
  failed(error: unknown, request: IncomingRequest, started: number): never | Promise<never> {
    try {
      return this.countFailure(error, request).catch((answer: unknown) => this.observer.rejected(answer, request, started));
    } catch (answer) {
      return this.observer.rejected(answer, request, started);
    }
  }

  /** A refusal as answered: every 401 carries `X-API-Server-Time`. A refusal of `admit()` is observed here. */
  refused(error: unknown, verified?: VerifiedRequest): never {
    const refusal = this.asRefusal(error);
    if (refusal.getStatus() === 401 && refusal.headers[HEADER_SERVER_TIME] === undefined) {
      refusal.headers[HEADER_SERVER_TIME] = String(nowSeconds());
    }
    if (verified) this.observer.rejectedAfterVerification(refusal, verified);
    throw refusal;
  }

  /** A failure of steps 1 to 4: counted against the client address, then answered. */
  private countFailure(error: unknown, request: IncomingRequest): Promise<never> {
    const refusal = this.asRefusal(error);
    if (refusal.getStatus() !== 401) throw refusal;
    if (refusal.code === 'unverifiable_body') {
      this.logger.warn(
        'Rejected a signed request whose raw body is not available. Create the app with ' +
          '`NestFactory.create(AppModule, { rawBody: true })` (and, for content types other than JSON ' +
          'and urlencoded, register a body parser that keeps the raw bytes).',
      );
    }
    const blocked = this.failedAttempts.recordFailure(clientAddress(request));
    return andThen(blocked, (retryAfter): never => {
      if (retryAfter === undefined) return this.refused(refusal);
      throw new ServiceAuthException('too_many_failed_attempts', undefined, { 'Retry-After': String(retryAfter) });
    });
  }

  private asRefusal(error: unknown): ServiceAuthException {
    if (error instanceof ServiceAuthException) return error;
    this.logger.error(`Unexpected error while authenticating: ${describeError(error)}`);
    return new ServiceAuthException('key_store_unavailable', 'Authentication is temporarily unavailable.');
  }
}
