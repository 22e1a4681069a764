import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
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
import { sha256Hex } from '../../lib/protocol/crypto.js';

/**
 * Property-based fuzzing of everything a caller controls: the X-API-* headers,
 * Host, method, target and body, on a real app (both adapters, both secret
 * modes). Most cases are a correctly signed request with one to three parts
 * broken (so the guard's deeper steps run); the rest are random junk.
 *
 * The properties, for every request that reaches the server:
 * - the answer is a 4xx: never a 2xx, never a 5xx (the stores work: a 503
 *   would be the guard's answer to an unexpected error);
 * - an answer from the guard (any 401, 403 or 429, and any answer with a
 *   `code` of ServiceAuthErrorCode, e.g. 413 body_too_large) is the JSON of
 *   PROTOCOL.md with one of its codes and the status of that code; any other
 *   4xx (400, 404, 413, 415, 417, 431, ...) comes from Node or the framework
 *   before the guard;
 * - no handler ever runs;
 * - no answer contains a secret or the MAC of the signed request.
 *
 * A case whose signed parts all survived its mutations (say, only header-name
 * case or whitespace changed) is a valid request, not a negative one: it is
 * recognised by a model of PROTOCOL.md (`signedView`) and not sent.
 *
 * Reproduce a failure with the seed and path fast-check prints:
 * `FC_SEED=<seed> FC_PATH=<path> NODE_OPTIONS=--experimental-vm-modules npx jest <this file> -t '<adapter>, <mode>'`.
 * More cases: `FUZZ_RUNS=<runs per config>`; answers per status and code: `FUZZ_STATS=1`.
 */

/** Each configuration has its own seed; FC_SEED replaces all of them (to replay the seed of a failure). */
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const FC_PATH = process.env.FC_PATH;
/**
 * Property runs per app configuration; each run sends a batch of 1 to 32
 * requests concurrently (about 16 on average, 8 connections): 220 runs make
 * about 3 450 cases, of which about 2 900 reach the server (the rest are
 * refused by node:http or are still valid requests).
 */
const RUNS_PER_CONFIG = Number(process.env.FUZZ_RUNS ?? 220);
/** Upper bound of one configuration's fuzzing, shrinking included (normally 3 to 5 s). */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 12_000);
/** What the whole file must have sent to the server (answered requests only). */
const MIN_REACHED = 10_000;

type Role = 'orders' | 'billing' | 'revoked' | 'expired' | 'unknown';
type Scheme = 'v0' | 'v1';
type Route = 'get' | 'post' | 'delete' | 'scoped';

interface Config {
  seed: number;
  adapter: AdapterName;
  secretMode: 'shared' | 'derived';
  /** With rfc9421 listed, a request with Signature-Input goes its way (fuzzed on its own in fuzzed-rfc9421.spec.ts). */
  schemes: Array<Scheme | 'rfc9421'>;
  /** The guard's body limit (default 1 MiB, above both parsers' own limits). */
  maxBodyBytes?: number;
}

const CONFIGS: Config[] = [
  { seed: 20261128, adapter: 'express', secretMode: 'shared', schemes: ['v1', 'v0'] },
  { seed: 20261129, adapter: 'express', secretMode: 'derived', schemes: ['v1', 'rfc9421'], maxBodyBytes: 8_192 },
  { seed: 20261130, adapter: 'fastify', secretMode: 'shared', schemes: ['v1', 'rfc9421'], maxBodyBytes: 8_192 },
  { seed: 20261131, adapter: 'fastify', secretMode: 'derived', schemes: ['v1', 'v0'] },
];

// ---------------------------------------------------------------- alphabets

const KEY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const HEX = '0123456789abcdef';
const DIGITS = '0123456789';
/** Characters node:http writes in a path and no router treats specially. */
const PATH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@";
const METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'SEARCH',
  'QUERY',
  'PURGE',
  'MKCOL',
  'FOO',
  'M-SEARCH',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=utf-16',
  'application/vnd.api+json',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  '',
  ';',
  'application/json, text/plain',
];

// ---------------------------------------------------------------- arbitraries

const char = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const fromAlphabet = (alphabet: string, min: number, max: number) => fc.string({ unit: char(alphabet), minLength: min, maxLength: max });

/** Header values a client might send: mostly printable, some latin1 and UTF-8 bytes, a few that node:http refuses. */
const junkValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 64 }) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 32 }),
  },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map(utf8AsWireString) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'null',
      'undefined',
      '__proto__',
      'constructor',
      '0',
      '-1',
      'NaN',
      'Infinity',
      '[]',
      '{}',
      '%00',
      '\\u0000',
      "' OR 1=1 --",
      '${jndi:x}',
    ),
  },
);

const oneChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: char(KEY_CHARS) },
  { weight: 2, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('\t', '\u0000', '\r', '\n', '\u007f', '\u0100', '\u{1F511}') },
);

type HeaderField = 'key' | 'timestamp' | 'nonce' | 'signature';
const HEADER_NAMES: Record<HeaderField, string> = {
  key: 'X-API-Key',
  timestamp: 'X-API-Timestamp',
  nonce: 'X-API-Nonce',
  signature: 'X-API-Signature',
};

type HeaderOp =
  | { op: 'remove' }
  | { op: 'empty'; value: string }
  | { op: 'replace'; value: string }
  | { op: 'substitute'; at: number; pick: number; upper: boolean }
  | { op: 'insert'; at: number; char: string }
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; same: boolean; otherValue: string; nameCase: number }
  | { op: 'rename'; name: string }
  | { op: 'boundary'; pick: number }
  | { op: 'long'; length: number }
  | { op: 'oversize'; length: number }
  | { op: 'affix'; prefix: string; suffix: string }
  | { op: 'homoglyph'; at: number; pick: number };

