import { assertCliBuilt, runCli } from '../support/cli.js';
import { readmeSection } from '../support/readme.js';

/** The commands `service-auth <group> --help` lists (without `help` itself). */
async function commandsOf(...group: string[]): Promise<string[]> {
  const { stdout, code } = await runCli([...group, '--help']);
  expect(code).toBe(0);
  const list = stdout.slice(stdout.indexOf('Commands:'));
  return [...list.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1]).filter((name) => name !== 'help');
}

/** The README section of the CLI. */
function cliSection(): string {
  return readmeSection('Keys and the CLI');
}

describe('README', () => {
  beforeAll(() => assertCliBuilt());

  it('documents every CLI command under its own heading, with an example run', async () => {
    const top = await commandsOf();
    expect(top.sort()).toEqual(['keys', 'migrate', 'request', 'sign']);
    const commands = [...top.filter((c) => c !== 'keys'), ...(await commandsOf('keys')).map((c) => `keys ${c}`)];
    expect(commands).toHaveLength(8);

    const section = cliSection();
    const headings = [...section.matchAll(/^#### `([^`]+)`/gm)].map((m) => m[1]);
    const examples = [...section.matchAll(/```console\n([\s\S]*?)```/g)].map((m) => m[1]);
    for (const command of commands) {
      expect(headings.some((heading) => heading === command || heading.startsWith(`${command} `))).toBe(true);
      expect(examples.some((example) => new RegExp(`^\\$ .*service-auth ${command}( |$)`, 'm').test(example))).toBe(true);
    }
  });

  it('documents the environment, the exit codes and SERVICE_AUTH_SECRET', () => {
    const section = cliSection();
    for (const variable of ['DATABASE_URL', 'API_SHARED_SECRET', 'API_SHARED_SECRET_PREVIOUS', 'API_SECRET_MODE', 'SERVICE_AUTH_SECRET']) {
      expect(section).toContain(`| \`${variable}\` |`);
    }
    expect(section).toMatch(/Exit status: `0` success; `1` failure .*`2` usage error/s);
    expect(section).toContain('npm run cli --');
  });
});
