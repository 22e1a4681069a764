import {
  ApiKeyAuthConfigurationError,
  InvalidOptionError,
  MissingSecretError,
  PreviousSecretWithoutCurrentError,
  readSecretsFromEnv,
  WeakSecretError,
  type ApiKeyAuthModuleOptions,
  type NonceStore,
} from '../../lib/index.js';
import { MemoryThrottlerStorage } from '../../lib/stores/memory-throttler.storage.js';
import { resolveApiKeyAuthOptions } from '../../lib/api-key-auth-options.factory.js';

const S1 = 'a'.repeat(32);
const S2 = 'b'.repeat(40);
const S3 = 'c'.repeat(64);
const KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';

const MISSING_MESSAGE =
  'nestjs-service-auth: no signing secret is configured. Set API_SHARED_SECRET (at least 32 characters, e.g. ' +
  '`openssl rand -base64 48`) or pass `secrets: [current, ...previous]` to ApiKeyAuthModule.forRoot().';

const weakMessage = (position: number) =>
  `nestjs-service-auth: secret #${position} is shorter than 32 characters. ` +
  'Use a random secret of at least 32 characters (e.g. `openssl rand -base64 48`).';

const invalidMessage = (option: string, problem: string) => `nestjs-service-auth: option \`${option}\` ${problem}`;

/** Asserts that `fn` throws exactly an instance of `type` with exactly `message`. */
function expectConfigError(fn: () => unknown, type: new (...args: never[]) => Error, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(type);
  expect(thrown).toBeInstanceOf(ApiKeyAuthConfigurationError);
  expect((thrown as Error).name).toBe(type.name);
  expect((thrown as Error).message).toBe(message);
}

const resolve = (options: ApiKeyAuthModuleOptions, env: Record<string, string | undefined> = {}) =>
  resolveApiKeyAuthOptions({ secrets: [S1], ...options }, env);