const headerOp: fc.Arbitrary<HeaderOp> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ op: 'remove' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '  \t ').map((value) => ({ op: 'empty' as const, value })) },
  { weight: 4, arbitrary: junkValue.map((value) => ({ op: 'replace' as const, value })) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('substitute' as const), at: fc.nat(), pick: fc.nat(), upper: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), char: oneChar }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('duplicate' as const), same: fc.boolean(), otherValue: junkValue, nameCase: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        'X-API-Keys',
        'X-API_Key',
        'X_API_KEY',
        'XAPI-Key',
        'X-API-Key-',
        'X-Api-Timestamp2',
        'X-API-Sig',
        'Signature',
        'Signature-Input',
        'X-API-Nonce ',
        'X-API-Key\u00e9',
      )
      .map((name) => ({ op: 'rename' as const, name })),
  },
  { weight: 6, arbitrary: fc.nat().map((pick) => ({ op: 'boundary' as const, pick })) },
  { weight: 1, arbitrary: fc.integer({ min: 129, max: 8_000 }).map((length) => ({ op: 'long' as const, length })) },
  { weight: 1, arbitrary: fc.integer({ min: 16_500, max: 40_000 }).map((length) => ({ op: 'oversize' as const, length })) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('affix' as const),
      prefix: fc.oneof(fc.constant(''), junkValue),
      suffix: fc.oneof(fc.constant(''), junkValue),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('homoglyph' as const), at: fc.nat(), pick: fc.nat() }) },
);

type HostOp =
  | { op: 'remove' }
  | { op: 'value'; pick: number }
  | { op: 'replace'; value: string }
  | { op: 'duplicate'; same: boolean }
  | { op: 'oversize'; length: number };

const hostOp: fc.Arbitrary<HostOp> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ op: 'remove' as const }) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ op: 'value' as const, pick })) },
  { weight: 2, arbitrary: junkValue.map((value) => ({ op: 'replace' as const, value })) },
  { weight: 2, arbitrary: fc.boolean().map((same) => ({ op: 'duplicate' as const, same })) },
  { weight: 1, arbitrary: fc.integer({ min: 16_500, max: 30_000 }).map((length) => ({ op: 'oversize' as const, length })) },
);

type TargetOp =
  | { op: 'substitute'; at: number; pick: number }
  | { op: 'append'; suffix: string }
  | { op: 'encode'; at: number; lower: boolean }
  | { op: 'case'; at: number }
  | { op: 'prefix'; pick: number }
  | { op: 'replace'; value: string }
  | { op: 'long'; length: number }
  | { op: 'oversize'; length: number };

const targetOp: fc.Arbitrary<TargetOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('substitute' as const), at: fc.nat(), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom('?', '?x=1', '&x=1', '&', '/', '//', '#f', '%00', '%', '%zz', ';a', '/.', '/..', '?a=1&a=2', '%2F', '%0d%0a'),
        fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }).map(utf8AsWireString),
      )
      .map((suffix) => ({ op: 'append' as const, suffix })),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('encode' as const), at: fc.nat(), lower: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('case' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ op: 'prefix' as const, pick })) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 40 })
      .map((value) => ({ op: 'replace' as const, value })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 8_000 }).map((length) => ({ op: 'long' as const, length })) },
  { weight: 1, arbitrary: fc.integer({ min: 17_000, max: 40_000 }).map((length) => ({ op: 'oversize' as const, length })) },
);

type BodyContent =
  | { kind: 'json'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'invalid-json'; text: string }
  | { kind: 'none' }
  | { kind: 'large'; size: number }
  | { kind: 'huge'; size: number };

const bodyContent: fc.Arbitrary<BodyContent> = fc.oneof(
  { weight: 4, arbitrary: fc.json({ maxDepth: 3 }).map((text) => ({ kind: 'json' as const, text })) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          '{',
          '{"a":',
          '[1,]',
          'nul',
          '{"a":1}}',
          "{'a':1}",
          '{"__proto__":{"x":1}}',
          '{"a":1,"a":2}',
          '\u00ef\u00bb\u00bf{}',
          '1e999999',
          '"\\ud800"',
        ),
        fc.string({ maxLength: 200 }),
        fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
      )
      .map((text) => ({ kind: 'invalid-json' as const, text })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  // Over the guard's maxBodyBytes in two configurations, under the parsers' limits (Express 100 kB, Fastify 1 MiB).
  { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 90_000 }).map((size) => ({ kind: 'large' as const, size })) },
  // Over the parsers' limits.
  { weight: 1, arbitrary: fc.integer({ min: 110_000, max: 1_200_000 }).map((size) => ({ kind: 'huge' as const, size })) },
);

interface BodyOp {
  content: BodyContent;
  /** Index into CONTENT_TYPES, or -1: leave the Content-Type as it is, -2: none. */
  contentType: number;
  delivery: 'length' | 'chunked' | 'gzip' | 'bogus-encoding';
  chunkSeed: number;
}

const bodyOp: fc.Arbitrary<BodyOp> = fc.record({
  content: bodyContent,
  contentType: fc.oneof(
    { weight: 3, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.constant(-2) },
    { weight: 3, arbitrary: fc.nat({ max: CONTENT_TYPES.length - 1 }) },
  ),
  delivery: fc.constantFrom('length', 'length', 'length', 'chunked', 'gzip', 'bogus-encoding'),
  chunkSeed: fc.nat(),
});

