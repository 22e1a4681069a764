'use strict';
// `node check.cjs [express] [fastify]`: the format check (check-app.cjs) with
// nestjs-service-auth loaded by require(), from the folder's own resolution
// (the repository itself by self-reference, or a consumer's node_modules).
require('reflect-metadata');
const assert = require('node:assert/strict');
const { dirname, join } = require('node:path');
const { checkApp } = require('./check-app.cjs');

const ADAPTER_PACKAGES = {
  express: ['@nestjs/platform-express', 'ExpressAdapter'],
  fastify: ['@nestjs/platform-fastify', 'FastifyAdapter'],
};

async function main() {
  const entry = require.resolve('nestjs-service-auth');
  assert.match(entry, /[\\/]dist[\\/]cjs[\\/]index\.js$/, `require() resolved ${entry}`);
  assert.match(require.resolve('nestjs-service-auth/redis'), /[\\/]dist[\\/]cjs[\\/]redis[\\/]index\.js$/);
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['express'];
  const adapters = {};
  for (const name of names) adapters[name] = require(ADAPTER_PACKAGES[name][0])[ADAPTER_PACKAGES[name][1]];
  const auth = require('nestjs-service-auth');
  await checkApp(
    {
      common: require('@nestjs/common'),
      core: require('@nestjs/core'),
      typeorm: require('@nestjs/typeorm'),
      auth,
      adapters,
      ThrottlerStorage: auth.MemoryThrottlerStorage,
    },
    'cjs',
  );
  const esmDir = join(dirname(entry), '..', 'lib');
  const esmBuild = Object.keys(require.cache).filter((file) => file.startsWith(esmDir));
  assert.deepEqual(esmBuild, [], 'the ESM build was loaded too');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
