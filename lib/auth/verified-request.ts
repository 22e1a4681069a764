import { ServiceAuthException } from './service-auth.exception.js';
import { isKeyActive, type ApiKeyRecord } from '../keys/api-key-record.interface.js';
import type { SignatureScheme } from '../protocol/index.js';
import { authenticatedCaller } from './service-caller.handoff.js';
import type { ServiceCallerInfo } from './service-caller.interface.js';

/** A request whose signature and key were found valid (PROTOCOL.md steps 1 to 4). */
export interface VerifiedRequest {
  caller: ServiceCallerInfo;
  /** `undefined` for v0; for rfc9421 the `nonce` parameter. */
  nonce: string | undefined;
  /** `X-API-Timestamp`; for rfc9421 the `created` parameter. */
  timestampSeconds: number;
}

/** The caller of an active key; every other key answers as a wrong signature does (PROTOCOL.md step 4). */
export function verifiedRequest(
  record: ApiKeyRecord | null,
  scheme: SignatureScheme,
  nonce: string | undefined,
  timestampSeconds: number,
): VerifiedRequest {
  if (record === null || !isKeyActive(record, Date.now())) throw new ServiceAuthException('invalid_signature');
  return { caller: authenticatedCaller(record.apiKey, record.serviceName, scheme, record.rateLimit), nonce, timestampSeconds };
}
