import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ServiceAuthHealthIndicator } from './service-auth.health-indicator.js';

/** Provides `ServiceAuthHealthIndicator` (and Terminus) to the module that imports it. */
@Module({
  imports: [TerminusModule],
  providers: [ServiceAuthHealthIndicator],
  exports: [ServiceAuthHealthIndicator, TerminusModule],
})
export class ServiceAuthHealthModule {}
