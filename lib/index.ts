export { ApiKeyAuthModule } from './api-key-auth.module.js';
export {
  API_KEY_AUTH_OPTIONS,
  API_KEY_AUTH_OPTIONS_TYPE,
  API_KEY_AUTH_ASYNC_OPTIONS_TYPE,
} from './api-key-auth.module-definition.js';
export {
  API_KEY_AUTH_RESOLVED_OPTIONS,
  API_KEY_STORE,
  API_KEY_THROTTLER_STORAGE,
  NONCE_STORE,
  SERVICE_NAME_PATTERN,
} from './api-key-auth.constants.js';
export { resolveApiKeyAuthOptions, type ResolvedApiKeyAuthOptions } from './api-key-auth-options.factory.js';
export { readSecretsFromEnv } from './config/environment.reader.js';
export type {
  ApiKeyAuthModuleExtras,
  ApiKeyAuthModuleOptions,
  FailedAttemptLimitOptions,
  KeyCacheOptions,
  NonceOptions,
  RateLimitOptions,
  SecretMode,
  SigningCredentials,
} from './interfaces/api-key-auth-options.interface.js';
export type { ApiKeyRecord, KeyRateLimit } from './interfaces/api-key-record.interface.js';
export type { ApiKeyStore } from './interfaces/api-key-store.interface.js';
export type { NonceStore } from './interfaces/nonce-store.interface.js';
export type { KeyInvalidationBus } from './interfaces/key-invalidation-bus.interface.js';
export type {
  Admission,
  AdmissionResult,
  NonceAndRateLimitStore,
  ThrottlerRecord,
} from './interfaces/nonce-and-rate-limit-store.interface.js';
export type { ServiceCallerInfo } from './auth/service-caller.interface.js';
export type { MetricsOptions, ObservabilityOptions, RefusalLogOptions } from './observability/observability-options.interface.js';
export type {
  ServiceAuthEvent,
  ServiceAuthEventListener,
  ServiceAuthEventScheme,
} from './observability/service-auth-event.interface.js';

export { ApiKeyGuard } from './auth/api-key.guard.js';
export { ServiceAuthenticator, type VerifiedRequest } from './auth/service-authenticator.js';
export { getServiceCaller, keyRateLimitOf } from './auth/service-caller.handoff.js';
export type { RoutePolicy, RouteRateLimit } from './auth/route-policy.js';
export { RateLimit } from './auth/rate-limit.decorator.js';
export { ServiceAuthObserver } from './observability/service-auth.observer.js';
export { SERVICE_AUTH_ATTRIBUTES, SERVICE_AUTH_METER_NAME, SERVICE_AUTH_METRICS } from './observability/metric-names.js';
export { ServiceCaller } from './auth/service-caller.decorator.js';
export { Public } from './auth/public.decorator.js';
export { AllowServices } from './auth/allow-services.decorator.js';

export { ApiKey } from './entities/api-key.entity.js';
export { MAX_KEY_RATE_LIMIT, MAX_KEY_RATE_LIMIT_TTL_MS } from './entities/key-rate-limit.transformer.js';
export { apiKeyAuthMigrations } from './migrations/api-key-auth.migrations.js';
export { CreateApiKeysTable1764300000000 } from './migrations/create-api-keys-table.migration.js';
export { AddApiKeyRateLimit1764400000000 } from './migrations/add-api-key-rate-limit.migration.js';

export {
  ApiKeyService,
  type CreatedApiKey,
  type ExpiringApiKey,
  type RotatedApiKey,
} from './services/api-key.service.js';
export { DEFAULT_API_KEY_LENGTH, generateApiKey, MAX_API_KEY_LENGTH } from './services/api-key.generator.js';
export { KEY_USAGE_FLUSH_INTERVAL_MS, KeyUsageRecorder } from './services/key-usage.recorder.js';
export {
  ApiKeyManagementError,
  InvalidExpiryError,
  InvalidRateLimitError,
  InvalidServiceNameError,
  NoActiveKeyError,
} from './errors/key-management.error.js';
export { SigningService, type SignableRequest, type SignedFetchInit } from './signing/signing.service.js';
export { ApiKeyCache, KeyStoreTimeoutError } from './stores/api-key.cache.js';
export { MemoryNonceStore, NonceStoreFullError } from './stores/memory-nonce.store.js';
export { MemoryThrottlerStorage } from './stores/memory-throttler.storage.js';

export {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  MissingSecretError,
  PreviousSecretWithoutCurrentError,
  PublicRestrictedRouteError,
  SigningNotConfiguredError,
  WeakSecretError,
} from './errors/configuration.error.js';
export { OpenTelemetryApiMissingError } from './observability/observability.errors.js';
export { UnsupportedDatabaseError } from './errors/unsupported-database.error.js';
export { SUPPORTED_DATABASE_TYPES } from './database/supported-databases.js';
export { ServiceAuthException, type ServiceAuthErrorCode } from './errors/service-auth.exception.js';

export * as protocol from './protocol/index.js';
export type { SignatureScheme } from './protocol/index.js';

export {
  InvalidClientOptionError,
  resolveServiceAuthClientOptions,
  SERVICE_AUTH_CLIENT_ASYNC_OPTIONS_TYPE,
  SERVICE_AUTH_CLIENT_OPTIONS,
  SERVICE_AUTH_CLIENT_OPTIONS_TYPE,
  ServiceAuthClientModule,
  type ServiceAuthClientModuleExtras,
  type ServiceAuthClientModuleOptions,
  type ServiceAuthClientPeer,
} from './client/index.js';
export { NoPeerForOriginError, UnknownPeerError } from './signing/signing.error.js';
