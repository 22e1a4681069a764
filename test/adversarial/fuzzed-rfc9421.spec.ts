import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { isInnerList, parseDictionary, serializeInnerList, serializeItem } from 'structured-headers';
import { createTestApp, TEST_PREVIOUS_SECRET, TEST_SECRET, type AdapterName, type TestApp } from '../support/test-app.js';
import {
  GUARD_STATUS,
  GUARD_STATUSES,
  guardAnswerProblem,
  leakedIn,
  utf8AsWireString,
  WireClient,
  type HeaderLines,
  type Outcome,
  type RawRequest,
} from './harness.js';
import * as protocol from '../../lib/protocol/index.js';

/**
 * The fuzz suite of fuzzed-headers.spec.ts, for scheme rfc9421: correctly
 * signed requests (Signature-Input, Signature, Content-Digest, a covered
 * header) with one to three parts broken, sent to a real app (both adapters,
 * both secret modes). For every request that reaches the server: the answer
 * is a 4xx (never a 2xx or 5xx), a guard answer is PROTOCOL.md's JSON, no
 * handler runs, and no answer contains a secret or the MAC.
 *
 * A case whose signed parts all survived (a model of the profile, `signedView`,
 * sees the same request) is still valid and is not sent.
 *
 * Reproduce: `FC_SEED=<seed> FC_PATH=<path> NODE_OPTIONS=--experimental-vm-modules npx jest <this file> -t '<adapter>'`.
 * More cases: `FUZZ_RUNS=<runs per config>`; answers per status and code: `FUZZ_STATS=1`.
 */

const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const FC_PATH = process.env.FC_PATH;
/** Property runs per configuration, each a batch of 1 to 24 requests (about 12 on average). */
const RUNS_PER_CONFIG = Number(process.env.FUZZ_RUNS ?? 150);
/** Upper bound of one configuration's fuzzing, shrinking included. */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 10_000);
const MIN_REACHED = 2_000;

type Role = 'orders' | 'billing' | 'revoked' | 'expired' | 'unknown';
type Route = 'get' | 'post' | 'delete' | 'scoped';
type Shape = 'profile' | 'request-target' | 'extra-header' | 'tag-and-expires';

interface Config {
  seed: number;
  adapter: AdapterName;
  secretMode: 'shared' | 'derived';
  schemes: Array<'v1' | 'rfc9421'>;
  maxBodyBytes?: number;
}

const CONFIGS: Config[] = [
  { seed: 94_210_001, adapter: 'express', secretMode: 'shared', schemes: ['rfc9421'], maxBodyBytes: 8_192 },
  { seed: 94_210_002, adapter: 'fastify', secretMode: 'derived', schemes: ['v1', 'rfc9421'] },
];

const KEY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
/** Characters of structured fields and of base64. */
const FIELD_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"();=:,@*+/-_.?% \t';
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'FOO'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
];
const char = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const fromAlphabet = (alphabet: string, min: number, max: number) => fc.string({ unit: char(alphabet), minLength: min, maxLength: max });

const junkValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 16 }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map(utf8AsWireString) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('sig1=()', 'sig1=:AAAA:', 'sig1', '=', ',', '()', '__proto__', 'sig1=("@method");keyid="x"', 'sha-256=::'),
  },
);

type Field = 'signature-input' | 'signature' | 'content-digest' | 'covered';
type TextOp =
  | { op: 'remove' }
  | { op: 'replace'; value: string }
  | { op: 'substitute'; at: number; pick: number }
  | { op: 'insert'; at: number; char: string }
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; same: boolean; other: string }
  | { op: 'structured'; pick: number }
  | { op: 'oversize'; length: number }
  | { op: 'affix'; prefix: string; suffix: string };

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ op: 'remove' as const }) },
  { weight: 2, arbitrary: junkValue.map((value) => ({ op: 'replace' as const, value })) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('substitute' as const), at: fc.nat(), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      char: fc.oneof(char(FIELD_CHARS), fc.constantFrom('\u00e9', '\u0000', '\u007f')),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicate' as const), same: fc.boolean(), other: junkValue }) },
  { weight: 8, arbitrary: fc.nat().map((pick) => ({ op: 'structured' as const, pick })) },
  { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 12_000 }).map((length) => ({ op: 'oversize' as const, length })) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('affix' as const),
      prefix: fc.oneof(fc.constant(''), junkValue),
      suffix: fc.oneof(fc.constant(''), junkValue),
    }),
  },
);