/** Changes that leave every signed part as it was: alone they keep a valid request valid. */
type NeutralOp =
  | { op: 'name-case'; pick: number; pattern: number }
  | { op: 'pad'; pick: number; left: string; right: string }
  | { op: 'upper-hex' }
  | { op: 'upper-host' }
  | { op: 'shuffle'; seed: number }
  | { op: 'extra'; name: string; value: string }
  | { op: 'content-type'; pick: number }
  | { op: 'nonce-for-v0'; nonce: string };

const neutralOp: fc.Arbitrary<NeutralOp> = fc.oneof(
  fc.record({ op: fc.constant('name-case' as const), pick: fc.nat(), pattern: fc.nat() }),
  fc.record({ op: fc.constant('pad' as const), pick: fc.nat(), left: fromAlphabet(' \t', 0, 3), right: fromAlphabet(' \t', 0, 3) }),
  fc.constant({ op: 'upper-hex' as const }),
  fc.constant({ op: 'upper-host' as const }),
  fc.record({ op: fc.constant('shuffle' as const), seed: fc.nat() }),
  fc.record({
    op: fc.constant('extra' as const),
    name: fc.constantFrom(
      'X-Forwarded-For',
      'X-Real-IP',
      'X-API-Server-Time',
      'X-API-Version',
      'Authorization',
      'Cookie',
      'Forwarded',
      'X-HTTP-Method-Override',
      'Accept',
      'Connection',
    ),
    value: fc.oneof(junkValue, fc.constantFrom('close', 'DELETE', '127.0.0.1, 10.0.0.1', 'Bearer x', 'application/json')),
  }),
  fc.record({ op: fc.constant('content-type' as const), pick: fc.nat({ max: CONTENT_TYPES.length - 1 }) }),
  fc.record({ op: fc.constant('nonce-for-v0' as const), nonce: fromAlphabet(KEY_CHARS, 16, 40) }),
);

type Mutation =
  | { field: HeaderField; op: HeaderOp }
  | { field: 'host'; op: HostOp }
  | { field: 'method'; method: string }
  | { field: 'target'; op: TargetOp }
  | { field: 'body'; op: BodyOp }
  | { field: 'neutral'; op: NeutralOp };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: headerOp.map((op) => ({ field: 'key' as const, op })) },
  { weight: 4, arbitrary: headerOp.map((op) => ({ field: 'timestamp' as const, op })) },
  { weight: 3, arbitrary: headerOp.map((op) => ({ field: 'nonce' as const, op })) },
  { weight: 5, arbitrary: headerOp.map((op) => ({ field: 'signature' as const, op })) },
  { weight: 3, arbitrary: hostOp.map((op) => ({ field: 'host' as const, op })) },
  { weight: 2, arbitrary: fc.constantFrom(...METHODS).map((method) => ({ field: 'method' as const, method })) },
  { weight: 3, arbitrary: targetOp.map((op) => ({ field: 'target' as const, op })) },
  { weight: 3, arbitrary: bodyOp.map((op) => ({ field: 'body' as const, op })) },
  { weight: 3, arbitrary: neutralOp.map((op) => ({ field: 'neutral' as const, op })) },
);

/** A path segment that every router takes as one `:id`. */
const pathSegment = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: char('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~') },
    { weight: 1, arbitrary: fc.constantFrom('%20', '%41', '%e2%9c%93', '%F0%9F%94%91', '.', '%2E') },
  ),
  minLength: 1,
  maxLength: 10,
});
const queryString = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: char('abcxyzXYZ0129-._~=&') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '%20',
        '+',
        '%2B',
        '%26',
        '%3D',
        '%F0%9F%94%91',
        '%00',
        '%2f',
        ',',
        ';',
        ':',
        '@',
        '/',
        '?',
        '!',
        '*',
        "'",
      ),
    },
  ),
  maxLength: 30,
});

interface Base {
  route: Route;
  id: string;
  query: string | null;
  role: Role;
  unknownKey: string;
  scheme: Scheme;
  previousSecret: boolean;
  nonce: string;
  json: string;
}

const base: fc.Arbitrary<Base> = fc.record({
  route: fc.constantFrom<Route>('get', 'get', 'post', 'post', 'delete', 'scoped'),
  id: pathSegment,
  query: fc.option(queryString, { freq: 2 }),
  role: fc.constantFrom<Role>('orders', 'orders', 'orders', 'billing', 'billing', 'revoked', 'expired', 'unknown'),
  unknownKey: fromAlphabet(KEY_CHARS, 16, 128),
  scheme: fc.constantFrom<Scheme>('v1', 'v1', 'v1', 'v0'),
  previousSecret: fc.boolean(),
  nonce: fromAlphabet(KEY_CHARS, 16, 128),
  json: fc.oneof(
    fc.json({ maxDepth: 3 }).map((text) => `{"v":${text}}`),
    fc.constant('{"a":1}'),
    fc.constant('[]'),
  ),
});

interface JunkCase {
  kind: 'junk';
  method: string;
  target: string;
  host: string | null;
  headers: Array<[string, string]>;
  body: BodyContent;
  contentType: number;
}

const junkHeaderName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'X-API-Key',
      'x-api-key',
      'X-API-Timestamp',
      'X-API-Nonce',
      'X-API-Signature',
      'x-api-signature',
      'Content-Type',
      'Content-Length',
      'Transfer-Encoding',
      'Content-Encoding',
      'Host',
      'Expect',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom('Signature-Input', 'signature-input', 'Signature', 'Content-Digest') },
  { weight: 2, arbitrary: fromAlphabet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&'*+.^`|~", 1, 24) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
);

