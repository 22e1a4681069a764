// Bytes per entry of MemoryNonceStore: `node --expose-gc dist/bench/nonce-memory.js [--entries N]`.
// Fills a store the way the guard does (`<apiKey>:<nonce>` keys, expiries spread over the
// 300 s window) and measures the JavaScript heap plus array buffers (where the store's typed
// arrays live) after full garbage collections. Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { MemoryNonceStore } from '../lib/stores/memory-nonce.store.js';
import { isMain, parseArgs } from './common.js';
import type { NonceMemoryResult } from './report.js';

const gc = (globalThis as { gc?: () => void }).gc;

function memoryUsed(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

export async function measureNonceMemory(entries: number): Promise<NonceMemoryResult> {
  if (!gc) throw new Error('run with node --expose-gc');
  const apiKey = 'BenchKey0123456789abcdefghijklmn';
  const window = 300;
  const now = 1_764_300_000;
  const store = new MemoryNonceStore(entries + 1, () => now);
  const before = memoryUsed();

  const chunk = 10_000;
  let recordUs = 0;
  for (let done = 0; done < entries; done += chunk) {
    const n = Math.min(chunk, entries - done);
    const bytes = randomBytes(16 * n);
    const keys = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = `${apiKey}:${bytes.toString('base64url', i * 16, i * 16 + 16)}`;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      // Requests arrive evenly over the window: expiries `timestamp + 300` rise second by second.
      const expiresAt = now + Math.floor(((done + i) * window) / entries);
      if (!store.recordOnce(keys[i], expiresAt)) throw new Error('duplicate nonce');
    }
    recordUs += Number(process.hrtime.bigint() - start) / 1000;
  }
  const after = memoryUsed();
  if (store.size !== entries) throw new Error(`store holds ${store.size}, expected ${entries}`);
  return {
    entries,
    heapBytes: after - before,
    bytesPerEntry: (after - before) / entries,
    keyLength: apiKey.length + 1 + 22,
    distinctExpirySeconds: Math.min(window, entries),
    recordOnceUs: recordUs / entries,
  };
}

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const result = await measureNonceMemory(Number(args.get('entries') ?? 1_000_000));
  process.stderr.write(
    `MemoryNonceStore: ${result.bytesPerEntry.toFixed(1)} bytes per entry at ${result.entries} entries ` +
      `(${(result.heapBytes / 2 ** 20).toFixed(1)} MiB), ${result.recordOnceUs.toFixed(2)} us per recordOnce\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
