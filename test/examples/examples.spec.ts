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

/**
 * The RFC 9421 examples (README, "Calling from other languages with RFC
 * 9421") against a real app that lists the scheme: the Python one with the
 * standard library only, the Node one with http-message-signatures.
 */
describe.each(ADAPTERS)('RFC 9421 examples against a real app with schemes ["v1", "rfc9421"] (%s)', (adapter) => {
  let t: TestApp;
  let env: NodeJS.ProcessEnv;
  let apiKey: string;

  beforeAll(async () => {
    t = await createTestApp({ adapter, auth: { schemes: ['v1', 'rfc9421'] } });
    ({ apiKey } = await t.keys.create('examples'));
    env = { ...process.env, API_KEY: apiKey, API_SECRET: TEST_SECRET };
  });
  afterAll(() => t.close());
  beforeEach(() => {
    t.log.calls.length = 0;
  });

  const examples: Array<[string, boolean, string, string]> = [
    ['Python, standard library (examples/rfc9421_request.py)', tools.python, 'python3', 'examples/rfc9421_request.py'],
    ['Node, http-message-signatures (examples/rfc9421-fetch.mjs)', true, 'node', 'examples/rfc9421-fetch.mjs'],
  ];

  describe.each(examples)('%s', (_name, available, command, script) => {
    const maybe = available ? it : it.skip;
    const call = async (...args: string[]) => {
      const { stdout } = await run(command, [script, ...args], { env, timeout: 15_000 });
      const [status, ...body] = stdout.trim().split('\n');
      return { status, body: body.join('\n') };
    };

    maybe('GET with a query is accepted; the caller is reported with scheme rfc9421', async () => {
      const { status, body } = await call('GET', `${t.baseUrl}/items/42?a=1&b=%20x`);
      expect(status).toBe('200');
      expect(JSON.parse(body)).toEqual({ id: '42', caller: { apiKey, serviceName: 'examples', scheme: 'rfc9421' } });
      expect(t.log.calls).toEqual(['get:42']);
    });

    maybe('POST with a JSON body is accepted and the handler gets the body', async () => {
      const { status, body } = await call('POST', `${t.baseUrl}/items`, '{"total":12.5,"note":"h\u00e9llo"}');
      expect(status).toBe('201');
      expect(JSON.parse(body)).toEqual({ caller: 'examples', body: { total: 12.5, note: 'h\u00e9llo' } });
    });

    maybe('a wrong secret is refused with invalid_signature, and nothing runs', async () => {
      const { stdout } = await run(command, [script, 'POST', `${t.baseUrl}/items`, '{"n":1}'], {
        env: { ...env, API_SECRET: 'x'.repeat(40) },
        timeout: 15_000,
      });
      const [status, body] = stdout.trim().split('\n');
      expect(status).toBe('401');
      expect(JSON.parse(body).code).toBe('invalid_signature');
      expect(t.log.calls).toEqual([]);
    });
  });
});
