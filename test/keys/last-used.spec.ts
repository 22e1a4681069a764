import { jest } from '@jest/globals';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiKey } from '../../lib/index.js';
import { KeyUsageRecorder } from '../../lib/keys/key-usage.recorder.js';
import { APP_DATABASES } from '../support/app-databases.js';
import { tempDir } from '../support/cli.js';
import { sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const MINUTE = 60_000;
const startOfMinute = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

/**
 * Moves `Date.now()` (read by the guard, the signer and the recorder alike) to
 * one second into a minute, `minutesAhead` minutes from now, so that a test's
 * requests all fall in one minute.
 */
function clockEarlyInAMinute(minutesAhead = 1): { restore(): void } {
  const realNow = Date.now.bind(Date);
  const offset = (minutesAhead - 1) * MINUTE + (MINUTE - (realNow() % MINUTE)) + 1000;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  return { restore: () => spy.mockRestore() };
}

/** Every SQL statement the app's data source runs from now on. */
function captureQueries(t: TestApp): string[] {
  const queries: string[] = [];
  const logger = t.app.get(DataSource).logger;
  jest.spyOn(logger, 'logQuery').mockImplementation((query: string) => {
    queries.push(query);
  });
  return queries;
}

const writesOfLastUsed = (queries: string[]) => queries.filter((q) => /^\s*UPDATE\b/i.test(q) && /last_used_at/.test(q));
const writes = (queries: string[]) => queries.filter((q) => /^\s*(UPDATE|INSERT|DELETE|REPLACE)\b/i.test(q));

for (const database of APP_DATABASES) {
  database.describe(`last_used_at on ${database.label}`, () => {
    describe.each(ADAPTERS)('%s', (adapter) => {
      const scratch = `service_auth_last_used_${adapter}`;
      let t: TestApp;
      let recorder: KeyUsageRecorder;
      beforeAll(async () => {
        t = await createTestApp({ adapter, auth: { rateLimit: false }, ...(await database.open(scratch)) });
        recorder = t.app.get(KeyUsageRecorder);
      });
      afterAll(async () => {
        await t?.close();
        if (database.available) await database.drop(scratch);
      });
      afterEach(() => jest.restoreAllMocks());

      const lastUsed = async (apiKey: string) => (await t.app.get(DataSource).getRepository(ApiKey).findOneByOrFail({ apiKey })).lastUsedAt;

      it('makes no database write per request, then one batched UPDATE per minute for all the keys used', async () => {
        clockEarlyInAMinute();
        const a = await t.keys.create('orders');
        const b = await t.keys.create('billing');
        await recorder.flush();
        const queries = captureQueries(t);

        for (let i = 0; i < 5; i++) {
          expect((await sendSigned(t, { apiKey: a.apiKey, secret: TEST_SECRET })).status).toBe(200);
          expect((await sendSigned(t, { apiKey: b.apiKey, secret: TEST_SECRET })).status).toBe(200);
        }
        const minute = startOfMinute(Date.now());
        expect(writes(queries)).toEqual([]);
        expect(await lastUsed(a.apiKey)).toBeNull();
        expect(recorder.pendingCount).toBe(2);

        await recorder.flush();
        expect(writesOfLastUsed(queries)).toHaveLength(1);
        expect(writes(queries)).toHaveLength(1);
        expect(await lastUsed(a.apiKey)).toEqual(new Date(minute));
        expect(await lastUsed(b.apiKey)).toEqual(new Date(minute));

        // More use in the same minute: nothing more to write.
        queries.length = 0;
        for (let i = 0; i < 3; i++) expect((await sendSigned(t, { apiKey: a.apiKey, secret: TEST_SECRET })).status).toBe(200);
        await recorder.flush();
        expect(writes(queries)).toEqual([]);
      });

      it('writes again in a later minute, with the new value', async () => {
        const clock = clockEarlyInAMinute();
        const { apiKey } = await t.keys.create('reports');
        expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
        await recorder.flush();
        const first = await lastUsed(apiKey);
        expect(first).toEqual(new Date(startOfMinute(Date.now())));

        const queries = captureQueries(t);
        clock.restore();
        clockEarlyInAMinute(3);
        for (let i = 0; i < 4; i++) expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
        const later = startOfMinute(Date.now());
        await recorder.flush();
        expect(writesOfLastUsed(queries)).toHaveLength(1);
        expect(await lastUsed(apiKey)).toEqual(new Date(later));
        expect(later - first!.getTime()).toBeGreaterThanOrEqual(2 * MINUTE);
      });

      it('moves last_used_at forward only: a later minute written by another instance stays', async () => {
        const repository = t.app.get(DataSource).getRepository(ApiKey);
        const minute = startOfMinute(Date.now());
        const ahead = await t.keys.create('inventory');
        const behind = await t.keys.create('shipping');
        await repository.update({ apiKey: ahead.apiKey }, { lastUsedAt: new Date(minute + 10 * MINUTE) });
        await repository.update({ apiKey: behind.apiKey }, { lastUsedAt: new Date(minute - 10 * MINUTE) });
        recorder.record(ahead.apiKey);
        recorder.record(behind.apiKey);
        await recorder.flush();
        expect(await lastUsed(ahead.apiKey)).toEqual(new Date(minute + 10 * MINUTE));
        expect(await lastUsed(behind.apiKey)).toEqual(new Date(startOfMinute(Date.now())));
      });

      it('records nothing for rejected requests', async () => {
        const { apiKey } = await t.keys.create('intruder-target');
        await recorder.flush();
        const res = await sendSigned(t, { apiKey, secret: 'a-wrong-secret-that-is-long-enough-0123456' });
        expect(res.status).toBe(401);
        expect(recorder.pendingCount).toBe(0);
        await recorder.flush();
        expect(await lastUsed(apiKey)).toBeNull();
      });
    });
  });
}

describe('last_used_at on shutdown', () => {
  const tmp = tempDir('service-auth-last-used-');
  afterAll(() => tmp.remove());

  it('closing the app writes what was recorded', async () => {
    const database = join(tmp.dir, 'keys.sqlite');
    const t = await createTestApp({ adapter: 'express', database });
    const { apiKey } = await t.keys.create('orders');
    expect((await sendSigned(t, { apiKey, secret: TEST_SECRET })).status).toBe(200);
    const usedIn = startOfMinute(Date.now());
    await t.close();

    const dataSource = new DataSource({ type: 'better-sqlite3', database, entities: [ApiKey] });
    await dataSource.initialize();
    try {
      const row = await dataSource.getRepository(ApiKey).findOneByOrFail({ apiKey });
      expect(row.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(usedIn);
      expect(row.lastUsedAt!.getTime()).toBeLessThanOrEqual(startOfMinute(Date.now()));
    } finally {
      await dataSource.destroy();
    }
  });
});
