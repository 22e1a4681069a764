import { Module } from '@nestjs/common';
import { getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import {
  API_KEY_AUTH_RESOLVED_OPTIONS,
  API_KEY_STORE,
  API_KEY_THROTTLER_STORAGE,
  NONCE_STORE,
  SIGNING_CREDENTIALS,
} from './api-key-auth.constants.js';
import { API_KEY_AUTH_OPTIONS, ConfigurableApiKeyAuthModule } from './api-key-auth.module-definition.js';
import { resolveApiKeyAuthOptions, ResolvedApiKeyAuthOptions } from './api-key-auth-options.factory.js';
import { databaseSupportCheck } from './keys/database-support.check.js';
import { ApiKey } from './keys/api-key.entity.js';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { EncodedBodyGate } from './auth/encoded-body.gate.js';
import { ServiceAuthenticator } from './auth/service-authenticator.js';
import type { ApiKeyAuthModuleOptions } from './api-key-auth-options.interface.js';
import { ServiceAuthObserver } from './observability/service-auth.observer.js';
import { ApiKeyService } from './keys/api-key.service.js';
import { KeyUsageRecorder } from './keys/key-usage.recorder.js';
import { SigningService } from './client/signing.service.js';
import { ApiKeyCache } from './stores/api-key.cache.js';
import { MemoryNonceStore } from './stores/memory-nonce.store.js';
import { MemoryThrottlerStorage } from './stores/memory-throttler.storage.js';
import { TypeOrmApiKeyStore } from './stores/typeorm-api-key.store.js';

/** The module's services, provided here and exported to the app (the throttler, health and Swagger integrations use them). */
const SERVICES = [ApiKeyCache, ApiKeyGuard, ApiKeyService, KeyUsageRecorder, ServiceAuthenticator, ServiceAuthObserver, SigningService];

/**
 * Authenticates incoming service calls (API key + HMAC-SHA256 signature) and
 * signs outgoing ones. Import once in the root module:
 *
 * ```ts
 * ApiKeyAuthModule.forRoot({ schemes: ['v1'] })
 * ```
 *
 * The host app must register the `ApiKey` entity with its TypeORM data source
 * (`autoLoadEntities: true`, or list it in `entities`) and run `apiKeyAuthMigrations`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  providers: [
    databaseSupportCheck,
    {
      provide: API_KEY_AUTH_RESOLVED_OPTIONS,
      inject: [API_KEY_AUTH_OPTIONS],
      useFactory: (options: ApiKeyAuthModuleOptions) => resolveApiKeyAuthOptions(options),
    },
    {
      provide: API_KEY_STORE,
      inject: [API_KEY_AUTH_RESOLVED_OPTIONS, getRepositoryToken(ApiKey)],
      useFactory: (options: ResolvedApiKeyAuthOptions, repository: Repository<ApiKey>) =>
        options.keyStore ?? new TypeOrmApiKeyStore(repository),
    },
    {
      provide: NONCE_STORE,
      inject: [API_KEY_AUTH_RESOLVED_OPTIONS],
      useFactory: (options: ResolvedApiKeyAuthOptions) => options.nonces.store ?? new MemoryNonceStore(options.nonces.maxEntries),
    },
    {
      provide: API_KEY_THROTTLER_STORAGE,
      inject: [API_KEY_AUTH_RESOLVED_OPTIONS],
      useFactory: (options: ResolvedApiKeyAuthOptions) => options.throttlerStorage ?? new MemoryThrottlerStorage(),
    },
    {
      provide: SIGNING_CREDENTIALS,
      inject: [API_KEY_AUTH_RESOLVED_OPTIONS],
      useFactory: (options: ResolvedApiKeyAuthOptions) => options.signing,
    },
    ...SERVICES,
    EncodedBodyGate,
  ],
  exports: [API_KEY_AUTH_RESOLVED_OPTIONS, NONCE_STORE, API_KEY_THROTTLER_STORAGE, ...SERVICES],
})
export class ApiKeyAuthModule extends ConfigurableApiKeyAuthModule {}
