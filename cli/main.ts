#!/usr/bin/env node
// `service-auth`: key management and signed requests from the shell. See README.md, "Key management and the CLI".
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { keysCommand } from './commands/keys.command.js';
import { migrateCommand } from './commands/migrate.command.js';
import { requestCommand, SECRET_ENV, signCommand } from './commands/request.command.js';
import { DEFAULT_SQLITE_PATH } from './environment.parser.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli.error.js';
import { redactInput, withoutCommanderValues } from './error-redaction.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function buildProgram(): Command {
  const program = new Command('service-auth')
    .description(
      'Manage the API keys of nestjs-service-auth and send signed requests.\n\n' +
        'Environment: DATABASE_URL (sqlite:<file>, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db; ' +
        `default sqlite:${DEFAULT_SQLITE_PATH}, ` +
        "the README app's file), " +
        'API_SHARED_SECRET, API_SHARED_SECRET_PREVIOUS, API_SECRET_MODE (shared | derived), ' +
        `${SECRET_ENV} (the secret for request and sign).\n` +
        'Exit status: 0 success, 1 failure (database unreachable, unknown key, HTTP error status), 2 usage error.',
    )
    .version(version(), '-V, --version')
    // Commander's own errors (unknown option, missing argument, ...) are usage errors: exit 2, below.
    .exitOverride()
    .showSuggestionAfterError(true);
  program.addCommand(keysCommand());
  program.addCommand(migrateCommand());
  program.addCommand(requestCommand());
  program.addCommand(signCommand());
  // Settings are inherited by commands created with .command(), not by ones added with addCommand().
  for (const command of allCommands(program)) {
    command.exitOverride().configureOutput({
      // Commander quotes the values it rejects, and puts "(Did you mean --service?)" on a second line:
      // print every error on one line, without what was typed.
      outputError: (text, write) => write(`${redactInput(withoutCommanderValues(text).replace(/\n+/g, ' '), process.argv.slice(2))}\n`),
    });
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap((sub) => allCommands(sub))];
}

/** One line on stderr, with an exit status. */
function report(error: unknown, argv: string[]): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already (help and --version exit with 0).
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  let exitCode = EXIT_FAILURE;
  if (error instanceof CliError) exitCode = error.exitCode;
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0].trim() || 'unexpected error';
  process.stderr.write(`error: ${redactInput(line, argv)}\n`);
  return exitCode;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode);
  } catch (error) {
    return report(error, argv);
  }
}

const argv = process.argv.slice(2);
process.on('uncaughtException', (error) => {
  process.exitCode = report(error, argv);
});
process.exitCode = await main(argv);
