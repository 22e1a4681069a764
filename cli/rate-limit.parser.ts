import type { KeyRateLimit } from '../lib/index.js';
import { UsageError } from './cli.error.js';
import { parseDuration } from './duration.parser.js';
import { keyRules } from './key-rules.js';

/** What `--rate-limit none` stands for: the app's default limit. */
export const DEFAULT_RATE_LIMIT_WORD = 'none';

const UNITS: [string, number][] = [
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/**
 * A key's own rate limit, `<requests>/<window>`: `1000/1m`, `50/10s`,
 * `100000/1d` (window units s, m, h, d, w). With `allowNone`, `none` is
 * `null` (back to the app's default).
 * @throws UsageError naming `what` (e.g. `--rate-limit`)
 */
export function parseRateLimit(raw: string, what: string, allowNone = false): KeyRateLimit | null {
  const text = raw.trim();
  if (allowNone && text === DEFAULT_RATE_LIMIT_WORD) return null;
  const match = /^([0-9]{1,10})\/([^/]*)$/.exec(text);
  const none = allowNone ? `, or ${DEFAULT_RATE_LIMIT_WORD} for the app's default` : '';
  if (!match) {
    throw new UsageError(
      `${what} must be <requests>/<window> such as 1000/1m or 50/10s (window units s, m, h, d, w)${none}, got ${JSON.stringify(raw)}.`,
    );
  }
  const { MAX_KEY_RATE_LIMIT, MAX_KEY_RATE_LIMIT_TTL_MS } = keyRules();
  const limit = Number(match[1]);
  if (limit < 1 || limit > MAX_KEY_RATE_LIMIT) {
    throw new UsageError(`${what} allows 1 to ${MAX_KEY_RATE_LIMIT} requests per window, got ${JSON.stringify(raw)}.`);
  }
  const ttlMs = parseDuration(match[2], `the window of ${what}`);
  if (ttlMs === 0 || ttlMs > MAX_KEY_RATE_LIMIT_TTL_MS) {
    throw new UsageError(`the window of ${what} must be from 1s to 366d, got ${JSON.stringify(match[2])}.`);
  }
  return { limit, ttlMs };
}

/** `1000/1m`, in the largest unit that divides the window; `default` for none. */
export function formatRateLimit(rateLimit: KeyRateLimit | null): string {
  if (rateLimit === null) return 'default';
  const [unit, ms] = UNITS.find(([, ms]) => rateLimit.ttlMs % ms === 0) ?? ['ms', 1];
  return `${rateLimit.limit}/${rateLimit.ttlMs / ms}${unit}`;
}
