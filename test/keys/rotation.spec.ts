import { jest } from '@jest/globals';
import { join } from 'node:path';
import { tempDir } from '../support/cli.js';
import { APP_DATABASES } from '../support/app-databases.js';
import { expectRejected, sendSigned } from '../support/signed-request.js';
import { createTestApp, TEST_SECRET, type TestApp, type TestAppOptions } from '../support/test-app.js';
import * as protocol from '../../lib/protocol/index.js';

const MINUTE = 60_000;

/** Moves `Date.now()` (what the guard, the signer and the stores read) `ms` ahead until restored. */
function advanceClock(ms: number): { restore(): void } {
  const realNow = Date.now.bind(Date);
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + ms);
  return { restore: () => spy.mockRestore() };
}

const sendAs = (t: TestApp, apiKey: string) => sendSigned(t, { apiKey, secret: TEST_SECRET });

/** Key lifecycle through the guard: rotation overlap, revocation, expiry. */
function lifecycleSuite(appOptions: () => Promise<Partial<TestAppOptions>>, cleanup: () => Promise<void> = async () => {}) {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ adapter: 'express', ...(await appOptions()) });
  });
  afterAll(async () => {
    await t?.close();
    await cleanup();
  });
  beforeEach(() => {
    t.log.calls.length = 0;
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('accepts the old key during the overlap and rejects it after; the new key works throughout', async () => {
    const old = await t.keys.create('orders');
    expect((await sendAs(t, old.apiKey)).status).toBe(200);

    const rotated = await t.keys.rotate('orders', { overlapMs: 10 * MINUTE });
    expect(rotated.expiring.map((k) => k.apiKey)).toEqual([old.apiKey]);
    expect((await sendAs(t, old.apiKey)).status).toBe(200);
    expect((await sendAs(t, rotated.apiKey)).status).toBe(200);

    // 9 minutes later: still within the overlap.
    let clock = advanceClock(9 * MINUTE);
    try {
      expect((await sendAs(t, old.apiKey)).status).toBe(200);
    } finally {
      clock.restore();
    }

    // Just past the overlap (the stored expiry, to the second).
    clock = advanceClock(rotated.expiring[0].expiresAt.getTime() - Date.now() + 1000);
    try {
      t.log.calls.length = 0;
      expectRejected(t, await sendAs(t, old.apiKey), 401, 'invalid_signature');
      const fresh = await sendAs(t, rotated.apiKey);
      expect(fresh.status).toBe(200);
      expect(fresh.json.caller).toEqual({ apiKey: rotated.apiKey, serviceName: 'orders', scheme: 'v1' });
    } finally {
      clock.restore();
    }
  });

  it('rejects the old key at once after a rotation with overlap 0', async () => {
    const old = await t.keys.create('billing');
    expect((await sendAs(t, old.apiKey)).status).toBe(200);
    const rotated = await t.keys.rotate('billing', { overlapMs: 0 });
    t.log.calls.length = 0;
    expectRejected(t, await sendAs(t, old.apiKey), 401, 'invalid_signature');
    expect((await sendAs(t, rotated.apiKey)).status).toBe(200);
  });

  it('rejects a revoked key, at once, even though it was cached', async () => {
    const { apiKey } = await t.keys.create('reports');
    expect((await sendAs(t, apiKey)).status).toBe(200);
    expect(await t.keys.revoke(apiKey)).toBe(true);
    t.log.calls.length = 0;
    expectRejected(t, await sendAs(t, apiKey), 401, 'invalid_signature');
  });

  it('rejects a key once its expiry has passed', async () => {
    const { apiKey, expiresAt } = await t.keys.create('temp', { expiresAt: new Date(Date.now() + 5 * MINUTE) });
    expect((await sendAs(t, apiKey)).status).toBe(200);
    const clock = advanceClock(expiresAt!.getTime() - Date.now() + 1000);
    try {
      t.log.calls.length = 0;
      expectRejected(t, await sendAs(t, apiKey), 401, 'invalid_signature');
    } finally {
      clock.restore();
    }
    const expired = await t.keys.create('temp', { expiresAt: new Date(Date.now() - 1000) });
    t.log.calls.length = 0;
    expectRejected(t, await sendAs(t, expired.apiKey), 401, 'invalid_signature');
  });

  it('a previous key keeps the earlier expiry it already had', async () => {
    const soon = await t.keys.create('search', { expiresAt: new Date(Date.now() + 2 * MINUTE) });
    const rotated = await t.keys.rotate('search', { overlapMs: 60 * MINUTE });
    expect(rotated.expiring).toEqual([{ apiKey: soon.apiKey, expiresAt: soon.expiresAt }]);
    const clock = advanceClock(3 * MINUTE);
    try {
      t.log.calls.length = 0;
      expectRejected(t, await sendAs(t, soon.apiKey), 401, 'invalid_signature');
      expect((await sendAs(t, rotated.apiKey)).status).toBe(200);
    } finally {
      clock.restore();
    }
  });
}

for (const database of APP_DATABASES) {
  const scratch = 'service_auth_rotation_test';
  database.describe(`key lifecycle through the guard (${database.label})`, () =>
    lifecycleSuite(
      () => database.open(scratch),
      () => (database.available ? database.drop(scratch) : Promise.resolve()),
    ),
  );
}

describe('rotation survives a restart (SQLite file)', () => {
  const tmp = tempDir('service-auth-rotation-');
  afterAll(() => tmp.remove());
  afterEach(() => jest.restoreAllMocks());

  it('the overlap is stored in the database, not in a timer of the process that rotated', async () => {
    const database = join(tmp.dir, 'keys.sqlite');
    const first = await createTestApp({ adapter: 'express', database });
    const old = await first.keys.create('orders');
    const rotated = await first.keys.rotate('orders', { overlapMs: 30 * MINUTE });
    await first.close();

    const second = await createTestApp({ adapter: 'fastify', database });
    try {
      expect((await sendAs(second, old.apiKey)).status).toBe(200);
      expect((await sendAs(second, rotated.apiKey)).status).toBe(200);
      const clock = advanceClock(31 * MINUTE);
      try {
        second.log.calls.length = 0;
        expectRejected(second, await sendAs(second, old.apiKey), 401, 'invalid_signature');
        expect((await sendAs(second, rotated.apiKey)).status).toBe(200);
      } finally {
        clock.restore();
      }
    } finally {
      await second.close();
    }
  });

  it('in derived mode the new key signs with its own derived secret', async () => {
    const master = 'a-master-secret-for-derived-rotation-012345';
    const t = await createTestApp({ adapter: 'express', auth: { secrets: [master], secretMode: 'derived' } });
    try {
      const old = await t.keys.create('orders');
      const rotated = await t.keys.rotate('orders', { overlapMs: MINUTE });
      expect(rotated.secret).toBe(protocol.deriveKeySecret(master, rotated.apiKey));
      expect((await sendSigned(t, { apiKey: rotated.apiKey, secret: rotated.secret! })).status).toBe(200);
      expect((await sendSigned(t, { apiKey: old.apiKey, secret: old.secret! })).status).toBe(200);
      t.log.calls.length = 0;
      expectRejected(t, await sendSigned(t, { apiKey: rotated.apiKey, secret: old.secret! }), 401, 'invalid_signature');
    } finally {
      await t.close();
    }
  });
});
