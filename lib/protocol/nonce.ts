import { randomBytes } from 'node:crypto';

/** A fresh nonce: 16 random bytes, base64url (22 characters). */
export function generateNonce(): string {
  return randomBytes(16).toString('base64url');
}
