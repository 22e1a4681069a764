import { readFileSync } from 'node:fs';
import { readmeSection } from '../support/readme.js';
import { loadRfc9421Vectors } from './rfc9421-helpers.js';

/** The README section "Calling from other languages with RFC 9421". */
function section(): string {
  return readmeSection('Calling from other languages with RFC 9421');
}

describe('README: Calling from other languages with RFC 9421', () => {
  it('shows the headers of the first rfc9421 vector, exactly', () => {
    const v = loadRfc9421Vectors().rfc9421[0];
    const text = section();
    expect(text).toContain(`Content-Digest:  ${v.headers['Content-Digest']}\n`);
    expect(text).toContain(`Signature-Input: ${v.signatureInput}\n`);
    expect(text).toContain(`Signature:       ${v.signature}\n`);
  });

  it('names the examples that exist, and the test that runs them', () => {
    const text = section();
    for (const file of ['examples/rfc9421-fetch.mjs', 'examples/rfc9421_request.py', 'test/rfc9421/examples.spec.ts']) {
      expect(text).toContain(file);
      expect(() => readFileSync(new URL(`../../${file}`, import.meta.url))).not.toThrow();
    }
  });
});
