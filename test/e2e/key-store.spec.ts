import { resolveApiKeyAuthOptions } from '../../lib/api-key-auth-options.factory.js';
import { InvalidOptionError, type ApiKeyRecord, type ApiKeyStore } from '../../lib/index.js';
import { expectRejected, sendSigned } from '../support/signed-request.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

/** Keys held in memory, as an app would hold keys from its own configuration or secret store. */
class InMemoryKeyStore implements ApiKeyStore {
  readonly lookups: string[] = [];
  private readonly records = new Map<string, ApiKeyRecord>();

  add(record: Partial<ApiKeyRecord> & Pick<ApiKeyRecord, 'apiKey' | 'serviceName'>): void {
    this.records.set(record.apiKey, { revokedAt: null, expiresAt: null, rateLimit: null, ...record });
  }

  async findByKey(apiKey: string): Promise<ApiKeyRecord | null> {
    this.lookups.push(apiKey);
    return this.records.get(apiKey) ?? null;
  }
}

const STORED_KEY = 'InMemoryStoreKey0123456789abcdef';
const REVOKED_KEY = 'InMemoryRevokedKey0123456789abcd';

/** The `keyStore` option: the guard reads keys from the app's own store instead of the api_keys table. */
describe.each(ADAPTERS)('keyStore: an ApiKeyStore of the app (%s)', (adapter) => {
  let t: TestApp;
  let store: InMemoryKeyStore;
  beforeAll(async () => {
    store = new InMemoryKeyStore();
    store.add({ apiKey: STORED_KEY, serviceName: 'orders' });
    store.add({ apiKey: REVOKED_KEY, serviceName: 'orders', revokedAt: new Date(Date.now() - 1_000) });
    t = await createTestApp({ adapter, auth: { keyStore: store } });
  });
  afterAll(() => t?.close());
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  it("accepts a key of the store, which the api_keys table does not hold, and hands the store's service name to the handler", async () => {
    const res = await sendSigned(t, { apiKey: STORED_KEY, secret: TEST_SECRET });
    expect(res.status).toBe(200);
    expect(res.json.caller).toMatchObject({ apiKey: STORED_KEY, serviceName: 'orders', scheme: 'v1' });
    expect(t.log.calls).toEqual(['get:1']);
    expect(store.lookups).toContain(STORED_KEY);
  });

  it('refuses a key the store does not know with 401 invalid_signature, and runs no handler', async () => {
    expectRejected(t, await sendSigned(t, { apiKey: 'UnknownToTheStore0123456789abcd', secret: TEST_SECRET }), 401, 'invalid_signature');
  });

  it('refuses a key of the api_keys table: the store replaces the table', async () => {
    const { apiKey } = await t.keys.create('billing');
    expectRejected(t, await sendSigned(t, { apiKey, secret: TEST_SECRET }), 401, 'invalid_signature');
    expect(store.lookups).toContain(apiKey);
  });

  it("applies the record's revocation as for a key of the table", async () => {
    expectRejected(t, await sendSigned(t, { apiKey: REVOKED_KEY, secret: TEST_SECRET }), 401, 'invalid_signature');
  });
});

describe('keyStore validation', () => {
  it('refuses a keyStore without findByKey, saying what it needs', () => {
    expect(() => resolveApiKeyAuthOptions({ secrets: [TEST_SECRET], keyStore: {} as ApiKeyStore })).toThrow(InvalidOptionError);
    expect(() => resolveApiKeyAuthOptions({ secrets: [TEST_SECRET], keyStore: {} as ApiKeyStore })).toThrow(
      /option `keyStore` must be an ApiKeyStore: an object with a findByKey\(apiKey\) method/,
    );
  });
});