describe('resolveApiKeyAuthOptions', () => {
  describe('defaults', () => {
    it('fills in every option', () => {
      expect(resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: S1 })).toEqual({
        secrets: [S1],
        secretMode: 'shared',
        schemes: new Set(['v1']),
        toleranceSeconds: 300,
        requireHttps: false,
        maxBodyBytes: 1_048_576,
        rateLimit: { limit: 600, ttlMs: 60_000, blockDurationMs: 60_000 },
        failedAttempts: { limit: 30, ttlMs: 60_000, blockDurationMs: 60_000 },
        throttlerStorage: undefined,
        keyCache: { ttlMs: 30_000, negativeTtlMs: 5_000, maxEntries: 10_000, lookupTimeoutMs: 1_000 },
        keyInvalidation: undefined,
        nonces: { store: undefined, maxEntries: 1_000_000 },
        signing: undefined,
        apiKeyLength: 32,
        observability: { metrics: 'auto', listeners: [], refusalLog: { level: 'debug', maxPerMinute: 60 } },
      });
    });

    it('works without an options object', () => {
      expect(resolveApiKeyAuthOptions(undefined, { API_SHARED_SECRET: S1 }).secrets).toEqual([S1]);
    });

    it('returns a frozen copy of the secrets', () => {
      const secrets = [S1, S2];
      const resolved = resolveApiKeyAuthOptions({ secrets }, {});
      expect(resolved.secrets).toEqual([S1, S2]);
      expect(Object.isFrozen(resolved.secrets)).toBe(true);
      secrets.push(S3);
      expect(resolved.secrets).toEqual([S1, S2]);
    });

    it('reads process.env when no env is given', () => {
      const saved = { current: process.env.API_SHARED_SECRET, previous: process.env.API_SHARED_SECRET_PREVIOUS };
      try {
        process.env.API_SHARED_SECRET = S2;
        process.env.API_SHARED_SECRET_PREVIOUS = S3;
        expect(resolveApiKeyAuthOptions({}).secrets).toEqual([S2, S3]);
        delete process.env.API_SHARED_SECRET;
        expect(() => resolveApiKeyAuthOptions({})).toThrow(PreviousSecretWithoutCurrentError);
        delete process.env.API_SHARED_SECRET_PREVIOUS;
        expectConfigError(() => resolveApiKeyAuthOptions({}), MissingSecretError, MISSING_MESSAGE);
      } finally {
        for (const [name, value] of [
          ['API_SHARED_SECRET', saved.current],
          ['API_SHARED_SECRET_PREVIOUS', saved.previous],
        ] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });
  });

  describe('secrets from the environment', () => {
    it('uses API_SHARED_SECRET, then API_SHARED_SECRET_PREVIOUS comma-separated, in order', () => {
      expect(resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: S1, API_SHARED_SECRET_PREVIOUS: `${S2},${S3}` }).secrets).toEqual([
        S1,
        S2,
        S3,
      ]);
    });

    it('trims every secret and ignores empty entries', () => {
      expect(
        resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: `  ${S1}\n`, API_SHARED_SECRET_PREVIOUS: ` , ${S2} ,,\t${S3}\t, ` }).secrets,
      ).toEqual([S1, S2, S3]);
    });

    it('an empty or blank API_SHARED_SECRET_PREVIOUS adds nothing', () => {
      expect(resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: S1, API_SHARED_SECRET_PREVIOUS: '' }).secrets).toEqual([S1]);
      expect(resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: S1, API_SHARED_SECRET_PREVIOUS: ' , ' }).secrets).toEqual([S1]);
    });

    it('explicit `secrets` take precedence over the environment', () => {
      expect(resolveApiKeyAuthOptions({ secrets: [S3] }, { API_SHARED_SECRET: S1, API_SHARED_SECRET_PREVIOUS: S2 }).secrets).toEqual([S3]);
    });

    it.each([
      ['no variable', {}],
      ['an empty API_SHARED_SECRET', { API_SHARED_SECRET: '' }],
      ['a blank API_SHARED_SECRET', { API_SHARED_SECRET: '   ' }],
      ['a blank API_SHARED_SECRET_PREVIOUS alone', { API_SHARED_SECRET_PREVIOUS: ' , ' }],
    ])('MissingSecretError with %s', (_name, env) => {
      expectConfigError(() => resolveApiKeyAuthOptions({}, env), MissingSecretError, MISSING_MESSAGE);
    });

    it.each([
      ['only API_SHARED_SECRET_PREVIOUS', { API_SHARED_SECRET_PREVIOUS: S2 }],
      ['a blank API_SHARED_SECRET and API_SHARED_SECRET_PREVIOUS', { API_SHARED_SECRET: ' ', API_SHARED_SECRET_PREVIOUS: `${S2},${S3}` }],
    ])('PreviousSecretWithoutCurrentError with %s, from the module and from readSecretsFromEnv alike', (_name, env) => {
      const message =
        'nestjs-service-auth: API_SHARED_SECRET_PREVIOUS is set but API_SHARED_SECRET is not. ' +
        'Set API_SHARED_SECRET to the current secret (the one callers sign with now), or unset API_SHARED_SECRET_PREVIOUS.';
      expectConfigError(() => resolveApiKeyAuthOptions({}, env), PreviousSecretWithoutCurrentError, message);
      expectConfigError(() => readSecretsFromEnv(env), PreviousSecretWithoutCurrentError, message);
    });

    it('readSecretsFromEnv reads what the module reads', () => {
      expect(readSecretsFromEnv({})).toEqual([]);
      expect(readSecretsFromEnv({ API_SHARED_SECRET: ` ${S1} `, API_SHARED_SECRET_PREVIOUS: ` ${S2}, ,${S3}` })).toEqual([S1, S2, S3]);
    });

    it('WeakSecretError names the position of a short secret from the environment', () => {
      expectConfigError(() => resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: 'x'.repeat(31) }), WeakSecretError, weakMessage(1));
      expectConfigError(
        () => resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: S1, API_SHARED_SECRET_PREVIOUS: `${S2}, short` }),
        WeakSecretError,
        weakMessage(3),
      );
    });

    it('measures the trimmed secret', () => {
      expectConfigError(
        () => resolveApiKeyAuthOptions({}, { API_SHARED_SECRET: `  ${'x'.repeat(31)}  ` }),
        WeakSecretError,
        weakMessage(1),
      );
    });
  });

  it('rejects secrets that are not an array', () => {
    expectConfigError(
      () => resolveApiKeyAuthOptions({ secrets: S1 as unknown as string[] }, {}),
      InvalidOptionError,
      invalidMessage('secrets', 'must be an array of strings, current secret first.'),
    );
  });

  describe('explicit secrets', () => {
    it('MissingSecretError for an empty list', () => {
      expectConfigError(() => resolveApiKeyAuthOptions({ secrets: [] }, { API_SHARED_SECRET: S1 }), MissingSecretError, MISSING_MESSAGE);
    });

    it('accepts exactly 32 characters, rejects 31', () => {
      expect(resolveApiKeyAuthOptions({ secrets: ['x'.repeat(32)] }, {}).secrets).toEqual(['x'.repeat(32)]);
      expectConfigError(() => resolveApiKeyAuthOptions({ secrets: ['x'.repeat(31)] }, {}), WeakSecretError, weakMessage(1));
    });

    it('WeakSecretError with the 1-based position of the first weak secret', () => {
      expectConfigError(() => resolveApiKeyAuthOptions({ secrets: [S1, S2, 'short'] }, {}), WeakSecretError, weakMessage(3));
      expectConfigError(() => resolveApiKeyAuthOptions({ secrets: [S1, '', S2] }, {}), WeakSecretError, weakMessage(2));
    });

    it('WeakSecretError for a secret that is not a string', () => {
      const secrets = [S1, 12345 as unknown as string];
      expectConfigError(() => resolveApiKeyAuthOptions({ secrets }, {}), WeakSecretError, weakMessage(2));
    });
  });

  describe('secretMode', () => {
    it.each(['shared', 'derived'] as const)('accepts %s', (mode) => {
      expect(resolve({ secretMode: mode }).secretMode).toBe(mode);
    });

    it.each(['Shared', 'per-key', ''])('rejects %j', (mode) => {
      expectConfigError(
        () => resolve({ secretMode: mode as 'shared' }),
        InvalidOptionError,
        invalidMessage('secretMode', `must be 'shared' or 'derived', got '${mode}'.`),
      );
    });
  });

  describe('schemes', () => {
    it('accepts v1, v0, rfc9421 or several; rfc9421 is off by default', () => {
      expect(resolve({}).schemes).toEqual(new Set(['v1']));
      expect(resolve({ schemes: ['v1'] }).schemes).toEqual(new Set(['v1']));
      expect(resolve({ schemes: ['v0'] }).schemes).toEqual(new Set(['v0']));
      expect(resolve({ schemes: ['v0', 'v1'] }).schemes).toEqual(new Set(['v0', 'v1']));
      expect(resolve({ schemes: ['rfc9421'] }).schemes).toEqual(new Set(['rfc9421']));
      expect(resolve({ schemes: ['v1', 'rfc9421'] }).schemes).toEqual(new Set(['v1', 'rfc9421']));
    });

    it.each([
      ['v1', '"v1"'],
      [[], '[]'],
      [['v2'], '["v2"]'],
      [['v1', 'V0'], '["v1","V0"]'],
      [['hmac'], '["hmac"]'],
      [['v1', 'RFC9421'], '["v1","RFC9421"]'],
      [['rfc-9421'], '["rfc-9421"]'],
    ])('rejects %j', (schemes, shown) => {
      expectConfigError(
        () => resolve({ schemes: schemes as ('v0' | 'v1')[] }),
        InvalidOptionError,
        invalidMessage('schemes', `must list one or more of 'v1', 'rfc9421' and 'v0', got ${shown}.`),
      );
    });
  });

  describe('requireHttps and maxBodyBytes', () => {
    it('take the given values', () => {
      expect(resolve({ requireHttps: true }).requireHttps).toBe(true);
      expect(resolve({ maxBodyBytes: 10 }).maxBodyBytes).toBe(10);
    });

    it.each([0, -1, 1.5])('rejects maxBodyBytes %p', (value) => {
      expectConfigError(
        () => resolve({ maxBodyBytes: value }),
        InvalidOptionError,
        invalidMessage('maxBodyBytes', `must be a positive integer, got ${value}.`),
      );
    });
  });

  describe('toleranceSeconds', () => {
    it('accepts a positive integer', () => {
      expect(resolve({ toleranceSeconds: 1 }).toleranceSeconds).toBe(1);
      expect(resolve({ toleranceSeconds: 30 }).toleranceSeconds).toBe(30);
    });

    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %p', (value) => {
      expectConfigError(
        () => resolve({ toleranceSeconds: value }),
        InvalidOptionError,
        invalidMessage('toleranceSeconds', `must be a positive integer, got ${String(value)}.`),
      );
    });
  });

  describe.each(['rateLimit', 'failedAttempts'] as const)('%s', (option) => {
    it('can be disabled with false', () => {
      expect(resolve({ [option]: false })[option]).toBe(false);
    });

    it('takes the given values', () => {
      expect(resolve({ [option]: { limit: 5, ttlMs: 1_000, blockDurationMs: 7_000 } })[option]).toEqual({
        limit: 5,
        ttlMs: 1_000,
        blockDurationMs: 7_000,
      });
    });

    it('keeps the defaults for fields given as undefined', () => {
      expect(resolve({ [option]: { limit: 4, ttlMs: undefined as unknown as number } })[option]).toEqual({
        limit: 4,
        ttlMs: 60_000,
        blockDurationMs: 60_000,
      });
    });

    it('blockDurationMs defaults to the given ttlMs', () => {
      expect(resolve({ [option]: { limit: 5, ttlMs: 10_000 } })[option]).toEqual({
        limit: 5,
        ttlMs: 10_000,
        blockDurationMs: 10_000,
      });
    });

    it.each(['limit', 'ttlMs', 'blockDurationMs'] as const)('rejects a bad %s', (field) => {
      for (const value of [0, -5, 2.5]) {
        expectConfigError(
          () => resolve({ [option]: { limit: 5, ttlMs: 1_000, blockDurationMs: 1_000, [field]: value } }),
          InvalidOptionError,
          invalidMessage(`${option}.${field}`, `must be a positive integer, got ${value}.`),
        );
      }
    });
  });

  describe('keyCache', () => {
    it('keeps the default for a field given as undefined', () => {
      expect(resolve({ keyCache: { ttlMs: undefined, maxEntries: 7 } }).keyCache).toEqual({
        ttlMs: 30_000,
        negativeTtlMs: 5_000,
        maxEntries: 7,
        lookupTimeoutMs: 1_000,
      });
    });

    it('merges partial options with the defaults', () => {
      expect(resolve({ keyCache: { ttlMs: 1_000 } }).keyCache).toEqual({
        ttlMs: 1_000,
        negativeTtlMs: 5_000,
        maxEntries: 10_000,
        lookupTimeoutMs: 1_000,
      });
      expect(resolve({ keyCache: { negativeTtlMs: 10, maxEntries: 3 } }).keyCache).toEqual({
        ttlMs: 30_000,
        negativeTtlMs: 10,
        maxEntries: 3,
        lookupTimeoutMs: 1_000,
      });
    });

    it.each(['ttlMs', 'negativeTtlMs', 'maxEntries', 'lookupTimeoutMs'] as const)('rejects a bad %s', (field) => {
      for (const value of [0, -1, 0.5]) {
        expectConfigError(
          () => resolve({ keyCache: { [field]: value } }),
          InvalidOptionError,
          invalidMessage(`keyCache.${field}`, `must be a positive integer, got ${value}.`),
        );
      }
    });
  });

  describe('nonces', () => {
    it('passes a store through and takes maxEntries', () => {
      const store: NonceStore = { recordOnce: async () => true };
      expect(resolve({ nonces: { store, maxEntries: 10 } }).nonces).toEqual({ store, maxEntries: 10 });
      expect(resolve({ nonces: { store } }).nonces.store).toBe(store);
      expect(resolve({ nonces: { store } }).nonces.maxEntries).toBe(1_000_000);
    });

    it('rejects a bad maxEntries', () => {
      expectConfigError(
        () => resolve({ nonces: { maxEntries: 0 } }),
        InvalidOptionError,
        invalidMessage('nonces.maxEntries', 'must be a positive integer, got 0.'),
      );
    });
  });

  it('passes throttlerStorage through', () => {
    const storage = new MemoryThrottlerStorage(5);
    expect(resolve({ throttlerStorage: storage }).throttlerStorage).toBe(storage);
  });

  describe('signing', () => {
    it('defaults the scheme to v1', () => {
      expect(resolve({ signing: { apiKey: KEY, secret: S2 } }).signing).toEqual({ apiKey: KEY, secret: S2, scheme: 'v1' });
    });

    it('keeps an explicit scheme', () => {
      expect(resolve({ signing: { apiKey: KEY, secret: S2, scheme: 'v0' } }).signing).toEqual({
        apiKey: KEY,
        secret: S2,
        scheme: 'v0',
      });
    });

    it('accepts keys of 16 and 128 characters of [A-Za-z0-9_-]', () => {
      expect(resolve({ signing: { apiKey: 'a_b-'.repeat(4), secret: S1 } }).signing?.apiKey).toBe('a_b-'.repeat(4));
      expect(resolve({ signing: { apiKey: 'k'.repeat(128), secret: S1 } }).signing?.apiKey).toBe('k'.repeat(128));
    });

    it.each([
      ['15 characters', 'k'.repeat(15)],
      ['129 characters', 'k'.repeat(129)],
      ['a dot', 'abcdefgh.ijklmnop'],
      ['empty', ''],
      ['undefined', undefined],
    ])('rejects an apiKey of %s', (_name, apiKey) => {
      expectConfigError(
        () => resolve({ signing: { apiKey: apiKey as string, secret: S1 } }),
        InvalidOptionError,
        invalidMessage('signing.apiKey', 'must be 16 to 128 characters of [A-Za-z0-9_-].'),
      );
    });

    it.each([
      ['31 characters', 'x'.repeat(31)],
      ['empty', ''],
      ['not a string', 123],
    ])('rejects a secret of %s', (_name, secret) => {
      expectConfigError(
        () => resolve({ signing: { apiKey: KEY, secret: secret as string } }),
        InvalidOptionError,
        invalidMessage('signing.secret', 'must be at least 32 characters.'),
      );
    });

    it('rejects an unknown scheme', () => {
      expectConfigError(
        () => resolve({ signing: { apiKey: KEY, secret: S1, scheme: 'v2' as 'v1' } }),
        InvalidOptionError,
        invalidMessage('signing.scheme', "must be 'v1', 'rfc9421' or 'v0', got 'v2'."),
      );
    });
  });

  describe('apiKeyLength', () => {
    it.each([32, 33, 64, 128])('accepts %i', (length) => {
      expect(resolve({ apiKeyLength: length }).apiKeyLength).toBe(length);
    });

    it('defaults to 32 when undefined', () => {
      expect(resolve({ apiKeyLength: undefined }).apiKeyLength).toBe(32);
    });

    it.each([0, 16, 31, 129, 1000, -32, 32.5, Number.NaN, Number.POSITIVE_INFINITY, '48' as unknown as number])('rejects %p', (length) => {
      expectConfigError(
        () => resolve({ apiKeyLength: length }),
        InvalidOptionError,
        invalidMessage('apiKeyLength', `must be an integer from 32 to 128, got ${String(length)}.`),
      );
    });
  });

  it('validates the secrets before any other option', () => {
    expectConfigError(() => resolveApiKeyAuthOptions({ secrets: ['short'], schemes: [] }, {}), WeakSecretError, weakMessage(1));
  });
});
