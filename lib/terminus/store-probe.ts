import { ApiKeyAuthConfigurationError } from '../api-key-auth-configuration.errors.js';

/** The probe outlived its time limit. */
export class ProbeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/** Runs `probe`, rejecting with `ProbeTimeoutError` after `timeoutMs`; the elapsed time either way. */
export async function timedProbe<T>(probe: () => Promise<T>, timeoutMs: number): Promise<{ value?: T; error?: unknown; ms: number }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(probe), timeout]);
    return { value, ms: Math.round(performance.now() - start) };
  } catch (error) {
    return { error, ms: Math.round(performance.now() - start) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a health answer may say of a failure. Health endpoints are usually
 * open to anyone, so a driver's message (host names, queries) stays in the
 * log; the module's own configuration errors say what to fix and are shown.
 */
export function publicReason(what: string, error: unknown): string {
  if (error instanceof ProbeTimeoutError) return `${what} did not answer within ${error.timeoutMs} ms.`;
  if (error instanceof ApiKeyAuthConfigurationError) return error.message;
  return `${what} failed (${error instanceof Error ? error.name : typeof error}).`;
}
