import type { Attributes, Meter, ObservableCounter } from '@opentelemetry/api';
import { SERVICE_AUTH_ATTRIBUTES, SERVICE_AUTH_METRICS } from './metric-names.js';

/** One attribute set of the attempts counter, and its count. */
export interface AttemptCount {
  value: number;
  /** The attributes that apply of result, code, scheme and service. */
  readonly attributes: Attributes;
  /** The same without the service: the duration histogram's. */
  readonly durationAttributes: Attributes;
}

const byMeter = new WeakMap<Meter, AttemptCounts>();

/**
 * The attempts counter, kept here and reported when the SDK collects (an
 * asynchronous counter): a synchronous one would cost every request an SDK
 * call (attribute hashing, a timestamp) for what one map entry counts here.
 *
 * One per meter, shared by every app that records to it and never
 * unregistered, so that counts add up and outlive an app, as a synchronous
 * counter's would (an asynchronous instrument keeps one value per attribute
 * set: two callbacks would overwrite each other).
 */
export class AttemptCounts {
  /** Bounded: results x codes x schemes x the services of the key table. */
  private readonly counts = new Map<string, AttemptCount>();

  private constructor(meter: Meter) {
    const counter: ObservableCounter = meter.createObservableCounter(SERVICE_AUTH_METRICS.attempts, {
      description: 'Authentication decisions on incoming service requests, accepted or rejected.',
      unit: '{attempt}',
    });
    counter.addCallback((result) => {
      for (const count of this.counts.values()) result.observe(count.value, count.attributes);
    });
  }

  static of(meter: Meter): AttemptCounts {
    let counts = byMeter.get(meter);
    if (counts === undefined) byMeter.set(meter, (counts = new AttemptCounts(meter)));
    return counts;
  }

  /** Counts one decision; returns its entry (for the histogram's attributes). */
  count(result: string, code: string | undefined, scheme: string | undefined, service: string | undefined): AttemptCount {
    const key = `${result}\0${code ?? ''}\0${scheme ?? ''}\0${service ?? ''}`;
    let count = this.counts.get(key);
    if (count === undefined) this.counts.set(key, (count = newCount(result, code, scheme, service)));
    count.value++;
    return count;
  }
}

function newCount(result: string, code: string | undefined, scheme: string | undefined, service: string | undefined): AttemptCount {
  const durationAttributes: Attributes = { [SERVICE_AUTH_ATTRIBUTES.result]: result };
  if (code !== undefined) durationAttributes[SERVICE_AUTH_ATTRIBUTES.code] = code;
  if (scheme !== undefined) durationAttributes[SERVICE_AUTH_ATTRIBUTES.scheme] = scheme;
  const attributes = service === undefined ? durationAttributes : { ...durationAttributes, [SERVICE_AUTH_ATTRIBUTES.service]: service };
  return { value: 0, attributes: Object.freeze(attributes), durationAttributes: Object.freeze(durationAttributes) };
}
