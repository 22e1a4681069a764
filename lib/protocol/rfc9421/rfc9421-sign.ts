import { serializeDictionary, type Parameters } from 'structured-headers';
import { API_KEY_PATTERN, NONCE_PATTERN } from '../credentials.js';
import { hmacSha256, HmacSha256Key, type HmacKey } from '../crypto.js';
import { componentNameProblem, componentValue } from './components.js';
import { formatContentDigest } from './content-digest.js';
import {
  HEADER_CONTENT_DIGEST,
  CONTENT_TYPE_COMPONENT,
  RFC9421_ALGORITHM,
  RFC9421_DEFAULT_LABEL,
  RFC9421_MAX_COMPONENTS,
  RFC9421_SIGNED_COMPONENTS,
  RFC9421_SIGNED_PARAMETERS,
  type Rfc9421Parameter,
} from './rfc9421.constants.js';
import type { Rfc9421Request } from './rfc9421-request.js';
import { rfc9421SignatureBase, serializeSignatureParams } from './signature-base.js';

/** Everything a signer needs to sign one request with scheme rfc9421. */
export interface Rfc9421SignInput {
  /** The API key, sent as `keyid`. */
  apiKey: string;
  /** The HMAC key: a secret string (its UTF-8 bytes), raw key bytes, or a key prepared by `secretKey()`. */
  secret: HmacKey | Uint8Array;
  /** The method exactly as it will be sent. */
  method: string;
  /** Absolute URL of the request: its host and path+query are signed. Alternative to `host` and `target`. */
  url?: string | URL;
  /** The `Host` header that will be sent (with `url`: taken from it). */
  host?: string;
  /** The request target as it will be on the request line (with `url`: its path and query). */
  target?: string;
  /** The `Content-Type` header that will be sent; covered whenever given, and required with a body. */
  contentType?: string;
  /** The body bytes as they will be sent (a string stands for its UTF-8 bytes). */
  body?: string | Uint8Array;
  /** `created`: Unix time in seconds. */
  createdSeconds: number;
  /** `expires`: Unix time in seconds, when the signature should expire. */
  expiresSeconds?: number;
  /** A fresh nonce per request (`generateNonce()`). */
  nonce: string;
  /** Further headers to cover, by name, with the values that will be sent; covered after the profile's components. */
  headers?: Readonly<Record<string, string>>;
  /** The signature's label. Default `sig1`. */
  label?: string;
  /** The covered components in their order, replacing the default list (headers named here take their values from `contentType`, `headers` and the computed `Content-Digest`). */
  components?: readonly string[];
  /** The signature parameters in their order. Default `created`, `keyid`, `nonce`, `alg`, then `expires` and `tag` when given. */
  parameters?: readonly Rfc9421Parameter[];
  /** A `tag` parameter (signed like the rest). */
  tag?: string;
}

/** The headers to send, lower-case names. `content-digest` is present when the request has a body. */
export interface Rfc9421Headers {
  'signature-input': string;
  signature: string;
  'content-digest'?: string;
}

export interface Rfc9421SignResult {
  headers: Rfc9421Headers;
  /** The signature base that was signed (not secret; for debugging a peer's implementation). */
  signatureBase: string;
}

