/** Exit status of the CLI. */
export const EXIT_OK = 0;
/** The command ran and failed: database unreachable, unknown key, HTTP error status. */
export const EXIT_FAILURE = 1;
/** The command was given bad arguments or a bad environment variable, and did nothing. */
export const EXIT_USAGE = 2;

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. Its message never holds a secret. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/** The first line of an error's message (driver errors can span several). */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim() || (error instanceof Error ? error.name : 'unknown error');
}
