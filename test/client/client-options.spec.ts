import { InvalidClientOptionError } from '../../lib/client/index.js';
import { resolveServiceAuthClientOptions } from '../../lib/client/service-auth-client-options.factory.js';
import type { ServiceAuthClientModuleOptions } from '../../lib/client/index.js';

const KEY = 'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF';
const SECRET = 'a-secret-that-must-never-appear-0123456789';
const OTHER_SECRET = 'another-secret-that-must-not-appear-012345';

const peer = (baseUrl: string, secret = SECRET) => ({ baseUrl, apiKey: KEY, secret });

/** The error of `resolveServiceAuthClientOptions(options)`; fails when it does not throw. */
function errorOf(options: unknown): InvalidClientOptionError {
  try {
    resolveServiceAuthClientOptions(options as ServiceAuthClientModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidClientOptionError);
    return error as InvalidClientOptionError;
  }
  throw new Error('expected InvalidClientOptionError');
}

describe('ServiceAuthClientModule options', () => {
  it('one set of credentials, scheme defaulting to v1', () => {
    expect(resolveServiceAuthClientOptions({ apiKey: KEY, secret: SECRET })).toEqual({ apiKey: KEY, secret: SECRET, scheme: 'v1' });
    expect(resolveServiceAuthClientOptions({ apiKey: KEY, secret: SECRET, scheme: 'v0' })).toMatchObject({ scheme: 'v0' });
  });

  it("peers, by origin (case and default port normalised), the module scheme as each peer's default", () => {
    expect(
      resolveServiceAuthClientOptions({
        scheme: 'v0',
        peers: {
          billing: peer('http://Billing.internal:80'),
          shipping: { ...peer('https://shipping.internal:8443/', OTHER_SECRET), scheme: 'v1' },
        },
      }),
    ).toEqual({
      peers: [
        { name: 'billing', origin: 'http://billing.internal', credentials: { apiKey: KEY, secret: SECRET, scheme: 'v0' } },
        { name: 'shipping', origin: 'https://shipping.internal:8443', credentials: { apiKey: KEY, secret: OTHER_SECRET, scheme: 'v1' } },
      ],
    });
  });

  it.each<[string, unknown, string, string]>([
    ['no options', undefined, 'options', 'must be an object'],
    ['no credentials at all', {}, 'apiKey', 'is required: give `apiKey` and `secret`'],
    ['a secret without a key', { secret: SECRET }, 'apiKey', 'is required'],
    ['a key without a secret', { apiKey: KEY }, 'secret', 'is required'],
    ['a short secret', { apiKey: KEY, secret: 'short' }, 'secret', 'must be at least 32 characters.'],
    ['a bad key', { apiKey: 'has spaces in it, sixteen+', secret: SECRET }, 'apiKey', 'must be 16 to 128 characters'],
    ['a bad scheme', { apiKey: KEY, secret: SECRET, scheme: 'v2' }, 'scheme', "must be 'v1', 'rfc9421' or 'v0', got 'v2'."],
    ['a mistyped option', { apiKey: KEY, secert: SECRET }, 'secert', 'is not an option (known: apiKey, secret, scheme, peers).'],
    ['credentials and peers together', { apiKey: KEY, secret: SECRET, peers: { a: peer('http://a') } }, 'peers', 'cannot be combined'],
    ['empty peers', { peers: {} }, 'peers', 'at least one peer'],
    ['peers as an array', { peers: [peer('http://a')] }, 'peers', 'at least one peer'],
    ['a bad peer name', { peers: { 'has space': peer('http://a') } }, 'peers', 'peer name'],
    ['a peer that is not an object', { peers: { a: 'http://a' } }, 'peers.a', 'must be an object'],
    ['a peer without baseUrl', { peers: { a: { apiKey: KEY, secret: SECRET } } }, 'peers.a.baseUrl', 'is required'],
    ['a peer baseUrl that is no URL', { peers: { a: peer('billing:3000x') } }, 'peers.a.baseUrl', 'http(s)://host[:port]'],
    ['a relative baseUrl', { peers: { a: peer('/billing') } }, 'peers.a.baseUrl', 'is not a URL'],
    ['a baseUrl of another scheme', { peers: { a: peer('ftp://billing') } }, 'peers.a.baseUrl', '(not ftp:)'],
    ['a baseUrl with a path', { peers: { a: peer('http://billing:3000/api') } }, 'peers.a.baseUrl', 'without a path'],
    ['a baseUrl with a query', { peers: { a: peer('http://billing:3000/?x=1') } }, 'peers.a.baseUrl', 'without a path, query'],
    ['a baseUrl with an empty query', { peers: { a: peer('http://billing:3000?') } }, 'peers.a.baseUrl', 'without a path, query'],
    ['a baseUrl with a fragment', { peers: { a: peer('http://billing:3000#x') } }, 'peers.a.baseUrl', 'fragment'],
    [
      'a baseUrl with a password',
      { peers: { a: peer(`http://svc:${SECRET}@billing:3000`) } },
      'peers.a.baseUrl',
      'without user or password',
    ],
    [
      'two peers on one origin',
      { peers: { a: peer('http://billing:3000'), b: peer('http://BILLING:3000/') } },
      'peers.b.baseUrl',
      'has the origin of peer `a` (http://billing:3000)',
    ],
    ['a peer with a short secret', { peers: { a: peer('http://a', 'short') } }, 'peers.a.secret', 'must be at least 32 characters.'],
    ['a peer without a key', { peers: { a: { baseUrl: 'http://a', secret: SECRET } } }, 'peers.a.apiKey', 'is required'],
    [
      'a peer with a bad scheme',
      { peers: { a: { ...peer('http://a'), scheme: 'v9' } } },
      'peers.a.scheme',
      "must be 'v1', 'rfc9421' or 'v0'",
    ],
    ['a mistyped peer option', { peers: { a: { ...peer('http://a'), base_url: 'http://b' } } }, 'peers.a.base_url', 'is not an option'],
  ])('%s: InvalidClientOptionError on `%#`', (_name, options, option, problem) => {
    const error = errorOf(options);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(/^nestjs-service-auth: ServiceAuthClientModule option `[^`]+` /);
    expect(error.message).toContain(`\`${option}\` `);
    expect(error.message).toContain(problem);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(KEY);
  });
});
