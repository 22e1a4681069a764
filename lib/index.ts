// `nestjs-service-auth`: the module that authenticates incoming service calls,
// its decorators, key management and the signer of outgoing calls. The
// protocol's pure functions are in `nestjs-service-auth/protocol`.

// The module and its options.
export { ApiKeyAuthModule } from './api-key-auth.module.js';
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
} from './api-key-auth-options.interface.js';
export type { MetricsOptions, ObservabilityOptions, RefusalLogOptions } from './observability/observability-options.interface.js';
export { SERVICE_NAME_PATTERN } from './api-key-auth.constants.js';

// Authentication: the guard, the decorators, the caller.
export { ApiKeyGuard } from './auth/api-key.guard.js';
export { ServiceAuthenticator, type VerifiedRequest } from './auth/service-authenticator.js';
export type { RoutePolicy, RouteRateLimit } from './auth/route-policy.js';
export { AllowServices } from './auth/allow-services.decorator.js';
export { Public } from './auth/public.decorator.js';
export { RateLimit } from './auth/rate-limit.decorator.js';
export { ServiceCaller } from './auth/service-caller.decorator.js';
export { getServiceCaller } from './auth/service-caller.handoff.js';
export type { ServiceCallerInfo } from './auth/service-caller.interface.js';
export { ServiceAuthException, type ServiceAuthErrorCode } from './auth/service-auth.exception.js';
export type { SignatureScheme } from './protocol/protocol.constants.js';

// Keys: the entity, its migrations, and their management.
export { ApiKey } from './keys/api-key.entity.js';
export { apiKeyAuthMigrations } from './keys/migrations/api-key-auth.migrations.js';
export { CreateApiKeysTable1764300000000 } from './keys/migrations/create-api-keys-table.migration.js';
export { AddApiKeyRateLimit1764400000000 } from './keys/migrations/add-api-key-rate-limit.migration.js';
export { MAX_KEY_RATE_LIMIT, MAX_KEY_RATE_LIMIT_TTL_MS } from './keys/key-rate-limit.transformer.js';
export type { ApiKeyRecord, KeyRateLimit } from './keys/api-key-record.interface.js';
export { ApiKeyService, type ApiKeyServiceOptions } from './keys/api-key.service.js';
export type { CreatedApiKey, ExpiringApiKey, RotatedApiKey } from './keys/issued-api-key.interface.js';
export {
  ApiKeyManagementError,
  InvalidExpiryError,
  InvalidRateLimitError,
  InvalidServiceNameError,
  NoActiveKeyError,
} from './keys/key-management.errors.js';
export { SUPPORTED_DATABASE_TYPES } from './keys/supported-databases.constants.js';
export { UnsupportedDatabaseError } from './keys/unsupported-database.error.js';

// Stores an app may implement (`keyStore`, `nonces.store`, `keyInvalidation`).
export type { ApiKeyStore } from './stores/api-key-store.interface.js';
export type { NonceStore } from './stores/nonce-store.interface.js';
export type { Admission, AdmissionResult, NonceAndRateLimitStore } from './stores/nonce-and-rate-limit-store.interface.js';
export type { KeyInvalidationBus } from './stores/key-invalidation-bus.interface.js';
/** The default `throttlerStorage`: counters in this process's memory. */
export { MemoryThrottlerStorage } from './stores/memory-throttler.storage.js';

// Signing outgoing calls (also in `nestjs-service-auth/client`).
export { SigningService, type SignableRequest, type SignedFetchInit } from './client/signing.service.js';
export { NoPeerForOriginError, UnknownPeerError } from './client/signing.errors.js';

// Observability.
export { ServiceAuthObserver } from './observability/service-auth.observer.js';
export { SERVICE_AUTH_ATTRIBUTES, SERVICE_AUTH_METER_NAME, SERVICE_AUTH_METRICS } from './observability/metric-names.js';
export type { ServiceAuthEvent, ServiceAuthEventListener, ServiceAuthEventScheme } from './observability/service-auth-event.interface.js';

// Configuration errors (thrown at startup; each message says how to fix it).
export {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  MissingSecretError,
  PreviousSecretWithoutCurrentError,
  PublicRestrictedRouteError,
  SigningNotConfiguredError,
  WeakSecretError,
} from './api-key-auth-configuration.errors.js';
export { OpenTelemetryApiMissingError } from './observability/observability.errors.js';
