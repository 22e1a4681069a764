import { parseRfc9421Credentials } from '../../lib/protocol/index.js';
import { lineOf, nodeView, outcomeOf, resign, withLine, type WireRequest } from './rfc9421-helpers.js';
import { API_KEY, CREATED, NONCE, SECRET, signedRequest } from './signed-request.js';

const COMPONENTS = '("@method" "@authority" "@path" "@query" "content-type" "content-digest" "x-request-id")';
const KEYID = `keyid="${API_KEY}"`;

function withInput(signatureInput: string, base: WireRequest = signedRequest()): WireRequest {
  return withLine(base, 'Signature-Input', signatureInput);
}

function malformed(wire: WireRequest, message: string) {
  expect(parseRfc9421Credentials(nodeView(wire))).toEqual({ ok: false, code: 'malformed_credentials', message });
}

/** Accepted once correctly signed: the rule under test lets the request through. */
function acceptedWhenSigned(wire: WireRequest, label = 'sig1') {
  expect(outcomeOf(nodeView(resign(wire, SECRET, label)), [SECRET])).toBe('accepted');
}

describe('Signature-Input parameters', () => {
  const params = (overrides: Record<string, string | undefined>) => {
    const all: Record<string, string | undefined> = {
      created: String(CREATED),
      keyid: `"${API_KEY}"`,
      nonce: `"${NONCE}"`,
      alg: '"hmac-sha256"',
      ...overrides,
    };
    return Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => (v === '' ? `;${k}` : `;${k}=${v}`))
      .join('');
  };

  it('alg may be absent', () => {
    acceptedWhenSigned(withInput(`sig1=${COMPONENTS}${params({ alg: undefined })}`));
  });

  it.each(['"hmac-sha512"', '"rsa-pss-sha512"', '"HMAC-SHA256"', 'hmac-sha256', '""', '1'])('alg=%s is malformed', (alg) => {
    malformed(withInput(`sig1=${COMPONENTS}${params({ alg })}`), 'Signature-Input alg must be "hmac-sha256" when present.');
  });

  it('created missing is malformed', () => {
    malformed(withInput(`sig1=${COMPONENTS}${params({ created: undefined })}`), 'Signature-Input must have a created parameter.');
  });

  it.each(['1700000000.5', '"1700000000"', '-1', '1000000000000', '?1', ''])('created=%s is malformed', (created) => {
    malformed(withInput(`sig1=${COMPONENTS}${params({ created })}`), 'Signature-Input created must be an integer: Unix time in seconds.');
  });

  it('expires is read when present, and must be an integer', () => {
    const parsed = parseRfc9421Credentials(
      nodeView(resign(withInput(`sig1=${COMPONENTS}${params({ expires: String(CREATED + 30) })}`), SECRET)),
    );
    expect(parsed).toMatchObject({ ok: true, credentials: { expiresSeconds: CREATED + 30 } });
    malformed(
      withInput(`sig1=${COMPONENTS}${params({ expires: '"soon"' })}`),
      'Signature-Input expires must be an integer: Unix time in seconds.',
    );
    malformed(
      withInput(`sig1=${COMPONENTS}${params({ expires: '1.5' })}`),
      'Signature-Input expires must be an integer: Unix time in seconds.',
    );
  });

  it('nonce missing is malformed', () => {
    malformed(withInput(`sig1=${COMPONENTS}${params({ nonce: undefined })}`), 'Signature-Input must have a nonce parameter.');
  });

  it.each(['"short-nonce"', `"${'n'.repeat(129)}"`, '"nonce with spaces 0123"', 'rfc-test-nonce-0000000001', '123456789012345'])(
    'nonce=%s is malformed',
    (nonce) => {
      malformed(
        withInput(`sig1=${COMPONENTS}${params({ nonce })}`),
        'Signature-Input nonce must be a string of 16 to 128 characters of [A-Za-z0-9_-].',
      );
    },
  );

  it.each(['"short"', `"${'k'.repeat(129)}"`, '"key.with.dots.0123456789"', 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF', ''])(
    'keyid=%s is malformed',
    (keyid) => {
      malformed(
        withInput(`sig1=${COMPONENTS}${params({ keyid })}`),
        'Signature-Input keyid must be a string of 16 to 128 characters of [A-Za-z0-9_-] (the API key).',
      );
    },
  );

  it('other parameters (tag, unknown ones) are allowed and signed', () => {
    const wire = withInput(`sig1=${COMPONENTS}${params({ tag: '"orders"', 'x-custom': '1.5', flag: '', blob: ':AAE=:' })}`);
    const signed = resign(wire, SECRET);
    acceptedWhenSigned(wire);
    const parsed = parseRfc9421Credentials(nodeView(signed));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.credentials.signatureParams).toBe(
      `${COMPONENTS};created=${CREATED};${KEYID};nonce="${NONCE}";alg="hmac-sha256";tag="orders";x-custom=1.5;flag;blob=:AAE=:`,
    );
    // Changing the unknown parameter changes what is signed.
    expect(
      outcomeOf(nodeView(withInput(lineOf(signed, 'Signature-Input')!.replace('x-custom=1.5', 'x-custom=1.6'), signed)), [SECRET]),
    ).toBe('invalid_signature');
  });

  it('@signature-params is the canonical re-serialization, whatever whitespace was sent', () => {
    const loose = withInput(
      `sig1=(  "@method" "@authority"   "@path" "@query" "content-type" "content-digest" "x-request-id" ); created=${CREATED};  ${KEYID};nonce="${NONCE}"`,
    );
    const parsed = parseRfc9421Credentials(nodeView(loose));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.credentials.signatureBase.split('\n').at(-1)).toBe(
      `"@signature-params": ${COMPONENTS};created=${CREATED};${KEYID};nonce="${NONCE}"`,
    );
    acceptedWhenSigned(loose);
  });
});

