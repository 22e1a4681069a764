// Issue 10, finding 7: a forged `401 stale_timestamp` must not move the signer's clock.
import { SigningService } from '../../lib/index.js';
import { FakePeer, type PeerAnswer, type PeerRequest } from './fake-peer.js';
import * as protocol from '../../lib/protocol/index.js';

const API_KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
const SECRET = 'client-secret-for-the-fake-peer-0123456789';
const OTHER_SECRET = 'attacker-guess-of-a-secret-0123456789-abcd';
/** How far in the future the forged server time lies: just outside the default tolerance. */
const AHEAD_S = 310;

const nowSeconds = () => Math.floor(Date.now() / 1000);
const header = (request: PeerRequest, name: string) => String(request.headers[name] ?? '');

const STALE_BODY = {
  statusCode: 401,
  error: 'Unauthorized',
  code: 'stale_timestamp',
  message: 'X-API-Timestamp is outside the accepted window; sync your clock with X-API-Server-Time.',
};

/** A `401 stale_timestamp` with server time now+310 and the given X-API-Server-Time-Signature (none when undefined). */
function stale(serverTime: string, signature?: string): PeerAnswer {
  return {
    status: 401,
    headers: { 'x-api-server-time': serverTime, ...(signature !== undefined && { 'x-api-server-time-signature': signature }) },
    body: STALE_BODY,
  };
}

/** The server-time signature for the request received, as an honest verifier makes it. */
function signedFor(request: PeerRequest, serverTime: string, secret = SECRET): string {
  return protocol.signServerTime(secret, { apiKey: header(request, 'x-api-key'), nonce: header(request, 'x-api-nonce'), serverTime });
}

const OK: PeerAnswer = { status: 200, body: { ok: true } };

