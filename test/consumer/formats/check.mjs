// `node check.mjs [express] [fastify]`: the format check (check-app.cjs) with
// nestjs-service-auth loaded by import, from the folder's own resolution.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { checkApp } = require('./check-app.cjs');

const ADAPTER_PACKAGES = {
  express: ['@nestjs/platform-express', 'ExpressAdapter'],
  fastify: ['@nestjs/platform-fastify', 'FastifyAdapter'],
};

const entry = fileURLToPath(import.meta.resolve('nestjs-service-auth'));
assert.match(entry, /[\\/]dist[\\/]lib[\\/]index\.js$/, `import resolved ${entry}`);
assert.match(fileURLToPath(import.meta.resolve('nestjs-service-auth/redis')), /[\\/]dist[\\/]lib[\\/]redis[\\/]index\.js$/);
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['express'];
const adapters = {};
for (const name of names) adapters[name] = (await import(ADAPTER_PACKAGES[name][0]))[ADAPTER_PACKAGES[name][1]];
// For the test suite, classes of the other build, as when one app loads both:
// FORMAT_CHECK_FOREIGN_EXCEPTION=1 gives the app's exception filter the other
// ServiceAuthException (a negative control: the check must fail);
// FORMAT_CHECK_FOREIGN_THROTTLER=1 passes the other MemoryThrottlerStorage
// (the guard's instanceof misses it and takes the general path).
const foreignException = process.env.FORMAT_CHECK_FOREIGN_EXCEPTION === '1';
const foreignThrottler = process.env.FORMAT_CHECK_FOREIGN_THROTTLER === '1';
const own = await import('nestjs-service-auth');
const other = foreignException || foreignThrottler ? require('nestjs-service-auth') : undefined;
const auth = foreignException ? { ...own, ServiceAuthException: other.ServiceAuthException } : own;
const ThrottlerStorage = foreignThrottler ? other.MemoryThrottlerStorage : own.MemoryThrottlerStorage;
try {
  await checkApp(
    {
      common: await import('@nestjs/common'),
      core: await import('@nestjs/core'),
      typeorm: await import('@nestjs/typeorm'),
      auth,
      adapters,
      ThrottlerStorage,
    },
    'esm',
  );
  const cjsDir = join(dirname(entry), '..', 'cjs');
  const cjsBuild = Object.keys(require.cache).filter((file) => file.startsWith(cjsDir));
  if (!other) assert.deepEqual(cjsBuild, [], 'the CommonJS build was loaded too');
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
