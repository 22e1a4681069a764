// `npm start`: builds, then runs this file (node dist/sample/main.js).
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readSecretsFromEnv } from '../lib/index.js';
import { AppModule } from './app.module.js';
import { runDemo } from './demo.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Sample');
  const port = Number(process.env.PORT ?? 3000);

  // API_SHARED_SECRET, then API_SHARED_SECRET_PREVIOUS, read as the module reads them.
  let secrets = readSecretsFromEnv(process.env);
  if (secrets.length === 0) {
    if (process.env.NODE_ENV === 'production') throw new Error('Set API_SHARED_SECRET (32+ characters) when NODE_ENV=production.');
    // So that `npm start` works with no set-up. The module itself refuses to start without a secret.
    secrets = [randomBytes(32).toString('base64url')];
    logger.warn('API_SHARED_SECRET is not set: this run uses a random throwaway secret (local development only).');
  }

  // rawBody: the guard verifies the signature over the exact body bytes.
  const app = await NestFactory.create(AppModule.forRoot(secrets, port), { rawBody: true });
  app.enableShutdownHooks();
  await app.listen(port, '127.0.0.1');
  const url = await app.getUrl();
  logger.log(`Listening on ${url}`);
  await runDemo(app, url, secrets[0]);
  logger.log(`Try it: curl -i ${url}/health  (/invoices needs signed requests: see sample/demo.ts)`);
}

bootstrap().catch((error: unknown) => {
  // A configuration mistake: one line that says what to fix.
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
