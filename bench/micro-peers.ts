// The same-job peers of the micro benchmark, each with in-memory credentials, on the same requests:
// @hapi/hawk's server.authenticate (payload hash and nonce check) and http-message-signatures'
// verifyMessage (hmac-sha256) plus a Content-Digest check.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { createVerifier, httpbis } from 'http-message-signatures';
import { MemoryNonceStore } from '../lib/stores/memory-nonce.store.js';
import { BENCH_SECRET, GET_TARGET, POST_TARGET } from './common.js';
import { API_KEY, BODY, HOST, type NonceSource, type Route } from './micro-requests.js';

interface HawkCredentials {
  id: string;
  key: string;
  algorithm: 'sha256';
}
interface HawkRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}
interface Hawk {
  client: {
    header(
      uri: string,
      method: string,
      options: { credentials: HawkCredentials; timestamp: number; nonce: string; payload?: string; contentType?: string },
    ): {
      header: string;
    };
  };
  server: {
    authenticate(
      req: HawkRequest,
      credentials: (id: string) => Promise<HawkCredentials | null>,
      options: { payload?: string; nonceFunc?: (key: string, nonce: string, ts: string) => Promise<void> },
    ): Promise<{ credentials: HawkCredentials }>;
  };
}

const hawk = createRequire(import.meta.url)('@hapi/hawk') as Hawk;
const HAWK_CREDENTIALS: HawkCredentials = { id: API_KEY, key: BENCH_SECRET, algorithm: 'sha256' };
const BODY_TEXT = BODY.toString('utf8');

export interface PeerCall {
  /** One verification of request `i`; rejects when it does not verify. */
  (i: number): Promise<unknown>;
}

/** `count` Hawk requests (Authorization with payload hash) and the verification of each. */
export function hawkBatch(route: Route, count: number, nonces: NonceSource, nowSeconds: number, seen: MemoryNonceStore): PeerCall {
  const post = route === 'post';
  const target = post ? POST_TARGET : GET_TARGET;
  const requests = nonces(count).map((nonce): HawkRequest => {
    const { header } = hawk.client.header(`http://${HOST}${target}`, post ? 'POST' : 'GET', {
      credentials: HAWK_CREDENTIALS,
      timestamp: nowSeconds,
      nonce,
      payload: post ? BODY_TEXT : '',
      contentType: post ? 'application/json' : '',
    });
    const headers: Record<string, string> = { host: HOST, 'user-agent': 'bench', accept: '*/*', authorization: header };
    if (post) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(BODY.length) });
    return { method: post ? 'POST' : 'GET', url: target, headers };
  });
  const lookup = async (id: string) => (id === API_KEY ? HAWK_CREDENTIALS : null);
  const nonceFunc = async (_key: string, nonce: string, ts: string) => {
    if (!seen.recordOnce(`${API_KEY}:${nonce}`, Number(ts) + 60)) throw new Error('replayed nonce');
  };
  // Hawk hashes the payload it is given, as a string (the body as the app received it).
  return (i) => hawk.server.authenticate(requests[i], lookup, { payload: post ? BODY_TEXT : '', nonceFunc });
}

/**
 * http-message-signatures' verifyMessage on rfc9421 requests (made by `rfc9421Requests`), and
 * the Content-Digest of the body checked as the guard checks it.
 */
export function httpSignaturesBatch(
  route: Route,
  requests: Array<{ method: string; url: string; headers: Record<string, string>; rawBody?: Buffer }>,
): PeerCall {
  const key = { id: API_KEY, algs: ['hmac-sha256'], verify: createVerifier(Buffer.from(BENCH_SECRET, 'utf8'), 'hmac-sha256') };
  const config = {
    keyLookup: async (params: { keyid?: string }) => (params.keyid === API_KEY ? key : null),
    requiredParams: ['created', 'keyid', 'nonce'] as Array<'created' | 'keyid' | 'nonce'>,
    requiredFields: ['@method', '@authority', '@path', '@query'],
  };
  const messages = requests.map((r) => ({ method: r.method, url: `http://${HOST}${r.url}`, headers: r.headers, body: r.rawBody }));
  return async (i) => {
    const message = messages[i];
    if (message.body) {
      const digest = Buffer.from(`sha-256=:${createHash('sha256').update(message.body).digest('base64')}:`);
      const sent = Buffer.from(message.headers['content-digest'] ?? '');
      if (sent.length !== digest.length || !timingSafeEqual(sent, digest)) throw new Error('Content-Digest does not match');
    }
    if ((await httpbis.verifyMessage(config, message)) !== true) throw new Error('http-message-signatures did not verify');
    return true;
  };
}
