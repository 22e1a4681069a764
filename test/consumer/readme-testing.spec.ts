import { readFileSync } from 'node:fs';
import { readmeSection } from '../support/readme.js';

const TEMPLATE_SPEC = readFileSync(new URL('./templates/nest12-esm/test/app.e2e-spec.ts', import.meta.url), 'utf8');

describe('README: Testing your app', () => {
  it('shows the Nest 12 consumer app e2e test, which the consumer test runs, as it is', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readmeSection('Testing your app'));
    expect(block).not.toBeNull();
    expect(block![1]).toBe(TEMPLATE_SPEC);
  });
});