const junkCase: fc.Arbitrary<JunkCase> = fc.record({
  kind: fc.constant('junk' as const),
  method: fc.constantFrom(...METHODS),
  target: fc.oneof(
    fc
      .tuple(fc.constantFrom('/items/', '/items', '/scoped', '/', '/ITEMS/', '*', 'http://x/items/'), pathSegment, fc.option(queryString))
      .map(([p, s, q]) => p + s + (q === null ? '' : '?' + q)),
    fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((s) => '/' + s),
  ),
  host: fc.option(fc.oneof(fc.constant('127.0.0.1'), junkValue), { freq: 8 }),
  headers: fc.array(
    fc.tuple(
      junkHeaderName,
      fc.oneof(
        junkValue,
        fromAlphabet(KEY_CHARS, 16, 130),
        fromAlphabet(DIGITS, 1, 13),
        fromAlphabet(HEX, 60, 67).map((h) => 'v1=' + h),
        // Signature-Input and Signature values of the right shape (the MAC is random).
        fromAlphabet(KEY_CHARS, 16, 40).map(
          (key) => `sig1=("@method" "@authority" "@path" "@query");created=${Math.floor(Date.now() / 1000)};keyid="${key}";nonce="${key}"`,
        ),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((mac) => `sig1=:${Buffer.from(mac).toString('base64')}:`),
      ),
    ),
    { maxLength: 8 },
  ),
  body: bodyContent,
  contentType: fc.nat({ max: CONTENT_TYPES.length - 1 }),
});

interface NearCase {
  kind: 'near';
  base: Base;
  mutations: Mutation[];
}

const nearCase: fc.Arbitrary<NearCase> = fc.record({
  kind: fc.constant('near' as const),
  base,
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
});

type Case = NearCase | JunkCase;
const fuzzCase: fc.Arbitrary<Case> = fc.oneof({ weight: 5, arbitrary: nearCase }, { weight: 1, arbitrary: junkCase });

// ---------------------------------------------------------------- building requests

interface Context {
  t: TestApp;
  config: Config;
  keys: Record<Exclude<Role, 'unknown'>, string>;
}

interface Built {
  request: RawRequest;
  /** The same request as a model of PROTOCOL.md reads its signed parts; `null` when they cannot be valid. */
  view: string | null;
  baseView: string | null;
  /** Whether the unmutated request was valid (known active key, accepted scheme). */
  baseValid: boolean;
  /** Strings no answer may contain: the secrets and the MAC of the original request. */
  secretsAndMacs: string[];
  /** Node or the framework may drop the connection without an answer (oversized request heads or bodies). */
  mayDropConnection: boolean;
}

function bodyBytes(content: BodyContent): Buffer | undefined {
  switch (content.kind) {
    case 'json':
    case 'invalid-json':
      return Buffer.from(content.text, 'utf8');
    case 'bytes':
      return Buffer.from(content.bytes);
    case 'none':
      return undefined;
    case 'large':
    case 'huge':
      return Buffer.from(`{"a":"${'x'.repeat(content.size)}"}`);
  }
}

function headerIndex(headers: HeaderLines, name: string): number {
  const lower = name.toLowerCase();
  return headers.findIndex(([n]) => n.toLowerCase() === lower);
}

function setHeader(headers: HeaderLines, name: string, value: string | undefined): void {
  const i = headerIndex(headers, name);
  if (value === undefined) {
    if (i >= 0) headers.splice(i, 1);
  } else if (i >= 0) {
    headers[i] = [headers[i][0], value];
  } else {
    headers.push([name, value]);
  }
}

function nameInCase(name: string, pattern: number): string {
  return name
    .split('')
    .map((c, i) => ((pattern >> (i % 30)) & 1 ? c.toUpperCase() : c.toLowerCase()))
    .join('');
}

const HOMOGLYPHS = [
  '\u0430',
  '\u0435',
  '\u043e',
  '\u0440',
  '\u0441',
  '\u0445',
  '\u0391',
  '\u0392',
  '\uff10',
  '\uff11',
  '\u2010',
  '\u00a0',
  '\u200b',
  '\ufeff',
  '\u0301',
];

/** Values at and around the bounds of each header's form (PROTOCOL.md, Headers). */
function boundaryValues(field: HeaderField, ctx: Context, current: string, now: number): string[] {
  const keyOf = (n: number) => KEY_CHARS.repeat(3).slice(0, n);
  const hex = current.replace(/^v1=/, '');
  switch (field) {
    case 'key':
      return [
        keyOf(15),
        keyOf(16),
        keyOf(128),
        keyOf(129),
        ctx.keys.orders === current ? ctx.keys.billing : ctx.keys.orders,
        ctx.keys.revoked,
        current.toUpperCase(),
        current.toLowerCase(),
        current + current,
        current.slice(0, 16),
        current.slice(1),
        current + '=',
        current + '.',
        '_'.repeat(16),
        '-'.repeat(128),
        '__proto__'.repeat(2),
        'constructor'.padEnd(16, '_'),
      ];
    case 'timestamp':
      return [
        String(now - 301),
        String(now + 301),
        String(now - 300 - 3600),
        String(now + 1),
        String(now - 1),
        String(now - 300 + 60),
        '0',
        '1',
        '999999999999',
        '9999999999999',
        String(Date.now()),
        '-' + current,
        '+' + current,
        current + '.0',
        '0' + current,
        '00' + current,
        current.padStart(13, '0'),
        '1e10',
        '0x' + Number(current).toString(16),
        utf8AsWireString(current.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)))),
        current + ' ' + current,
        current + ',' + current,
      ];
    case 'nonce':
      return [
        keyOf(15),
        keyOf(16),
        keyOf(128),
        keyOf(129),
        current + '==',
        current.replace(/[-_]/g, '+') + '/',
        'a'.repeat(16),
        current.toUpperCase(),
        current.slice(0, 15),
        current + current.slice(0, 1),
      ];
    case 'signature':
      return [
        'v1=' + hex.slice(1),
        'v1=' + hex + '0',
        hex.slice(1),
        hex + 'a',
        hex,
        'v1=' + hex,
        'v1' + hex,
        'v1:' + hex,
        'V1=' + hex,
        'v2=' + hex,
        'v0=' + hex,
        'v1=v1=' + hex,
        'v1= ' + hex,
        'v1=' + '0'.repeat(64),
        'v1=' + 'f'.repeat(64),
        'sha256=' + hex,
        'v1=' + Buffer.from(hex, 'hex').toString('base64'),
        'v1=' + Buffer.from(hex, 'hex').toString('base64url'),
        'v1=',
        'v1=' + hex.slice(0, 32),
        'v1=' + hex + hex,
        'v1=' + 'g'.repeat(64),
        'v1=' + hex.replace(/[a-f]/, 'g'),
        'v1=' + hex + ',v1=' + hex,
      ];
  }
}