function toBytes(body: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function requestLine(input: Rfc9421SignInput): { host: string; target: string } {
  if (input.url !== undefined) {
    const url = typeof input.url === 'string' ? new URL(input.url) : input.url;
    return { host: input.host ?? url.host, target: input.target ?? url.pathname + url.search };
  }
  if (input.host === undefined || input.target === undefined)
    throw new TypeError('Scheme rfc9421 signs the host and target: give url, or host and target.');
  return { host: input.host, target: input.target };
}

function signatureParameters(input: Rfc9421SignInput): Parameters {
  if (!API_KEY_PATTERN.test(input.apiKey)) throw new TypeError('The API key must be 16 to 128 characters of [A-Za-z0-9_-].');
  if (!NONCE_PATTERN.test(input.nonce)) throw new TypeError('The nonce must be 16 to 128 characters of [A-Za-z0-9_-].');
  for (const [name, value] of [
    ['createdSeconds', input.createdSeconds],
    ['expiresSeconds', input.expiresSeconds ?? 0],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be Unix time in seconds (a number of at least 0).`);
  }
  const values: Record<Rfc9421Parameter, string | number | undefined> = {
    created: Math.floor(input.createdSeconds),
    keyid: input.apiKey,
    nonce: input.nonce,
    alg: RFC9421_ALGORITHM,
    expires: input.expiresSeconds === undefined ? undefined : Math.floor(input.expiresSeconds),
    tag: input.tag,
  };
  const order = input.parameters ?? [
    ...RFC9421_SIGNED_PARAMETERS,
    ...(input.expiresSeconds === undefined ? [] : (['expires'] as const)),
    ...(input.tag === undefined ? [] : (['tag'] as const)),
  ];
  const parameters: Parameters = new Map();
  for (const name of order) {
    const value = values[name];
    if (value === undefined) throw new TypeError(`The signature parameter ${name} is listed but has no value.`);
    parameters.set(name, value);
  }
  return parameters;
}

/**
 * Signs a request with scheme rfc9421 (PROTOCOL.md): `Content-Digest`
 * (sha-256) for a body, and `Signature-Input`/`Signature` over the profile's
 * components. Component values are derived by the same code the verifier
 * uses, so the two cannot disagree.
 */
export function signRfc9421(input: Rfc9421SignInput): Rfc9421SignResult {
  const body = toBytes(input.body);
  const withBody = body !== undefined && body.length > 0;
  const { host, target } = requestLine(input);
  const extra = Object.entries(input.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
  const components = input.components ?? [
    ...RFC9421_SIGNED_COMPONENTS.filter(
      (name) => (name !== CONTENT_TYPE_COMPONENT || input.contentType !== undefined) && (name !== HEADER_CONTENT_DIGEST || withBody),
    ),
    ...extra.map(([name]) => name),
  ];
  if (components.length > RFC9421_MAX_COMPONENTS) throw new TypeError(`At most ${RFC9421_MAX_COMPONENTS} components can be covered.`);
  if (withBody && !components.includes(CONTENT_TYPE_COMPONENT))
    throw new TypeError('A request with a body needs a content type: give contentType.');

  const contentDigest = withBody || components.includes(HEADER_CONTENT_DIGEST) ? formatContentDigest(body) : undefined;
  const sent = new Map<string, string>(extra);
  if (input.contentType !== undefined) sent.set(CONTENT_TYPE_COMPONENT, input.contentType);
  if (contentDigest !== undefined) sent.set(HEADER_CONTENT_DIGEST, contentDigest);
  const request: Rfc9421Request = { method: input.method, host, target, header: (name) => sent.get(name), body };

  const lines = components.map((name) => {
    const problem = componentNameProblem(name);
    if (problem !== undefined) throw new TypeError(problem);
    const value = componentValue(name, request);
    if (!value.ok) throw new TypeError(value.message);
    return { name, value: value.value };
  });
  const parameters = signatureParameters(input);
  const signatureParams = serializeSignatureParams(components, parameters);
  const signatureBase = rfc9421SignatureBase(lines, signatureParams);
  const key = input.secret instanceof Uint8Array ? new HmacSha256Key(input.secret) : input.secret;
  const mac = hmacSha256(key, signatureBase);

  const label = input.label ?? RFC9421_DEFAULT_LABEL;
  const headers: Rfc9421Headers = {
    'signature-input': serializeDictionary(new Map([[label, [components.map((name) => [name, new Map()]), parameters]]])),
    signature: serializeDictionary(new Map([[label, [mac, new Map()]]])),
  };
  if (contentDigest !== undefined) headers['content-digest'] = contentDigest;
  return { headers, signatureBase };
}
