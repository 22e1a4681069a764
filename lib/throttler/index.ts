// `nestjs-service-auth/throttler`: the only entry point that loads @nestjs/throttler (an optional peer).
export { ServiceAuthThrottlerGuard } from './service-auth-throttler.guard.js';
