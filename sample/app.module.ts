import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
// In your own app: import { ... } from 'nestjs-service-auth';
import { ApiKey, ApiKeyAuthModule, apiKeyAuthMigrations } from '../lib/index.js';
import { HealthController } from './health.controller.js';
import { InvoicesController } from './invoices.controller.js';

export const DATABASE_FILE = '.data/app.sqlite';

@Module({})
export class AppModule {
  /** `secrets`: the current shared secret first, then previous ones still accepted. */
  static forRoot(secrets: string[], port: number): DynamicModule {
    mkdirSync(dirname(DATABASE_FILE), { recursive: true });
    return {
      module: AppModule,
      imports: [
        // The key table: the ApiKey entity and the module's migrations (never `synchronize`).
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: DATABASE_FILE,
          entities: [ApiKey],
          migrations: apiKeyAuthMigrations,
          migrationsRun: true,
        }),
        ApiKeyAuthModule.forRoot({
          secrets,
          // Signed requests must be meant for this server (with PORT=0, on any port).
          allowedHosts: ['127.0.0.1', 'localhost'].map((host) => (port ? `${host}:${port}` : host)),
          // Every route needs a signed request unless it is marked @Public().
          globalGuard: true,
          // ApiKeyService and SigningService can be injected in any module.
          isGlobal: true,
        }),
      ],
      controllers: [HealthController, InvoicesController],
    };
  }
}