type Mutation =
  | { field: Field; op: TextOp }
  | { field: 'host'; pick: number }
  | { field: 'method'; method: string }
  | { field: 'target'; suffix: string; at: number }
  | {
      field: 'body';
      kind: 'json' | 'bytes' | 'none' | 'large';
      text: string;
      bytes: Uint8Array;
      contentType: number;
      delivery: 'length' | 'chunked' | 'gzip';
    }
  | { field: 'x-api-signature' }
  | { field: 'neutral'; pick: number; pattern: number; seed: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: textOp.map((op) => ({ field: 'signature-input' as const, op })) },
  { weight: 4, arbitrary: textOp.map((op) => ({ field: 'signature' as const, op })) },
  { weight: 3, arbitrary: textOp.map((op) => ({ field: 'content-digest' as const, op })) },
  { weight: 2, arbitrary: textOp.map((op) => ({ field: 'covered' as const, op })) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ field: 'host' as const, pick })) },
  { weight: 1, arbitrary: fc.constantFrom(...METHODS).map((method) => ({ field: 'method' as const, method })) },
  {
    weight: 2,
    arbitrary: fc.record({
      field: fc.constant('target' as const),
      suffix: fc.constantFrom('?', '?x=1', '&x=1', '/', '%2F', 'a', '/..', '?a=1&a=2'),
      at: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      field: fc.constant('body' as const),
      kind: fc.constantFrom('json', 'bytes', 'none', 'large'),
      text: fc.json({ maxDepth: 2 }),
      bytes: fc.uint8Array({ maxLength: 512 }),
      contentType: fc.integer({ min: -1, max: CONTENT_TYPES.length - 1 }),
      delivery: fc.constantFrom('length', 'length', 'chunked', 'gzip'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ field: 'x-api-signature' as const }) },
  { weight: 3, arbitrary: fc.record({ field: fc.constant('neutral' as const), pick: fc.nat(), pattern: fc.nat(), seed: fc.nat() }) },
);

interface Base {
  route: Route;
  id: string;
  query: string | null;
  role: Role;
  unknownKey: string;
  previousSecret: boolean;
  nonce: string;
  json: string;
  shape: Shape;
  label: string;
}

const base: fc.Arbitrary<Base> = fc.record({
  route: fc.constantFrom<Route>('get', 'get', 'post', 'post', 'delete', 'scoped'),
  id: fromAlphabet('abcdefgXYZ0123456789-_~', 1, 10),
  query: fc.option(fromAlphabet('abcxyz0129=&%+', 0, 20), { freq: 2 }),
  role: fc.constantFrom<Role>('orders', 'orders', 'billing', 'revoked', 'expired', 'unknown'),
  unknownKey: fromAlphabet(KEY_CHARS, 16, 64),
  previousSecret: fc.boolean(),
  nonce: fromAlphabet(KEY_CHARS, 16, 64),
  json: fc.oneof(
    fc.json({ maxDepth: 2 }).map((text) => `{"v":${text}}`),
    fc.constant('{"a":1}'),
  ),
  shape: fc.constantFrom<Shape>('profile', 'profile', 'request-target', 'extra-header', 'tag-and-expires'),
  label: fc.constantFrom('sig1', 'sig1', 'orders', 'a'),
});

const fuzzCase = fc.record({ base, mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) });
type Case = { base: Base; mutations: Mutation[] };

// ---------------------------------------------------------------- the model

const trimmed = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');
const lines = (request: RawRequest, name: string) => request.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => trimmed(v));

/**
 * The signed parts of an rfc9421 request as PROTOCOL.md defines them, as one
 * string; `null` when the request cannot be valid. The one label with a
 * keyid, its inner list as RFC 8941 serializes it, its Signature member, the
 * value of every covered component, and the body as the server decodes it.
 */
