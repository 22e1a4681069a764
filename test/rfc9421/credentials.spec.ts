import { parseRfc9421Credentials, isRfc9421Request, type Rfc9421ParseResult } from '../../lib/protocol/index.js';
import { lineOf, nodeView, outcomeOf, withLine, type WireRequest } from './rfc9421-helpers.js';
import { API_KEY, CREATED, NONCE, SECRET, signedRequest } from './signed-request.js';

const BODY_COMPONENTS = '"@method" "@authority" "@path" "@query" "content-type" "content-digest" "x-request-id"';
const PARAMS = `created=${CREATED};keyid="${API_KEY}";nonce="${NONCE}";alg="hmac-sha256"`;

/** The signed POST with `Signature-Input` replaced (label sig1), its Signature left as it was. */
function withInput(signatureInput: string, base: WireRequest = signedRequest()): WireRequest {
  return withLine(base, 'Signature-Input', signatureInput);
}

function parse(wire: WireRequest): Rfc9421ParseResult {
  return parseRfc9421Credentials(nodeView(wire));
}

function expectRefused(wire: WireRequest, code: 'malformed_credentials' | 'missing_credentials', message: string | RegExp) {
  const result = parse(wire);
  expect(result).toMatchObject({ ok: false, code });
  if (result.ok) return;
  if (typeof message === 'string') expect(result.message).toBe(message);
  else expect(result.message).toMatch(message);
  // Never echo the signature (nor any part of it) back.
  const signature = lineOf(wire, 'Signature')?.match(/:([^:]{8,}):/)?.[1];
  if (signature) expect(result.message).not.toContain(signature.slice(0, 8));
  expect(outcomeOf(nodeView(wire), [SECRET])).toBe(code);
}

const malformed = (wire: WireRequest, message: string | RegExp) => expectRefused(wire, 'malformed_credentials', message);

