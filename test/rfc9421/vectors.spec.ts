import { createHmac } from 'node:crypto';
import { parseDictionary, type InnerList } from 'structured-headers';
import { contentDigestMatches, parseContentDigest } from '../../lib/protocol/rfc9421/content-digest.js';
import {
  deriveKeySecret,
  parseRfc9421Credentials,
  rfc9421SignatureBase,
  serializeSignatureParams,
  signRfc9421,
  verifyRfc9421,
} from '../../lib/protocol/index.js';
import { hmacSha256, HmacSha256Key } from '../../lib/protocol/crypto.js';
import { rfc9421Authority } from '../../lib/protocol/rfc9421/components.js';
import { rfc9421MacMatches } from '../../lib/protocol/rfc9421/rfc9421-verify.js';
import { type Rfc9421Parameter } from '../../lib/protocol/rfc9421/rfc9421.constants.js';
import { loadRfc9421Vectors, nodeView, outcomeOf, vectorRequest, type Rfc9421Vector } from './rfc9421-helpers.js';

const { rfc9421, rfc9421Appendix } = loadRfc9421Vectors();
const OTHER_SECRET = 'another-secret-that-is-long-enough-0123456789';

/** The signer options that describe the vector's Signature-Input (label, components, parameter order). */
function signerOptionsOf(v: Rfc9421Vector) {
  const [[label, member]] = [...parseDictionary(v.signatureInput)];
  const [items, params] = member as InnerList;
  return {
    label,
    components: items.map(([name]) => name as string),
    parameters: [...params.keys()] as Rfc9421Parameter[],
    apiKey: params.get('keyid') as string,
    createdSeconds: params.get('created') as number,
    nonce: params.get('nonce') as string,
    tag: params.get('tag') as string | undefined,
  };
}

function headerValue(v: Rfc9421Vector, name: string): string | undefined {
  return Object.entries(v.headers).find(([n]) => n.toLowerCase() === name)?.[1];
}