describe('SigningService and X-API-Server-Time (issue 10, finding 7)', () => {
  let peer: FakePeer;
  let signer: SigningService;

  beforeEach(async () => {
    peer = await FakePeer.start();
    signer = new SigningService().withCredentials({ apiKey: API_KEY, secret: SECRET });
  });

  afterEach(async () => {
    await peer.close();
  });

  /** The first answer is `first(request)`; every later one is 200. */
  function answerFirst(first: (request: PeerRequest) => PeerAnswer): void {
    peer.handler = (request, index) => (index === 0 ? first(request) : OK);
  }

  const forged: [string, (request: PeerRequest, serverTime: string) => string | undefined][] = [
    ['no signature', () => undefined],
    ['an empty signature', () => ''],
    ['a signature of random hex', () => `v1=${'ab'.repeat(32)}`],
    ['a signature made with another secret', (r, time) => signedFor(r, time, OTHER_SECRET)],
    [
      'a signature for another nonce (replayed from an earlier answer)',
      (r, time) => protocol.signServerTime(SECRET, { apiKey: API_KEY, nonce: 'an-earlier-nonce-AAAAAA', serverTime: time }),
    ],
    [
      'a signature for another key',
      (r, time) =>
        protocol.signServerTime(SECRET, { apiKey: 'another-key-0000000000000', nonce: header(r, 'x-api-nonce'), serverTime: time }),
    ],
    ['a signature for another server time', (r) => signedFor(r, String(nowSeconds()))],
    ['a signature without the v1= prefix', (r, time) => signedFor(r, time).slice(3)],
  ];

  it.each(forged)('a forged 401 stale_timestamp at now+310 with %s does not move the clock', async (_name, forge) => {
    let serverTime = '';
    answerFirst((request) => {
      serverTime = String(nowSeconds() + AHEAD_S);
      return stale(serverTime, forge(request, serverTime));
    });
    const before = nowSeconds();
    const response = await signer.fetch(`${peer.baseUrl}/orders`, { method: 'POST', body: '{"n":1}' });

    // The 401 is surfaced unchanged, and nothing else was sent.
    expect(response.status).toBe(401);
    expect(response.headers.get('x-api-server-time')).toBe(serverTime);
    expect(await response.json()).toEqual(STALE_BODY);
    expect(peer.requests).toHaveLength(1);
    expect(signer.clockOffset(peer.baseUrl)).toBe(0);

    // The request that follows is signed with the local time, not the forged one.
    expect((await signer.fetch(`${peer.baseUrl}/orders`, { method: 'POST', body: '{"n":2}' })).status).toBe(200);
    expect(peer.requests).toHaveLength(2);
    const timestamp = Number(header(peer.requests[1], 'x-api-timestamp'));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(nowSeconds());
  });

  it('a correctly signed 401 stale_timestamp moves the clock: exactly one retry, with a new nonce', async () => {
    answerFirst((request) => {
      const serverTime = String(nowSeconds() + AHEAD_S);
      return stale(serverTime, signedFor(request, serverTime));
    });
    const before = nowSeconds();
    const response = await signer.fetch(`${peer.baseUrl}/orders`, { method: 'POST', body: '{"n":1}' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });

    expect(peer.requests).toHaveLength(2);
    const [first, retry] = peer.requests;
    expect(header(retry, 'x-api-nonce')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(header(retry, 'x-api-nonce')).not.toBe(header(first, 'x-api-nonce'));
    expect(retry.body.toString()).toBe('{"n":1}');
    const retried = Number(header(retry, 'x-api-timestamp'));
    expect(retried).toBeGreaterThanOrEqual(before + AHEAD_S);
    expect(retried).toBeLessThanOrEqual(nowSeconds() + AHEAD_S + 1);
    expect(Math.abs(signer.clockOffset(peer.baseUrl) - AHEAD_S * 1000)).toBeLessThanOrEqual(1_500);

    // The correction sticks for this peer: the next call needs no retry.
    expect((await signer.fetch(`${peer.baseUrl}/orders/1`)).status).toBe(200);
    expect(peer.requests).toHaveLength(3);
  });

  it('a v0 signer verifies the server time signed with an empty nonce', async () => {
    const v0 = new SigningService().withCredentials({ apiKey: API_KEY, secret: SECRET, scheme: 'v0' });
    answerFirst(() => {
      const serverTime = String(nowSeconds() + AHEAD_S);
      return stale(serverTime, protocol.signServerTime(SECRET, { apiKey: API_KEY, nonce: '', serverTime }));
    });
    expect((await v0.fetch(`${peer.baseUrl}/orders/1`)).status).toBe(200);
    expect(peer.requests).toHaveLength(2);
    expect(peer.requests[0].headers['x-api-nonce']).toBeUndefined();
  });

  it('retries at most once, even when the retry is answered with another signed stale_timestamp', async () => {
    peer.handler = (request) => {
      const serverTime = String(nowSeconds() + AHEAD_S);
      return stale(serverTime, signedFor(request, serverTime));
    };
    const response = await signer.fetch(`${peer.baseUrl}/orders/1`);
    expect(response.status).toBe(401);
    expect(peer.requests).toHaveLength(2);
  });

  it.each([
    ['a 401 with another code', 401, { ...STALE_BODY, code: 'invalid_signature' }],
    ['a 403 stale_timestamp', 403, STALE_BODY],
    ['a 401 whose body is not JSON', 401, 'stale_timestamp'],
  ])('a correctly signed server time on %s is not adopted', async (_name, status, body) => {
    answerFirst((request) => {
      const serverTime = String(nowSeconds() + AHEAD_S);
      return { ...stale(serverTime, signedFor(request, serverTime)), status, body };
    });
    expect((await signer.fetch(`${peer.baseUrl}/orders/1`)).status).toBe(status);
    expect(peer.requests).toHaveLength(1);
    expect(signer.clockOffset(peer.baseUrl)).toBe(0);
  });

  it('a correction learned from one peer does not move the clock used for another', async () => {
    const other = await FakePeer.start();
    try {
      answerFirst((request) => {
        const serverTime = String(nowSeconds() + AHEAD_S);
        return stale(serverTime, signedFor(request, serverTime));
      });
      expect((await signer.fetch(`${peer.baseUrl}/x`)).status).toBe(200);
      expect(signer.clockOffset(peer.baseUrl)).toBeGreaterThan(300_000);
      const before = nowSeconds();
      expect((await signer.fetch(`${other.baseUrl}/x`)).status).toBe(200);
      expect(signer.clockOffset(other.baseUrl)).toBe(0);
      expect(Number(other.header(0, 'x-api-timestamp'))).toBeGreaterThanOrEqual(before);
      expect(Number(other.header(0, 'x-api-timestamp'))).toBeLessThanOrEqual(nowSeconds());
    } finally {
      await other.close();
    }
  });
});