function alphabetFor(field: HeaderField): string {
  return field === 'timestamp' ? DIGITS : field === 'signature' ? HEX : KEY_CHARS;
}

/** Another character of `alphabet` than `c` (hex digits: another value, not another case). */
function otherChar(alphabet: string, c: string, pick: number): string {
  const i = alphabet.indexOf(c.toLowerCase() === c || alphabet !== HEX ? c : c.toLowerCase());
  const from = i < 0 ? 0 : i;
  return alphabet[(from + 1 + (pick % (alphabet.length - 1))) % alphabet.length];
}

function applyHeaderOp(
  headers: HeaderLines,
  field: HeaderField,
  op: HeaderOp,
  ctx: Context,
  now: number,
  built: { mayDropConnection: boolean },
): void {
  const name = HEADER_NAMES[field];
  const i = headerIndex(headers, name);
  const current = i >= 0 ? headers[i][1] : '';
  const at = (n: number, length: number) => (length === 0 ? 0 : n % length);
  const set = (value: string | undefined) => setHeader(headers, name, value);
  switch (op.op) {
    case 'remove':
      return set(undefined);
    case 'empty':
      return set(op.value);
    case 'replace':
      return set(op.value);
    case 'substitute': {
      // The signature's hex digits, the other headers' characters.
      const start = field === 'signature' && current.startsWith('v1=') ? 3 : 0;
      if (current.length <= start) return set(current + 'A');
      const p = start + at(op.at, current.length - start);
      let c = otherChar(alphabetFor(field), current[p], op.pick);
      if (op.upper && field === 'signature') c = c.toUpperCase();
      return set(current.slice(0, p) + c + current.slice(p + 1));
    }
    case 'insert': {
      const p = at(op.at, current.length + 1);
      return set(current.slice(0, p) + op.char + current.slice(p));
    }
    case 'delete': {
      const p = at(op.at, current.length);
      return set(current.slice(0, p) + current.slice(p + 1));
    }
    case 'duplicate': {
      const second = op.same ? current : op.otherValue;
      headers.push([nameInCase(name, op.nameCase), second]);
      return;
    }
    case 'rename':
      if (i >= 0) headers[i] = [op.name, current];
      return;
    case 'boundary': {
      const values = boundaryValues(field, ctx, current, now);
      return set(values[op.pick % values.length]);
    }
    case 'long':
      return set(
        alphabetFor(field)
          .repeat(Math.ceil(op.length / 10))
          .slice(0, op.length),
      );
    case 'oversize':
      built.mayDropConnection = true;
      return set(
        alphabetFor(field)
          .repeat(Math.ceil(op.length / 10))
          .slice(0, op.length),
      );
    case 'affix':
      return set(op.prefix + current + op.suffix);
    case 'homoglyph': {
      const p = at(op.at, current.length);
      return set(current.slice(0, p) + utf8AsWireString(HOMOGLYPHS[op.pick % HOMOGLYPHS.length]) + current.slice(p + 1));
    }
  }
}

function hostValues(host: string): string[] {
  const [name, port] = host.split(':');
  return [
    name,
    `localhost:${port}`,
    `${name}:${Number(port) + 1}`,
    `${name}:0${port}`,
    `${name}.:${port}`,
    `[::1]:${port}`,
    `${host}:${port}`,
    `${host}@evil.example`,
    `evil.example`,
    `evil.example:${port}`,
    `${name}:${port}/x`,
    `${name}:`,
    `:${port}`,
    utf8AsWireString(`ℍost.example:${port}`),
    `xn--hst-x0a.example:${port}`,
    `${host},${host}`,
    `${host} ${host}`,
  ];
}

function applyHostOp(headers: HeaderLines, op: HostOp, ctx: Context, built: { mayDropConnection: boolean }): void {
  const i = headerIndex(headers, 'host');
  const current = i >= 0 ? headers[i][1] : ctx.t.host;
  switch (op.op) {
    case 'remove':
      return setHeader(headers, 'host', undefined);
    case 'value': {
      const values = hostValues(ctx.t.host);
      return setHeader(headers, 'host', values[op.pick % values.length]);
    }
    case 'replace':
      return setHeader(headers, 'host', op.value);
    case 'duplicate':
      headers.push(['Host', op.same ? current : 'other-service:80']);
      return;
    case 'oversize':
      built.mayDropConnection = true;
      return setHeader(headers, 'host', 'h'.repeat(op.length) + '.example');
  }
}

