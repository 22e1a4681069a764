// `nestjs-service-auth/client`: signing outgoing calls only. Nothing here loads TypeORM, the throttler or Redis.
export { ServiceAuthClientModule } from './service-auth-client.module.js';
export {
  SERVICE_AUTH_CLIENT_OPTIONS,
  SERVICE_AUTH_CLIENT_OPTIONS_TYPE,
  SERVICE_AUTH_CLIENT_ASYNC_OPTIONS_TYPE,
} from './service-auth-client.module-definition.js';
export type {
  ServiceAuthClientModuleExtras,
  ServiceAuthClientModuleOptions,
  ServiceAuthClientPeer,
} from './service-auth-client-options.interface.js';
export { resolveServiceAuthClientOptions } from './service-auth-client-options.factory.js';
export { InvalidClientOptionError } from './client-option.error.js';
export { SigningService, type SignableRequest, type SignedFetchInit } from './signing.service.js';
export { NoPeerForOriginError, UnknownPeerError } from './signing.errors.js';
export type { SigningCredentials } from '../api-key-auth-options.interface.js';
export {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  SigningNotConfiguredError,
} from '../api-key-auth-configuration.errors.js';
export * as protocol from '../protocol/index.js';
export type { SignatureScheme } from '../protocol/index.js';
