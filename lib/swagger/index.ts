export {
  addServiceAuthSecurity,
  ApiServiceAuth,
  SERVICE_AUTH_SECURITY_SCHEMES,
  type OpenApiSignatureScheme,
  type ServiceAuthOpenApiOptions,
} from './service-auth.openapi.js';
