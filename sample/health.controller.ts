import { Controller, Get } from '@nestjs/common';
import { Public } from '../lib/index.js';

/** Open to anyone (load balancers, probes): @Public() skips the global ApiKeyGuard. */
@Public()
@Controller('health')
export class HealthController {
  @Get()
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
