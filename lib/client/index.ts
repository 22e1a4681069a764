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
export { SigningService, type SignableRequest, type SignedFetchInit } from '../signing/signing.service.js';
export { NoPeerForOriginError, UnknownPeerError } from '../signing/signing.error.js';
export type { SigningCredentials } from '../interfaces/api-key-auth-options.interface.js';
export {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  SigningNotConfiguredError,
} from '../errors/configuration.error.js';
export * as protocol from '../protocol/index.js';
export type { SignatureScheme } from '../protocol/index.js';
