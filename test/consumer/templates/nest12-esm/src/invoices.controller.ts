import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { Public, ServiceCaller, type ServiceCallerInfo } from 'nestjs-service-auth';

@Controller('invoices')
export class InvoicesController {
  @Get(':id')
  get(@Param('id') id: string, @ServiceCaller() caller: ServiceCallerInfo) {
    return { id, caller: caller.serviceName };
  }

  @Post()
  create(@Body() invoice: { total: number }, @ServiceCaller() caller: ServiceCallerInfo) {
    return { created: invoice.total, caller: caller.serviceName };
  }
}

@Public()
@Controller('health')
export class HealthController {
  @Get()
  health() {
    return { status: 'ok' };
  }
}
