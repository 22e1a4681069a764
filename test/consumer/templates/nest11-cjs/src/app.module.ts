import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey, ApiKeyAuthModule, apiKeyAuthMigrations } from 'nestjs-service-auth';
import { HealthController, InvoicesController } from './invoices.controller';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'better-sqlite3',
      database: process.env.SQLITE_PATH ?? '.data/app.sqlite',
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsRun: true,
    }),
    ApiKeyAuthModule.forRoot({ schemes: ['v1'] }),
  ],
  controllers: [InvoicesController, HealthController],
})
export class AppModule {}
