import type { NonceStore } from '../stores/nonce-store.interface.js';
import { HEADER_SERVER_TIME, HEADER_SERVER_TIME_SIGNATURE, isTimestampFresh } from '../protocol/index.js';
import { ServiceAuthException } from './service-auth.exception.js';
import type { SignatureVerifier } from './signature.verifier.js';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * PROTOCOL.md step 2: the timestamp window (and, for rfc9421, `expires`),
 * and the restart rule. A refusal is `401 stale_timestamp` with the server
 * time, signed for the key and nonce of the request.
 */
export class FreshnessCheck {
  constructor(
    private readonly toleranceSeconds: number,
    private readonly nonceStore: NonceStore,
    private readonly verifier: SignatureVerifier,
  ) {}

  check(apiKey: string, nonce: string | undefined, timestampSeconds: number, expired: boolean): void {
    if (expired || !isTimestampFresh(timestampSeconds, nowSeconds(), this.toleranceSeconds)) {
      throw this.stale(apiKey, nonce);
    }
    this.checkRemembered(apiKey, nonce, timestampSeconds);
  }

  /**
   * The restart rule: a store that lost its nonces (an in-memory one after a
   * restart, a Redis that restarted) cannot tell whether a request signed
   * before it started was already accepted.
   */
  checkRemembered(apiKey: string, nonce: string | undefined, timestampSeconds: number): void {
    if (nonce === undefined) return;
    const since = this.nonceStore.rememberedSinceSeconds;
    if (since !== undefined && timestampSeconds < since) throw this.stale(apiKey, nonce);
  }

  private stale(apiKey: string, nonce: string | undefined): ServiceAuthException {
    const serverTime = String(nowSeconds());
    return new ServiceAuthException('stale_timestamp', undefined, {
      [HEADER_SERVER_TIME]: serverTime,
      [HEADER_SERVER_TIME_SIGNATURE]: this.verifier.signServerTime(apiKey, nonce ?? '', serverTime),
    });
  }
}
