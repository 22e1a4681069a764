import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiKey, apiKeyAuthMigrations, type KeyRateLimit } from '../../lib/index.js';
import { generateApiKey } from '../../lib/keys/api-key.generator.js';
import { SampleProcess } from '../support/sample-process.js';
import { freshNonce, send, sign, type WireResponse } from '../support/signed-request.js';
import { TEST_SECRET, type TestApp } from '../support/test-app.js';

/** The throttler test app, built by `npm run build` (tsconfig.build.json includes test/throttler/app). */
export const THROTTLER_APP_MAIN = 'dist/test/throttler/app/main.js';

/** `describe`, or a skipped one saying why when the test app is not built. */
export const describeWithThrottlerApp: jest.Describe = existsSync(THROTTLER_APP_MAIN)
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} [SKIPPED: ${THROTTLER_APP_MAIN} is missing: run npm run build]`, fn)) as jest.Describe);

export type GuardOrder = 'throttler-first' | 'auth-first';

/** An SQLite key table in a temporary folder, migrated, that app processes open and the test adds keys to. */
export class KeyTable {
  private constructor(
    private readonly dir: string,
    private readonly dataSource: DataSource,
  ) {}

  get path(): string {
    return join(this.dir, 'keys.sqlite');
  }

  static async create(): Promise<KeyTable> {
    const dir = mkdtempSync(join(tmpdir(), 'service-auth-throttler-'));
    const dataSource = new DataSource({
      type: 'better-sqlite3',
      database: join(dir, 'keys.sqlite'),
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsRun: true,
      logging: false,
    });
    await dataSource.initialize();
    return new KeyTable(dir, dataSource);
  }

  /** A new active key of `serviceName`, with its own rate limit when given. */
  async newKey(serviceName: string, rateLimit: KeyRateLimit | null = null): Promise<string> {
    const apiKey = generateApiKey();
    await this.dataSource
      .getRepository(ApiKey)
      .insert({ apiKey, serviceName, revokedAt: null, expiresAt: null, lastUsedAt: null, rateLimit });
    return apiKey;
  }

  async close(): Promise<void> {
    await this.dataSource.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The throttler test app (or another built app, `main`) as a process, with the test secret. */
export function startThrottlerApp(env: Record<string, string>, main = THROTTLER_APP_MAIN): Promise<SampleProcess> {
  return SampleProcess.start({ API_SHARED_SECRET: TEST_SECRET, ...env }, 30_000, main);
}

/** What signed-request.ts needs of a target: its base URL and Host. */
export const target = (p: SampleProcess) => ({ baseUrl: p.url, host: p.host }) as TestApp;

/** A signed request (v1) of `apiKey`; `nonce` chosen by the caller when it must know it. */
export function signedRequest(
  p: SampleProcess,
  apiKey: string,
  path: string,
  options: { method?: string; nonce?: string; secret?: string } = {},
): { headers: Record<string, string>; send: () => Promise<WireResponse> } {
  const method = options.method ?? 'GET';
  const headers = sign(target(p), {
    apiKey,
    secret: options.secret ?? TEST_SECRET,
    method,
    target: path,
    nonce: options.nonce ?? freshNonce(),
  });
  return { headers, send: () => send(target(p), { method, target: path, headers }) };
}

/** Sends `count` signed requests one after the other; their statuses. */
export async function statuses(p: SampleProcess, apiKey: string, path: string, count: number, method = 'GET'): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await signedRequest(p, apiKey, path, { method }).send()).status);
  return seen;
}

/** `n` times `status`. */
export const times = (n: number, status: number): number[] => Array.from({ length: n }, () => status);

/** The routes whose handler ran for `apiKey`, in order (the app's `GET /handled/:apiKey`). */
export async function handled(p: SampleProcess, apiKey: string): Promise<string[]> {
  const res = await send(target(p), { target: `/handled/${apiKey}` });
  expect(res.status).toBe(200);
  return res.json;
}
