import { ADAPTERS, createTestApp, TEST_SECRET } from './support/test-app.js';
import { SigningService } from '../lib/index.js';

describe.each(ADAPTERS)('smoke (%s)', (adapter) => {
  it('accepts a signed GET and rejects an unsigned one', async () => {
    const t = await createTestApp({ adapter });
    try {
      const { apiKey } = await t.keys.create('orders');
      const signer = new SigningService().withCredentials({ apiKey, secret: TEST_SECRET });
      const ok = await signer.fetch(`${t.baseUrl}/items/7?x=1`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ id: '7', caller: { apiKey, serviceName: 'orders', scheme: 'v1' } });
      const post = await signer.fetch(`${t.baseUrl}/items`, {
        method: 'POST',
        body: JSON.stringify({ a: 1 }),
        headers: { 'content-type': 'application/json' },
      });
      expect(post.status).toBe(201);
      const bad = await fetch(`${t.baseUrl}/items/7`);
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ code: 'missing_credentials' });
      expect(bad.headers.get('x-api-server-time')).toMatch(/^\d+$/);
      expect(t.log.calls).toEqual(['get:7', 'create']);
    } finally {
      await t.close();
    }
  });
});