describe('labels', () => {
  const input = `${COMPONENTS};created=${CREATED};${KEYID};nonce="${NONCE}"`;

  it('labels without a keyid (added by other parties) are ignored', () => {
    const wire = withInput(`proxy=("@method");created=1, mine=${input}, other=:AAAA:`);
    const mine = resign(wire, SECRET, 'mine');
    const signed = withLine(mine, 'Signature', `proxy=:${Buffer.alloc(64).toString('base64')}:, ${lineOf(mine, 'Signature')}`);
    expect(outcomeOf(nodeView(signed), [SECRET])).toBe('accepted');
    expect(parseRfc9421Credentials(nodeView(signed))).toMatchObject({ ok: true, credentials: { label: 'mine' } });
  });

  it('Signature-Input sent as two lines (joined by Node) is read as one dictionary', () => {
    const wire = resign(withInput(`mine=${input}`), SECRET, 'mine');
    const split = { ...wire, lines: [['Signature-Input', 'proxy=("@method");created=1'] as const, ...wire.lines] };
    expect(outcomeOf(nodeView(split), [SECRET])).toBe('accepted');
  });

  it('no label with a keyid is malformed', () => {
    malformed(withInput(`sig1=${COMPONENTS};created=${CREATED};nonce="${NONCE}"`), 'No signature of Signature-Input has a keyid.');
  });

  it('two labels with a keyid are malformed', () => {
    malformed(withInput(`sig1=${input}, sig2=${input}`), 'More than one signature of Signature-Input has a keyid: exactly one may.');
  });

  it('a keyid label that is not an inner list is malformed', () => {
    malformed(withInput(`sig1="@method";${KEYID}`), 'The signature of Signature-Input must be an inner list of covered components.');
  });

  it.each(['sig1=(', 'sig1=("@method" "@authority"', 'Sig1=()', 'sig1=("caf\u00e9")', 'sig1=(), sig1'])(
    'a Signature-Input that is no RFC 8941 dictionary (%s) is malformed',
    (value) => {
      const result = parseRfc9421Credentials(nodeView(withInput(value)));
      expect(result).toMatchObject({ ok: false, code: 'malformed_credentials' });
    },
  );

  it('not a dictionary at all', () => {
    malformed(withInput('sig1=(;'), 'Signature-Input is not a valid RFC 8941 dictionary.');
  });
});

describe('Signature', () => {
  const wire = signedRequest();
  const mac = lineOf(wire, 'Signature')!.slice('sig1=:'.length, -1);

  it.each([
    [`sig2=:${mac}:`, 'Signature has no signature with the label of Signature-Input.'],
    [`sig1="${mac}"`, 'The signature of Signature must be a byte sequence (:base64:).'],
    [`sig1=(:${mac}:)`, 'The signature of Signature must be a byte sequence (:base64:).'],
    [`sig1=:${Buffer.alloc(31).toString('base64')}:`, 'The signature of Signature must be 32 bytes (HMAC-SHA256).'],
    [`sig1=:${Buffer.alloc(64).toString('base64')}:`, 'The signature of Signature must be 32 bytes (HMAC-SHA256).'],
    [`sig1=:${mac}`, 'Signature is not a valid RFC 8941 dictionary.'],
  ])('%s is malformed', (signature, message) => {
    malformed(withLine(wire, 'Signature', signature), message);
  });

  it('parameters on the signature member are ignored', () => {
    expect(outcomeOf(nodeView(withLine(wire, 'Signature', `sig1=:${mac}:;by="proxy"`)), [SECRET])).toBe('accepted');
  });
});

describe('size bounds', () => {
  it('Signature-Input of 4096 bytes is accepted, of 4097 bytes malformed', () => {
    const base = `sig1=${COMPONENTS};created=${CREATED};${KEYID};nonce="${NONCE}";tag="`;
    const at = (bytes: number) => withInput(`${base}${'t'.repeat(bytes - base.length - 1)}"`);
    expect(lineOf(at(4096), 'Signature-Input')).toHaveLength(4096);
    acceptedWhenSigned(at(4096));
    malformed(at(4097), 'Signature-Input may be at most 4096 bytes.');
  });

  it('Signature of 4096 bytes is accepted, of 4097 bytes malformed', () => {
    const wire = signedRequest();
    const mine = lineOf(wire, 'Signature')!;
    const padded = (bytes: number) => `other=:${'A'.repeat(bytes - mine.length - ', '.length - 'other=::'.length)}:, ${mine}`;
    expect(padded(4096)).toHaveLength(4096);
    expect(outcomeOf(nodeView(withLine(wire, 'Signature', padded(4096))), [SECRET])).toBe('accepted');
    malformed(withLine(wire, 'Signature', padded(4097 + 3)), 'Signature may be at most 4096 bytes.');
  });
});
