import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { SERVICE_AUTH_METRICS, type ApiKeyAuthModuleOptions, type ServiceAuthEvent } from '../../lib/index.js';
import { createTestApp, type AdapterName, type TestApp, type TestAppOptions } from '../support/test-app.js';

/** A pull reader: the test collects when it wants to look. */
export class TestMetricReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** Every metric of the module's meter, by name. */
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) throw new Error(`metric collection failed: ${errors.map(String).join('; ')}`);
    const found = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) found.set(metric.descriptor.name, metric);
    return found;
  }

  /** The points of a counter or gauge: attributes and value, sorted for comparison. */
  async points(name: string): Promise<Array<{ attributes: Attributes; value: number }>> {
    const metric = (await this.metrics()).get(name);
    if (!metric) return [];
    if (metric.dataPointType === DataPointType.HISTOGRAM) throw new Error(`${name} is a histogram`);
    return sortPoints(metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value as number })));
  }

  /** The points of a histogram: attributes and how many values it recorded. */
  async histogramCounts(name: string): Promise<Array<{ attributes: Attributes; value: number }>> {
    const metric = (await this.metrics()).get(name);
    if (!metric) return [];
    if (metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    return sortPoints(metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value.count })));
  }
}

export function sortPoints<T extends { attributes: Attributes }>(points: T[]): T[] {
  const key = (p: T) => JSON.stringify(Object.entries(p.attributes).sort(([a], [b]) => a.localeCompare(b)));
  return [...points].sort((a, b) => key(a).localeCompare(key(b)));
}

export interface ObservedApp extends TestApp {
  reader: TestMetricReader;
  provider: MeterProvider;
  /** Every event the listener received, in order. */
  events: ServiceAuthEvent[];
  /** The attempts counter's points. */
  attempts(): Promise<Array<{ attributes: Attributes; value: number }>>;
  /** Resolves once `count` events arrived (they come after the answer), or rejects after 2 s. */
  eventsArrived(count: number): Promise<ServiceAuthEvent[]>;
}

/** A test app with its own MeterProvider (in-memory reader) and an event listener. */
export async function createObservedApp(
  adapter: AdapterName,
  auth: ApiKeyAuthModuleOptions = {},
  options: Partial<TestAppOptions> = {},
): Promise<ObservedApp> {
  const reader = new TestMetricReader();
  const provider = new MeterProvider({ readers: [reader] });
  const events: ServiceAuthEvent[] = [];
  const t = await createTestApp({
    adapter,
    ...options,
    auth: {
      ...auth,
      observability: { metrics: { meterProvider: provider }, onAuthentication: (event) => void events.push(event), ...auth.observability },
    },
  });
  return {
    ...t,
    reader,
    provider,
    events,
    attempts: () => reader.points(SERVICE_AUTH_METRICS.attempts),
    eventsArrived: async (count) => {
      const deadline = Date.now() + 2_000;
      while (events.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (events.length < count) throw new Error(`expected ${count} events, got ${events.length}`);
      return events;
    },
    close: async () => {
      await t.close();
      await provider.shutdown();
    },
  };
}
