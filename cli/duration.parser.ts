import { UsageError } from './cli.error.js';

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * A duration such as `90m`, `24h`, `30d` (units: s, m, h, d, w), or `0`, in
 * milliseconds.
 * @throws UsageError naming `what` (e.g. `--overlap`)
 */
export function parseDuration(raw: string, what: string): number {
  const text = raw.trim();
  if (text === '0') return 0;
  const match = /^([0-9]{1,9})([smhdw])$/.exec(text);
  if (!match) {
    throw new UsageError(`${what} must be a duration such as 90m, 24h or 30d (units s, m, h, d, w).`);
  }
  return Number(match[1]) * UNIT_MS[match[2]];
}

const ISO_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const ISO_DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,3}))?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/**
 * An expiry instant: a duration from `now` (`30d`, `12h`, see parseDuration),
 * an ISO 8601 date (`2030-01-31`, midnight UTC), or an ISO 8601 date-time
 * with `Z` or an offset (`2030-01-31T12:00:00Z`). Must be in the future.
 * @throws UsageError naming `what` (e.g. `--expires`)
 */
export function parseExpiry(raw: string, what: string, now: number = Date.now()): Date {
  const text = raw.trim();
  let date: Date;
  if (/^[0-9]+[smhdw]$/.test(text)) {
    date = new Date(now + parseDuration(text, what));
  } else {
    date = parseIsoInstant(text, what);
  }
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999) {
    throw new UsageError(`${what} is too far in the future (after the year 9999).`);
  }
  if (date.getTime() <= now) {
    throw new UsageError(`${what} must be in the future.`);
  }
  return date;
}

function parseIsoInstant(text: string, what: string): Date {
  const dateOnly = ISO_DATE.exec(text);
  const dateTime = dateOnly ? null : ISO_DATE_TIME.exec(text);
  const parts = dateOnly ?? dateTime;
  if (!parts) {
    const hint = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^Z+-]*$/.test(text) ? ' Add Z or an offset such as +02:00 to the time.' : '';
    throw new UsageError(
      `${what} must be a duration (30d, 12h, 90m) or an ISO 8601 date or date-time (2030-01-31, 2030-01-31T12:00:00Z).${hint}`,
    );
  }
  const [year, month, day, hour = 0, minute = 0, second = 0] = parts.slice(1, 7).map((p) => (p === undefined ? 0 : Number(p)));
  const millis = dateTime?.[7] ? Number(dateTime[7].padEnd(3, '0')) : 0;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(local);
  const valid =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute &&
    check.getUTCSeconds() === second;
  if (!valid) throw new UsageError(`${what} is not a valid date (check the month, day and time).`);
  const zone = dateTime?.[8];
  if (!zone || zone === 'Z') return check;
  const sign = zone[0] === '-' ? -1 : 1;
  const [offsetHours, offsetMinutes] = zone.slice(1).split(':').map(Number);
  if (offsetHours > 23 || offsetMinutes > 59) throw new UsageError(`${what} has an invalid UTC offset (at most +23:59).`);
  return new Date(local - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
}
