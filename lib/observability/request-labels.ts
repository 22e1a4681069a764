import { API_KEY_PATTERN } from '../protocol/credentials.js';
import type { IncomingRequest } from '../auth/request.reader.js';
import type { ServiceAuthEventScheme } from './service-auth-event.interface.js';

/** Longest path or route kept in an event or a log line; the rest is cut. */
const MAX_PATH_LENGTH = 256;
const KEYID = /keyid="([A-Za-z0-9_-]{16,128})"/;

/** What Express (`route.path`) and Fastify (`routeOptions.url`) say of the route a request matched. */
interface RoutedRequest {
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
}

/**
 * The scheme the request's headers claim, from a fixed set (so a metric
 * attribute never takes a value the caller chose).
 */
export function claimedScheme(headers: IncomingRequest['headers']): ServiceAuthEventScheme | undefined {
  if (headers['signature-input'] !== undefined) return 'rfc9421';
  const signature = headers['x-api-signature'];
  if (typeof signature !== 'string') return undefined;
  const prefix = signature.trimStart().slice(0, 3);
  return prefix === 'v1=' ? 'v1' : prefix === 'v0=' ? 'v0' : undefined;
}

/** The API key a request names (`X-API-Key`, or the `keyid` of RFC 9421), when it is well formed. */
export function claimedApiKey(headers: IncomingRequest['headers']): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string') {
    const trimmed = key.trim();
    return API_KEY_PATTERN.test(trimmed) ? trimmed : undefined;
  }
  const input = headers['signature-input'];
  return typeof input === 'string' ? KEYID.exec(input)?.[1] : undefined;
}

/** The route as declared, else the path without its query string. */
export function routeOf(request: IncomingRequest): string {
  const routed = request as IncomingRequest & RoutedRequest;
  const declared = routed.routeOptions?.url ?? routed.route?.path;
  return typeof declared === 'string' ? cut(declared) : pathOf(request);
}

/** The path as requested, without the query string (which may carry anything). */
export function pathOf(request: IncomingRequest): string {
  const raw = request.raw ?? request;
  const target = raw.originalUrl ?? raw.url ?? request.originalUrl ?? request.url ?? '';
  const query = target.indexOf('?');
  return cut(query === -1 ? target : target.slice(0, query));
}

function cut(text: string): string {
  return text.length > MAX_PATH_LENGTH ? `${text.slice(0, MAX_PATH_LENGTH)}...` : text;
}