function signedView(request: RawRequest, decoded: Buffer | undefined): string | null {
  const hosts = lines(request, 'host');
  if (hosts.length !== 1 || lines(request, 'content-type').length > 1 || lines(request, 'x-api-signature').length > 0) return null;
  if (lines(request, 'content-encoding').some((v) => !/^identity$/i.test(v))) return null;
  try {
    const inputs = parseDictionary(lines(request, 'signature-input').join(', '));
    const labels = [...inputs].filter(([, member]) => member[1].has('keyid'));
    if (labels.length !== 1) return null;
    const [label, member] = labels[0];
    if (!isInnerList(member)) return null;
    const signature = parseDictionary(lines(request, 'signature').join(', ')).get(label);
    if (signature === undefined || isInnerList(signature)) return null;
    const values: string[] = [];
    const target = request.target;
    const mark = target.indexOf('?');
    for (const [name] of member[0]) {
      if (typeof name !== 'string') return null;
      if (name === '@method') values.push(request.method);
      else if (name === '@authority') values.push(hosts[0].toLowerCase().replace(/:(80|443)$/, ''));
      else if (name === '@path') values.push(mark === -1 ? target : target.slice(0, mark));
      else if (name === '@query') values.push(mark === -1 ? '?' : target.slice(mark));
      else if (name === '@request-target') values.push(target);
      else {
        const found = lines(request, name);
        if (found.length !== 1) return null;
        values.push(found[0]);
      }
    }
    const body = decoded === undefined || decoded.length === 0 ? '' : createHash('sha256').update(decoded).digest('hex');
    return JSON.stringify([label, serializeInnerList(member), serializeItem(signature), values, body]);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- building requests

interface Context {
  t: TestApp;
  config: Config;
  keys: Record<Exclude<Role, 'unknown'>, string>;
}

interface Built {
  request: RawRequest;
  view: string | null;
  baseView: string | null;
  baseValid: boolean;
  secretsAndMacs: string[];
  mayDropConnection: boolean;
}

function headerIndex(headers: HeaderLines, name: string): number {
  return headers.findIndex(([n]) => n.toLowerCase() === name);
}

function setHeader(headers: HeaderLines, name: string, value: string | undefined): void {
  const i = headerIndex(headers, name);
  if (value === undefined) {
    if (i >= 0) headers.splice(i, 1);
  } else if (i >= 0) headers[i] = [headers[i][0], value];
  else headers.push([name, value]);
}

/** Values a careless or hostile signer might send instead of `current`: each breaks one rule of the profile. */
function structuredVariants(field: Field, current: string, ctx: Context, now: number): string[] {
  const mac = /:([A-Za-z0-9+/=]*):/.exec(current)?.[1] ?? '';
  const bytes = Buffer.from(mac, 'base64');
  const flipped = Buffer.from(bytes);
  if (flipped.length > 0) flipped[flipped.length >> 1] ^= 1;
  switch (field) {
    case 'signature-input':
      return [
        current.replace('"@method" ', ''),
        current.replace('"@authority"', '"@authority";sf'),
        current.replace('"@method"', '"@METHOD"'),
        current.replace(')', ' "@scheme")'),
        current.replace(')', ' "@method")'),
        current.replace(')', ' "@target-uri")'),
        current.replace('"@path" "@query"', '"@path"'),
        current.replace('alg="hmac-sha256"', 'alg="hmac-sha512"') + (current.includes('alg=') ? '' : ';alg="ed25519"'),
        current.replace(/created=(\d+)/, (_m, c: string) => `created=${Number(c) - 1}`),
        current.replace(/created=(\d+)/, (_m, c: string) => `created=${Number(c) - 400}`),
        current.replace(/created=(\d+)/, (_m, c: string) => `created=${c}.5`),
        current.replace(/keyid="[^"]*"/, `keyid="${ctx.keys.orders === current ? ctx.keys.billing : ctx.keys.revoked}"`),
        current.replace(/nonce="[^"]*"/, 'nonce="short"'),
        current.replace(/;nonce="[^"]*"/, ''),
        current.replace(/;keyid="[^"]*"/, ''),
        `${current};expires=${now - 5}`,
        `${current}, other=("@method");keyid="${ctx.keys.orders}"`,
        current.replace(/^[^=]+=/, 'renamed='),
        current.replace(/keyid="([^"]*)"/, 'keyid=$1'),
        current.replace('(', '("content-length" '),
      ];
    case 'signature':
      return [
        current.replace(mac, flipped.toString('base64')),
        current.replace(mac, bytes.subarray(1).toString('base64')),
        current.replace(mac, Buffer.concat([bytes, Buffer.from([0])]).toString('base64')),
        current.replace(mac, bytes.toString('base64url')),
        current.replace(/^[^=]+=/, 'renamed='),
        current.replace(`:${mac}:`, mac.replace(/[+/=]/g, 'a')),
        `${current}, ${current.replace(mac, flipped.toString('base64'))}`,
        current.replace(mac, bytes.toString('hex')),
      ];
    case 'content-digest':
      return [
        current.replace(mac, flipped.toString('base64')),
        current.replace('sha-256', 'md5'),
        current.replace('sha-256', 'SHA-256'),
        `${current}, sha-512=:${Buffer.alloc(64).toString('base64')}:`,
        current.replace(mac, bytes.toString('hex')),
        'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
      ];
    case 'covered':
      return [current.toUpperCase(), `${current}x`, current.slice(1), `${current}, ${current}`];
  }
}

function applyTextOp(headers: HeaderLines, name: string, op: TextOp, ctx: Context, now: number, built: Built): void {
  const i = headerIndex(headers, name);
  const current = i >= 0 ? headers[i][1] : '';
  const at = (n: number, length: number) => (length === 0 ? 0 : n % length);
  const set = (value: string | undefined) => setHeader(headers, name, value);
  const field: Field = name === 'signature-input' || name === 'signature' || name === 'content-digest' ? name : 'covered';
  switch (op.op) {
    case 'remove':
      return set(undefined);
    case 'replace':
      return set(op.value);
    case 'substitute': {
      if (current.length === 0) return set('x');
      const p = at(op.at, current.length);
      const chars = FIELD_CHARS.replace(current[p], '');
      return set(current.slice(0, p) + chars[op.pick % chars.length] + current.slice(p + 1));
    }
    case 'insert': {
      const p = at(op.at, current.length + 1);
      return set(current.slice(0, p) + op.char + current.slice(p));
    }
    case 'delete': {
      const p = at(op.at, current.length);
      return set(current.slice(0, p) + current.slice(p + 1));
    }
    case 'duplicate':
      headers.push([name, op.same ? current : op.other]);
      return;
    case 'structured': {
      const variants = structuredVariants(field, current, ctx, now);
      return set(variants[op.pick % variants.length]);
    }
    case 'oversize':
      if (op.length > 8_000) built.mayDropConnection = true;
      return set(current + 'a'.repeat(op.length));
    case 'affix':
      return set(op.prefix + current + op.suffix);
  }
}

function noHealth(target: string): string {
  return /health/i.test(target) ? target.replace(/h/gi, 'k') : target;
}

const ROUTES: Record<Route, { method: string; path: (id: string) => string }> = {
  get: { method: 'GET', path: (id) => `/items/${id}` },
  post: { method: 'POST', path: () => '/items' },
  delete: { method: 'DELETE', path: (id) => `/items/${id}` },
  scoped: { method: 'GET', path: () => '/scoped' },
};

function secretFor(ctx: Context, apiKey: string, previous: boolean): string {
  const secret = previous ? TEST_PREVIOUS_SECRET : TEST_SECRET;
  return ctx.config.secretMode === 'derived' ? protocol.deriveKeySecret(secret, apiKey) : secret;
}

function build(c: Case, ctx: Context): Built {
  const b = c.base;
  const now = Math.floor(Date.now() / 1000);
  const apiKey = b.role === 'unknown' ? b.unknownKey : ctx.keys[b.role];
  const route = ROUTES[b.route];
  const target = noHealth(route.path(b.id) + (b.query === null ? '' : `?${b.query}`));
  const body = b.route === 'post' ? Buffer.from(b.json, 'utf8') : undefined;
  const extra = b.shape === 'extra-header' ? { 'X-Request-Id': `req-${b.id}` } : undefined;
  const { headers: signed } = protocol.signRfc9421({
    apiKey,
    secret: secretFor(ctx, apiKey, b.previousSecret),
    method: route.method,
    host: ctx.t.host,
    target,
    contentType: body ? 'application/json' : undefined,
    body,
    createdSeconds: now,
    nonce: b.nonce,
    label: b.label,
    headers: extra,
    ...(b.shape === 'request-target' && {
      components: ['@method', '@authority', '@request-target', ...(body ? ['content-type', 'content-digest'] : [])],
    }),
    ...(b.shape === 'tag-and-expires' && { tag: 'fuzz', expiresSeconds: now + 120 }),
  });
  const headers: HeaderLines = [['Host', ctx.t.host]];
  if (body) headers.push(['Content-Type', 'application/json']);
  if (extra) headers.push(['X-Request-Id', extra['X-Request-Id']]);
  if (signed['content-digest']) headers.push(['Content-Digest', signed['content-digest']]);
  headers.push(['Signature-Input', signed['signature-input']], ['Signature', signed.signature]);
  const request: RawRequest = { method: route.method, target, headers, body };
  const baseView = signedView(request, body);
  const mac = Buffer.from(/:([^:]*):/.exec(signed.signature)![1], 'base64');
  const built: Built = {
    request,
    view: null,
    baseView,
    baseValid: b.role === 'orders' || b.role === 'billing',
    secretsAndMacs: [
      TEST_SECRET,
      TEST_PREVIOUS_SECRET,
      secretFor(ctx, apiKey, false),
      secretFor(ctx, apiKey, true),
      mac.toString('base64'),
      mac.toString('hex'),
    ],
    mayDropConnection: false,
  };

  let decoded: Buffer | undefined = body;
  for (const m of c.mutations) {
    switch (m.field) {
      case 'host': {
        const [name, port] = ctx.t.host.split(':');
        const values = [
          `localhost:${port}`,
          `${name}:${Number(port) + 1}`,
          name,
          `${ctx.t.host}.`,
          `${ctx.t.host.toUpperCase()}`,
          `other.internal:${port}`,
        ];
        const value = values[m.pick % values.length];
        if (m.pick % 7 === 6) headers.push(['Host', value]);
        else setHeader(headers, 'host', value);
        break;
      }
      case 'method':
        request.method = m.method;
        break;
      case 'target': {
        const p = 1 + (request.target.length > 1 ? m.at % (request.target.length - 1) : 0);
        request.target = noHealth(
          m.at % 2 === 0 ? request.target + m.suffix : request.target.slice(0, p) + m.suffix + request.target.slice(p),
        );
        break;
      }
      case 'body': {
        const bytes =
          m.kind === 'json'
            ? Buffer.from(m.text)
            : m.kind === 'bytes'
              ? Buffer.from(m.bytes)
              : m.kind === 'large'
                ? Buffer.from(`{"a":"${'x'.repeat(9_000 + m.bytes.length * 20)}"}`)
                : undefined;
        if (m.contentType >= 0) setHeader(headers, 'content-type', CONTENT_TYPES[m.contentType]);
        decoded = bytes;
        request.body = bytes;
        request.chunks = undefined;
        if (bytes && m.delivery === 'gzip') {
          setHeader(headers, 'content-encoding', 'gzip');
          request.body = gzipSync(bytes);
        } else if (bytes && m.delivery === 'chunked') {
          request.chunks = [bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)];
          request.body = undefined;
        }
        break;
      }
      case 'x-api-signature':
        headers.push(['X-API-Signature', `v1=${'0'.repeat(64)}`]);
        break;
      case 'neutral': {
        // Header-name case, surrounding whitespace, line order: none of them changes a signed part.
        const names = ['signature-input', 'signature', 'content-digest', 'host', 'x-request-id'];
        const i = headerIndex(headers, names[m.pick % names.length]);
        if (m.pattern % 3 === 0 && i >= 0) headers[i] = [headers[i][0].toUpperCase(), headers[i][1]];
        else if (m.pattern % 3 === 1 && i >= 0) headers[i] = [headers[i][0], ` \t${headers[i][1]}  `];
        else {
          let seed = m.seed;
          for (let k = headers.length - 1; k > 0; k--) {
            seed = (seed * 1103515245 + 12345) & 0x7fffffff;
            const j = seed % (k + 1);
            [headers[k], headers[j]] = [headers[j], headers[k]];
          }
        }
        break;
      }
      default: {
        const name = m.field === 'covered' ? (extra ? 'x-request-id' : 'content-type') : m.field;
        applyTextOp(headers, name, m.op, ctx, now, built);
      }
    }
  }
  built.view = signedView(request, decoded);
  return built;
}

