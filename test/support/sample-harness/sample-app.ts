import { Logger, type INestApplication, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { runStartupDemo, type DemoOutcome } from './demo-flow.js';
import { describeDatabase, type SampleConfig } from './sample.config.js';
import { fetchTrusting, readTlsFiles } from './tls.js';

export interface SampleAppOptions {
  /** Nest's `logger` option: a LoggerService, log levels, or false. Default: Nest's console logger. */
  logger?: LoggerService | LogLevel[] | false;
}

export interface SampleApp {
  app: INestApplication;
  /** e.g. `http://127.0.0.1:3000` */
  url: string;
  demo: DemoOutcome;
  close(): Promise<void>;
}

/** Creates the sample app, listens on config.host:config.port and runs the startup demo. */
export async function createSampleApp(config: SampleConfig, options: SampleAppOptions = {}): Promise<SampleApp> {
  const tls = readTlsFiles(config);
  const adapter = config.httpAdapter === 'fastify' ? new FastifyAdapter(tls ? { https: tls } : undefined) : new ExpressAdapter();
  const app = await NestFactory.create(AppModule.forRoot(config), adapter, {
    ...(tls && config.httpAdapter === 'express' && { httpsOptions: tls }),
    // The guard verifies v1 signatures over the exact body bytes: keep them.
    rawBody: true,
    // Throw startup errors to the caller instead of exiting the process.
    abortOnError: false,
    ...(options.logger !== undefined && { logger: options.logger }),
  });
  const logger = new Logger('Sample');
  if (config.secretGenerated) warnAboutThrowawaySecret(logger);

  try {
    await app.listen(config.port, config.host);
    const url = await app.getUrl();
    logger.log(
      `Listening on ${url} (${config.httpAdapter}, ${describeDatabase(config.database)}, ` +
        `secret mode ${config.secretMode}, schemes ${config.schemes.join(',')}, ` +
        `${config.redisUrl ? 'shared state in Redis' : 'in-memory nonces and rate limits'}` +
        `${config.requireHttps ? ', HTTPS required' : ''})`,
    );
    // The demo calls this server: over HTTPS it trusts the server's own certificate.
    const demo = await runStartupDemo(app, url, config, tls ? fetchTrusting(tls.cert) : fetch);
    logger.log(`Try it: curl -i ${url}/health  (/invoices needs signed requests: see demo-flow.ts)`);
    return { app, url, demo, close: () => app.close() };
  } catch (error) {
    await app.close();
    throw error;
  }
}

function warnAboutThrowawaySecret(logger: Logger): void {
  logger.warn(
    [
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! API_SHARED_SECRET is not set, so this sample generated a random throwaway  !!',
      '!! secret for this run. FOR LOCAL DEVELOPMENT ONLY: no other service can sign !!',
      '!! requests for this process, and the secret changes at every restart.        !!',
      '!! Set API_SHARED_SECRET (32+ characters, e.g. `openssl rand -base64 48`).    !!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    ].join('\n'),
  );
}
