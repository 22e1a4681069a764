import { ADAPTERS, createTestApp, lastingNonceStore, TEST_SECRET, type TestApp } from '../support/test-app.js';
import {
  expectRejected,
  freshNonce,
  nowSeconds,
  send,
  sendSigned,
  sign,
  type SignSpec,
  type WireRequest,
} from '../support/signed-request.js';

type Wire = WireRequest & { headers: Record<string, string | string[]> };

/**
 * Scheme v1 binds key, timestamp, nonce, method, host, target and body: a
 * request changed in any one of them after signing must fail, and must not
 * burn the nonce of the genuine request (PROTOCOL.md step 5).
 */
describe.each(ADAPTERS)('v1 tampering and replay (%s)', (adapter) => {
  let t: TestApp;
  let orders: string;
  let billingAdmin: string;

  beforeAll(async () => {
    // A store that outlives the app, so that a timestamp one second before its start is tested as a tampering.
    t = await createTestApp({ adapter, auth: { nonces: { store: lastingNonceStore() } } });
    orders = (await t.keys.create('orders')).apiKey;
    billingAdmin = (await t.keys.create('billing-admin')).apiKey;
  });
  afterAll(() => t?.close());
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  /** The wire form of `spec`, signed exactly as sent. */
  function signedWire(spec: SignSpec): Wire {
    return {
      method: spec.method ?? 'GET',
      target: spec.target ?? '/items/1',
      host: spec.host ?? t.host,
      headers: {
        ...(spec.body !== undefined && { 'content-type': 'application/json' }),
        ...sign(t, spec),
      },
      body: spec.body,
    };
  }

  /**
   * Sends `spec` changed by `tamper`: it must be rejected with `code` and run
   * nothing. Then sends the genuine request, which must be accepted: this
   * proves the signature was otherwise valid and that the rejected copy did
   * not record the nonce.
   */
  async function expectTamperingRejected(spec: SignSpec, tamper: (wire: Wire) => void, code = 'invalid_signature'): Promise<void> {
    const genuine = signedWire(spec);
    const tampered: Wire = { ...genuine, headers: { ...genuine.headers } };
    tamper(tampered);
    expectRejected(t, await send(t, tampered), 401, code);
    const res = await send(t, genuine);
    expect(res.status).toBeLessThan(300);
    expect(t.log.calls).toHaveLength(1);
  }

  const base = (): SignSpec => ({ apiKey: orders, secret: TEST_SECRET, target: '/items/1?a=1&b=2' });

  describe('the key', () => {
    it('another existing key', () =>
      expectTamperingRejected(base(), (w) => {
        w.headers['x-api-key'] = billingAdmin;
      }));

    it('the same key with one letter in another case', () =>
      expectTamperingRejected(base(), (w) => {
        const key = w.headers['x-api-key'] as string;
        const i = key.search(/[A-Za-z]/);
        const c = key[i];
        w.headers['x-api-key'] = key.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + key.slice(i + 1);
      }));
  });

  describe('the timestamp', () => {
    it('one second earlier', () =>
      expectTamperingRejected(base(), (w) => {
        w.headers['x-api-timestamp'] = String(Number(w.headers['x-api-timestamp']) - 1);
      }));

    it('one second later', () =>
      expectTamperingRejected(base(), (w) => {
        w.headers['x-api-timestamp'] = String(Number(w.headers['x-api-timestamp']) + 1);
      }));

    it('the same instant with a leading zero (other bytes)', () =>
      expectTamperingRejected(base(), (w) => {
        w.headers['x-api-timestamp'] = '0' + String(w.headers['x-api-timestamp']);
      }));
  });

  describe('the nonce', () => {
    it('a fresh nonce', () =>
      expectTamperingRejected(base(), (w) => {
        w.headers['x-api-nonce'] = freshNonce();
      }));

    it('one character changed', () =>
      expectTamperingRejected({ ...base(), nonce: 'aaaaaaaaaaaaaaaaaaaaaa' }, (w) => {
        w.headers['x-api-nonce'] = 'aaaaaaaaaaaaaaaaaaaaab';
      }));
  });

  describe('the signature', () => {
    it('one hex digit changed', () =>
      expectTamperingRejected(base(), (w) => {
        const sig = w.headers['x-api-signature'] as string;
        w.headers['x-api-signature'] = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
      }));

    it("another request's signature", () =>
      expectTamperingRejected(base(), (w) => {
        w.headers['x-api-signature'] = sign(t, { ...base(), target: '/items/2', nonce: w.headers['x-api-nonce'] as string })[
          'x-api-signature'
        ];
      }));
  });

  describe('the method', () => {
    it('a GET sent as DELETE by a caller allowed to DELETE', () =>
      expectTamperingRejected({ apiKey: billingAdmin, secret: TEST_SECRET, target: '/items/1' }, (w) => {
        w.method = 'DELETE';
      }));

    it('a DELETE sent as GET', async () => {
      const spec: SignSpec = { apiKey: billingAdmin, secret: TEST_SECRET, method: 'DELETE', target: '/items/1' };
      await expectTamperingRejected(spec, (w) => {
        w.method = 'GET';
      });
      expect(t.log.calls).toEqual(['delete:1']);
    });
  });

  describe('the host', () => {
    it('signed for localhost, sent to 127.0.0.1', () =>
      expectTamperingRejected({ ...base(), host: t.host.replace('127.0.0.1', 'localhost') }, (w) => {
        w.host = t.host;
      }));

    it('signed without the port, sent with it', () =>
      expectTamperingRejected({ ...base(), host: '127.0.0.1' }, (w) => {
        w.host = t.host;
      }));

    it('signed for another port', () =>
      expectTamperingRejected({ ...base(), host: 'api.internal:8443' }, (w) => {
        w.host = 'api.internal:8444';
      }));

    it('signed for another host name', () =>
      expectTamperingRejected({ ...base(), host: 'billing.internal' }, (w) => {
        w.host = 'orders.internal';
      }));

    it('is compared lower-cased: a Host in any case matches', async () => {
      const genuine = signedWire({ ...base(), host: 'Billing.INTERNAL:8443' });
      expect((await send(t, { ...genuine, host: 'billing.internal:8443' })).status).toBe(200);
      const other = signedWire({ ...base(), host: 'billing.internal:8443' });
      expect((await send(t, { ...other, host: 'BILLING.Internal:8443' })).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1', 'get:1']);
    });
  });

  describe('the target', () => {
    const cases: Array<[string, string, string]> = [
      ['another path', '/items/1', '/items/2'],
      ['a query added', '/items/1', '/items/1?a=1'],
      ['the query removed', '/items/1?a=1&b=2', '/items/1'],
      ['an empty query added ("?")', '/items/1', '/items/1?'],
      ['a query value changed', '/items/1?a=1&b=2', '/items/1?a=1&b=3'],
      ['a query parameter added', '/items/1?a=1&b=2', '/items/1?a=1&b=2&c=3'],
      ['a query parameter repeated', '/items/1?a=1&b=2', '/items/1?a=1&b=2&b=2'],
      ['the query parameters re-ordered', '/items/1?a=1&b=2', '/items/1?b=2&a=1'],
      ['a path percent-encoded differently (decoded equal)', '/items/1', '/items/%31'],
      ['percent-encoding in other case', '/items/a%2Fb', '/items/a%2fb'],
      ['a query space as "+" instead of "%20"', '/items/1?q=a%20b', '/items/1?q=a+b'],
      ['a path with ".." normalised away', '/items/..?x', '/items/.%2E?x'],
    ];
    it.each(cases)('%s', (_name, signedTarget, sentTarget) =>
      expectTamperingRejected({ ...base(), target: signedTarget }, (w) => {
        w.target = sentTarget;
      }),
    );

    it.each([
      ['/items/a%20b?y=2&x=1', 'a b'],
      ['/items/..?x', '..'],
      ['/items/%2E%2E?x=1&x=2', '..'],
      ['/items/1?', '1'],
      ['/items/1?q=%F0%9F%94%91&empty=&flag', '1'],
    ])('accepts the raw target %s when signed byte for byte', async (target, id) => {
      const res = await send(t, signedWire({ ...base(), target }));
      expect(res.status).toBe(200);
      expect(res.json.id).toBe(id);
      expect(t.log.calls).toEqual([`get:${id}`]);
    });

    it('accepts an absolute-form request target when that is what was signed', async () => {
      const target = `http://${t.host}/items/1?a=1`;
      expect((await send(t, signedWire({ ...base(), target }))).status).toBe(200);
      t.log.calls.length = 0;
      await expectTamperingRejected({ ...base(), target }, (w) => {
        w.target = '/items/1?a=1';
      });
    });
  });

  describe('the body', () => {
    const post = (body: string | undefined): SignSpec => ({ apiKey: orders, secret: TEST_SECRET, method: 'POST', target: '/items', body });

    it('another JSON body of the same length', () =>
      expectTamperingRejected(post('{"a":1}'), (w) => {
        w.body = '{"a":2}';
      }));

    it('the same JSON value with other bytes', () =>
      expectTamperingRejected(post('{"a":1}'), (w) => {
        w.body = '{"a": 1}';
      }));

    it('a body added to a request signed without one', () =>
      expectTamperingRejected(post(undefined), (w) => {
        w.headers['content-type'] = 'application/json';
        w.body = '{"a":1}';
      }));

    it('the body removed', () =>
      expectTamperingRejected(post('{"a":1}'), (w) => {
        delete w.headers['content-type'];
        w.body = undefined;
      }));
  });

  describe('replayed_request', () => {
    it('accepts a request once: the same request again is 401 and runs nothing', async () => {
      const wire = signedWire(base());
      expect((await send(t, wire)).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1']);
      t.log.calls.length = 0;
      expectRejected(t, await send(t, wire), 401, 'replayed_request');
    });

    it('lets exactly one of concurrent copies through', async () => {
      const wire = signedWire(base());
      const responses = await Promise.all(Array.from({ length: 6 }, () => send(t, wire)));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 401, 401, 401, 401, 401]);
      for (const r of responses.filter((r) => r.status === 401)) expect(r.json.code).toBe('replayed_request');
      expect(t.log.calls).toEqual(['get:1']);
    });

    it('refuses a nonce already used by the same key on another request', async () => {
      const nonce = freshNonce();
      expect((await sendSigned(t, { ...base(), nonce })).status).toBe(200);
      t.log.calls.length = 0;
      const other = await sendSigned(t, {
        apiKey: orders,
        secret: TEST_SECRET,
        nonce,
        target: '/items/2',
        timestampSeconds: nowSeconds() - 1,
      });
      expectRejected(t, other, 401, 'replayed_request');
    });

    it('keeps nonces per key: another key may use the same nonce', async () => {
      const nonce = freshNonce();
      expect((await sendSigned(t, { ...base(), nonce })).status).toBe(200);
      expect((await sendSigned(t, { apiKey: billingAdmin, secret: TEST_SECRET, nonce })).status).toBe(200);
      expect(t.log.calls).toEqual(['get:1', 'get:1']);
    });

    it('does not let a wrong signature burn a nonce', async () => {
      const nonce = freshNonce();
      const forged = await sendSigned(t, { ...base(), nonce, secret: 'not-the-secret-but-long-enough-0123456789' });
      expectRejected(t, forged, 401, 'invalid_signature');
      expect((await sendSigned(t, { ...base(), nonce })).status).toBe(200);
    });
  });

  it('never echoes the signature or the secret', async () => {
    const wire = signedWire(base());
    wire.headers['x-api-timestamp'] = String(Number(wire.headers['x-api-timestamp']) - 1);
    const res = await send(t, wire);
    expectRejected(t, res, 401, 'invalid_signature');
    const everything = res.text + JSON.stringify(res.headers);
    expect(everything).not.toContain((wire.headers['x-api-signature'] as string).slice(3));
    expect(everything).not.toContain(TEST_SECRET);
  });
});
