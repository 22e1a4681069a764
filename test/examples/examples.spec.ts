import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ADAPTERS, createTestApp, TestApp, TEST_SECRET } from '../support/test-app.js';

const run = promisify(execFile);


async function has(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

const describeIf = (ok: boolean, what: string) =>
  ok ? describe : (name: string, fn: () => void) => describe.skip(`${name} [SKIPPED: ${what} not installed]`, fn);

const tools = {
  python: await has('python3'),
  curl: (await has('curl')) && (await has('openssl')),
};

describe.each(ADAPTERS)('README examples against a real app (%s)', (adapter) => {
  let t: TestApp;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    t = await createTestApp({ adapter });
    const { apiKey } = await t.keys.create('examples');
    env = { ...process.env, API_KEY: apiKey, API_SECRET: TEST_SECRET };
  });
  afterAll(() => t.close());

  describeIf(tools.python, 'python3')('Python signer (examples/signed_request.py)', () => {
    it('GET with a query is accepted', async () => {
      const { stdout } = await run('python3', ['examples/signed_request.py', 'get', `${t.baseUrl}/items/42?a=1&b=2`], { env });
      const [status, body] = stdout.trim().split('\n');
      expect(status).toBe('200');
      expect(JSON.parse(body)).toMatchObject({ id: '42', caller: { serviceName: 'examples', scheme: 'v1' } });
    });

    it('POST with a JSON body is accepted and the handler gets the body', async () => {
      const { stdout } = await run('python3', ['examples/signed_request.py', 'POST', `${t.baseUrl}/items`, '{"total":12.5}'], { env });
      const [status, body] = stdout.trim().split('\n');
      expect(status).toBe('201');
      expect(JSON.parse(body)).toEqual({ caller: 'examples', body: { total: 12.5 } });
    });

    it('a wrong secret is rejected with invalid_signature', async () => {
      const { stdout } = await run('python3', ['examples/signed_request.py', 'GET', `${t.baseUrl}/items/1`], {
        env: { ...env, API_SECRET: 'x'.repeat(40) },
      });
      const [status, body] = stdout.trim().split('\n');
      expect(status).toBe('401');
      expect(JSON.parse(body).code).toBe('invalid_signature');
    });
  });

  describeIf(tools.curl, 'curl or openssl')('curl signer (examples/signed-curl.sh)', () => {
    it('GET and POST are accepted', async () => {
      const get = await run('bash', ['examples/signed-curl.sh', 'GET', `${t.baseUrl}/items/9?z=1`], { env });
      const [getBody, getStatus] = get.stdout.trim().split('\n');
      expect(getStatus).toBe('200');
      expect(JSON.parse(getBody)).toMatchObject({ id: '9' });

      const post = await run('bash', ['examples/signed-curl.sh', 'post', `${t.baseUrl}/items`, '{"n":1}'], { env });
      const [postBody, postStatus] = post.stdout.trim().split('\n');
      expect(postStatus).toBe('201');
      expect(JSON.parse(postBody)).toEqual({ caller: 'examples', body: { n: 1 } });
    });
  });
});
