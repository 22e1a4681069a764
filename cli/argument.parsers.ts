import { InvalidArgumentError } from 'commander';
import * as protocol from '../lib/protocol/index.js';
import { keyRules } from './key-rules.js';

// Commander's parsers of the arguments that several commands take.

/** Commander's parser of a service name argument. */
export function serviceName(raw: string): string {
  if (!keyRules().SERVICE_NAME_PATTERN.test(raw)) {
    throw new InvalidArgumentError('use 1 to 64 characters of [a-z0-9._-], starting with a letter or digit.');
  }
  return raw;
}

/** Commander's parser of an API key argument. */
export function apiKeyArgument(raw: string): string {
  if (!protocol.API_KEY_PATTERN.test(raw)) {
    throw new InvalidArgumentError('an API key is 16 to 128 characters of [A-Za-z0-9_-].');
  }
  return raw;
}

/** Turns a UsageError of a value parser into the error commander reports as a bad option argument. */
export function asOptionArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
