import { UsageError } from '../../cli/cli.error.js';
import { parseDuration, parseExpiry } from '../../cli/duration.parser.js';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['45s', 45_000],
    ['90m', 90 * 60_000],
    ['24h', 24 * 3_600_000],
    ['30d', 30 * 86_400_000],
    ['2w', 14 * 86_400_000],
    [' 12h ', 12 * 3_600_000],
  ])('%p is %i ms', (raw, ms) => {
    expect(parseDuration(raw, '--overlap')).toBe(ms);
  });

  it.each(['', '24', '1.5h', '-1h', '24H', '1y', 'h', '24 h', '1e3s', '1234567890d'])('rejects %p with a usage error', (raw) => {
    expect(() => parseDuration(raw, '--overlap')).toThrow(UsageError);
    expect(() => parseDuration(raw, '--overlap')).toThrow(
      new UsageError('--overlap must be a duration such as 90m, 24h or 30d (units s, m, h, d, w).'),
    );
  });
});

describe('parseExpiry', () => {
  it.each([
    ['30d', NOW + 30 * 86_400_000],
    ['12h', NOW + 12 * 3_600_000],
    ['2031-02-03', Date.UTC(2031, 1, 3)],
    ['2031-02-03T04:05Z', Date.UTC(2031, 1, 3, 4, 5)],
    ['2031-02-03T04:05:06Z', Date.UTC(2031, 1, 3, 4, 5, 6)],
    ['2031-02-03T04:05:06.7Z', Date.UTC(2031, 1, 3, 4, 5, 6, 700)],
    ['2031-02-03T04:05:06+02:00', Date.UTC(2031, 1, 3, 2, 5, 6)],
    ['2031-02-03T04:05:06-05:30', Date.UTC(2031, 1, 3, 9, 35, 6)],
    ['2032-02-29', Date.UTC(2032, 1, 29)],
  ])('%p is %p', (raw, ms) => {
    expect(parseExpiry(raw, '--expires', NOW).getTime()).toBe(ms);
  });

  it.each([
    ['a past date', '2029-12-31', 'must be in the future'],
    ['now', '2030-01-15T12:00:00Z', 'must be in the future'],
    ['February 30', '2031-02-30', 'is not a valid date'],
    ['a 29 February outside a leap year', '2031-02-29', 'is not a valid date'],
    ['month 13', '2031-13-01', 'is not a valid date'],
    ['hour 24', '2031-01-01T24:00Z', 'is not a valid date'],
    ['a time without zone', '2031-01-01T10:00', 'Add Z or an offset'],
    ['a bad offset', '2031-01-01T10:00+25:00', 'invalid UTC offset'],
    ['a year past 9999', '3000000d', 'too far in the future'],
    ['words', 'next week', 'must be a duration (30d, 12h, 90m) or an ISO 8601 date'],
    ['a duration of zero', '0', 'must be a duration (30d, 12h, 90m) or an ISO 8601 date'],
    ['a Unix timestamp', '1900000000', 'must be a duration (30d, 12h, 90m) or an ISO 8601 date'],
  ])('rejects %s', (_name, raw, message) => {
    expect(() => parseExpiry(raw, '--expires', NOW)).toThrow(UsageError);
    expect(() => parseExpiry(raw, '--expires', NOW)).toThrow(message);
    // The message never repeats what was typed (issue 10, finding 10).
    if (raw.length >= 4) expect(() => parseExpiry(raw, '--expires', NOW)).not.toThrow(raw);
  });
});
