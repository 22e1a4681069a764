import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKey } from '../../lib/index.js';
import { createTestApp, TEST_PREVIOUS_SECRET, TEST_SECRET, type AdapterName, type TestApp } from '../support/test-app.js';
import { guardAnswerProblem, leakedIn, WireClient, type HeaderLines, type Outcome, type RawRequest } from './harness.js';
import * as protocol from '../../lib/protocol/index.js';
import { sha256Hex } from '../../lib/protocol/crypto.js';

/**
 * Scheme v1 binds every part of the request (PROTOCOL.md): for any valid
 * signed request (fast-check generates the method, the target with path and
 * query and percent-encodings, the Host, the body bytes, the key, the nonce
 * length), changing one byte of one signed part (key, timestamp, nonce,
 * method, host, target, body) or of the signature makes the guard answer 401
 * and run nothing, while the request as signed is accepted, after the
 * tampered copies, with the same nonce (so a rejected copy never burns it).
 *
 * A tampering is "signed one thing, sent another", one byte apart. The
 * tampered side is the one sent when that request is still deliverable to
 * the same handler (a header, the query, an alphanumeric byte of the id, a
 * body the parser still takes); else
 * it is the signed side (the request is sent as it is, with the signature of
 * its altered twin): a method one byte away from GET is no route, and a body
 * one byte away from valid JSON stops at the body parser. Either way the
 * verifier compares two strings to sign that differ in one byte, which the
 * test checks before sending.
 *
 * Seeds: FC_SEED replaces every configuration's seed (with FC_PATH to replay).
 */

const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const FC_PATH = process.env.FC_PATH;
/** Property runs per configuration; each is a batch of 1 to 16 genuine requests with 1 to 3 tampered copies each. */
const RUNS_PER_CONFIG = Number(process.env.TAMPER_RUNS ?? 60);
const TIME_LIMIT_MS = Number(process.env.TAMPER_TIME_LIMIT_MS ?? 10_000);
const MIN_TAMPERED = 2_000;

interface Config {
  seed: number;
  adapter: AdapterName;
  secretMode: 'shared' | 'derived';
}

const CONFIGS: Config[] = [
  { seed: 4_2026_1128, adapter: 'express', secretMode: 'shared' },
  { seed: 4_2026_1129, adapter: 'fastify', secretMode: 'shared' },
  { seed: 4_2026_1130, adapter: 'express', secretMode: 'derived' },
  { seed: 4_2026_1131, adapter: 'fastify', secretMode: 'derived' },
];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_CHARS = ALNUM + '_-';
const HEX = '0123456789abcdef';
const DIGITS = '0123456789';
const char = (alphabet: string) => fc.constantFrom(...alphabet.split(''));

// ---------------------------------------------------------------- genuine requests

type Route = 'get' | 'head' | 'post' | 'delete' | 'scoped';

interface Genuine {
  route: Route;
  id: string;
  query: string | null;
  host: string;
  keyPick: number;
  previousSecret: boolean;
  nonceLength: number;
  body: { type: 'json' | 'form'; text: string } | { type: 'none' };
}

/** One `:id` segment, as a client would percent-encode it. */
const idSegment = fc
  .string({
    unit: fc.oneof(
      { weight: 8, arbitrary: char(ALNUM + "-._~!$&'()*+,=:@") },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '%20',
          '%41',
          '%2E',
          '%2B',
          '%3D',
          '%26',
          '%40',
          '%24',
          '%25',
          '%C3%A9',
          '%E2%9C%93',
          '%F0%9F%94%91',
          '%3F',
          '%23',
        ),
      },
    ),
    minLength: 1,
    maxLength: 16,
  })
  .filter((id) => id !== '.' && id !== '..');

