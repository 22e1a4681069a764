import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, In, Repository } from 'typeorm';
import { ApiKey } from './api-key.entity.js';
import { describeError } from '../observability/describe-error.js';

const MINUTE_MS = 60_000;
/** How often recorded uses are written to the database. */
export const KEY_USAGE_FLUSH_INTERVAL_MS = 60_000;
/** Most keys in one UPDATE statement (SQLite allows 32 766 parameters, PostgreSQL 65 535, MySQL more). */
const MAX_KEYS_PER_UPDATE = 500;

/**
 * Records when each API key was last used (`api_keys.last_used_at`) without
 * a database write per request: uses are collected in memory and written by a
 * timer every minute (and when the module is destroyed), one UPDATE per
 * distinct minute for all the keys used in it, at most once per key per
 * minute. The stored value is the start of the minute of the last use.
 *
 * Never throws into the request path: a failed write is logged and dropped
 * (the next use of the key records it again).
 */
@Injectable()
export class KeyUsageRecorder implements OnModuleDestroy {
  protected readonly logger = new Logger('KeyUsageRecorder');
  /** apiKey -> start (ms) of the minute it was last used in, not written yet. */
  private pending = new Map<string, number>();
  /** apiKey -> start of the minute last written for it (only the current minute's are kept). */
  private readonly written = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private destroyed = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(@InjectRepository(ApiKey) protected readonly repository: Repository<ApiKey>) {}

  /** Notes that `apiKey` was used at `now`. Cheap, synchronous, never throws. */
  record(apiKey: string, now: number = Date.now()): void {
    try {
      const minute = startOfMinute(now);
      if ((this.written.get(apiKey) ?? -Infinity) >= minute) return;
      if ((this.pending.get(apiKey) ?? -Infinity) >= minute) return;
      this.pending.set(apiKey, minute);
      this.startTimer();
    } catch (error) {
      this.logger.warn(`Could not record the use of an API key: ${describeError(error)}`);
    }
  }

  /** Number of keys whose use is waiting to be written. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Writes the recorded uses now. Resolves when written (or dropped after a logged failure); never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Sets `last_used_at` to `minute` for `apiKeys`, unless a later minute is
   * already stored (by another instance). Override to write elsewhere.
   */
  protected async write(minute: Date, apiKeys: string[]): Promise<void> {
    await this.repository
      .createQueryBuilder()
      .update(ApiKey)
      .set({ lastUsedAt: minute })
      .where({ apiKey: In(apiKeys) })
      .andWhere(
        new Brackets((where) => {
          where.where('last_used_at IS NULL').orWhere('last_used_at < :minute', { minute });
        }),
      )
      .execute();
  }

  private async writePending(): Promise<void> {
    try {
      const currentMinute = startOfMinute(Date.now());
      for (const [apiKey, minute] of this.written) {
        if (minute < currentMinute) this.written.delete(apiKey);
      }
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();

      const byMinute = new Map<number, string[]>();
      for (const [apiKey, minute] of batch) {
        let keys = byMinute.get(minute);
        if (!keys) byMinute.set(minute, (keys = []));
        keys.push(apiKey);
        if (minute >= currentMinute) this.written.set(apiKey, minute);
      }
      for (const minute of [...byMinute.keys()].sort((a, b) => a - b)) {
        const keys = byMinute.get(minute)!;
        for (let i = 0; i < keys.length; i += MAX_KEYS_PER_UPDATE) {
          const chunk = keys.slice(i, i + MAX_KEYS_PER_UPDATE);
          try {
            await this.write(new Date(minute), chunk);
          } catch (error) {
            this.logger.warn(`Could not record the last use of ${chunk.length} API key(s), dropped: ${describeError(error)}`);
          }
        }
      }
    } catch (error) {
      this.logger.warn(`Could not record API key usage, dropped: ${describeError(error)}`);
    }
  }

  private startTimer(): void {
    if (this.timer || this.destroyed) return;
    this.timer = setInterval(() => void this.flush(), KEY_USAGE_FLUSH_INTERVAL_MS);
    // Never keeps the process alive; onModuleDestroy writes what is left.
    this.timer.unref();
  }
}

function startOfMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}
