import type { BatchObservableCallback, Histogram, Meter, MeterProvider, Observable } from '@opentelemetry/api';
import { AttemptCounts } from './attempt-counts.js';
import { SERVICE_AUTH_ATTRIBUTES, SERVICE_AUTH_METER_NAME, SERVICE_AUTH_METRICS } from './metric-names.js';
import type { ResolvedObservability } from './observability-options.factory.js';
import { OpenTelemetryApiMissingError } from './observability.errors.js';
import type { ServiceAuthEventScheme } from './service-auth-event.interface.js';

/** Seconds; verification takes microseconds, a store call milliseconds, a lookup timeout a second. */
const DURATION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** What the gauges read. */
export interface GaugeSources {
  /** The nonce store; observed when it has a numeric `size` and `maxEntries` (the in-memory one). */
  nonceStore?: { size?: unknown; maxEntries?: unknown };
  keyCache?: { sizes(): { found: number; unknown: number } };
  keyCacheMaxEntries: number;
}

type OpenTelemetryApi = typeof import('@opentelemetry/api');

/**
 * The module's OpenTelemetry instruments. `@opentelemetry/api` is imported
 * only here, and only when the app initialises with metrics not set to
 * `false`, so the module loads and runs without it.
 */
export class AuthMetrics {
  private readonly attempts: AttemptCounts;
  private readonly duration: Histogram;
  private readonly gauges: Observable[];
  private readonly observe: BatchObservableCallback;

  private constructor(
    private readonly meter: Meter,
    sources: GaugeSources,
  ) {
    this.attempts = AttemptCounts.of(meter);
    this.duration = meter.createHistogram(SERVICE_AUTH_METRICS.duration, {
      description: 'Time from the start of verification to the decision.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    const gauge = (name: string, description: string, unit: string) => meter.createObservableGauge(name, { description, unit });
    const nonceUsage = gauge(SERVICE_AUTH_METRICS.nonceStoreUsage, 'Unexpired nonces held by the in-memory nonce store.', '{nonce}');
    const nonceLimit = gauge(SERVICE_AUTH_METRICS.nonceStoreLimit, 'Capacity of the in-memory nonce store.', '{nonce}');
    const cacheUsage = gauge(SERVICE_AUTH_METRICS.keyCacheUsage, 'API keys held by the key cache, found or unknown.', '{key}');
    const cacheLimit = gauge(SERVICE_AUTH_METRICS.keyCacheLimit, 'Bound of the key cache, per state.', '{key}');
    this.gauges = [nonceUsage, nonceLimit, cacheUsage, cacheLimit];
    const { nonceStore, keyCache, keyCacheMaxEntries } = sources;
    this.observe = (result) => {
      if (nonceStore && typeof nonceStore.size === 'number' && typeof nonceStore.maxEntries === 'number') {
        result.observe(nonceUsage, nonceStore.size);
        result.observe(nonceLimit, nonceStore.maxEntries);
      }
      if (keyCache) {
        const sizes = keyCache.sizes();
        for (const state of ['found', 'unknown'] as const) {
          const attributes = { [SERVICE_AUTH_ATTRIBUTES.keyCacheState]: state };
          result.observe(cacheUsage, sizes[state], attributes);
          result.observe(cacheLimit, keyCacheMaxEntries, attributes);
        }
      }
    };
    meter.addBatchObservableCallback(this.observe, this.gauges);
  }

  /**
   * The instruments, or `undefined` when there is nothing to record to:
   * `@opentelemetry/api` is not installed, or no SDK registered a global
   * `MeterProvider` (its no-op meter would cost the requests for nothing).
   */
  static async create(setting: ResolvedObservability['metrics'], sources: GaugeSources): Promise<AuthMetrics | undefined> {
    if (setting === false) return undefined;
    if (typeof setting === 'object') return new AuthMetrics(setting.meterProvider.getMeter(SERVICE_AUTH_METER_NAME), sources);
    const api = await loadApi(setting === 'required');
    if (!api) return undefined;
    const provider: MeterProvider = api.metrics.getMeterProvider();
    const meter = provider.getMeter(SERVICE_AUTH_METER_NAME);
    if (meter === api.createNoopMeter()) return undefined;
    return new AuthMetrics(meter, sources);
  }

  /** One decision: a count, and its duration when it was timed. */
  record(
    result: 'accepted' | 'rejected',
    code: string | undefined,
    scheme: ServiceAuthEventScheme | undefined,
    service: string | undefined,
    seconds: number | undefined,
  ): void {
    const count = this.attempts.count(result, code, scheme, service);
    if (seconds !== undefined) this.duration.record(seconds, count.durationAttributes);
  }

  /** Stops the gauges' callback (the app is closing); the attempts stay counted. */
  close(): void {
    this.meter.removeBatchObservableCallback(this.observe, this.gauges);
  }
}

async function loadApi(required: boolean): Promise<OpenTelemetryApi | undefined> {
  try {
    return await import('@opentelemetry/api');
  } catch (error) {
    if (required) throw new OpenTelemetryApiMissingError(error instanceof Error ? error.message.split('\n')[0] : String(error));
    return undefined;
  }
}
