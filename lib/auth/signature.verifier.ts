import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { deriveKeySecret, secretKey, type HmacKey, type HmacSha256Key } from '../protocol/crypto.js';
import { matchesAnySecret } from '../protocol/signature.js';
import { signServerTime } from '../protocol/server-time.js';
import { verifyRfc9421 } from '../protocol/rfc9421/rfc9421-verify.js';
import { type Rfc9421Credentials } from '../protocol/rfc9421/rfc9421-credentials.js';
import { type SignedFields } from '../protocol/string-to-sign.js';

/**
 * PROTOCOL.md step 3 and the server-time signature: every secret a key may
 * sign with, prepared once, and the constant-time comparison against each.
 */
export class SignatureVerifier {
  /** The configured secrets (shared, or masters in derived mode) as HMAC keys. */
  private readonly keys: readonly HmacSha256Key[];
  private readonly derived: boolean;

  constructor(options: Pick<ResolvedApiKeyAuthOptions, 'secrets' | 'secretMode'>) {
    this.keys = Object.freeze(options.secrets.map(secretKey));
    this.derived = options.secretMode === 'derived';
  }

  /** Whether `mac` signs `fields` under any accepted secret of the key. Every secret is tried. */
  matches(fields: SignedFields, mac: Uint8Array): boolean {
    return matchesAnySecret(this.secretsFor(fields.apiKey), fields, mac);
  }

  /**
   * Whether an rfc9421 signature verifies under any accepted secret of its
   * key (`keyid`), and its covered `Content-Digest` matches `body`, the body
   * bytes as sent. Every secret is tried, and the digest always checked.
   */
  matchesRfc9421(credentials: Rfc9421Credentials, body: Uint8Array | undefined): boolean {
    return verifyRfc9421(this.secretsFor(credentials.apiKey), credentials, body);
  }

  /** `X-API-Server-Time-Signature` for a request of `apiKey` with `nonce`, made with the key's current secret. */
  signServerTime(apiKey: string, nonce: string, serverTime: string): string {
    return signServerTime(this.currentSecretFor(apiKey), { apiKey, nonce, serverTime });
  }

  /** The secrets a signature by `apiKey` may have been made with, current first. */
  private secretsFor(apiKey: string): readonly HmacKey[] {
    return this.derived ? this.keys.map((master) => deriveKeySecret(master, apiKey)) : this.keys;
  }

  private currentSecretFor(apiKey: string): HmacKey {
    return this.derived ? deriveKeySecret(this.keys[0], apiKey) : this.keys[0];
  }
}
