import { Module } from '@nestjs/common';
import { ServiceAuthClientModule } from 'nestjs-service-auth/client';
import { InvoicesClient } from './invoices.client.js';

@Module({
  imports: [
    ServiceAuthClientModule.forRoot({
      apiKey: process.env.SERVICE_API_KEY!,
      secret: process.env.SERVICE_API_SECRET!,
    }),
  ],
  providers: [InvoicesClient],
})
export class AppModule {}
