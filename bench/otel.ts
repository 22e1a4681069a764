// The OpenTelemetry SDK of the metrics variants (server.ts, micro.ts).
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';

/**
 * An OpenTelemetry SDK MeterProvider that collects every 10 s and drops what it collected (an OTLP
 * exporter would send it; sending is not what is measured here).
 */
export function benchMeterProvider(): MeterProvider {
  const exporter: PushMetricExporter = {
    export: (_metrics, done) => done({ code: 0 }),
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  return new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 10_000 })] });
}
