import { Logger, type INestApplication } from '@nestjs/common';
import { ApiKeyService, SigningService } from '../lib/index.js';

/**
 * Run once at startup against this very app: makes sure the service `orders`
 * has an API key, sends one signed call (201) and one whose body was changed
 * after signing (401 invalid_signature). Logs the API key, never a secret.
 */
export async function runDemo(app: INestApplication, baseUrl: string, secret: string): Promise<void> {
  const logger = new Logger('Demo');
  const keys = app.get(ApiKeyService);

  // Reuse an active key of `orders`, else issue one (the key table stores no secret).
  const now = Date.now();
  const existing = (await keys.list({ serviceName: 'orders' })).find((key) => !key.expiresAt || key.expiresAt.getTime() > now);
  const apiKey = existing?.apiKey ?? (await keys.create('orders')).apiKey;
  logger.log(`${existing ? 'Reusing' : 'Created'} the API key of service "orders": ${apiKey}`);

  // `orders` signs with its API key and the shared secret.
  const orders = app.get(SigningService).withCredentials({ apiKey, secret });
  const url = `${baseUrl}/invoices`;
  const body = JSON.stringify({ number: 'INV-1001', amountCents: 4200, currency: 'EUR' });
  const headers = { 'content-type': 'application/json' };

  // A signed call: fetch() signs exactly the bytes it sends.
  const signed = await orders.fetch(url, { method: 'POST', headers, body });
  logger.log(`Signed call:   POST /invoices -> ${await describe(signed)}`);

  // A tampered call: signed for one body, sent with another.
  const signature = orders.sign({ method: 'POST', url, body, contentType: headers['content-type'] });
  const tampered = await fetch(url, { method: 'POST', headers: { ...headers, ...signature }, body: body.replace('4200', '999999') });
  logger.log(`Tampered call: POST /invoices, body changed after signing -> ${await describe(tampered)}`);
}

/** `201`, or `401 invalid_signature`: the status and the refusal's code. */
async function describe(response: Response): Promise<string> {
  const answer = (await response.json().catch(() => ({}))) as { code?: unknown };
  return typeof answer.code === 'string' ? `${response.status} ${answer.code}` : String(response.status);
}
