// test/app.e2e-spec.ts
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ApiKeyService, SigningService } from 'nestjs-service-auth';
import { AppModule } from '../src/app.module.js';

describe.each([
  ['express', () => new ExpressAdapter()],
  ['fastify', () => new FastifyAdapter()],
])('signed requests on %s', (_name, adapter) => {
  let app: INestApplication;
  let base: string;
  let signer: SigningService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication(adapter(), { rawBody: true, logger: false });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const { apiKey } = await app.get(ApiKeyService).create('orders');
    signer = new SigningService().withCredentials({ apiKey, secret: process.env.API_SHARED_SECRET! });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('accepts a signed GET and a signed JSON POST', async () => {
    const get = await signer.fetch(`${base}/invoices/42`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ id: '42', caller: 'orders' });
    const post = await signer.fetch(`${base}/invoices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ total: 12 }),
    });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ created: 12, caller: 'orders' });
  });

  it('rejects an unsigned request and one whose path was changed after signing', async () => {
    const unsigned = await fetch(`${base}/invoices/42`);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ code: 'missing_credentials' });
    const tampered = await fetch(`${base}/invoices/43`, { headers: signer.sign({ method: 'GET', url: `${base}/invoices/42` }) });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ code: 'invalid_signature' });
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
