import type { LogLevel } from '@nestjs/common';
import type { MeterProvider } from '@opentelemetry/api';
import { InvalidOptionError } from '../api-key-auth-configuration.errors.js';
import type { ObservabilityOptions } from './observability-options.interface.js';
import type { ServiceAuthEventListener } from './service-auth-event.interface.js';

export const DEFAULT_REFUSAL_LOG = { level: 'debug' as LogLevel, maxPerMinute: 60 };
const LOG_LEVELS: readonly LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

/** `observability` after defaults and validation. */
export interface ResolvedObservability {
  /** `'auto'`: the global provider, when `@opentelemetry/api` loads; `'required'`: the same, but it must load. */
  metrics: false | 'auto' | 'required' | { meterProvider: MeterProvider };
  listeners: readonly ServiceAuthEventListener[];
  refusalLog: { level: LogLevel; maxPerMinute: number } | false;
}

export function resolveObservabilityOptions(options: ObservabilityOptions = {}): ResolvedObservability {
  return {
    metrics: resolveMetrics(options.metrics),
    listeners: resolveListeners(options.onAuthentication),
    refusalLog: resolveRefusalLog(options.refusalLog),
  };
}

function resolveMetrics(metrics: ObservabilityOptions['metrics']): ResolvedObservability['metrics'] {
  if (metrics === undefined) return 'auto';
  if (metrics === false) return false;
  if (metrics === true) return 'required';
  if (typeof metrics !== 'object' || metrics === null) {
    throw new InvalidOptionError('observability.metrics', `must be true, false or { meterProvider }, got ${typeof metrics}.`);
  }
  const provider = metrics.meterProvider;
  if (provider === undefined) return 'required';
  if (typeof (provider as Partial<MeterProvider>)?.getMeter !== 'function') {
    throw new InvalidOptionError('observability.metrics.meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter()).');
  }
  return { meterProvider: provider };
}

function resolveListeners(listeners: ObservabilityOptions['onAuthentication']): readonly ServiceAuthEventListener[] {
  if (listeners === undefined) return [];
  const list = Array.isArray(listeners) ? listeners : [listeners];
  if (list.some((listener) => typeof listener !== 'function')) {
    throw new InvalidOptionError('observability.onAuthentication', 'must be a function (event) => void, or an array of them.');
  }
  return Object.freeze([...list]);
}

function resolveRefusalLog(log: ObservabilityOptions['refusalLog']): ResolvedObservability['refusalLog'] {
  if (log === false) return false;
  const level = log?.level ?? DEFAULT_REFUSAL_LOG.level;
  if (!LOG_LEVELS.includes(level)) {
    throw new InvalidOptionError(
      'observability.refusalLog.level',
      `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}.`,
    );
  }
  const maxPerMinute = log?.maxPerMinute ?? DEFAULT_REFUSAL_LOG.maxPerMinute;
  if (!Number.isSafeInteger(maxPerMinute) || maxPerMinute <= 0) {
    throw new InvalidOptionError('observability.refusalLog.maxPerMinute', `must be a positive integer, got ${String(maxPerMinute)}.`);
  }
  return { level, maxPerMinute };
}
