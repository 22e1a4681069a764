// Error lines never show what the user typed as an option's value: a mistyped
// `--secert=...` must not print the secret. Commander quotes values in its
// messages, so its messages are rewritten here; every error line then goes
// through `redactInput`, which also hides the secrets of the environment.
import { SECRET_ENV } from './commands/request.command.js';

/** Values shorter than this are not searched for in error lines (they would match ordinary words). */
const MIN_HIDDEN_LENGTH = 6;
const HIDDEN = '[hidden]';

const LONG_OPTION_NAME = /^--[A-Za-z0-9][A-Za-z0-9-]{0,40}$/;
const SHORT_OPTION_NAME = /^-[A-Za-z0-9]$/;
const COMMAND_NAME = /^[a-z][a-z0-9-]{0,19}$/;
/** Commander's "(Did you mean ...?)" line: known option or command names only. */
const SUGGESTION = /^\(Did you mean (?:one of )?[A-Za-z0-9 ,-]{1,200}\?\)$/;

/**
 * Commander's message with every quoted value taken out: an unknown option
 * shows its name only (never `=value`), an invalid option or argument value
 * shows which option or argument, not the value, and an unknown command is
 * named only when it looks like a command name.
 */
export function withoutCommanderValues(text: string): string {
  const trimmed = text.trimEnd();
  let match = /^error: option '([^']*)' argument '[\s\S]*' is invalid\.([\s\S]*)$/.exec(trimmed);
  if (match) return `error: option '${match[1]}': the value given is invalid.${match[2]}`;
  match = /^error: option '([^']*)' value '[\s\S]*' from env '([A-Z0-9_]*)' is invalid\.([\s\S]*)$/.exec(trimmed);
  if (match) return `error: option '${match[1]}': the value of ${match[2]} is invalid.${match[3]}`;
  match = /^error: command-argument value '[\s\S]*' is invalid for argument '([^']*)'\.([\s\S]*)$/.exec(trimmed);
  if (match) return `error: argument '${match[1]}': the value given is invalid.${match[2]}`;
  match = /^error: unknown option '([\s\S]*)'(?:\n([^\n]*))?$/.exec(trimmed);
  if (match) return `error: ${describeUnknownOption(match[1])}${suggestion(match[2])}`;
  match = /^error: unknown command '([\s\S]*)'(?:\n([^\n]*))?$/.exec(trimmed);
  if (match) {
    const name = COMMAND_NAME.test(match[1]) ? `unknown command '${match[1]}'` : 'unknown command (run service-auth --help)';
    return `error: ${name}${suggestion(match[2])}`;
  }
  return trimmed;
}

function describeUnknownOption(flag: string): string {
  const [name, ...value] = flag.startsWith('--') ? flag.split('=') : [flag.slice(0, 2), flag.slice(2)];
  const hasValue = value.join('=').length > 0 || flag.includes('=');
  if (!LONG_OPTION_NAME.test(name) && !SHORT_OPTION_NAME.test(name)) return 'unknown option';
  return `unknown option '${name}'${hasValue ? ' (its value is not shown)' : ''}`;
}

function suggestion(line: string | undefined): string {
  return line !== undefined && SUGGESTION.test(line) ? ` ${line}` : '';
}

/**
 * What the user typed that may be an option's value: the part after `=` of
 * `--name=value`, the rest of `-Xvalue`, and the word after an option.
 */
function typedValues(argv: readonly string[]): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (!arg.startsWith('-') || arg === '-' || arg === '--') return;
    const equals = arg.indexOf('=');
    if (arg.startsWith('--') && equals !== -1) values.push(arg.slice(equals + 1));
    else if (!arg.startsWith('--') && arg.length > 2) values.push(arg.slice(2));
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('-')) values.push(next);
  });
  return values;
}

/** The secrets of the environment, which no error line may show either. */
function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  return [env.API_SHARED_SECRET, env[SECRET_ENV], ...(env.API_SHARED_SECRET_PREVIOUS ?? '').split(',')]
    .map((secret) => secret?.trim())
    .filter((secret): secret is string => typeof secret === 'string' && secret.length > 0);
}

/** `text` with every typed option value and every environment secret replaced by `[hidden]`, longest first. */
export function redactInput(text: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const hidden = [...typedValues(argv), ...environmentSecrets(env)]
    .filter((value) => value.length >= MIN_HIDDEN_LENGTH)
    .sort((a, b) => b.length - a.length);
  let result = text;
  for (const value of hidden) result = result.split(value).join(HIDDEN);
  return result;
}
