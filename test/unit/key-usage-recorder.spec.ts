import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { ApiKey, apiKeyAuthMigrations } from '../../lib/index.js';
import { KEY_USAGE_FLUSH_INTERVAL_MS, KeyUsageRecorder } from '../../lib/keys/key-usage.recorder.js';

const MINUTE = 60_000;
/** 2030-01-01T00:00:00Z, the start of a minute. */
const T0 = Date.UTC(2030, 0, 1);

/** A recorder whose writes are remembered instead of sent to a database (or fail, on demand). */
class SpyRecorder extends KeyUsageRecorder {
  readonly writes: { minute: number; apiKeys: string[] }[] = [];
  failNext = 0;

  constructor() {
    super(undefined as unknown as Repository<ApiKey>);
  }

  protected override async write(minute: Date, apiKeys: string[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('database unreachable');
    }
    this.writes.push({ minute: minute.getTime(), apiKeys: [...apiKeys].sort() });
  }
}

describe('KeyUsageRecorder', () => {
  let recorder: SpyRecorder;
  let now: number;
  beforeEach(() => {
    now = T0 + 5_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    recorder = new SpyRecorder();
  });
  afterEach(async () => {
    await recorder.onModuleDestroy();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('writes nothing until flushed, then one batch per distinct minute', async () => {
    for (let i = 0; i < 100; i++) recorder.record('key-a');
    recorder.record('key-b');
    expect(recorder.writes).toEqual([]);
    await recorder.flush();
    expect(recorder.writes).toEqual([{ minute: T0, apiKeys: ['key-a', 'key-b'] }]);
  });

  it('writes each key at most once per minute', async () => {
    recorder.record('key-a');
    await recorder.flush();
    recorder.record('key-a');
    now += 50_000;
    recorder.record('key-a');
    await recorder.flush();
    expect(recorder.writes).toHaveLength(1);

    now = T0 + MINUTE + 1;
    recorder.record('key-a');
    recorder.record('key-a');
    await recorder.flush();
    await recorder.flush();
    expect(recorder.writes).toEqual([
      { minute: T0, apiKeys: ['key-a'] },
      { minute: T0 + MINUTE, apiKeys: ['key-a'] },
    ]);
  });

  it('groups keys last seen in different minutes into one write per minute', async () => {
    recorder.record('key-a', T0 + 1);
    recorder.record('key-b', T0 + 2);
    recorder.record('key-c', T0 + MINUTE + 3);
    recorder.record('key-a', T0 + 2 * MINUTE);
    await recorder.flush();
    expect(recorder.writes).toEqual([
      { minute: T0, apiKeys: ['key-b'] },
      { minute: T0 + MINUTE, apiKeys: ['key-c'] },
      { minute: T0 + 2 * MINUTE, apiKeys: ['key-a'] },
    ]);
  });

  it('keeps the latest minute when uses arrive out of order', async () => {
    recorder.record('key-a', T0 + MINUTE);
    recorder.record('key-a', T0);
    await recorder.flush();
    expect(recorder.writes).toEqual([{ minute: T0 + MINUTE, apiKeys: ['key-a'] }]);
  });

  it('splits a very large minute into statements of at most 500 keys', async () => {
    for (let i = 0; i < 1_201; i++) recorder.record(`key-${i}`);
    await recorder.flush();
    expect(recorder.writes.map((w) => w.apiKeys.length)).toEqual([500, 500, 201]);
  });

  it('logs and drops a failed write, never throwing, and goes on with the other batches', async () => {
    recorder.failNext = 1;
    recorder.record('key-a', T0);
    recorder.record('key-b', T0 + MINUTE);
    await expect(recorder.flush()).resolves.toBeUndefined();
    expect(recorder.writes).toEqual([{ minute: T0 + MINUTE, apiKeys: ['key-b'] }]);
    expect(Logger.prototype.warn).toHaveBeenCalledWith(expect.stringContaining('database unreachable'));
    await recorder.flush();
    expect(recorder.writes).toHaveLength(1);
  });

  it('never throws from record()', () => {
    jest.spyOn(Map.prototype, 'set').mockImplementationOnce(() => {
      throw new Error('out of memory');
    });
    expect(() => recorder.record('key-a')).not.toThrow();
    expect(Logger.prototype.warn).toHaveBeenCalledWith(expect.stringContaining('out of memory'));
  });

  it('flushes every minute on an unref-ed timer that starts with the first use', async () => {
    jest.useFakeTimers({ doNotFake: ['Date'] });
    const setIntervalSpy = jest.spyOn(global, 'setInterval');
    recorder.record('key-a');
    recorder.record('key-b');
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    expect(setIntervalSpy.mock.calls[0][1]).toBe(KEY_USAGE_FLUSH_INTERVAL_MS);
    const timer = setIntervalSpy.mock.results[0].value as { unref(): unknown; hasRef(): boolean };
    expect(timer.hasRef()).toBe(false);

    await jest.advanceTimersByTimeAsync(KEY_USAGE_FLUSH_INTERVAL_MS - 1);
    expect(recorder.writes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(recorder.writes).toEqual([{ minute: T0, apiKeys: ['key-a', 'key-b'] }]);
  });

  it('flushes what is left when the module is destroyed, and starts no timer afterwards', async () => {
    recorder.record('key-a');
    await recorder.onModuleDestroy();
    expect(recorder.writes).toEqual([{ minute: T0, apiKeys: ['key-a'] }]);
    const setIntervalSpy = jest.spyOn(global, 'setInterval');
    now += MINUTE;
    recorder.record('key-a');
    expect(setIntervalSpy).not.toHaveBeenCalled();
  });
});

describe('KeyUsageRecorder on SQLite', () => {
  let dataSource: DataSource;
  let repository: Repository<ApiKey>;
  const queries: string[] = [];

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsRun: true,
      logging: false,
    });
    await dataSource.initialize();
    repository = dataSource.getRepository(ApiKey);
    jest.spyOn(dataSource.logger, 'logQuery').mockImplementation((query: string) => {
      queries.push(query);
    });
  });
  afterAll(() => dataSource.destroy());

  async function insert(apiKey: string, lastUsedAt: Date | null = null) {
    await repository.insert({ apiKey, serviceName: 'orders', revokedAt: null, expiresAt: null, lastUsedAt });
  }

  it('sets last_used_at of all the keys of a minute in one UPDATE, and never moves it backwards', async () => {
    const keys = Array.from({ length: 3 }, (_, i) => `key-${i}-${'x'.repeat(20)}`);
    for (const key of keys) await insert(key);
    const later = new Date(T0 + 10 * MINUTE);
    await insert('key-newer-elsewhere-xxxxxxxxxx', later);

    const recorder = new KeyUsageRecorder(repository);
    for (const key of [...keys, 'key-newer-elsewhere-xxxxxxxxxx']) recorder.record(key, T0 + 30_000);
    queries.length = 0;
    await recorder.flush();
    expect(queries.filter((q) => /^UPDATE/i.test(q))).toHaveLength(1);

    for (const key of keys) expect((await repository.findOneByOrFail({ apiKey: key })).lastUsedAt).toEqual(new Date(T0));
    expect((await repository.findOneByOrFail({ apiKey: 'key-newer-elsewhere-xxxxxxxxxx' })).lastUsedAt).toEqual(later);
    await recorder.onModuleDestroy();
  });
});
