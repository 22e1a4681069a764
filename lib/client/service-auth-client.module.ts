import { Module } from '@nestjs/common';
import { SIGNING_CREDENTIALS } from '../api-key-auth.constants.js';
import { SigningService } from './signing.service.js';
import { resolveServiceAuthClientOptions } from './service-auth-client-options.factory.js';
import type { ServiceAuthClientModuleOptions } from './service-auth-client-options.interface.js';
import { ConfigurableServiceAuthClientModule, SERVICE_AUTH_CLIENT_OPTIONS } from './service-auth-client.module-definition.js';

/**
 * Signs this service's outgoing calls, and nothing else: no database, no
 * TypeORM, no guard, no verification secret. Provides `SigningService`.
 *
 * ```ts
 * ServiceAuthClientModule.forRoot({
 *   peers: {
 *     billing: { baseUrl: 'http://billing:3000', apiKey: process.env.BILLING_API_KEY!, secret: process.env.BILLING_SECRET! },
 *   },
 * })
 * ```
 *
 * Import it from `nestjs-service-auth/client` in an app that does not verify
 * calls itself: that entry point loads neither TypeORM nor the throttler.
 */
@Module({
  providers: [
    {
      provide: SIGNING_CREDENTIALS,
      inject: [SERVICE_AUTH_CLIENT_OPTIONS],
      useFactory: (options: ServiceAuthClientModuleOptions) => resolveServiceAuthClientOptions(options),
    },
    SigningService,
  ],
  exports: [SigningService],
})
export class ServiceAuthClientModule extends ConfigurableServiceAuthClientModule {}
