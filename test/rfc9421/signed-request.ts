import { signRfc9421, type Rfc9421SignInput } from '../../lib/protocol/index.js';
import type { WireRequest } from './rfc9421-helpers.js';

export const SECRET = 's3cr3t-shared-secret-for-rfc9421-tests-0123456789';
export const API_KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
export const NONCE = 'rfc-test-nonce-0000000001';
export const CREATED = 1_700_000_000;

export type SignOptions = Partial<Omit<Rfc9421SignInput, 'body'>> & { body?: Uint8Array };

/**
 * A POST with a JSON body and one extra covered header, signed by our signer,
 * as the lines it is sent with (Content-Type, X-Request-Id, Content-Digest,
 * Signature-Input, Signature).
 */
export function signedRequest(options: SignOptions = {}): WireRequest {
  const input: Rfc9421SignInput = {
    apiKey: API_KEY,
    secret: SECRET,
    method: 'POST',
    host: 'orders.internal:8443',
    target: '/v1/orders/7?expand=items&x=%2F',
    contentType: 'application/json',
    body: Buffer.from('{"total":12.5}'),
    createdSeconds: CREATED,
    nonce: NONCE,
    headers: { 'X-Request-Id': 'req-42' },
    ...options,
  };
  const { headers } = signRfc9421(input);
  const lines: Array<[string, string]> = [];
  if (input.contentType !== undefined) lines.push(['Content-Type', input.contentType]);
  for (const [name, value] of Object.entries(input.headers ?? {})) lines.push([name, value]);
  if (headers['content-digest'] !== undefined) lines.push(['Content-Digest', headers['content-digest']]);
  lines.push(['Signature-Input', headers['signature-input']], ['Signature', headers.signature]);
  const body = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  return { method: input.method, host: input.host, target: input.target!, lines, body: body?.length ? body : undefined };
}
