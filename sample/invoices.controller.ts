import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { AllowServices, ServiceCaller, type ServiceCallerInfo } from '../lib/index.js';

/**
 * Only signed requests get here (the module's global guard checked them).
 * @ServiceCaller() is the authenticated caller: { apiKey, serviceName, scheme }.
 */
@Controller('invoices')
export class InvoicesController {
  @Get(':id')
  findOne(@Param('id') id: string, @ServiceCaller() caller: ServiceCallerInfo) {
    return { caller: caller.serviceName, id };
  }

  @Post()
  create(@Body() invoice: unknown, @ServiceCaller() caller: ServiceCallerInfo) {
    return { caller: caller.serviceName, invoice };
  }

  /** Any other service gets 403 service_not_allowed. */
  @AllowServices('billing-admin')
  @Delete(':id')
  remove(@Param('id') id: string) {
    return { deleted: id };
  }
}
