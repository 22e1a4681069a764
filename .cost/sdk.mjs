import { benchMeterProvider } from '../dist/bench/otel.js';
const meter = benchMeterProvider().getMeter('x');
const h = meter.createHistogram('h', { advice: { explicitBucketBoundaries: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] } });
const c = meter.createCounter('c');
const attrs = Object.freeze({ 'service_auth.result': 'accepted', 'service_auth.scheme': 'v1' });
const N = 200000;
for (const [name, fn] of [['histogram', () => h.record(0.00001, attrs)], ['counter', () => c.add(1, attrs)], ['perf.now', () => performance.now()], ['histogram', () => h.record(0.00001, attrs)], ['counter', () => c.add(1, attrs)]]) {
  for (let i = 0; i < N; i++) fn();
  const s = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  console.log(name, (Number(process.hrtime.bigint() - s) / N).toFixed(0), 'ns');
}
process.exit(0);
