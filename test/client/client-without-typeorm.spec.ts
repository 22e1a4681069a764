// Issue 12, item 1: a service that only calls others needs neither TypeORM nor a verification secret.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assertCliBuilt } from '../support/cli.js';
import { ADAPTERS, createTestApp, type TestApp } from '../support/test-app.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/client/fixtures');
const CLIENT_ENTRY = pathToFileURL(join(ROOT, 'dist/lib/client/index.js')).href;
const MAIN_ENTRY = pathToFileURL(join(ROOT, 'dist/lib/index.js')).href;

const BILLING_SECRET = 'billing-secret-for-the-client-only-app-0123';
const SHIPPING_SECRET = 'shipping-secret-for-the-client-only-app-012';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the client-only app as plain Node on the built package, with the server-side packages unresolvable. */
function runClientApp(entry: string, options: unknown, calls: unknown[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(FIXTURES, 'deny-server-packages.mjs'), join(FIXTURES, 'client-only-app.mjs')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ENTRY: entry, CLIENT_OPTIONS: JSON.stringify(options), CALLS: JSON.stringify(calls) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.each(ADAPTERS)('a client app without TypeORM installed (nestjs-service-auth/client) calling verifying apps (%s)', (adapter) => {
  let billing: TestApp;
  let shipping: TestApp;
  let billingKey: string;
  let shippingKey: string;

  beforeAll(async () => {
    assertCliBuilt();
    billing = await createTestApp({ adapter, auth: { secrets: [BILLING_SECRET] } });
    shipping = await createTestApp({ adapter, auth: { secrets: [SHIPPING_SECRET] } });
    ({ apiKey: billingKey } = await billing.keys.create('orders'));
    ({ apiKey: shippingKey } = await shipping.keys.create('orders'));
  });

  afterAll(async () => {
    await billing?.close();
    await shipping?.close();
  });

  it('the entry point of the verifying module cannot even load there (the denial is real)', async () => {
    const run = await runClientApp(MAIN_ENTRY, { apiKey: billingKey, secret: BILLING_SECRET }, []);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Cannot find (package|module) '(@nestjs\/typeorm|typeorm|@nestjs\/throttler)'/);
  });

  it("forRoot({ peers }) signs calls that each verifier accepts, with that peer's credentials", async () => {
    const options = {
      peers: {
        billing: { baseUrl: billing.baseUrl, apiKey: billingKey, secret: BILLING_SECRET },
        shipping: { baseUrl: shipping.baseUrl, apiKey: shippingKey, secret: SHIPPING_SECRET },
      },
    };
    const run = await runClientApp(CLIENT_ENTRY, options, [
      { url: `${billing.baseUrl}/items`, method: 'POST', body: '{"invoice":7}' },
      { peer: 'shipping', url: '/items/8' },
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      { status: 201, body: { caller: 'orders', body: { invoice: 7 } } },
      { status: 200, body: { id: '8', caller: { apiKey: shippingKey, serviceName: 'orders', scheme: 'v1' } } },
    ]);
    expect(billing.log.calls).toEqual(['create']);
    expect(shipping.log.calls).toEqual(['get:8']);
  });

  it('forRoot({ apiKey, secret }) works the same, with no master or verification secret anywhere', async () => {
    const run = await runClientApp(CLIENT_ENTRY, { apiKey: billingKey, secret: BILLING_SECRET }, [{ url: `${billing.baseUrl}/items/1` }]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([
      { status: 200, body: { id: '1', caller: { apiKey: billingKey, serviceName: 'orders', scheme: 'v1' } } },
    ]);
  });
});
