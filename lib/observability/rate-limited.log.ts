import type { Logger, LogLevel } from '@nestjs/common';

const MINUTE_MS = 60_000;

/**
 * At most `maxPerMinute` lines per minute at one level; past it, lines are
 * only counted, and the first line of a later minute is preceded by one that
 * says how many were left out. So a flood of refused requests (or of failing
 * listeners) writes a bounded amount of log, whatever its rate.
 */
export class RateLimitedLog {
  private windowStart = 0;
  private written = 0;
  private dropped = 0;
  private summary: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly level: LogLevel,
    private readonly maxPerMinute: number,
    /** What the left-out lines were about, e.g. `Refused requests`. */
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes `line()` unless this minute's lines are used up; `line` is only called when it is written. */
  write(line: () => string): void {
    const now = this.now();
    if (now - this.windowStart >= MINUTE_MS) {
      this.flush();
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written >= this.maxPerMinute) {
      // The count is told when the minute ends, even if nothing more comes.
      if (this.dropped++ === 0) this.summary = setTimeout(() => this.flush(), this.windowStart + MINUTE_MS - now).unref();
      return;
    }
    this.written++;
    this.emit(line());
  }

  /** Writes the count of lines left out, if any, now; and stops the timer that would. */
  flush(): void {
    clearTimeout(this.summary);
    this.summary = undefined;
    if (this.dropped === 0) return;
    const dropped = this.dropped;
    this.dropped = 0;
    this.emit(`${this.what} not logged in the last minute: ${dropped} (at most ${this.maxPerMinute} lines a minute).`);
  }

  private emit(message: string): void {
    this.logger[this.level](message);
  }
}
