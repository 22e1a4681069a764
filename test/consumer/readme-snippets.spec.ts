import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractSnippets, toReadmeLines } from './support/readme-snippets.js';
import { ROOT } from './support/run.js';

// The extraction that consumer.spec.ts compiles the README's TypeScript with.
describe('README TypeScript snippets: extraction', () => {
  const markdown = [
    '# t', // 1
    '```ts', // 2
    '// src/app.module.ts', // 3
    "import { X } from './x.js';", // 4
    '```', // 5
    '```sh', // 6
    '```ts', // 7: inside a sh block, not a fence of its own
    '```', // 8
    '<!-- readme-check: skip shows only the options object -->', // 9
    '', // 10
    '```ts', // 11
    '{ secrets: [] }', // 12
    '```', // 13
    '```typescript', // 14
    'const a: number = 1;', // 15
    '```', // 16
  ].join('\n');

  it('names blocks by their path comment or their line, and skips marked ones with their reason', () => {
    const { snippets, skipped } = extractSnippets(markdown);
    expect(snippets).toEqual([
      { file: 'src/app.module.ts', line: 3, code: "// src/app.module.ts\nimport { X } from './x.js';\n" },
      { file: 'readme/block-0015.ts', line: 15, code: 'const a: number = 1;\n' },
    ]);
    expect(skipped).toEqual([{ line: 12, reason: 'shows only the options object' }]);
  });

  it('refuses a skip marker without a reason, and two blocks naming one file', () => {
    expect(() => extractSnippets('<!-- readme-check: skip -->\n```ts\nx\n```\n')).toThrow('needs a reason');
    expect(() => extractSnippets('```ts\n// src/a.ts\n```\n```ts\n// src/a.ts\n```\n')).toThrow('a second block names src/a.ts');
  });

  it('maps compiler positions back to README lines', () => {
    const { snippets } = extractSnippets(markdown);
    expect(toReadmeLines('readme-check/src/app.module.ts(2,10): error TS2307: x', snippets)).toBe(
      'README.md:4:10 (src/app.module.ts): error TS2307: x',
    );
  });

  it('finds the README blocks, with few exceptions', () => {
    const { snippets, skipped } = extractSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    expect(skipped.length).toBeLessThanOrEqual(3);
  });
});
