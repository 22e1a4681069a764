// Shared by the benchmark scripts: variants, the secret, the request body and the signer.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as protocol from '../lib/protocol/index.js';
import { computeMac, formatSignature } from '../lib/protocol/signature.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];

/**
 * What protects the route in a server process:
 * - `bare`: nothing (the route as it was before authentication was added);
 * - `noop`: a global guard that returns `true` (Nest's own cost of having any guard);
 * - `v1`: ApiKeyGuard, scheme v1, cached key, in-memory nonce store, rate limits off;
 * - `full`: `v1` plus the per-key rate limit and the failed-attempt limit (the defaults' full stack);
 * - `metrics`: `v1` with an OpenTelemetry SDK MeterProvider registered (every request counted and timed);
 * - `v0`: ApiKeyGuard, scheme v0 only;
 * - `rfc9421`: ApiKeyGuard as in `v1`, the requests signed with scheme rfc9421 (`schemes: ['v1', 'rfc9421']`);
 * - `passport`: @nestjs/passport's AuthGuard with passport-headerapikey and an in-memory key map.
 */
export type AuthName = 'bare' | 'noop' | 'v1' | 'metrics' | 'full' | 'v0' | 'rfc9421' | 'passport';
export const AUTHS: readonly AuthName[] = ['bare', 'noop', 'v1', 'metrics', 'full', 'v0', 'rfc9421', 'passport'];

/** The variants whose server runs ApiKeyGuard. */
export const GUARDED_AUTHS: readonly AuthName[] = ['v1', 'metrics', 'full', 'v0', 'rfc9421'];

/** The variants whose requests carry a v1 signature. */
export const V1_SIGNED_AUTHS: readonly AuthName[] = ['v1', 'metrics', 'full'];

export type RouteName = 'get' | 'post';

/** One measured configuration: one server process, one route. */
export interface Variant {
  /** e.g. `v1-fastify-post` */
  id: string;
  auth: AuthName;
  adapter: AdapterName;
  route: RouteName;
}

export function variantId(auth: AuthName, adapter: AdapterName, route: RouteName): string {
  return `${auth}-${adapter}-${route}`;
}

/**
 * The variants `npm run bench` measures by default, per adapter: the GETs the targets are about
 * (the POSTs are in the micro figures; `--only` runs them end to end).
 */
export const DEFAULT_VARIANTS: Variant[] = ADAPTERS.flatMap((adapter) =>
  (['bare', 'passport', 'v1', 'full', 'v0', 'rfc9421', 'metrics'] as const).map((auth) => ({
    id: variantId(auth, adapter, 'get'),
    auth,
    adapter,
    route: 'get' as const,
  })),
);

/** Every variant the server can run (for `--only`). */
export const ALL_VARIANTS: Variant[] = ADAPTERS.flatMap((adapter) =>
  AUTHS.flatMap((auth) => (['get', 'post'] as const).map((route) => ({ id: variantId(auth, adapter, route), auth, adapter, route }))),
);

/** Shared secret of every bench server (never used outside the benchmark). */
export const BENCH_SECRET = 'bench-shared-secret-0123456789-abcdefghijklmnop';
export const BENCH_SERVICE = 'bench-client';

export const GET_TARGET = '/items/42?expand=lines';
export const POST_TARGET = '/items';

/** A JSON body of exactly `size` bytes (default 1 KiB). */
export function jsonBody(size = 1024): Buffer {
  const head = '{"customer":"c-1042","currency":"EUR","lines":[';
  const line = '{"sku":"SKU-000000","qty":1,"price":1250},';
  const tail = '],"note":"';
  let lines = '';
  while (head.length + lines.length + line.length + tail.length + 2 <= size) lines += line;
  lines = lines.slice(0, -1);
  const pad = size - (head.length + lines.length + tail.length + 2);
  const text = `${head}${lines}${tail}${'x'.repeat(pad)}"}`;
  JSON.parse(text);
  if (Buffer.byteLength(text) !== size) throw new Error(`jsonBody: ${Buffer.byteLength(text)} != ${size}`);
  return Buffer.from(text);
}

/** Nonces for `count` requests: 16 random bytes each, base64url (22 characters), as PROTOCOL.md suggests. */
export function makeNonces(count: number): string[] {
  const bytes = randomBytes(16 * count);
  const nonces = new Array<string>(count);
  for (let i = 0; i < count; i++) nonces[i] = bytes.toString('base64url', i * 16, i * 16 + 16);
  return nonces;
}

export interface SignedValues {
  timestamp: string;
  nonce: string;
  signature: string;
}

/** The library's own signer: the `X-API-Timestamp`, `X-API-Nonce` and `X-API-Signature` values. */
export function signFields(options: {
  scheme: protocol.XApiSignatureScheme;
  apiKey: string;
  secret: string;
  timestampSeconds: number;
  nonce: string;
  method: string;
  host: string;
  target: string;
  /** The Content-Type the request is sent with; omit for none. */
  contentType?: string;
  bodySha256: string;
}): SignedValues {
  const timestamp = String(options.timestampSeconds);
  const fields: protocol.SignedFields =
    options.scheme === 'v0'
      ? { scheme: 'v0', apiKey: options.apiKey, timestamp }
      : {
          scheme: 'v1',
          apiKey: options.apiKey,
          timestamp,
          nonce: options.nonce,
          method: options.method,
          host: options.host,
          target: options.target,
          contentType: options.contentType ?? '',
          bodySha256: options.bodySha256,
        };
  const mac = computeMac(options.secret, fields);
  return { timestamp, nonce: options.nonce, signature: formatSignature(options.scheme, mac) };
}

/** The library's own rfc9421 signer: the `Signature-Input`, `Signature` and (with a body) `Content-Digest` values. */
export function signRfc9421Fields(options: {
  apiKey: string;
  secret: string;
  createdSeconds: number;
  nonce: string;
  method: string;
  host: string;
  target: string;
  contentType?: string;
  body?: Buffer;
}): protocol.Rfc9421Headers {
  return protocol.signRfc9421(options).headers;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** `--name value` and `--flag` arguments. */
export function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      args.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      args.set(arg.slice(2), argv[++i]);
    } else {
      args.set(arg.slice(2), 'true');
    }
  }
  return args;
}

/** Whether this module is the script node was started with. */
export function isMain(importMetaUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && importMetaUrl === pathToFileURL(resolve(script)).href;
}
