import { Command } from 'commander';
import type { KeyRateLimit } from '../../lib/index.js';
import { print, printJson } from '../cli-output.js';
import { CliError, UsageError } from '../cli.error.js';
import { formatRateLimit, parseRateLimit } from '../rate-limit.parser.js';
import { apiKeyArgument, asOptionArgument, serviceName } from '../argument.parsers.js';
import { notifyInstances, withKeyService } from './key-service.runner.js';

/** `service-auth keys update [apiKey] [--service <name>] --rate-limit <requests/window|none>`. */
export function keysUpdateCommand(): Command {
  return new Command('update')
    .description(
      'set the own rate limit of one key, or of every active key of a service (--service); running instances apply it ' +
        'at once with REDIS_URL, otherwise within their key cache TTL',
    )
    .argument('[apiKey]', 'the key to update (or give --service)', apiKeyArgument)
    .option('--service <name>', 'update every active key of this service instead', serviceName)
    .requiredOption(
      '--rate-limit <requests/window>',
      "the key's own rate limit, e.g. 1000/1m (window units s, m, h, d, w), or none for the app's default",
      // Commander stores '' for a parser's null: `none` is false here, null below.
      (raw: string) => asOptionArgument(() => parseRateLimit(raw, 'the rate limit', true) ?? false),
    )
    .option('--json', 'print one JSON object {serviceName, apiKeys, rateLimit}')
    .action(async (apiKey: string | undefined, given: { service?: string; rateLimit: KeyRateLimit | false; json?: boolean }) => {
      if ((apiKey === undefined) === (given.service === undefined)) {
        throw new UsageError('give either an API key or --service <name>, not both and not neither.');
      }
      const options = { ...given, rateLimit: given.rateLimit || null };
      const updated = await withKeyService(false, async (service) => {
        if (options.service !== undefined) {
          const apiKeys = await service.setServiceRateLimit(options.service, options.rateLimit);
          if (apiKeys.length === 0) throw new CliError(`service ${options.service} has no active API key.`);
          return { serviceName: options.service, apiKeys };
        }
        const row = await service.findByKey(apiKey!);
        if (row === null) throw new CliError(`no such API key: ${apiKey}`);
        await service.setRateLimit(row.apiKey, options.rateLimit);
        return { serviceName: row.serviceName, apiKeys: [row.apiKey] };
      });
      if (options.json) {
        printJson({ ...updated, rateLimit: options.rateLimit });
      } else {
        const limit = options.rateLimit === null ? "the app's default" : formatRateLimit(options.rateLimit);
        const which = updated.apiKeys.length === 1 ? `API key ${updated.apiKeys[0]}` : `${updated.apiKeys.length} API keys`;
        print(`Set the rate limit of ${which} (service ${updated.serviceName}) to ${limit}.`);
      }
      await notifyInstances(updated.apiKeys, 'they apply the new rate limit within their key cache TTL');
    });
}
