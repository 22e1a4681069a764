import type { Attributes, BatchObservableCallback, Histogram, Meter, MeterProvider, Observable, ObservableCounter } from '@opentelemetry/api';
import type { ResolvedObservability } from './observability-options.factory.js';
import { OpenTelemetryApiMissingError } from './observability.errors.js';
import type { ServiceAuthEventScheme } from './service-auth-event.interface.js';

/** The name of the module's meter (its instrumentation scope). */
export const SERVICE_AUTH_METER_NAME = 'nestjs-service-auth';

/** The module's instruments (README, "Observability", lists each with its unit and attributes). */
export const SERVICE_AUTH_METRICS = {
  /** Counter (asynchronous), `{attempt}`: authentication decisions, by result, code, scheme and (authenticated) service. */
  attempts: 'service_auth.authentication.attempts',
  /** Histogram, `s`: from the start of verification to the decision, by result, code and scheme. */
  duration: 'service_auth.authentication.duration',
  /** Gauge, `{nonce}`: unexpired nonces held by the in-memory nonce store. */
  nonceStoreUsage: 'service_auth.nonce_store.usage',
  /** Gauge, `{nonce}`: the in-memory nonce store's capacity (`nonces.maxEntries`). */
  nonceStoreLimit: 'service_auth.nonce_store.limit',
  /** Gauge, `{key}`: keys in the key cache, by state (`found`, `unknown`). */
  keyCacheUsage: 'service_auth.key_cache.usage',
  /** Gauge, `{key}`: the key cache's bound per state (`keyCache.maxEntries`). */
  keyCacheLimit: 'service_auth.key_cache.limit',
} as const;

/** The attributes of the module's instruments. */
export const SERVICE_AUTH_ATTRIBUTES = {
  /** `accepted` or `rejected`. */
  result: 'service_auth.result',
  /** The refusal's code (PROTOCOL.md); absent when accepted. */
  code: 'service_auth.code',
  /** `v1`, `v0` or `rfc9421`; absent when the request names no known scheme. */
  scheme: 'service_auth.scheme',
  /** The calling service's name; only once its signature and key were verified. */
  service: 'service_auth.service',
  /** Of the key cache gauges: `found` or `unknown`. */
  keyCacheState: 'service_auth.key_cache.state',
} as const;

/** Seconds; verification takes microseconds, a store call milliseconds, a lookup timeout a second. */
const DURATION_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

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
  private readonly attempts: ObservableCounter;
  private readonly duration: Histogram;
  private readonly observables: Observable[];
  private readonly observe: BatchObservableCallback;
  /**
   * The attempts counted so far, per attribute set, reported when the SDK
   * collects: a synchronous counter would cost each request an SDK call
   * (attribute hashing, a timestamp) for what a map entry counts here.
   */
  private readonly counts = new Map<string, Count>();

  private constructor(
    private readonly meter: Meter,
    sources: GaugeSources,
  ) {
    this.attempts = meter.createObservableCounter(SERVICE_AUTH_METRICS.attempts, {
      description: 'Authentication decisions on incoming service requests, accepted or rejected.',
      unit: '{attempt}',
    });
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
    this.observables = [this.attempts, nonceUsage, nonceLimit, cacheUsage, cacheLimit];
    const { nonceStore, keyCache, keyCacheMaxEntries } = sources;
    this.observe = (result) => {
      for (const count of this.counts.values()) result.observe(this.attempts, count.value, count.attributes);
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
    meter.addBatchObservableCallback(this.observe, this.observables);
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
    // Bounded: results x codes x schemes x the services of the key table.
    const key = `${result}\0${code ?? ''}\0${scheme ?? ''}\0${service ?? ''}`;
    let count = this.counts.get(key);
    if (count === undefined) this.counts.set(key, (count = newCount(result, code, scheme, service)));
    count.value++;
    if (seconds !== undefined) this.duration.record(seconds, count.durationAttributes);
  }

  /** Stops the observable instruments' callback (the app is closing). */
  close(): void {
    this.meter.removeBatchObservableCallback(this.observe, this.observables);
  }
}

interface Count {
  value: number;
  /** All four attributes (those that apply). */
  attributes: Attributes;
  /** The same without the service. */
  durationAttributes: Attributes;
}

function newCount(result: string, code: string | undefined, scheme: string | undefined, service: string | undefined): Count {
  const durationAttributes: Attributes = { [SERVICE_AUTH_ATTRIBUTES.result]: result };
  if (code !== undefined) durationAttributes[SERVICE_AUTH_ATTRIBUTES.code] = code;
  if (scheme !== undefined) durationAttributes[SERVICE_AUTH_ATTRIBUTES.scheme] = scheme;
  const attributes = service === undefined ? durationAttributes : { ...durationAttributes, [SERVICE_AUTH_ATTRIBUTES.service]: service };
  return { value: 0, attributes: Object.freeze(attributes), durationAttributes: Object.freeze(durationAttributes) };
}

async function loadApi(required: boolean): Promise<OpenTelemetryApi | undefined> {
  try {
    return await import('@opentelemetry/api');
  } catch (error) {
    if (required) throw new OpenTelemetryApiMissingError(error instanceof Error ? error.message.split('\n')[0] : String(error));
    return undefined;
  }
}
