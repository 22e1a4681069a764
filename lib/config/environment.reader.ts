// The one reader of the environment variables that the module, the CLI and the
// sample share. No Nest, no TypeORM: the CLI reads it before loading either.
import { PreviousSecretWithoutCurrentError } from '../api-key-auth-configuration.errors.js';

export type Env = Record<string, string | undefined>;

/** A variable's value with surrounding whitespace removed; undefined when unset or blank. */
export function envValue(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

/** A comma-separated list, entries trimmed, empty ones dropped. */
export function envList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * API_SHARED_SECRET, then the comma-separated API_SHARED_SECRET_PREVIOUS:
 * `[current, ...previous]`, or empty when neither is set. Lengths are checked
 * by whoever uses the secrets.
 *
 * @throws PreviousSecretWithoutCurrentError when only previous secrets are set:
 *   they would be accepted without a current one to sign with.
 */
export function readSecretsFromEnv(env: Env): string[] {
  const current = envValue(env, 'API_SHARED_SECRET');
  const previous = envList(envValue(env, 'API_SHARED_SECRET_PREVIOUS'));
  if (!current && previous.length > 0) throw new PreviousSecretWithoutCurrentError();
  return current ? [current, ...previous] : [];
}