const TARGET_PREFIXES = (host: string) => [
  '//',
  '/./',
  '/items/../',
  `http://${host}`,
  `HTTP://${host}`,
  `http://evil.example`,
  '/scoped/..',
  '/%2e/',
  '\\',
];

function noHealth(target: string): string {
  // GET /health is public and runs its handler: keep fuzzed targets off it
  // (Express matches it case-insensitively and with a trailing slash, Fastify percent-decoded).
  let decoded = target;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    // keep the raw form
  }
  return /health/i.test(decoded) || /health/i.test(target) ? target.replace(/h/gi, 'k') : target;
}

function applyTargetOp(target: string, op: TargetOp, ctx: Context, built: { mayDropConnection: boolean }): string {
  const at = (n: number) => 1 + (target.length > 1 ? n % (target.length - 1) : 0);
  switch (op.op) {
    case 'substitute': {
      const p = at(op.at);
      return target.slice(0, p) + otherChar(PATH_CHARS, target[p] ?? 'a', op.pick) + target.slice(p + 1);
    }
    case 'append':
      return target + op.suffix;
    case 'encode': {
      const p = at(op.at);
      const hex = (target.charCodeAt(p) || 0x41).toString(16).padStart(2, '0');
      return target.slice(0, p) + '%' + (op.lower ? hex.toLowerCase() : hex.toUpperCase()) + target.slice(p + 1);
    }
    case 'case': {
      const letters = [...target.matchAll(/[A-Za-z]/g)].map((m) => m.index);
      if (letters.length === 0) return target + 'X';
      const p = letters[op.at % letters.length];
      const c = target[p];
      return target.slice(0, p) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + target.slice(p + 1);
    }
    case 'prefix': {
      const prefixes = TARGET_PREFIXES(ctx.t.host);
      const prefix = prefixes[op.pick % prefixes.length];
      return prefix.endsWith('/') ? prefix + target.slice(1) : prefix + target;
    }
    case 'replace':
      return op.value;
    case 'long':
      return target + (target.includes('?') ? '&' : '?') + 'q=' + 'a'.repeat(op.length);
    case 'oversize':
      built.mayDropConnection = true;
      return target + (target.includes('?') ? '&' : '?') + 'q=' + 'a'.repeat(op.length);
  }
}

interface WireBody {
  bytes: Buffer | undefined;
  /** The body as the server sees it after Content-Encoding, when that is certain. */
  decoded: Buffer | undefined | 'unknown';
  chunks?: Buffer[];
}

function applyBodyOp(headers: HeaderLines, op: BodyOp): WireBody {
  const bytes = bodyBytes(op.content);
  if (op.contentType === -2) setHeader(headers, 'content-type', undefined);
  else if (op.contentType >= 0) setHeader(headers, 'content-type', CONTENT_TYPES[op.contentType]);
  if (bytes === undefined) return { bytes: undefined, decoded: undefined };
  switch (op.delivery) {
    case 'length':
      return { bytes, decoded: bytes };
    case 'chunked': {
      const cut = bytes.length === 0 ? 0 : op.chunkSeed % bytes.length;
      return { bytes, decoded: bytes, chunks: [bytes.subarray(0, cut), bytes.subarray(cut)] };
    }
    case 'gzip':
      setHeader(headers, 'content-encoding', 'gzip');
      return { bytes: gzipSync(bytes), decoded: bytes };
    case 'bogus-encoding':
      // Bytes that are not in the encoding named: what the server makes of them is unknown, unless there are none.
      setHeader(headers, 'content-encoding', ['gzip', 'deflate', 'br', 'x-unknown', 'gzip, gzip', 'identity, gzip'][op.chunkSeed % 6]);
      return { bytes, decoded: bytes.length === 0 ? bytes : 'unknown' };
  }
}

function applyNeutralOp(headers: HeaderLines, op: NeutralOp, scheme: Scheme): void {
  const protocolHeaders = ['host', 'x-api-key', 'x-api-timestamp', 'x-api-nonce', 'x-api-signature'];
  switch (op.op) {
    case 'name-case': {
      const name = protocolHeaders[op.pick % protocolHeaders.length];
      const i = headerIndex(headers, name);
      if (i >= 0) headers[i] = [nameInCase(headers[i][0], op.pattern), headers[i][1]];
      return;
    }
    case 'pad': {
      const name = protocolHeaders[op.pick % protocolHeaders.length];
      const i = headerIndex(headers, name);
      if (i >= 0) headers[i] = [headers[i][0], op.left + headers[i][1] + op.right];
      return;
    }
    case 'upper-hex': {
      const i = headerIndex(headers, 'x-api-signature');
      if (i >= 0)
        headers[i] = [
          headers[i][0],
          headers[i][1].replace(/^(v1=)?([0-9a-f]{64})$/, (_m, p: string | undefined, h: string) => (p ?? '') + h.toUpperCase()),
        ];
      return;
    }
    case 'upper-host': {
      const i = headerIndex(headers, 'host');
      if (i >= 0) headers[i] = [headers[i][0], headers[i][1].toUpperCase()];
      return;
    }
    case 'shuffle': {
      let seed = op.seed;
      for (let i = headers.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const j = seed % (i + 1);
        [headers[i], headers[j]] = [headers[j], headers[i]];
      }
      return;
    }
    case 'extra':
      headers.push([op.name, op.value]);
      return;
    case 'content-type':
      if (headerIndex(headers, 'content-type') >= 0) setHeader(headers, 'content-type', CONTENT_TYPES[op.pick]);
      return;
    case 'nonce-for-v0':
      if (scheme === 'v0' && headerIndex(headers, 'x-api-nonce') < 0) headers.push(['X-API-Nonce', op.nonce]);
      return;
  }
}

