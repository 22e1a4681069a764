// `nestjs-service-auth/client`: signing outgoing calls only. Nothing here loads TypeORM, the throttler or Redis.
export { ServiceAuthClientModule } from './service-auth-client.module.js';
export type {
  ServiceAuthClientModuleExtras,
  ServiceAuthClientModuleOptions,
  ServiceAuthClientPeer,
} from './service-auth-client-options.interface.js';
export { InvalidClientOptionError } from './client-option.error.js';
export { SigningService, type SignableRequest, type SignedFetchInit } from './signing.service.js';
export { NoPeerForOriginError, UnknownPeerError } from './signing.errors.js';
export type { SigningCredentials } from '../api-key-auth-options.interface.js';
export { ApiKeyAuthConfigurationError, InvalidOptionError, SigningNotConfiguredError } from '../api-key-auth-configuration.errors.js';
export type { SignatureScheme } from '../protocol/protocol.constants.js';