describe('parseRfc9421Credentials: the profile of PROTOCOL.md', () => {
  it('the request as our signer makes it is accepted, and the credentials carry what later steps need', () => {
    const wire = signedRequest({ expiresSeconds: CREATED + 60 });
    const result = parse(wire);
    if (!result.ok) throw new Error(result.message);
    expect(result.credentials).toMatchObject({
      scheme: 'rfc9421',
      label: 'sig1',
      apiKey: API_KEY,
      createdSeconds: CREATED,
      expiresSeconds: CREATED + 60,
      nonce: NONCE,
      alg: 'hmac-sha256',
      authority: 'orders.internal:8443',
      components: ['@method', '@authority', '@path', '@query', 'content-type', 'content-digest', 'x-request-id'],
    });
    expect(result.credentials.mac).toHaveLength(32);
    expect(result.credentials.contentDigest?.map((m) => m.algorithm)).toEqual(['sha-256']);
    expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
    expect(isRfc9421Request(nodeView(wire))).toBe(true);
    expect(isRfc9421Request(nodeView(withLine(wire, 'Signature-Input', undefined)))).toBe(false);
  });

  describe('missing headers', () => {
    it('no Signature-Input', () => {
      expectRefused(withLine(signedRequest(), 'Signature-Input', undefined), 'missing_credentials', 'Missing header(s): Signature-Input.');
    });
    it('no Signature', () => {
      expectRefused(withLine(signedRequest(), 'Signature', undefined), 'missing_credentials', 'Missing header(s): Signature.');
    });
  });

  it('a request with both Signature-Input and X-API-Signature is malformed', () => {
    malformed(
      withLine(signedRequest(), 'X-API-Signature', `v1=${'0'.repeat(64)}`),
      'A request may carry Signature-Input or X-API-Signature, not both.',
    );
  });

  describe('each required component missing is malformed', () => {
    it.each([
      ['@method', 'Signature-Input must cover "@method".'],
      ['@authority', 'Signature-Input must cover "@authority".'],
      ['@path', 'Signature-Input must cover "@request-target", or both "@path" and "@query".'],
      ['@query', 'Signature-Input must cover "@request-target", or both "@path" and "@query".'],
      ['content-type', 'A request with a body must cover "content-type" in Signature-Input.'],
      ['content-digest', 'A request with a body must cover "content-digest" in Signature-Input.'],
    ])('%s', (component, message) => {
      const components = BODY_COMPONENTS.replace(`"${component}" `, '');
      expect(components).not.toContain(`"${component}"`);
      malformed(withInput(`sig1=(${components});${PARAMS}`), message);
    });

    it('without a body, content-type and content-digest are not required', () => {
      const wire = signedRequest({ method: 'GET', body: undefined, contentType: undefined, headers: {} });
      expect(lineOf(wire, 'Signature-Input')).toBe(`sig1=("@method" "@authority" "@path" "@query");${PARAMS}`);
      expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
    });

    it('"@request-target" instead of "@path" and "@query" is accepted', () => {
      const wire = signedRequest({ components: ['@request-target', '@method', '@authority', 'content-type', 'content-digest'] });
      expect(outcomeOf(nodeView(wire), [SECRET])).toBe('accepted');
    });

    it('a body without any Content-Digest is refused', () => {
      const wire = withLine(signedRequest(), 'Content-Digest', undefined);
      malformed(wire, 'The covered header "content-digest" is absent.');
      const uncovered = withInput(`sig1=("@method" "@authority" "@path" "@query" "content-type");${PARAMS}`, wire);
      malformed(uncovered, 'A request with a body must cover "content-digest" in Signature-Input.');
    });

    it('a body without a Content-Type is refused', () => {
      malformed(withLine(signedRequest(), 'Content-Type', undefined), 'The covered header "content-type" is absent.');
    });
  });

  describe('covered components', () => {
    it.each([
      ['"content-type";sf', '"content-type"'],
      ['"@query";req', '"@query"'],
      ['"x-request-id";key="a"', '"x-request-id"'],
      ['"content-digest";bs', '"content-digest"'],
    ])('a component parameter (%s) is malformed', (component, name) => {
      const components = BODY_COMPONENTS.replace(name, component);
      malformed(
        withInput(`sig1=(${components});${PARAMS}`),
        `Signature-Input covers ${name} with parameters: component parameters are refused.`,
      );
    });

    it.each(['@scheme', '@target-uri', '@query-param'])('%s is refused', (component) => {
      malformed(
        withInput(`sig1=(${BODY_COMPONENTS} "${component}");${PARAMS}`),
        `Signature-Input may not cover "${component}": the verifier cannot know what the signer saw behind a proxy.`,
      );
    });

    it.each(['@status', '@signature-params', '@request-response', '@'])('the unknown derived component %s is malformed', (component) => {
      malformed(withInput(`sig1=(${BODY_COMPONENTS} "${component}");${PARAMS}`), /is not a derived component of this profile\.$/);
    });

    it('a component covered twice is malformed', () => {
      malformed(withInput(`sig1=(${BODY_COMPONENTS} "@method");${PARAMS}`), 'Signature-Input covers "@method" more than once.');
    });

    it.each([
      ['"Content-Type"', 'Signature-Input covers "content-type" with upper-case letters: component names are lower-case.'],
      ['"@Method"', 'Signature-Input covers a component, which is not a derived component of this profile.'],
      ['"x request"', 'Signature-Input covers a component that is not an HTTP field name.'],
      ['""', 'Signature-Input covers a component that is not an HTTP field name.'],
    ])('the name %s is malformed', (component, message) => {
      malformed(withInput(`sig1=(${BODY_COMPONENTS} ${component});${PARAMS}`), message);
    });

    it('a component that is not a string (a token) is malformed', () => {
      malformed(withInput(`sig1=(${BODY_COMPONENTS} date);${PARAMS}`), 'Every covered component of Signature-Input must be a string.');
    });

    it('16 components are accepted, 17 are malformed', () => {
      const extra = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-extra-${i}`, `v${i}`]));
      const sixteen = signedRequest({ headers: extra });
      expect(
        JSON.parse(
          `[${lineOf(sixteen, 'Signature-Input')!
            .match(/\((.*)\)/)![1]
            .replaceAll('" "', '","')}]`,
        ),
      ).toHaveLength(16);
      expect(outcomeOf(nodeView(sixteen), [SECRET])).toBe('accepted');
      expect(() => signedRequest({ headers: { ...extra, 'x-extra-10': 'v' } })).toThrow('At most 16 components can be covered.');
      const seventeen = withInput(lineOf(sixteen, 'Signature-Input')!.replace(')', ' "x-extra-10")'), withLine(sixteen, 'x-extra-10', 'v'));
      malformed(seventeen, 'Signature-Input may cover at most 16 components.');
    });

    it('a covered header that is absent is malformed', () => {
      malformed(withLine(signedRequest(), 'X-Request-Id', undefined), 'The covered header "x-request-id" is absent.');
    });

    it('a covered header sent twice is malformed, whether Node joins the lines or drops the repeat', () => {
      const wire = signedRequest();
      const twice = (name: string) => ({ ...wire, lines: [...wire.lines, [name, lineOf(wire, name)!] as const] });
      malformed(twice('X-Request-Id'), 'The covered header "x-request-id" is sent more than once.');
      malformed(twice('Content-Type'), 'The covered header "content-type" is sent more than once.');
      malformed(twice('content-digest'), 'The covered header "content-digest" is sent more than once.');
      // Without rawHeaders, an array value still shows the repeat.
      const request = nodeView(wire);
      const view = {
        ...request,
        rawHeaders: undefined,
        header: (n: string) => (n === 'x-request-id' ? ['req-42', 'req-42'] : request.header(n)),
      };
      expect(parseRfc9421Credentials(view)).toMatchObject({
        ok: false,
        code: 'malformed_credentials',
        message: 'The covered header "x-request-id" is sent more than once.',
      });
    });

    it('a request without a Host header is malformed', () => {
      malformed({ ...signedRequest(), host: undefined }, 'The request has no Host header, so "@authority" has no value.');
    });

    it.each(['*', 'http://orders.internal:8443/v1/orders/7?expand=items'])(
      '"@path" of a target not in origin form (%s) is malformed',
      (target) => {
        malformed({ ...signedRequest(), target }, '"@path" needs a request target of the form /path?query.');
      },
    );

    it('a covered value with a line break is malformed (it would forge signature base lines)', () => {
      const request = nodeView(signedRequest());
      const view = {
        ...request,
        rawHeaders: undefined,
        header: (n: string) => (n === 'x-request-id' ? 'a\n"@method": GET' : request.header(n)),
      };
      expect(parseRfc9421Credentials(view)).toMatchObject({
        ok: false,
        code: 'malformed_credentials',
        message: 'The value of "x-request-id" contains a line break.',
      });
    });
  });
});