/** JS `trim()`, as the guard reads header values (HTTP strips only spaces and tabs; the guard also strips e.g. U+00A0). */
const trimmed = (value: string) => value.trim();

/**
 * The signed parts of a request as PROTOCOL.md defines them, as one string;
 * `null` when a protocol header is missing or repeated (never valid).
 * v0 signs only the key and the timestamp; v1 also the nonce, method, host,
 * target and body.
 */
function signedView(request: RawRequest, decodedBody: Buffer | undefined | 'unknown', scheme: Scheme): string | null {
  const single = (name: string): string | null => {
    const values = request.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
    return values.length === 1 ? trimmed(values[0]) : null;
  };
  const hosts = request.headers.filter(([n]) => n.toLowerCase() === 'host');
  if (hosts.length === 0) return null; // HTTP/1.1 without Host: Node answers 400
  const key = single('x-api-key');
  const timestamp = single('x-api-timestamp');
  const signature = single('x-api-signature');
  if (key === null || timestamp === null || signature === null) return null;
  const mac = /^(v1=)?([0-9A-Fa-f]{64})$/.exec(signature);
  const sig = mac ? (mac[1] ?? '') + mac[2].toLowerCase() : signature;
  const parts = [key, timestamp, sig];
  if (scheme === 'v1') {
    const nonce = single('x-api-nonce');
    const host = single('host');
    if (nonce === null || host === null || decodedBody === 'unknown') return null;
    parts.push(nonce, request.method.toUpperCase(), host.toLowerCase(), request.target || '/', sha256Hex(decodedBody));
  }
  return JSON.stringify(parts);
}

function secretFor(ctx: Context, apiKey: string, previous: boolean): string {
  const secret = previous ? TEST_PREVIOUS_SECRET : TEST_SECRET;
  return ctx.config.secretMode === 'derived' ? protocol.deriveKeySecret(secret, apiKey) : secret;
}

const ROUTES: Record<Route, { method: string; path: (id: string) => string }> = {
  get: { method: 'GET', path: (id) => `/items/${id}` },
  post: { method: 'POST', path: () => '/items' },
  delete: { method: 'DELETE', path: (id) => `/items/${id}` },
  scoped: { method: 'GET', path: () => '/scoped' },
};

function buildNear(c: NearCase, ctx: Context): Built {
  const b = c.base;
  const now = Math.floor(Date.now() / 1000);
  const apiKey = b.role === 'unknown' ? b.unknownKey : ctx.keys[b.role];
  const route = ROUTES[b.route];
  const target = noHealth(route.path(b.id) + (b.query === null ? '' : '?' + b.query));
  const body = b.route === 'post' ? Buffer.from(b.json, 'utf8') : undefined;
  const secret = secretFor(ctx, apiKey, b.previousSecret);
  const signed = protocol.signRequest({
    scheme: b.scheme,
    apiKey,
    secret,
    timestampSeconds: now,
    nonce: b.scheme === 'v1' ? b.nonce : undefined,
    method: route.method,
    host: ctx.t.host,
    target,
    body,
  });
  const headers: HeaderLines = [
    ['Host', ctx.t.host],
    ['X-API-Key', signed['x-api-key']],
    ['X-API-Timestamp', signed['x-api-timestamp']],
    ...(b.scheme === 'v1' ? [['X-API-Nonce', signed['x-api-nonce']] as [string, string]] : []),
    ['X-API-Signature', signed['x-api-signature']],
    ...(body ? [['Content-Type', 'application/json'] as [string, string]] : []),
  ];
  const request: RawRequest = { method: route.method, target, headers, body };
  const baseView = signedView(request, body, b.scheme);

  const flags = { mayDropConnection: false };
  let decoded: Buffer | undefined | 'unknown' = body;
  for (const m of c.mutations) {
    switch (m.field) {
      case 'host':
        applyHostOp(request.headers, m.op, ctx, flags);
        break;
      case 'method':
        request.method = m.method;
        break;
      case 'target':
        request.target = noHealth(applyTargetOp(request.target, m.op, ctx, flags));
        break;
      case 'body': {
        const wireBody = applyBodyOp(request.headers, m.op);
        request.body = wireBody.bytes;
        request.chunks = wireBody.chunks;
        decoded = wireBody.decoded;
        if (m.op.content.kind === 'huge') flags.mayDropConnection = true;
        break;
      }
      case 'neutral':
        applyNeutralOp(request.headers, m.op, b.scheme);
        break;
      default:
        applyHeaderOp(request.headers, m.field, m.op, ctx, now, flags);
    }
  }
  if (request.chunks) request.body = undefined;

  const keyValid = b.role === 'orders' || b.role === 'billing';
  return {
    request,
    view: signedView(request, decoded, b.scheme),
    baseView,
    baseValid: keyValid && ctx.config.schemes.includes(b.scheme),
    secretsAndMacs: [...allSecrets(ctx, apiKey), signed['x-api-signature'].replace(/^v1=/, '')],
    mayDropConnection: flags.mayDropConnection,
  };
}

