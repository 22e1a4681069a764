import type { LogLevel } from '@nestjs/common';
import type { MeterProvider } from '@opentelemetry/api';
import type { ServiceAuthEventListener } from './service-auth-event.interface.js';

/** OpenTelemetry metrics (README, "Observability"). */
export interface MetricsOptions {
  /**
   * The provider to create the module's meter from, e.g. the SDK's
   * `MeterProvider`. Default: the global one of `@opentelemetry/api`
   * (`metrics.getMeterProvider()`), as read when the app initialises.
   */
  meterProvider?: MeterProvider;
}

/** The refusal log: one line per refused request. */
export interface RefusalLogOptions {
  /** Nest log level of the line. Default `'debug'`. */
  level?: LogLevel;
  /**
   * Lines written per minute at most; past it, refusals are counted and one
   * line per minute says how many were not logged. Default 60.
   */
  maxPerMinute?: number;
}

/** Metrics, audit events and refusal logs (README, "Observability"). */
export interface ObservabilityOptions {
  /**
   * OpenTelemetry metrics. Default (`undefined`): recorded when
   * `@opentelemetry/api` can be loaded and a global `MeterProvider` is
   * registered when the app initialises; otherwise nothing is loaded or
   * recorded. `true`: the same, but the app refuses to start without
   * `@opentelemetry/api`. `{ meterProvider }`: recorded through that provider.
   * `false`: never loaded.
   */
  metrics?: boolean | MetricsOptions;
  /** Listeners of every authentication decision (accepted or refused), e.g. an audit log. */
  onAuthentication?: ServiceAuthEventListener | ServiceAuthEventListener[];
  /** One log line per refused request, or `false` for none. Default: at `debug`, at most 60 lines per minute. */
  refusalLog?: RefusalLogOptions | false;
}
