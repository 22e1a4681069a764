import { readFileSync } from 'node:fs';
import { readmeSection } from '../support/readme.js';

const EXAMPLE = readFileSync(new URL('../../examples/signed_request.py', import.meta.url), 'utf8');

describe('README: the Python v1 signer', () => {
  it('is the sign_v1 of examples/signed_request.py, which the example tests run against a real app', () => {
    const block = /```python\n([\s\S]*?)```/.exec(readmeSection('Python'));
    expect(block).not.toBeNull();
    const shown = block![1];
    expect(shown.startsWith('def sign_v1(')).toBe(true);
    expect(EXAMPLE).toContain(shown);
    expect(shown).toContain('content_type,');
  });
});
