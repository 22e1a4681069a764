import { Logger, type INestApplication } from '@nestjs/common';
import { ApiKeyService, SigningService } from '../../../lib/index.js';
import type { SampleConfig } from './sample.config.js';

export const DEMO_SERVICE = 'orders';

/** What one demo call got back. */
export interface DemoCallOutcome {
  status: number;
  /** The error `code` of a rejected call (e.g. `invalid_signature`). */
  code?: string;
}

export interface DemoOutcome {
  apiKey: string;
  keyCreated: boolean;
  signed: DemoCallOutcome;
  tampered: DemoCallOutcome;
}

/**
 * The whole flow in a few lines, run once at startup against this very app:
 *
 * 1. make sure the service `orders` has an API key (the key table stores no secret);
 * 2. sign a request as `orders` and send it: 201;
 * 3. sign a request, then change its body before sending it: 401 invalid_signature.
 *
 * It logs the API key (not a secret) but never a secret or a signature.
 */
export async function runStartupDemo(
  app: INestApplication,
  baseUrl: string,
  config: SampleConfig,
  send: (url: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<DemoOutcome> {
  const logger = new Logger('StartupDemo');
  const keys = app.get(ApiKeyService);

  // 1. A key for `orders`: reuse an active one, else issue one.
  const now = Date.now();
  const existing = (await keys.list({ serviceName: DEMO_SERVICE })).find((key) => key.expiresAt === null || key.expiresAt.getTime() > now);
  const apiKey = existing?.apiKey ?? (await keys.create(DEMO_SERVICE)).apiKey;
  logger.log(`${existing ? 'Reusing' : 'Created'} the demo API key of service "${DEMO_SERVICE}": ${apiKey}`);

  // The secret `orders` signs with: the shared secret, or (derived mode) the key's own secret.
  const secret = config.secretMode === 'derived' ? keys.secretFor(apiKey)! : config.sharedSecret;
  const orders = app.get(SigningService).withCredentials({ apiKey, secret });

  // 2. A signed call: sign() covers exactly the body bytes that are sent
  //    (orders.fetch(url, init) does both steps in one call).
  const url = `${baseUrl}/invoices`;
  const invoice = JSON.stringify({ number: 'INV-1001', amountCents: 4200, currency: 'EUR' });
  const contentType = 'application/json';
  const headers = { 'content-type': contentType };
  const signedHeaders = orders.sign({ method: 'POST', url, body: invoice, contentType });
  const signed = await outcome(send(url, { method: 'POST', headers: { ...headers, ...signedHeaders }, body: invoice }));
  report(logger, 'Signed call:   POST /invoices', signed, 201);

  // 3. A tampered call: signed for one body, sent with another.
  const signature = orders.sign({ method: 'POST', url, body: invoice, contentType });
  const forged = invoice.replace('4200', '999999');
  const tampered = await outcome(send(url, { method: 'POST', headers: { ...headers, ...signature }, body: forged }));
  report(logger, 'Tampered call: POST /invoices, body changed after signing', tampered, 401);

  return { apiKey, keyCreated: !existing, signed, tampered };
}

async function outcome(pending: Promise<Response>): Promise<DemoCallOutcome> {
  const response = await pending;
  const body = (await response.json().catch(() => ({}))) as { code?: unknown };
  return typeof body.code === 'string' ? { status: response.status, code: body.code } : { status: response.status };
}

function report(logger: Logger, what: string, result: DemoCallOutcome, expected: number): void {
  const line = `${what} -> ${result.status}${result.code ? ` ${result.code}` : ''}`;
  if (result.status === expected) {
    logger.log(`${line} (${expected < 400 ? 'accepted' : 'rejected'}, as expected)`);
  } else {
    logger.error(`${line}, expected ${expected}`);
  }
}
