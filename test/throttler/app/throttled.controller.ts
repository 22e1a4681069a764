import { Controller, Get, Param, Post, type ExecutionContext } from '@nestjs/common';
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import { AllowServices, getServiceCaller, Public, ServiceCaller, type ServiceCallerInfo } from '../../../lib/index.js';

/** Handler runs per API key, so that a test can check that a refused request ran nothing. */
const handled = new Map<string, string[]>();

function ran(route: string, caller: ServiceCallerInfo): { route: string; caller: string } {
  const runs = handled.get(caller.apiKey) ?? [];
  runs.push(route);
  handled.set(caller.apiKey, runs);
  return { route, caller: caller.serviceName };
}

/** A function-valued limit: 4 for the service `vip`, 1 for every other. */
function tieredLimit(context: ExecutionContext): number {
  return getServiceCaller(context.switchToHttp().getRequest())?.serviceName === 'vip' ? 4 : 1;
}

/**
 * The routes of the throttler test app. Its throttlers: `default` (5 per
 * minute) and `long` (12 per minute).
 */
@Controller()
export class ThrottledController {
  @Get('items/:id')
  item(@Param('id') id: string, @ServiceCaller() caller: ServiceCallerInfo) {
    return { id, ...ran('items', caller) };
  }

  @Throttle({ default: { limit: 2, ttl: 60_000 } })
  @Get('report')
  report(@ServiceCaller() caller: ServiceCallerInfo) {
    return ran('report', caller);
  }

  @SkipThrottle()
  @Get('unthrottled')
  unthrottled(@ServiceCaller() caller: ServiceCallerInfo) {
    return ran('unthrottled', caller);
  }

  @SkipThrottle({ default: true, long: true })
  @Get('free')
  free(@ServiceCaller() caller: ServiceCallerInfo) {
    return ran('free', caller);
  }

  @Throttle({ long: { limit: 3, ttl: 60_000 } })
  @Get('burst')
  burst(@ServiceCaller() caller: ServiceCallerInfo) {
    return ran('burst', caller);
  }

  @Throttle({ default: { limit: tieredLimit, ttl: 60_000 } })
  @Get('tiered')
  tiered(@ServiceCaller() caller: ServiceCallerInfo) {
    return ran('tiered', caller);
  }

  @AllowServices('admin')
  @Post('admin')
  admin(@ServiceCaller() caller: ServiceCallerInfo) {
    return ran('admin', caller);
  }

  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Public()
  @SkipThrottle({ default: true, long: true })
  @Get('handled/:apiKey')
  handledBy(@Param('apiKey') apiKey: string) {
    return handled.get(apiKey) ?? [];
  }
}