// ---------------------------------------------------------------- checking answers

interface Tally {
  reached: number;
  skippedValid: number;
  byAnswer: Map<string, number>;
}

function problemWith(built: Built, outcome: Outcome, tally: Tally): string | undefined {
  if (outcome.kind === 'refused-by-client') return undefined;
  if (outcome.kind === 'no-answer') return built.mayDropConnection ? undefined : `no answer (${outcome.code}: ${outcome.message})`;
  tally.reached++;
  let code: string | undefined;
  try {
    code = JSON.parse(outcome.body.toString('utf8'))?.code;
  } catch {
    code = undefined;
  }
  const key = `${outcome.status}${code ? ` ${code}` : ''}`;
  tally.byAnswer.set(key, (tally.byAnswer.get(key) ?? 0) + 1);
  if (outcome.status < 400 || outcome.status > 499) return `answered ${outcome.status}: ${outcome.body.toString('utf8').slice(0, 300)}`;
  if (GUARD_STATUSES.has(outcome.status) || GUARD_STATUS.has(code ?? '')) {
    const problem = guardAnswerProblem(outcome, built.request.method.toUpperCase() === 'HEAD');
    if (problem) return `${outcome.status} from the guard, but ${problem}`;
  }
  const leaked = leakedIn(outcome, built.secretsAndMacs);
  return leaked ? `the answer contains a secret or MAC (${leaked.slice(0, 6)}...)` : undefined;
}