describe('rfc9421 vectors (test/fixtures/signatures.json)', () => {
  it('has the four profile cases and the appendix case', () => {
    expect(rfc9421).toHaveLength(4);
    expect(rfc9421Appendix).toHaveLength(1);
  });

  describe.each(rfc9421.map((v, i) => [i, v] as const))('rfc9421 #%i', (_i, v) => {
    const body = Buffer.from(v.bodyBase64, 'base64');
    const options = signerOptionsOf(v);
    const extraHeaders = Object.fromEntries(
      Object.entries(v.headers).filter(([name]) => !['content-type', 'content-digest'].includes(name.toLowerCase())),
    );

    it('the signer reproduces Content-Digest, the signature base, Signature-Input and Signature byte for byte', () => {
      const { headers, signatureBase } = signRfc9421({
        ...options,
        secret: v.secret,
        method: v.method,
        host: v.host,
        target: v.target,
        contentType: headerValue(v, 'content-type'),
        body: body.length > 0 ? body : undefined,
        headers: extraHeaders,
      });
      expect(signatureBase).toBe(v.signatureBase);
      expect(headers['signature-input']).toBe(v.signatureInput);
      expect(headers.signature).toBe(v.signature);
      expect(headers['content-digest']).toBe(headerValue(v, 'content-digest'));
    });

    it('the verifier rebuilds the signature base, and accepts the signature with its secret only', () => {
      const request = nodeView(vectorRequest(v));
      const parsed = parseRfc9421Credentials(request);
      if (!parsed.ok) throw new Error(`${parsed.code}: ${parsed.message}`);
      expect(parsed.credentials.signatureBase).toBe(v.signatureBase);
      expect(parsed.credentials.apiKey).toBe(options.apiKey);
      expect(parsed.credentials.nonce).toBe(options.nonce);
      expect(parsed.credentials.createdSeconds).toBe(options.createdSeconds);
      expect(parsed.credentials.label).toBe(options.label);
      expect(parsed.credentials.authority).toBe(rfc9421Authority(v.host));
      expect(verifyRfc9421([v.secret], parsed.credentials, request.body)).toBe(true);
      expect(verifyRfc9421([OTHER_SECRET, new HmacSha256Key(v.secret)], parsed.credentials, request.body)).toBe(true);
      expect(verifyRfc9421([OTHER_SECRET], parsed.credentials, request.body)).toBe(false);
      expect(verifyRfc9421([], parsed.credentials, request.body)).toBe(false);
      expect(outcomeOf(request, [v.secret])).toBe('accepted');
    });

    it('the signature is base64 HMAC-SHA256 over the UTF-8 secret and signature base (node:crypto)', () => {
      const mac = createHmac('sha256', Buffer.from(v.secret, 'utf8')).update(Buffer.from(v.signatureBase, 'utf8')).digest('base64');
      expect(v.signature).toBe(`${options.label}=:${mac}:`);
    });

    if (v.derivedFrom) {
      it('its secret is the derived secret of its key', () => {
        expect(deriveKeySecret(v.derivedFrom!.master, v.derivedFrom!.apiKey)).toBe(v.secret);
        expect(options.apiKey).toBe(v.derivedFrom!.apiKey);
      });
    }
  });

  it('the signer defaults (label sig1, the profile components, created keyid nonce alg) reproduce the profile vectors', () => {
    const profileCases = rfc9421.filter((v) => v.signatureInput.startsWith('sig1=') && v.signatureInput.includes('alg='));
    expect(profileCases.length).toBe(2);
    for (const v of profileCases) {
      const { apiKey, createdSeconds, nonce } = signerOptionsOf(v);
      const { headers } = signRfc9421({
        apiKey,
        createdSeconds,
        nonce,
        secret: v.secret,
        method: v.method,
        host: v.host,
        target: v.target,
        contentType: headerValue(v, 'content-type'),
        body: Buffer.from(v.bodyBase64, 'base64'),
      });
      expect(headers).toEqual({
        'signature-input': v.signatureInput,
        signature: v.signature,
        'content-digest': headerValue(v, 'content-digest'),
      });
    }
  });

  describe.each(rfc9421Appendix.map((v, i) => [i, v] as const))('RFC 9421 Appendix B.2.5 #%i', (_i, v) => {
    const key = new HmacSha256Key(Buffer.from(v.keyBase64, 'base64'));
    const [[label, member]] = [...parseDictionary(v.signatureInput)];
    const [items, params] = member as InnerList;
    const components = items.map(([name]) => name as string);
    const values: Record<string, string> = {
      date: v.headers.Date,
      '@authority': rfc9421Authority(v.host),
      'content-type': v.headers['Content-Type'],
    };
    const signatureParams = serializeSignatureParams(components, params);
    const base = rfc9421SignatureBase(
      components.map((name) => ({ name, value: values[name] })),
      signatureParams,
    );

    it('re-serializes the signature parameters as sent', () => {
      expect(`${label}=${signatureParams}`).toBe(v.signatureInput);
    });

    it('the signature base and the HMAC with the raw key bytes give the RFC signature', () => {
      expect(base).toBe(
        '"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@authority": example.com\n"content-type": application/json\n' +
          '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      );
      expect(`${label}=:${hmacSha256(key, base).toString('base64')}:`).toBe(v.signature);
      const mac = Buffer.from(v.signature.slice(label.length + 2, -1), 'base64');
      expect(rfc9421MacMatches([key], base, mac)).toBe(true);
      expect(rfc9421MacMatches([new HmacSha256Key(Buffer.from('test-shared-secret'))], base, mac)).toBe(false);
    });

    it('its sha-512 Content-Digest matches its body', () => {
      const digest = parseContentDigest(v.headers['Content-Digest']);
      if (!digest.ok) throw new Error(digest.message);
      expect(digest.members.map((m) => m.algorithm)).toEqual(['sha-512']);
      expect(contentDigestMatches(digest.members, Buffer.from(v.bodyBase64, 'base64'))).toBe(true);
      expect(contentDigestMatches(digest.members, Buffer.from('{"hello": "world!"}'))).toBe(false);
    });

    it('is outside the profile: the verifier refuses it as malformed', () => {
      const request = nodeView({
        method: v.method,
        host: v.host,
        target: v.target,
        lines: [...Object.entries(v.headers), ['Signature-Input', v.signatureInput], ['Signature', v.signature]],
        body: Buffer.from(v.bodyBase64, 'base64'),
      });
      expect(parseRfc9421Credentials(request)).toEqual({
        ok: false,
        code: 'malformed_credentials',
        message: 'Signature-Input must cover "@method".',
      });
    });
  });
});
