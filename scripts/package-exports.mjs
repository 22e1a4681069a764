// The package's public entry points, and the parts of package.json and dist/
// that follow from them. Adding a subpath is one line in ENTRY_POINTS, then
// `npm run exports:write` (npm run build fails until package.json agrees).
//
//   node scripts/package-exports.mjs          check package.json; write dist/cjs/package.json
//   node scripts/package-exports.mjs --write  rewrite "exports" and "typesVersions" in package.json
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

/** Subpath -> module under lib/, without extension. Both builds compile all of lib/. */
export const ENTRY_POINTS = {
  '.': 'index',
  './client': 'client/index',
  './protocol': 'protocol/index',
  './redis': 'redis/index',
  './throttler': 'throttler/index',
  './swagger': 'swagger/index',
  './terminus': 'terminus/index',
};

/** Where each build puts lib/: ESM keeps the repository layout (dist/cli imports ../lib), CJS has its own tree. */
export const BUILDS = { import: 'dist/lib', require: 'dist/cjs' };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE_JSON = join(ROOT, 'package.json');

/** The "exports" map: per subpath, each format with its own declarations (CJS types for require, ESM types for import). */
export function exportsMap() {
  const map = {};
  for (const [subpath, module] of Object.entries(ENTRY_POINTS)) {
    map[subpath] = {};
    for (const [condition, dir] of Object.entries(BUILDS)) {
      map[subpath][condition] = { types: `./${dir}/${module}.d.ts`, default: `./${dir}/${module}.js` };
    }
  }
  map['./package.json'] = './package.json';
  return map;
}

/** For TypeScript's node10 resolution, which ignores "exports": subpaths map to the CJS declarations. */
export function typesVersions() {
  const paths = {};
  for (const [subpath, module] of Object.entries(ENTRY_POINTS)) {
    if (subpath !== '.') paths[subpath.slice(2)] = [`${BUILDS.require}/${module}.d.ts`];
  }
  return { '*': paths };
}

function expectedFields() {
  return {
    main: `./${BUILDS.require}/${ENTRY_POINTS['.']}.js`,
    types: `./${BUILDS.require}/${ENTRY_POINTS['.']}.d.ts`,
    exports: exportsMap(),
    typesVersions: typesVersions(),
  };
}

function main() {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8'));
  const expected = expectedFields();
  if (process.argv.includes('--write')) {
    Object.assign(pkg, expected);
    writeFileSync(PACKAGE_JSON, `${JSON.stringify(pkg, null, 2)}\n`);
    console.log(`package.json: exports for ${Object.keys(ENTRY_POINTS).join(', ')}`);
    return;
  }
  const stale = Object.keys(expected).filter((field) => !isDeepStrictEqual(pkg[field], expected[field]));
  if (stale.length > 0) {
    console.error(
      `package.json ${stale.join(', ')} disagree with ENTRY_POINTS in scripts/package-exports.mjs; ` +
        'run `npm run exports:write` and commit package.json.',
    );
    process.exit(1);
  }
  if (!existsSync(join(ROOT, BUILDS.require))) {
    console.error(`${BUILDS.require} is missing: run the CommonJS build (tsc -p tsconfig.cjs.json) first.`);
    process.exit(1);
  }
  // tsc writes .js files only; this tells Node that those under dist/cjs are CommonJS.
  writeFileSync(join(ROOT, BUILDS.require, 'package.json'), '{\n  "type": "commonjs"\n}\n');
  const missing = Object.values(exportsMap())
    .flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target).flatMap(Object.values)))
    .filter((file) => !existsSync(join(ROOT, file)));
  if (missing.length > 0) {
    console.error(`The build did not produce ${missing.join(', ')}: is each ENTRY_POINTS module under lib/?`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
