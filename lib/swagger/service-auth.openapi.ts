import { ApiSecurity, type DocumentBuilder } from '@nestjs/swagger';
import { IS_PUBLIC_KEY, ALLOWED_SERVICES_KEY } from '../api-key-auth.constants.js';
import { InvalidOptionError } from '../api-key-auth-configuration.errors.js';
import { controllerMethods } from '../auth/route-policy.js';

/** The schemes an OpenAPI document can describe: the module's, and RFC 9421. */
export type OpenApiSignatureScheme = 'v1' | 'v0' | 'rfc9421';

/** Options of `addServiceAuthSecurity()` and `@ApiServiceAuth()`; give both the same. */
export interface ServiceAuthOpenApiOptions {
  /** The schemes the service accepts (the module's `schemes`). Default `['v1']`. */
  schemes?: readonly OpenApiSignatureScheme[];
}

/** Names of the security schemes `addServiceAuthSecurity()` adds to `components.securitySchemes`. */
export const SERVICE_AUTH_SECURITY_SCHEMES = {
  apiKey: 'service-auth-key',
  timestamp: 'service-auth-timestamp',
  nonce: 'service-auth-nonce',
  signature: 'service-auth-signature',
  signatureInput: 'service-auth-signature-input',
  rfc9421Signature: 'service-auth-rfc9421-signature',
} as const;

const S = SERVICE_AUTH_SECURITY_SCHEMES;
const SIGNED = 'Computed per request (PROTOCOL.md); a documentation tool cannot fill it in.';

const DEFINITIONS: Record<string, { header: string; description: string }> = {
  [S.apiKey]: { header: 'X-API-Key', description: "The calling service's API key." },
  [S.timestamp]: { header: 'X-API-Timestamp', description: 'Unix time of signing, in seconds.' },
  [S.nonce]: { header: 'X-API-Nonce', description: 'A value used once per key within the accepted window (scheme v1).' },
  [S.signature]: { header: 'X-API-Signature', description: `\`v1=\` or \`v0=\` and the hex HMAC-SHA256 of the string to sign. ${SIGNED}` },
  [S.signatureInput]: {
    header: 'Signature-Input',
    description:
      'RFC 9421 signature parameters: the covered components, `created`, `keyid` (the API key), `nonce`, `alg="hmac-sha256"`. A body also needs `Content-Digest`.',
  },
  [S.rfc9421Signature]: { header: 'Signature', description: `RFC 9421 signature (HMAC-SHA256 of the signature base). ${SIGNED}` },
};

/** Per scheme, the headers that must all be sent (one requirement object: AND); the schemes are alternatives (OR). */
const REQUIREMENTS: Record<OpenApiSignatureScheme, string[]> = {
  v1: [S.apiKey, S.timestamp, S.nonce, S.signature],
  v0: [S.apiKey, S.timestamp, S.signature],
  rfc9421: [S.signatureInput, S.rfc9421Signature],
};

function schemesOf(options: ServiceAuthOpenApiOptions): readonly OpenApiSignatureScheme[] {
  const schemes = options.schemes ?? ['v1'];
  if (!Array.isArray(schemes) || schemes.length === 0 || schemes.some((s) => !(s in REQUIREMENTS))) {
    throw new InvalidOptionError(
      'schemes',
      `of the OpenAPI helpers must list 'v1', 'v0' and/or 'rfc9421', got ${JSON.stringify(schemes)}.`,
    );
  }
  // Array.isArray() narrowed it to any[]: the check above makes it a list of schemes again.
  return schemes as readonly OpenApiSignatureScheme[];
}

/**
 * Adds the headers of the accepted schemes to a `DocumentBuilder` as
 * `apiKey` security schemes (`X-API-Key`, `X-API-Timestamp`, `X-API-Nonce`,
 * `X-API-Signature`; with `rfc9421`, `Signature-Input` and `Signature`).
 * Routes marked with `@ApiServiceAuth()` then require them.
 */
export function addServiceAuthSecurity(builder: DocumentBuilder, options: ServiceAuthOpenApiOptions = {}): DocumentBuilder {
  const names = new Set(schemesOf(options).flatMap((scheme) => REQUIREMENTS[scheme]));
  for (const name of names) {
    const { header, description } = DEFINITIONS[name];
    builder.addSecurity(name, { type: 'apiKey', in: 'header', name: header, description });
  }
  return builder;
}

/**
 * Marks routes as requiring a signed request in the OpenAPI document: one
 * security requirement per accepted scheme. On a controller, it marks every
 * route except those open to anyone (`@Public()` without `@AllowServices()`);
 * put it above `@Public()` and `@Controller()` there, so that it sees them.
 */
export function ApiServiceAuth(options: ServiceAuthOpenApiOptions = {}): ClassDecorator & MethodDecorator {
  const requirements = schemesOf(options).map((scheme) => Object.fromEntries(REQUIREMENTS[scheme].map((name) => [name, []])));
  const mark = (target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    for (const requirement of requirements) ApiSecurity(requirement)(target, key, descriptor);
  };
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor !== undefined && key !== undefined) {
      if (!isOpen(descriptor.value as Function, undefined)) mark(target, key, descriptor);
      return descriptor;
    }
    const controller = target as Function;
    for (const [name] of controllerMethods(controller)) {
      const prototype = controller.prototype as object;
      const method = Object.getOwnPropertyDescriptor(prototype, name)!;
      if (typeof method.value === 'function' && !isOpen(method.value as Function, controller)) mark(prototype, name, method);
    }
    return target;
  }) as ClassDecorator & MethodDecorator;
}

/** The guard's rule (route-policy.ts): `@Public()` opens a route unless `@AllowServices()` restricts it. */
function isOpen(handler: Function, controller: Function | undefined): boolean {
  const targets = controller ? [handler, controller] : [handler];
  const marked = (key: string) => targets.some((target) => Reflect.getMetadata(key, target) !== undefined);
  const publicFlag = targets
    .map((target) => Reflect.getMetadata(IS_PUBLIC_KEY, target) as boolean | undefined)
    .find((v) => v !== undefined);
  return publicFlag === true && !marked(ALLOWED_SERVICES_KEY);
}
