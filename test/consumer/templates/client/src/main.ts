import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { InvoicesClient } from './invoices.client.js';

// One call to the invoices service; prints {status, body} and exits 0 on 200.
const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
try {
  const result = await app.get(InvoicesClient).get('42');
  console.log(JSON.stringify(result));
  process.exitCode = result.status === 200 ? 0 : 1;
} finally {
  await app.close();
}
