import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { assertPackageBuilt, describeRun, ROOT, run } from './support/run.js';

// What `npm pack` ships, from `npm pack --dry-run --json` (no registry needed):
// everything the README links to, the license package.json names, and for
// every source map the sources it points at.
interface PackedFile {
  path: string;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, Record<string, string>>>;
};

describe('npm pack: the tarball', () => {
  let files: Set<string>;

  beforeAll(async () => {
    assertPackageBuilt();
    const result = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(describeRun('npm pack --dry-run', result));
    const [report] = JSON.parse(result.stdout) as [{ files: PackedFile[] }];
    files = new Set(report.files.map((file) => file.path));
  });

  it('has the README, PROTOCOL.md, CHANGELOG.md, LICENSE and every file of examples/', () => {
    const examples = readdirSync(join(ROOT, 'examples')).map((name) => `examples/${name}`);
    expect(examples.length).toBeGreaterThan(0);
    for (const file of ['README.md', 'PROTOCOL.md', 'CHANGELOG.md', 'LICENSE', 'package.json', ...examples]) {
      expect([file, files.has(file)]).toEqual([file, true]);
    }
  });

  it('carries the MIT license that package.json declares, and a changelog with an Unreleased section', () => {
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
    expect(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).toMatch(/^## \[Unreleased\]$/m);
  });

  it('has every file a relative link of the README points at', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1].split('#')[0])
      .filter((target) => target !== '' && !/^[a-z]+:/i.test(target))
      .map((target) => normalize(target).replace(/\/$/, ''));
    expect(links).toContain('PROTOCOL.md');
    for (const link of links) {
      const shipped = files.has(link) || [...files].some((file) => file.startsWith(`${link}/`));
      expect([link, shipped]).toEqual([link, true]);
    }
  });

  it('has every target of the exports map (import and require, code and types) and the bin', () => {
    const targets = Object.values(pkg.exports).flatMap((entry) =>
      typeof entry === 'string' ? [entry] : Object.values(entry).flatMap((format) => Object.values(format)),
    );
    expect(targets.length).toBeGreaterThanOrEqual(9);
    for (const target of [...targets, ...Object.values(pkg.bin)]) {
      const path = normalize(target);
      expect([path, files.has(path)]).toEqual([path, true]);
    }
  });

  it('has the sources every source map and declaration map points at', () => {
    const maps = [...files].filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(100);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const path = normalize(join(dirname(map), source));
        expect([map, path, files.has(path)]).toEqual([map, path, true]);
      }
    }
  });

  it('has no tests, sample, benchmarks or CI files, and nothing only the repository builds', () => {
    const stray = [...files].filter((file) => /^(test|sample|bench|\.ci|dist\/(sample|bench|test))\//.test(file));
    expect(stray).toEqual([]);
    expect(existsSync(join(ROOT, 'dist/cjs/package.json'))).toBe(true);
    expect(files.has('dist/cjs/package.json')).toBe(true);
  });
});
