import { createSigner, httpbis } from 'http-message-signatures';
import { freshNonce, nowSeconds, send, type WireResponse } from './signed-request.js';
import type { TestApp } from './test-app.js';
import * as protocol from '../../lib/protocol/index.js';

/** A request signed with scheme rfc9421; every field defaults to a valid GET of `/items/1` on the test app. */
export interface Rfc9421Spec extends Partial<Omit<protocol.Rfc9421SignInput, 'apiKey' | 'secret' | 'body'>> {
  apiKey: string;
  secret: string | Uint8Array;
  body?: string | Buffer;
}

/** What goes on the wire: method, target, Host, and the header lines by lower-case name. */
export interface Rfc9421Wire {
  method: string;
  target: string;
  host: string;
  headers: Record<string, string | string[]>;
  body: Buffer | undefined;
}

/** Header changes: a value replaces (or adds) the header, `undefined` removes it. */
export type HeaderChanges = Record<string, string | string[] | undefined>;

function applyChanges(headers: Record<string, string | string[]>, changes: HeaderChanges): Record<string, string | string[]> {
  const result = { ...headers };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete result[name.toLowerCase()];
    else result[name.toLowerCase()] = value;
  }
  return result;
}

/**
 * Signs `spec` with our signer (`protocol.signRfc9421`), label `sig1`, the
 * profile's components; `Content-Type` is `application/json` when there is a
 * body and none is given.
 */
export function rfc9421Request(t: TestApp, spec: Rfc9421Spec): Rfc9421Wire {
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const contentType = spec.contentType ?? (body !== undefined ? 'application/json' : undefined);
  const method = spec.method ?? 'GET';
  const host = spec.host ?? t.host;
  const target = spec.target ?? '/items/1';
  const { headers: signed } = protocol.signRfc9421({
    ...spec,
    method,
    host,
    target,
    url: undefined,
    contentType,
    body,
    createdSeconds: spec.createdSeconds ?? nowSeconds(),
    nonce: spec.nonce ?? freshNonce(),
  });
  const headers: Record<string, string | string[]> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(signed)) headers[name] = value;
  return { method, target, host, headers, body };
}

/**
 * Sends a wire request as is (node:http, no normalisation), with `changes`
 * applied to its headers, from `localAddress` (any of 127.0.0.0/8) when given.
 */
export function sendWire(t: TestApp, wire: Rfc9421Wire, changes: HeaderChanges = {}, localAddress?: string): Promise<WireResponse> {
  const headers = applyChanges(wire.headers, changes);
  return send(t, { method: wire.method, target: wire.target, host: wire.host, headers, body: wire.body, localAddress });
}

/** Signs `spec` with our signer and sends it, with `changes` applied to the headers. */
export function sendRfc9421(t: TestApp, spec: Rfc9421Spec, changes: HeaderChanges = {}): Promise<WireResponse> {
  return sendWire(t, rfc9421Request(t, spec), changes);
}

/** A request signed by the independent library http-message-signatures (hmac-sha256). */
export interface LibrarySpec {
  apiKey: string;
  /** The HMAC key: a secret's UTF-8 bytes, or raw bytes. */
  secret: string | Buffer;
  method?: string;
  target?: string;
  host?: string;
  body?: string | Buffer;
  /** Default `application/json` with a body. */
  contentType?: string;
  /** Further headers sent (and covered when listed in `fields`). */
  headers?: Record<string, string>;
  /** Covered components; default the profile's (with `content-type` and `content-digest` for a body). */
  fields?: string[];
  /** Signature parameters in order; default `created`, `keyid`, `nonce`, `alg`. */
  params?: string[];
  paramValues?: Record<string, unknown>;
  /** Default `sig1`. */
  label?: string;
  /** Add the Content-Digest of the body (default: when there is a body). */
  contentDigest?: boolean;
  /** Headers already on the request, e.g. another signature to append to. */
  existing?: Record<string, string>;
}

/**
 * Signs with http-message-signatures, the way its README shows, adding the
 * Content-Digest (RFC 9530) it does not compute. Returns the wire request.
 */
export async function librarySigned(t: TestApp, spec: LibrarySpec): Promise<Rfc9421Wire> {
  const method = spec.method ?? 'GET';
  const target = spec.target ?? '/items/1';
  const host = spec.host ?? t.host;
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const headers: Record<string, string> = { ...spec.existing, ...spec.headers };
  if (body !== undefined || spec.contentType !== undefined) headers['Content-Type'] = spec.contentType ?? 'application/json';
  if (spec.contentDigest ?? body !== undefined) headers['Content-Digest'] = protocol.formatContentDigest(body);
  const fields = spec.fields ?? [
    '@method',
    '@authority',
    '@path',
    '@query',
    ...(body !== undefined ? ['content-type', 'content-digest'] : []),
  ];
  const key = createSigner(typeof spec.secret === 'string' ? Buffer.from(spec.secret, 'utf8') : spec.secret, 'hmac-sha256', spec.apiKey);
  const signed = await httpbis.signMessage(
    {
      key,
      name: spec.label ?? 'sig1',
      fields,
      params: spec.params ?? ['created', 'keyid', 'nonce', 'alg'],
      paramValues: { created: new Date(), nonce: freshNonce(), ...spec.paramValues },
    },
    { method, url: `http://${host}${target}`, headers },
  );
  const wireHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) wireHeaders[name.toLowerCase()] = String(value);
  return { method, target, host, headers: wireHeaders, body };
}

/** The nonce parameter of a `Signature-Input` value. */
export function nonceOf(signatureInput: string | string[]): string {
  const match = /;nonce="([^"]+)"/.exec(String(signatureInput));
  if (!match) throw new Error(`no nonce in ${String(signatureInput)}`);
  return match[1];
}