function buildJunk(c: JunkCase, ctx: Context): Built {
  const headers: HeaderLines = [];
  if (c.host !== null) headers.push(['Host', c.host === '127.0.0.1' ? ctx.t.host : c.host]);
  for (const [name, value] of c.headers) {
    // Content-Length and Transfer-Encoding are set from the body (a wrong one would desynchronise the keep-alive connection).
    if (/^(content-length|transfer-encoding)$/i.test(name)) continue;
    headers.push([name, value]);
  }
  const body = bodyBytes(c.body);
  if (body !== undefined && headerIndex(headers, 'content-type') < 0) headers.push(['Content-Type', CONTENT_TYPES[c.contentType]]);
  return {
    request: { method: c.method, target: noHealth(c.target), headers, body },
    view: null,
    baseView: null,
    baseValid: false,
    secretsAndMacs: allSecrets(ctx, ctx.keys.orders),
    mayDropConnection: c.body.kind === 'huge' || headers.some(([, v]) => v.length > 8000),
  };
}

function allSecrets(ctx: Context, apiKey: string): string[] {
  return [TEST_SECRET, TEST_PREVIOUS_SECRET, secretFor(ctx, apiKey, false), secretFor(ctx, apiKey, true)];
}

function build(c: Case, ctx: Context): Built {
  return c.kind === 'near' ? buildNear(c, ctx) : buildJunk(c, ctx);
}

/** A case that is still a valid request: every signed part survived the mutations. */
function isStillValid(built: Built): boolean {
  return built.baseValid && built.view !== null && built.view === built.baseView;
}

// ---------------------------------------------------------------- checking answers

interface Tally {
  reached: number;
  refusedByClient: number;
  dropped: number;
  skippedValid: number;
  byAnswer: Map<string, number>;
}

function describeRequest(r: RawRequest): string {
  const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}...(${s.length} chars)` : s);
  const body = r.chunks ? Buffer.concat(r.chunks) : r.body;
  return JSON.stringify({
    method: r.method,
    target: clip(r.target),
    headers: r.headers.map(([n, v]) => [n, clip(v)]),
    body: body === undefined ? undefined : clip(body.toString('latin1')),
    chunked: r.chunks !== undefined,
  });
}

/** What is wrong with the outcome of one request, or `undefined`. Counts it in `tally`. */
function problemWith(built: Built, outcome: Outcome, tally: Tally): string | undefined {
  if (outcome.kind === 'refused-by-client') {
    tally.refusedByClient++;
    return undefined;
  }
  if (outcome.kind === 'no-answer') {
    tally.dropped++;
    return built.mayDropConnection ? undefined : `no answer (${outcome.code}: ${outcome.message})`;
  }
  tally.reached++;
  const res = outcome;
  let code: string | undefined;
  if (res.body.length > 0 && /json/.test(String(res.headers['content-type']))) {
    try {
      code = JSON.parse(res.body.toString('utf8'))?.code;
    } catch {
      // not JSON: checked below when it matters
    }
  }
  const key = `${res.status}${code ? ' ' + code : ''}`;
  tally.byAnswer.set(key, (tally.byAnswer.get(key) ?? 0) + 1);

  if (res.status < 400 || res.status > 499) return `answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`;
  const isHead = built.request.method.toUpperCase() === 'HEAD';
  if (GUARD_STATUSES.has(res.status) || GUARD_STATUS.has(code ?? '')) {
    const problem = guardAnswerProblem(res, isHead);
    if (problem) return `${res.status} from the guard, but ${problem}: ${res.body.toString('utf8').slice(0, 300)}`;
  }
  const leaked = leakedIn(res, built.secretsAndMacs);
  if (leaked) return `the answer contains a secret or MAC (${leaked.slice(0, 6)}...)`;
  return undefined;
}

// ---------------------------------------------------------------- the suite

let reachedInFile = 0;
/** Per configuration: property runs done and requests that reached the server (for the count check's message). */
const runsDone: string[] = [];

describe.each(CONFIGS)('fuzzed requests never get through ($adapter, $secretMode secrets, schemes $schemes)', (config) => {
  let ctx: Context;
  let client: WireClient;
  const tally: Tally = { reached: 0, refusedByClient: 0, dropped: 0, skippedValid: 0, byAnswer: new Map() };

  beforeAll(async () => {
    const t = await createTestApp({
      adapter: config.adapter,
      auth: {
        secrets: [TEST_SECRET, TEST_PREVIOUS_SECRET],
        secretMode: config.secretMode,
        schemes: config.schemes,
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
  let runs = 0;
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
        `${config.adapter}/${config.secretMode}: reached ${tally.reached}, refused by node:http ${tally.refusedByClient}, ` +
          `dropped ${tally.dropped}, sent again ${client.retries}, still valid (not sent) ${tally.skippedValid}\n${answers}`,
      );
    }
  });

  it(
    'answers every malformed, tampered, oversized or random request with a 4xx from the guard or the framework, and runs no handler',
    async () => {
      const property = fc.asyncProperty(fc.array(fuzzCase, { minLength: 1, maxLength: 32, size: 'max' }), async (cases) => {
        runs++;
        ctx.t.log.calls.length = 0;
        const built = cases.map((c) => build(c, ctx));
        const toSend = built.filter((b) => {
          if (!isStillValid(b)) return true;
          tally.skippedValid++;
          return false;
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

it(`sent at least ${MIN_REACHED} fuzzed requests that reached the server`, () => {
  if (reachedInFile < MIN_REACHED) {
    // Fewer runs than planned: a configuration hit its time limit (FUZZ_TIME_LIMIT_MS) on a slow or busy machine.
    throw new Error(`only ${reachedInFile} requests reached the server:\n${runsDone.join('\n')}`);
  }
});
