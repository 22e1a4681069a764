import { hash } from 'node:crypto';
import { contentDigestMatches, parseContentDigest } from '../../lib/protocol/rfc9421/content-digest.js';
import { formatContentDigest, parseRfc9421Credentials, verifyRfc9421 } from '../../lib/protocol/index.js';
import { lineOf, nodeView, outcomeOf, resign, withLine, type WireRequest } from './rfc9421-helpers.js';
import { SECRET, signedRequest } from './signed-request.js';

const genuine = signedRequest();
const signatureInput = lineOf(genuine, 'Signature-Input')!;
const accepted = (wire: WireRequest) => outcomeOf(nodeView(wire), [SECRET]);

describe('any covered component tampered is invalid_signature', () => {
  it('the genuine request is accepted', () => {
    expect(accepted(genuine)).toBe('accepted');
  });

  it.each<[string, (w: WireRequest) => WireRequest]>([
    ['method', (w) => ({ ...w, method: 'PUT' })],
    ['method case', (w) => ({ ...w, method: 'post' })],
    ['authority', (w) => ({ ...w, host: 'orders.internal:8444' })],
    ['authority port dropped', (w) => ({ ...w, host: 'orders.internal' })],
    ['path', (w) => ({ ...w, target: w.target.replace('/7', '/8') })],
    ['path encoding', (w) => ({ ...w, target: w.target.replace('%2F', '%2f') })],
    ['query', (w) => ({ ...w, target: w.target.replace('items', 'itemz') })],
    ['query dropped', (w) => ({ ...w, target: w.target.split('?')[0] })],
    ['query order', (w) => ({ ...w, target: '/v1/orders/7?x=%2F&expand=items' })],
    ['content-type', (w) => withLine(w, 'Content-Type', 'application/x-www-form-urlencoded')],
    ['content-type case', (w) => withLine(w, 'Content-Type', 'Application/json')],
    ['extra covered header', (w) => withLine(w, 'X-Request-Id', 'req-43')],
    [
      'body and its digest',
      (w) => withLine({ ...w, body: Buffer.from('{"total":99.5}') }, 'Content-Digest', formatContentDigest(Buffer.from('{"total":99.5}'))),
    ],
    ['body (digest mismatch)', (w) => ({ ...w, body: Buffer.from('{"total":99.5}') })],
    ['created', (w) => withLine(w, 'Signature-Input', signatureInput.replace('created=1700000000', 'created=1700000001'))],
    [
      'nonce',
      (w) =>
        withLine(w, 'Signature-Input', signatureInput.replace('nonce="rfc-test-nonce-0000000001"', 'nonce="rfc-test-nonce-0000000002"')),
    ],
    ['keyid', (w) => withLine(w, 'Signature-Input', signatureInput.replace('keyid="Ab3dE6gH9', 'keyid="Xb3dE6gH9'))],
    ['parameter added', (w) => withLine(w, 'Signature-Input', `${signatureInput};tag="x"`)],
    ['alg dropped', (w) => withLine(w, 'Signature-Input', signatureInput.replace(';alg="hmac-sha256"', ''))],
    ['component order', (w) => withLine(w, 'Signature-Input', signatureInput.replace('"@path" "@query"', '"@query" "@path"'))],
    [
      'signature bytes',
      (w) =>
        withLine(
          w,
          'Signature',
          lineOf(w, 'Signature')!.replace(/^sig1=:./, (s) => s.slice(0, -1) + (s.at(-1) === 'A' ? 'B' : 'A')),
        ),
    ],
  ])('%s', (_name, tamper) => {
    const tampered = tamper(genuine);
    expect(accepted(tampered)).toBe('invalid_signature');
  });

  it('a body without its covered digest when the caller passes another body never verifies', () => {
    const get = signedRequest({ method: 'GET', body: undefined, contentType: undefined, headers: {} });
    const parsed = parseRfc9421Credentials(nodeView(get));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(verifyRfc9421([SECRET], parsed.credentials, undefined)).toBe(true);
    expect(verifyRfc9421([SECRET], parsed.credentials, new Uint8Array(0))).toBe(true);
    expect(verifyRfc9421([SECRET], parsed.credentials, Buffer.from('x'))).toBe(false);
  });
});

describe('Content-Digest', () => {
  const body = Buffer.from('{"total":12.5}');
  const sha256 = formatContentDigest(body);
  const sha512 = `sha-512=:${hash('sha512', body, 'base64')}:`;
  const wrong512 = `sha-512=:${Buffer.alloc(64).toString('base64')}:`;
  /** The genuine request with this Content-Digest, correctly signed over it. */
  const withDigest = (value: string) => resign(withLine(genuine, 'Content-Digest', value), SECRET);

  it('is sha-256 of the body as our signer sends it', () => {
    expect(lineOf(genuine, 'Content-Digest')).toBe(
      'sha-256=:xIjrSiRLrW1bNzAgBGHoQi5VShO7yYAb04RHIRGPT4I=:' /* openssl dgst -sha256 -binary | base64 */,
    );
    expect(sha256).toBe(lineOf(genuine, 'Content-Digest'));
  });

  it.each([
    ['sha-512 alone', () => sha512],
    ['sha-256 and sha-512', () => `${sha256}, ${sha512}`],
    ['a supported member beside unknown algorithms', () => `md5=:AAAA:, ${sha256}, unixsum=42, id-sha-256=:AAAA:`],
  ])('%s: accepted', (_name, value) => {
    expect(accepted(withDigest(value()))).toBe('accepted');
  });

  it.each([
    ['a sha-256 member of another body', () => formatContentDigest(Buffer.from('{"total":12.6}'))],
    ['sha-256 right but sha-512 wrong', () => `${sha256}, ${wrong512}`],
    ['sha-512 wrong alone', () => wrong512],
    ['a digest of the wrong length', () => 'sha-256=:AAAA:'],
  ])('%s: invalid_signature, even correctly signed', (_name, value) => {
    expect(accepted(withDigest(value()))).toBe('invalid_signature');
  });

  it.each([
    ['only unknown algorithms', 'md5=:AAAA:, sha-384=:AAAA:', 'Content-Digest must have a sha-256 or sha-512 member.'],
    ['not a dictionary', 'sha-256=:xIjrSiR', 'Content-Digest is not a valid RFC 8941 dictionary.'],
    [
      'sha-256 as a string',
      'sha-256="xIjrSiRLrW1bNzAgBGHoQi5VShO7yYAb04RHIRGPT4I="',
      'Content-Digest member sha-256 must be a byte sequence (:base64:).',
    ],
    ['sha-512 as an inner list', `${sha256}, sha-512=(:AAAA:)`, 'Content-Digest member sha-512 must be a byte sequence (:base64:).'],
  ])('%s: malformed', (_name, value, message) => {
    expect(parseRfc9421Credentials(nodeView(withLine(genuine, 'Content-Digest', value)))).toEqual({
      ok: false,
      code: 'malformed_credentials',
      message,
    });
  });

  it('contentDigestMatches checks every member, and an empty list never matches', () => {
    const parsed = parseContentDigest(`${sha256}, ${wrong512}`);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(contentDigestMatches(parsed.members.slice(0, 1), body)).toBe(true);
    expect(contentDigestMatches(parsed.members, body)).toBe(false);
    expect(contentDigestMatches([], body)).toBe(false);
    const empty = parseContentDigest(formatContentDigest(undefined));
    expect(empty.ok && contentDigestMatches(empty.members, undefined)).toBe(true);
    expect(empty.ok && contentDigestMatches(empty.members, body)).toBe(false);
  });
});
