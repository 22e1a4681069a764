import { RFC9421_DERIVED_COMPONENTS, RFC9421_REFUSED_COMPONENTS } from './rfc9421.constants.js';
import { singleFieldValue, type Rfc9421Request } from './rfc9421-request.js';

/** A component value, or why the request cannot provide it (a `malformed_credentials` message). */
export type ComponentValueResult = { ok: true; value: string } | { ok: false; message: string };

/** A lower-case HTTP field name (RFC 9110 `token`). */
const FIELD_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** Names short and plain enough to be quoted back in an error message. */
const QUOTABLE_NAME = /^@?[a-z0-9_.-]{1,64}$/;
const LINE_BREAK = /[\r\n]/;
const DEFAULT_PORT = /:(?:80|443)$/;

/** The component name quoted for an error message, or a neutral word when it is not safe to echo. */
export function describeComponent(name: string): string {
  return QUOTABLE_NAME.test(name) ? `"${name}"` : 'a component';
}

/**
 * Why a covered component name is outside the profile, or `undefined` when it
 * is accepted: a derived component of the profile, or a lower-case field name.
 */
export function componentNameProblem(name: string): string | undefined {
  if (name.startsWith('@')) {
    if (RFC9421_REFUSED_COMPONENTS.includes(name)) {
      return `Signature-Input may not cover ${describeComponent(name)}: the verifier cannot know what the signer saw behind a proxy.`;
    }
    if (!RFC9421_DERIVED_COMPONENTS.includes(name)) {
      return `Signature-Input covers ${describeComponent(name)}, which is not a derived component of this profile.`;
    }
    return undefined;
  }
  if (name !== name.toLowerCase())
    return `Signature-Input covers ${describeComponent(name.toLowerCase())} with upper-case letters: component names are lower-case.`;
  if (!FIELD_NAME.test(name)) return 'Signature-Input covers a component that is not an HTTP field name.';
  return undefined;
}

/** `@authority`: the Host header lower-cased, with a default port (`:80`, `:443`) removed. */
export function rfc9421Authority(host: string): string {
  return host.toLowerCase().replace(DEFAULT_PORT, '');
}

/** `@path` and `@query` of an origin-form target, as on the request line; `undefined` for any other form. */
export function splitTarget(target: string): { path: string; query: string } | undefined {
  if (!target.startsWith('/')) return undefined;
  const mark = target.indexOf('?');
  if (mark === -1) return { path: target, query: '?' };
  return { path: target.slice(0, mark) || '/', query: target.slice(mark) };
}

function ok(value: string): ComponentValueResult {
  return { ok: true, value };
}

function fail(message: string): ComponentValueResult {
  return { ok: false, message };
}

/**
 * The value of one covered component (RFC 9421 section 2.1 and 2.2, as
 * narrowed by PROTOCOL.md). The name must already have passed
 * `componentNameProblem`.
 */
export function componentValue(name: string, request: Rfc9421Request): ComponentValueResult {
  let value: string;
  switch (name) {
    case '@method':
      value = request.method;
      break;
    case '@authority':
      if (request.host === undefined || request.host === '') return fail('The request has no Host header, so "@authority" has no value.');
      value = rfc9421Authority(request.host);
      break;
    case '@request-target':
      value = request.target;
      break;
    case '@path':
    case '@query': {
      const parts = splitTarget(request.target);
      if (parts === undefined) return fail(`${describeComponent(name)} needs a request target of the form /path?query.`);
      value = name === '@path' ? parts.path : parts.query;
      break;
    }
    default: {
      const field = singleFieldValue(request, name);
      if (field === 'absent') return fail(`The covered header ${describeComponent(name)} is absent.`);
      if (field === 'repeated') return fail(`The covered header ${describeComponent(name)} is sent more than once.`);
      value = field;
    }
  }
  // One line per component: a value with a line break would forge the lines after it.
  if (LINE_BREAK.test(value)) return fail(`The value of ${describeComponent(name)} contains a line break.`);
  return ok(value);
}