const describeRequest = (r: RawRequest) =>
  JSON.stringify({
    method: r.method,
    target: r.target.slice(0, 200),
    headers: r.headers.map(([n, v]) => [n, v.slice(0, 300)]),
    body: (r.body ?? Buffer.concat(r.chunks ?? [])).toString('latin1').slice(0, 200),
  });

// ---------------------------------------------------------------- the suite

let reachedInFile = 0;
const runsDone: string[] = [];

describe.each(CONFIGS)('fuzzed rfc9421 requests never get through ($adapter, $secretMode secrets, schemes $schemes)', (config) => {
  let ctx: Context;
  let client: WireClient;
  let runs = 0;
  const tally: Tally = { reached: 0, skippedValid: 0, byAnswer: new Map() };

  beforeAll(async () => {
    const t = await createTestApp({
      adapter: config.adapter,
      auth: {
        secrets: [TEST_SECRET, TEST_PREVIOUS_SECRET],
        secretMode: config.secretMode,
        schemes: config.schemes,
        rateLimit: false,
        ...(config.maxBodyBytes !== undefined && { maxBodyBytes: config.maxBodyBytes }),
      },
    });
    const orders = (await t.keys.create('orders')).apiKey;
    const billing = (await t.keys.create('billing-admin')).apiKey;
    const revoked = (await t.keys.create('orders')).apiKey;
    await t.keys.revoke(revoked);
    const expired = (await t.keys.create('billing-admin', { expiresAt: new Date(Date.now() - 3_600_000) })).apiKey;
    ctx = { t, config, keys: { orders, billing, revoked, expired } };
    client = new WireClient(t.baseUrl, 8);
  });
  afterAll(async () => {
    client?.close();
    await ctx?.t.close();
    reachedInFile += tally.reached;
    runsDone.push(`${config.adapter}/${config.secretMode}: ${runs} of ${RUNS_PER_CONFIG} runs, ${tally.reached} reached the server`);
    if (process.env.FUZZ_STATS) {
      const answers = [...tally.byAnswer]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ');
      console.log(
        `${config.adapter}/${config.secretMode}: reached ${tally.reached}, still valid (not sent) ${tally.skippedValid}\n${answers}`,
      );
    }
  });

  it(
    'answers every broken rfc9421 request with a 4xx from the guard or the framework, and runs no handler',
    async () => {
      const property = fc.asyncProperty(fc.array(fuzzCase, { minLength: 1, maxLength: 24, size: 'max' }), async (cases) => {
        runs++;
        ctx.t.log.calls.length = 0;
        const toSend = cases
          .map((c) => build(c, ctx))
          .filter((b) => {
            const stillValid = b.baseValid && b.view !== null && b.view === b.baseView;
            if (stillValid) tally.skippedValid++;
            return !stillValid;
          });
        const outcomes = await client.sendAll(toSend.map((b) => b.request));
        const problems: string[] = [];
        outcomes.forEach((outcome, i) => {
          const problem = problemWith(toSend[i], outcome, tally);
          if (problem) problems.push(`${problem}\n  request: ${describeRequest(toSend[i].request)}`);
        });
        if (ctx.t.log.calls.length > 0) problems.push(`handlers ran: ${ctx.t.log.calls.join(', ')}`);
        if (problems.length > 0) throw new Error(problems.join('\n'));
      });
      await fc.assert(property, {
        numRuns: RUNS_PER_CONFIG,
        seed: SEED ?? config.seed,
        path: FC_PATH,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      });
    },
    TIME_LIMIT_MS + 20_000,
  );
});

it(`sent at least ${MIN_REACHED} fuzzed rfc9421 requests that reached the server`, () => {
  if (reachedInFile < MIN_REACHED) throw new Error(`only ${reachedInFile} requests reached the server:\n${runsDone.join('\n')}`);
});
