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
export type {
  ApiKeyAuthModuleExtras,
  ApiKeyAuthModuleOptions,
  FailedAttemptLimitOptions,
  KeyCacheOptions,
  NonceOptions,
  RateLimitOptions,
  SecretMode,
  SigningCredentials,
} from './api-key-auth-options.interface.js';
export type { ApiKeyRecord, KeyRateLimit } from './keys/api-key-record.interface.js';
export type { ApiKeyStore } from './stores/api-key-store.interface.js';
export type { NonceStore } from './stores/nonce-store.interface.js';
export type { KeyInvalidationBus } from './stores/key-invalidation-bus.interface.js';
export type {
  Admission,
  AdmissionResult,
  NonceAndRateLimitStore,
  ThrottlerRecord,
} from './stores/nonce-and-rate-limit-store.interface.js';
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

export { ApiKey } from './keys/api-key.entity.js';
export { MAX_KEY_RATE_LIMIT, MAX_KEY_RATE_LIMIT_TTL_MS } from './keys/key-rate-limit.transformer.js';
export { apiKeyAuthMigrations } from './keys/migrations/api-key-auth.migrations.js';
export { CreateApiKeysTable1764300000000 } from './keys/migrations/create-api-keys-table.migration.js';
export { AddApiKeyRateLimit1764400000000 } from './keys/migrations/add-api-key-rate-limit.migration.js';

export {
  ApiKeyService,
  type CreatedApiKey,
  type ExpiringApiKey,
  type RotatedApiKey,
} from './keys/api-key.service.js';
export { DEFAULT_API_KEY_LENGTH, generateApiKey, MAX_API_KEY_LENGTH } from './keys/api-key.generator.js';
export { KEY_USAGE_FLUSH_INTERVAL_MS, KeyUsageRecorder } from './keys/key-usage.recorder.js';
export {
  ApiKeyManagementError,
  InvalidExpiryError,
  InvalidRateLimitError,
  InvalidServiceNameError,
  NoActiveKeyError,
} from './keys/key-management.errors.js';
export { SigningService, type SignableRequest, type SignedFetchInit } from './client/signing.service.js';
export { ApiKeyCache, KeyStoreTimeoutError } from './stores/api-key.cache.js';
export { MemoryNonceStore, NonceStoreFullError } from './stores/memory-nonce.store.js';
export { MemoryThrottlerStorage } from './stores/memory-throttler.storage.js';

export {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  MissingSecretError,
  PublicRestrictedRouteError,
  SigningNotConfiguredError,
  WeakSecretError,
} from './api-key-auth-configuration.errors.js';
export { OpenTelemetryApiMissingError } from './observability/observability.errors.js';
export { UnsupportedDatabaseError } from './keys/unsupported-database.error.js';
export { SUPPORTED_DATABASE_TYPES } from './keys/supported-databases.constants.js';
export { ServiceAuthException, type ServiceAuthErrorCode } from './auth/service-auth.exception.js';

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
export { NoPeerForOriginError, UnknownPeerError } from './client/signing.errors.js';
