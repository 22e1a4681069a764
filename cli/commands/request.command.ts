import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { SigningService } from '../../lib/client/index.js';
import { print, printJson } from '../cli-output.js';
import { apiKeyArgument } from '../argument.parsers.js';
import { CliError, UsageError } from '../cli.error.js';
import * as protocol from '../../lib/protocol/index.js';

/** Environment variable the signing secret is read from when `--secret` is not given. */
export const SECRET_ENV = 'SERVICE_AUTH_SECRET';

interface SignOptions {
  data?: string;
  dataFile?: string;
  header: string[];
  key: string;
  secret?: string;
  scheme: protocol.SignatureScheme;
  json?: boolean;
}

interface RequestOptions extends SignOptions {
  timeout: number;
}

/** What is signed and sent, checked. */
interface PreparedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Buffer | undefined;
  signer: SigningService;
}

/** Headers the signer or the URL decide; setting them by hand would break the signature. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  protocol.HEADER_SIGNATURE_INPUT,
  protocol.HEADER_RFC9421_SIGNATURE,
  protocol.HEADER_CONTENT_DIGEST,
]);

/** The reserved headers as HTTP spells them, for errors (which never repeat what was typed). */
const RESERVED_HEADER_NAMES: Record<string, string> = {
  host: 'Host',
  'content-length': 'Content-Length',
  'transfer-encoding': 'Transfer-Encoding',
};

/** Header names as the protocol spells them, for output. */
const HEADER_NAMES: Record<string, string> = {
  [protocol.HEADER_API_KEY]: 'X-API-Key',
  [protocol.HEADER_TIMESTAMP]: 'X-API-Timestamp',
  [protocol.HEADER_NONCE]: 'X-API-Nonce',
  [protocol.HEADER_SIGNATURE]: 'X-API-Signature',
  [protocol.HEADER_CONTENT_DIGEST]: 'Content-Digest',
  [protocol.HEADER_SIGNATURE_INPUT]: 'Signature-Input',
  [protocol.HEADER_RFC9421_SIGNATURE]: 'Signature',
};

/** The schemes `--scheme` takes. */
const SCHEMES: readonly protocol.SignatureScheme[] = ['v1', 'rfc9421', 'v0'];

/** `service-auth request <METHOD> <URL>`: sends one signed request and prints the response. */
export function requestCommand(): Command {
  return withSigningOptions(
    new Command('request')
      .description('send a signed request and print the status, headers and body (exit 1 on an HTTP error status)')
      .argument('<method>', 'HTTP method: GET, POST, PUT, PATCH, DELETE, ...')
      .argument('<url>', 'absolute http:// or https:// URL'),
  )
    .option('--timeout <seconds>', 'give up after this many seconds', seconds, 30)
    .option('--json', 'print one JSON object {status, statusText, headers, body}')
    .action(async (method: string, url: string, options: RequestOptions) => {
      const prepared = await prepare(method, url, options);
      let response: Response;
      try {
        response = await prepared.signer.fetch(prepared.url, {
          method: prepared.method,
          headers: prepared.headers,
          body: prepared.body,
          // Signed headers must not be replayed to wherever a redirect points.
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeout * 1000),
        });
      } catch (error) {
        throw new CliError(`${prepared.method} ${prepared.url.origin}${prepared.url.pathname} failed: ${fetchFailure(error)}`);
      }
      const body = await response.text();
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      if (options.json) {
        printJson({ status: response.status, statusText: response.statusText, headers, body });
      } else {
        print(
          [
            `HTTP ${response.status} ${response.statusText}`.trimEnd(),
            ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
            '',
            body,
          ].join('\n'),
        );
      }
      if (response.status >= 400) {
        throw new CliError(`the server answered ${response.status} ${response.statusText}${errorCode(body)}`.trimEnd());
      }
    });
}