const queryString = fc
  .array(
    fc.tuple(
      fc.string({
        unit: fc.oneof(
          { weight: 6, arbitrary: char(ALNUM + "-._~!$'()*,;:@/?") },
          { weight: 2, arbitrary: fc.constantFrom('%20', '+', '%2B', '%26', '%3D', '%F0%9F%94%91', '%00', '%FF', '%') },
        ),
        maxLength: 8,
      }),
      fc.option(
        fc.string({
          unit: fc.oneof(
            { weight: 6, arbitrary: char(ALNUM + "-._~!$'()*,;:@/?=") },
            { weight: 2, arbitrary: fc.constantFrom('%20', '+', '%2B', '%26', '%3D', '%e2%9c%93', '%0A', '%') },
          ),
          maxLength: 12,
        }),
      ),
    ),
    { maxLength: 5 },
  )
  .map((pairs) => pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&'));

const hostName = fc.oneof(
  fc
    .tuple(
      fc.array(fc.string({ unit: char(ALNUM + '-'), minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
      fc.option(fc.integer({ min: 1, max: 65535 })),
    )
    .map(([labels, port]) => labels.join('.') + (port === null ? '' : `:${port}`)),
  fc
    .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.option(fc.integer({ min: 1, max: 65535 })))
    .map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}` + (port === null ? '' : `:${port}`)),
  fc.integer({ min: 1, max: 65535 }).map((port) => `[::1]:${port}`),
  fc.constant('self'),
);

const genuine: fc.Arbitrary<Genuine> = fc.record({
  route: fc.constantFrom<Route>('get', 'get', 'head', 'post', 'post', 'delete', 'scoped'),
  id: idSegment,
  query: fc.option(queryString, { freq: 3 }),
  host: hostName,
  keyPick: fc.nat(),
  previousSecret: fc.boolean(),
  nonceLength: fc.oneof(fc.constantFrom(16, 22, 128), fc.integer({ min: 16, max: 128 })),
  body: fc.oneof(
    { weight: 4, arbitrary: fc.json({ maxDepth: 3, stringUnit: 'grapheme' }).map((v) => ({ type: 'json' as const, text: `{"v":${v}}` })) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 2 }).map((v) => ({ type: 'json' as const, text: `[${v}]` })) },
    {
      weight: 2,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.string({ unit: char(ALNUM + '-._~'), minLength: 1, maxLength: 6 }),
            fc.string({ unit: fc.oneof(char(ALNUM + '-._~+'), fc.constantFrom('%20', '%26', '%3D', '%C3%A9')), maxLength: 10 }),
          ),
          { minLength: 1, maxLength: 4 },
        )
        .map((pairs) => ({ type: 'form' as const, text: pairs.map(([k, v]) => `${k}=${v}`).join('&') })),
    },
    { weight: 1, arbitrary: fc.constant({ type: 'none' as const }) },
  ),
});

// ---------------------------------------------------------------- tamperings

type Part = 'key' | 'timestamp' | 'nonce' | 'method' | 'host' | 'target' | 'body' | 'signature';

interface Tampering {
  part: Part;
  /** Which byte (modulo the part's length). */
  at: number;
  /** Which replacement byte. */
  pick: number;
  /** Headers only: replace with a byte outside the header's form (else one inside it, to reach the signature check). */
  outOfForm: boolean;
  /** Send the altered value when it is deliverable (else sign it and send the original). */
  preferSending: boolean;
}

const tampering: fc.Arbitrary<Tampering> = fc.record({
  part: fc.constantFrom<Part>('key', 'timestamp', 'nonce', 'method', 'host', 'target', 'body', 'signature'),
  at: fc.nat(),
  pick: fc.nat(),
  outOfForm: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  preferSending: fc.boolean(),
});

interface Case {
  genuine: Genuine;
  tamperings: Tampering[];
}

const testCase: fc.Arbitrary<Case> = fc.record({
  genuine,
  tamperings: fc.array(tampering, { minLength: 1, maxLength: 3 }),
});

// ---------------------------------------------------------------- building requests

interface Context {
  t: TestApp;
  config: Config;
  ordersKeys: string[];
  billingKeys: string[];
}

/** Everything scheme v1 signs, as the signer has it. */
interface Parts {
  apiKey: string;
  timestamp: string;
  nonce: string;
  method: string;
  host: string;
  target: string;
  /** The Content-Type sent and signed; empty: none. */
  contentType: string;
  body: Buffer | undefined;
}

interface Built {
  /** The request as signed; sent after the tampered ones, it must be accepted. */
  genuine: RawRequest;
  handler: string;
  tampered: Array<{ request: RawRequest; codes: string[]; what: string }>;
  secretsAndMacs: string[];
}

const ROUTES: Record<Route, { method: string; target: (g: Genuine) => string; handler: string; prefix: number }> = {
  get: { method: 'GET', target: (g) => `/items/${g.id}`, handler: 'get:', prefix: 7 },
  head: { method: 'HEAD', target: (g) => `/items/${g.id}`, handler: 'get:', prefix: 7 },
  post: { method: 'POST', target: () => '/items', handler: 'create', prefix: 6 },
  delete: { method: 'DELETE', target: (g) => `/items/${g.id}`, handler: 'delete:', prefix: 7 },
  scoped: { method: 'GET', target: () => '/scoped', handler: 'scoped', prefix: 7 },
};

function randomChars(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function secretFor(ctx: Context, apiKey: string, previous: boolean): string {
  const secret = previous ? TEST_PREVIOUS_SECRET : TEST_SECRET;
  return ctx.config.secretMode === 'derived' ? protocol.deriveKeySecret(secret, apiKey) : secret;
}

function signatureFor(parts: Parts, secret: string): string {
  return protocol.signRequest({
    scheme: 'v1',
    apiKey: parts.apiKey,
    secret,
    timestampSeconds: Number(parts.timestamp),
    nonce: parts.nonce,
    method: parts.method,
    host: parts.host,
    target: parts.target,
    contentType: parts.contentType || undefined,
    body: parts.body,
  })['x-api-signature'];
}

/** The string the verifier signs for these parts (method upper-cased and host lower-cased by the protocol). */
function stringToSign(parts: Parts): string {
  return protocol.v1StringToSign({ ...parts, bodySha256: sha256Hex(parts.body) });
}

function toRequest(parts: Parts, signature: string, contentType: string | undefined, timestampHeader = parts.timestamp): RawRequest {
  const headers: HeaderLines = [
    ['Host', parts.host],
    ['X-API-Key', parts.apiKey],
    ['X-API-Timestamp', timestampHeader],
    ['X-API-Nonce', parts.nonce],
    ['X-API-Signature', signature],
  ];
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  return { method: parts.method, target: parts.target, headers, body: parts.body };
}

/** `value` with the character at `at` replaced by one of `alphabet` that differs from it (per `same`, e.g. ignoring case). */
function replaceChar(
  value: string,
  at: number,
  pick: number,
  alphabet: string,
  same: (a: string, b: string) => boolean = (a, b) => a === b,
): string {
  const i = at % value.length;
  const choices = alphabet.split('').filter((c) => !same(c, value[i]));
  return value.slice(0, i) + choices[pick % choices.length] + value.slice(i + 1);
}

/** Printable bytes outside the forms of the key, nonce, timestamp and signature headers (no space: it would be trimmed). */
/** Whether the body parser of `contentType` still reads `altered` (one byte away from `original`). */
function bodyStillParses(contentType: string | undefined, original: Buffer, altered: Buffer): boolean {
  if (contentType === 'application/x-www-form-urlencoded') {
    const i = original.findIndex((byte, n) => byte !== altered[n]);
    return /[A-Za-z0-9]/.test(String.fromCharCode(original[i])) && /[A-Za-z0-9]/.test(String.fromCharCode(altered[i]));
  }
  try {
    const text = altered.toString('utf8');
    // Express's JSON parser is strict: an object or an array.
    return /^[{[]/.test(text) && typeof JSON.parse(text) === 'object';
  } catch {
    return false;
  }
}

const OUT_OF_FORM = '!"#$%&\'()*+,./:;<=>?@[\\]^`{|}~\u00a7\u00e9\u00ff';
const ignoreCase = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function build(c: Case, ctx: Context): Built {
  const g = c.genuine;
  const route = ROUTES[g.route];
  const keys = g.route === 'delete' ? ctx.billingKeys : ctx.ordersKeys;
  const apiKey = keys[g.keyPick % keys.length];
  const secret = secretFor(ctx, apiKey, g.previousSecret);
  // A POST without a body is sent with Content-Length: 0 (node:http would send an empty chunked body,
  // which no body parser reads: 401 unverifiable_body on Express, 415 on Fastify).
  const body = g.route !== 'post' ? undefined : Buffer.from(g.body.type === 'none' ? '' : g.body.text, 'utf8');
  const contentType =
    g.route !== 'post' || g.body.type === 'none'
      ? undefined
      : g.body.type === 'form'
        ? 'application/x-www-form-urlencoded'
        : 'application/json';
  const parts: Parts = {
    apiKey,
    timestamp: String(Math.floor(Date.now() / 1000)),
    // Fresh on every run (shrinking and replays included), so a replayed case is never a replayed nonce.
    nonce: randomChars(KEY_CHARS, g.nonceLength),
    method: route.method,
    host: g.host === 'self' ? ctx.t.host : g.host,
    target: route.target(g) + (g.query === null ? '' : `?${g.query}`),
    contentType: contentType ?? '',
    body,
  };
  const signature = signatureFor(parts, secret);
  const built: Built = {
    genuine: toRequest(parts, signature, contentType),
    handler: route.handler,
    tampered: [],
    secretsAndMacs: [TEST_SECRET, TEST_PREVIOUS_SECRET, secret, signature.slice(3)],
  };

  for (const tm of c.tamperings) {
    let signed: Parts = parts;
    let sent: Parts = parts;
    let sentSignature: string | undefined;
    let codes = ['invalid_signature'];
    let what: string = tm.part;
    switch (tm.part) {
      case 'key':
      case 'nonce': {
        const value = parts[tm.part === 'key' ? 'apiKey' : 'nonce'];
        const altered = replaceChar(value, tm.at, tm.pick, tm.outOfForm ? OUT_OF_FORM : KEY_CHARS);
        const field = tm.part === 'key' ? 'apiKey' : 'nonce';
        if (tm.outOfForm || tm.preferSending) {
          sent = { ...parts, [field]: altered };
          if (tm.outOfForm) codes = ['malformed_credentials'];
        } else {
          signed = { ...parts, [field]: altered };
        }
        what = `${tm.part} ${tm.outOfForm || tm.preferSending ? 'sent' : 'signed'} as ${JSON.stringify(altered)}`;
        break;
      }
      case 'timestamp': {
        const altered = replaceChar(parts.timestamp, tm.at, tm.pick, tm.outOfForm ? OUT_OF_FORM : DIGITS);
        if (tm.outOfForm || tm.preferSending) {
          sent = { ...parts, timestamp: altered };
          // One digit off can leave the window: stale_timestamp comes before the signature check.
          codes = tm.outOfForm ? ['malformed_credentials'] : ['invalid_signature', 'stale_timestamp'];
        } else {
          signed = { ...parts, timestamp: altered };
        }
        what = `timestamp ${tm.outOfForm || tm.preferSending ? 'sent' : 'signed'} as ${altered}`;
        break;
      }
      case 'method': {
        // Sign a method one byte away (other than in case: the method is signed upper-cased); send the routable one.
        const altered = replaceChar(parts.method, tm.at, tm.pick, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-_', ignoreCase);
        signed = { ...parts, method: altered };
        what = `method signed as ${altered}`;
        break;
      }
      case 'host': {
        // Any Host reaches the handler, so either side may carry the altered byte (not a change of case: the host is signed lower-cased).
        const altered = replaceChar(parts.host, tm.at, tm.pick, 'abcdefghijklmnopqrstuvwxyz0123456789.-:[]', ignoreCase);
        if (tm.preferSending) sent = { ...parts, host: altered };
        else signed = { ...parts, host: altered };
        what = `host ${tm.preferSending ? 'sent' : 'signed'} as ${altered}`;
        break;
      }
      case 'target': {
        const i = tm.at % parts.target.length;
        const routable =
          i >= route.prefix && /[A-Za-z0-9]/.test(parts.target[i]) && !/%[0-9A-Fa-f]?$/.test(parts.target.slice(Math.max(0, i - 2), i));
        if (routable && tm.preferSending) {
          // An alphanumeric byte of the id or the query, outside a %XX: the same handler still answers.
          const altered = replaceChar(parts.target, i, tm.pick, ALNUM);
          sent = { ...parts, target: altered };
          what = `target sent as ${altered}`;
        } else {
          const altered = replaceChar(parts.target, i, tm.pick, ALNUM + "/?#%-._~!$&'()*+,;=:@\u00e9");
          signed = { ...parts, target: altered };
          what = `target signed as ${altered}`;
        }
        break;
      }
      case 'body': {
        // A byte of the body (or one added to an empty body). Sent when the body parser still takes it
        // (an urlencoded byte between letters and digits, JSON that still parses), else signed.
        const original = parts.body ?? Buffer.alloc(0);
        let altered: Buffer;
        if (original.length === 0) {
          altered = Buffer.from([tm.pick % 256]);
        } else {
          altered = Buffer.from(original);
          const i = tm.at % altered.length;
          altered[i] = (altered[i] + 1 + (tm.pick % 255)) % 256;
        }
        const deliverable = tm.preferSending && original.length > 0 && bodyStillParses(contentType, original, altered);
        if (deliverable) sent = { ...parts, body: altered };
        else signed = { ...parts, body: altered };
        what = `body ${deliverable ? 'sent' : 'signed'} as ${JSON.stringify(altered.toString('latin1').slice(0, 80))}`;
        break;
      }
      case 'signature': {
        // One byte of "v1=" + 64 hex digits: another hex value (not another case), or a byte outside the form.
        const i = tm.at % signature.length;
        const altered = tm.outOfForm
          ? replaceChar(signature, i, tm.pick, OUT_OF_FORM)
          : i < 3
            ? replaceChar(signature, i, tm.pick, 'vV0123456789=:-', (a, b) => a === b)
            : replaceChar(signature, i, tm.pick, HEX, ignoreCase);
        sentSignature = altered;
        const macChanged = i >= 3 && !tm.outOfForm;
        codes = macChanged ? ['invalid_signature'] : ['malformed_credentials'];
        what = `signature sent as ${altered}`;
        break;
      }
    }
    if (tm.part === 'signature') {
      // The "v1=" prefix is compared as is, the hex digits case-insensitively.
      const same =
        sentSignature!.slice(0, 3) === signature.slice(0, 3) && sentSignature!.slice(3).toLowerCase() === signature.slice(3).toLowerCase();
      if (same) throw new Error(`no change: ${what}`);
    } else if (stringToSign(signed) === stringToSign(sent)) {
      throw new Error(`the tampering changed nothing that is signed: ${what}`);
    }
    const tamperedSignature = sentSignature ?? signatureFor(signed, secret);
    built.tampered.push({ request: toRequest(sent, tamperedSignature, contentType), codes, what });
    built.secretsAndMacs.push(tamperedSignature.replace(/^v1=/, ''));
  }
  return built;
}

// ---------------------------------------------------------------- the suite

function summary(o: Outcome): string {
  if (o.kind !== 'response') return `${o.kind} ${o.code} ${o.message}`;
  return `${o.status} ${o.body.toString('utf8').slice(0, 200)}`;
}

let tamperedInFile = 0;

describe.each(CONFIGS)('tampering with one byte of a signed v1 request ($adapter, $secretMode secrets)', (config) => {
  let ctx: Context;
  let client: WireClient;
  let tampered = 0;
  let accepted = 0;

  beforeAll(async () => {
    const t = await createTestApp({
      adapter: config.adapter,
      auth: { secrets: [TEST_SECRET, TEST_PREVIOUS_SECRET], secretMode: config.secretMode, rateLimit: false },
    });
    const repository = t.app.get(DataSource).getRepository(ApiKey);
    const bounds = ['Key_16-chars_abc', 'K'.repeat(60) + '_-' + 'k9'.repeat(33)];
    for (const apiKey of bounds) {
      await repository.insert({ apiKey, serviceName: 'orders', createdAt: new Date(), revokedAt: null, expiresAt: null, lastUsedAt: null });
    }
    const orders = (await t.keys.create('orders')).apiKey;
    const billing = (await t.keys.create('billing-admin')).apiKey;
    ctx = { t, config, ordersKeys: [orders, ...bounds], billingKeys: [billing] };
    client = new WireClient(t.baseUrl, 8);
  });
  afterAll(async () => {
    client?.close();
    await ctx?.t.close();
    tamperedInFile += tampered;
    if (process.env.FUZZ_STATS)
      console.log(`${config.adapter}/${config.secretMode}: ${tampered} tampered requests refused, ${accepted} genuine accepted`);
  });

  it(
    'answers 401 to every copy changed in one byte and runs nothing, then accepts the request as signed',
    async () => {
      const property = fc.asyncProperty(fc.array(testCase, { minLength: 1, maxLength: 16, size: 'max' }), async (cases) => {
        ctx.t.log.calls.length = 0;
        const built = cases.map((c) => build(c, ctx));
        const problems: string[] = [];

        // Every tampered copy first, all at once.
        const copies = built.flatMap((b) => b.tampered.map((tm) => ({ ...tm, built: b })));
        const outcomes = await client.sendAll(copies.map((copy) => copy.request));
        outcomes.forEach((o, i) => {
          const copy = copies[i];
          const isHead = copy.request.method === 'HEAD';
          if (o.kind !== 'response') return problems.push(`${copy.what}: ${summary(o)}`);
          tampered++;
          if (o.status !== 401) return problems.push(`${copy.what}: answered ${summary(o)}`);
          const problem = guardAnswerProblem(o, isHead);
          if (problem) return problems.push(`${copy.what}: ${problem}`);
          if (!isHead) {
            const code = JSON.parse(o.body.toString('utf8')).code;
            if (!copy.codes.includes(code)) problems.push(`${copy.what}: code ${code}, expected ${copy.codes.join(' or ')}`);
          }
          const leaked = leakedIn(o, copy.built.secretsAndMacs);
          if (leaked) problems.push(`${copy.what}: the answer contains a secret or MAC`);
        });
        if (ctx.t.log.calls.length > 0) problems.push(`handlers ran for tampered requests: ${ctx.t.log.calls.join(', ')}`);
        if (problems.length > 0) throw new Error(problems.join('\n'));

        // Then each request as signed, with the nonce its tampered copies carried.
        const genuine = await client.sendAll(built.map((b) => b.genuine));
        genuine.forEach((o, i) => {
          if (o.kind === 'response' && o.status >= 200 && o.status < 300) accepted++;
          else
            problems.push(
              `genuine ${JSON.stringify({ method: built[i].genuine.method, target: built[i].genuine.target, headers: built[i].genuine.headers, body: built[i].genuine.body?.toString('latin1') })}: ${summary(o)}`,
            );
        });
        const handlers = ctx.t.log.calls.map((call) => call.replace(/:.*$/, ':')).sort();
        const expected = built.map((b) => b.handler).sort();
        if (problems.length === 0 && JSON.stringify(handlers) !== JSON.stringify(expected)) {
          problems.push(`handlers ${JSON.stringify(handlers)}, expected ${JSON.stringify(expected)}`);
        }
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

it(`refused at least ${MIN_TAMPERED} tampered requests`, () => {
  expect(tamperedInFile).toBeGreaterThanOrEqual(MIN_TAMPERED);
});
