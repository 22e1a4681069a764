import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';

@Controller()
class C { @Get('x') x() { return { ok: 1 }; } }
@Module({ controllers: [C] })
class M {}

test('boots', async () => {
  const ref = await Test.createTestingModule({ imports: [M] }).compile();
  const app = ref.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { rawBody: true });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const res = await request(app.getHttpServer()).get('/x');
  expect(res.body).toEqual({ ok: 1 });
  await app.close();
});