/** `service-auth sign <METHOD> <URL>`: prints the signature headers for a request, to send with any client. */
export function signCommand(): Command {
  return withSigningOptions(
    new Command('sign')
      .description('print the headers that sign a request (send it with exactly this method, URL, body and headers)')
      .argument('<method>', 'HTTP method')
      .argument('<url>', 'absolute http:// or https:// URL, exactly as it will be sent'),
  )
    .option('--json', 'print the headers as one JSON object')
    .action(async (method: string, url: string, options: SignOptions) => {
      const prepared = await prepare(method, url, options);
      const contentType = prepared.headers.get('content-type') ?? undefined;
      const signed = prepared.signer.sign({ method: prepared.method, url: prepared.url, body: prepared.body, contentType });
      // v1 and rfc9421 sign the Content-Type: it is printed with the signature headers, to be sent exactly so.
      const headers = {
        ...(contentType !== undefined && { 'Content-Type': contentType }),
        ...Object.fromEntries(Object.entries(signed).map(([name, value]) => [HEADER_NAMES[name] ?? name, value])),
      };
      if (options.json) printJson(headers);
      else
        print(
          Object.entries(headers)
            .map(([name, value]) => `${name}: ${value}`)
            .join('\n'),
        );
    });
}

function withSigningOptions(command: Command): Command {
  return command
    .addOption(new Option('--data <body>', 'request body, signed and sent as is').conflicts('dataFile'))
    .addOption(new Option('--data-file <path>', 'read the request body from a file, byte for byte').conflicts('data'))
    .option(
      '-H, --header <header>',
      "extra header 'Name: value' (repeatable); a body gets Content-Type: application/json unless one is given",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .requiredOption('--key <apiKey>', "the calling service's API key", apiKeyArgument)
    .addOption(
      new Option(
        '--secret <secret>',
        `the secret to sign with (the shared secret, or the key's derived secret); better set ${SECRET_ENV}, ` +
          'which stays out of shell history and `ps`',
      ).env(SECRET_ENV),
    )
    .addOption(
      new Option('--scheme <scheme>', 'signature scheme (rfc9421: RFC 9421 HTTP Message Signatures; the service must accept it)')
        .choices(SCHEMES)
        .default('v1'),
    );
}

async function prepare(rawMethod: string, rawUrl: string, options: SignOptions): Promise<PreparedRequest> {
  const method = rawMethod.toUpperCase();
  if (!/^[A-Z]{1,20}$/.test(method)) throw new UsageError('invalid HTTP method: give 1 to 20 letters, e.g. GET or POST.');

  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError('invalid URL: give an absolute http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError('invalid URL: only http:// and https:// are supported.');
  }

  const secret = options.secret;
  if (secret === undefined || secret === '') {
    throw new UsageError(`no secret: set ${SECRET_ENV} (or pass --secret).`);
  }
  if (secret.length < protocol.MIN_SECRET_LENGTH) {
    throw new UsageError(`the secret must be at least ${protocol.MIN_SECRET_LENGTH} characters (it has ${secret.length}).`);
  }

  let body: Buffer | undefined;
  if (options.data !== undefined) body = Buffer.from(options.data, 'utf8');
  if (options.dataFile !== undefined) {
    try {
      body = readFileSync(options.dataFile);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      throw new UsageError(`cannot read the --data-file: ${reason}.`);
    }
  }
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new UsageError(`a ${method} request cannot have a body.`);
  }

  const headers = new Headers();
  options.header.forEach((raw, i) => {
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(raw);
    if (!match || /[\r\n\0]/.test(match[2])) {
      throw new UsageError(`invalid header (-H number ${i + 1}): expected 'Name: value'.`);
    }
    const name = match[1].toLowerCase();
    if (RESERVED_HEADERS.has(name) || name.startsWith('x-api-')) {
      const shown = HEADER_NAMES[name] ?? RESERVED_HEADER_NAMES[name] ?? 'X-API-*';
      throw new UsageError(`header ${shown} is set by service-auth itself (from the URL, the body or the signature).`);
    }
    headers.append(name, match[2]);
  });
  if (body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');

  // Nest is loaded only once the arguments are known to be good.
  const { ApiKeyAuthConfigurationError, SigningService } = await import('../../lib/client/index.js');
  try {
    const signer = new SigningService().withCredentials({ apiKey: options.key, secret, scheme: options.scheme });
    return { method, url, headers, body, signer };
  } catch (error) {
    if (error instanceof ApiKeyAuthConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

function seconds(raw: string): number {
  const value = Number(raw);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(raw) || !(value > 0) || value > 3600) {
    throw new InvalidArgumentError('give a number of seconds from 0 to 3600.');
  }
  return value;
}

/** ` (code)` of a PROTOCOL.md error body, or nothing. */
function errorCode(body: string): string {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` (${code})` : '';
  } catch {
    return '';
  }
}

/** Why fetch failed, in one line: undici hides the reason in `cause`. */
function fetchFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return message.split('\n')[0];
}
