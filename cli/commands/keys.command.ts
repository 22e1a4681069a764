import { Command } from 'commander';
import type { ApiKey, CreatedApiKey, KeyRateLimit, RotatedApiKey } from '../../lib/index.js';
import { formatInstant, print, printJson, table } from '../cli-output.js';
import { CliError } from '../cli.error.js';
import { parseDuration, parseExpiry } from '../duration.parser.js';
import { formatRateLimit, parseRateLimit } from '../rate-limit.parser.js';
import { apiKeyArgument, asOptionArgument, serviceName } from '../argument.parsers.js';
import { keyRules, loadKeyRules } from '../key-rules.js';
import { notifyInstances, withKeyService } from './key-service.runner.js';
import { keysUpdateCommand } from './keys-update.command.js';

/** Default of `keys rotate --overlap`. */
export const DEFAULT_ROTATION_OVERLAP = '24h';

/** `service-auth keys create|list|update|revoke|rotate`. */
export function keysCommand(): Command {
  const keys = new Command('keys')
    .description('issue, list, update, revoke and rotate API keys (in the DATABASE_URL database)')
    .hook('preSubcommand', loadKeyRules);

  keys
    .command('create')
    .description("issue a new API key for a service; in derived mode also prints the key's secret (shown once)")
    .requiredOption('--service <name>', 'the calling service, [a-z0-9][a-z0-9._-]{0,63}', serviceName)
    .option('--expires <when>', 'expiry: a duration (30d, 12h, 90m) or an ISO 8601 date or date-time; default: never', (raw: string) =>
      asOptionArgument(() => parseExpiry(raw, 'the expiry')),
    )
    .option(
      '--rate-limit <requests/window>',
      "the key's own rate limit, e.g. 1000/1m (window units s, m, h, d, w); default: the app's",
      (raw: string) => asOptionArgument(() => parseRateLimit(raw, 'the rate limit')),
    )
    .option('--json', 'print one JSON object {apiKey, serviceName, createdAt, expiresAt, rateLimit, secret}')
    .action(async (options: { service: string; expires?: Date; rateLimit?: KeyRateLimit; json?: boolean }) => {
      const created = await withKeyService(true, (service) =>
        service.create(options.service, { expiresAt: options.expires ?? null, rateLimit: options.rateLimit ?? null }),
      );
      if (options.json) printJson(createdJson(created));
      else print(describeCreated(created, 'Created an API key for service'));
    });

  keys
    .command('list')
    .description('list API keys, oldest first (revoked ones only with --all)')
    .option('--service <name>', 'only the keys of this service', serviceName)
    .option('--all', 'include revoked keys')
    .option('--json', 'print a JSON array')
    .action(async (options: { service?: string; all?: boolean; json?: boolean }) => {
      const rows = await withKeyService(false, (service) =>
        service.list({ serviceName: options.service, includeRevoked: options.all === true }),
      );
      const now = Date.now();
      if (options.json) {
        printJson(rows.map((row) => ({ ...keyJson(row), status: keyStatus(row, now) })));
      } else if (rows.length === 0) {
        print('No API keys.');
      } else {
        print(
          table(
            ['API KEY', 'SERVICE', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED', 'RATE LIMIT'],
            rows.map((row) => [
              row.apiKey,
              row.serviceName,
              keyStatus(row, now),
              formatInstant(row.createdAt),
              formatInstant(row.expiresAt, 'never'),
              formatInstant(row.lastUsedAt),
              formatRateLimit(row.rateLimit),
            ]),
          ),
        );
      }
    });

  keys.addCommand(keysUpdateCommand());

  keys
    .command('revoke')
    .description('revoke an API key for good (with REDIS_URL, running instances drop it at once; otherwise within their key cache TTL)')
    .argument('<apiKey>', 'the key to revoke', apiKeyArgument)
    .option('--json', 'print a JSON object {apiKey, serviceName, revokedAt, alreadyRevoked}')
    .action(async (apiKey: string, options: { json?: boolean }) => {
      const result = await withKeyService(false, async (service) => {
        const row = await service.findByKey(apiKey);
        if (row === null) throw new CliError('no such API key (see `service-auth keys list --all`).');
        if (row.revokedAt !== null) return { row, alreadyRevoked: true };
        await service.revoke(apiKey);
        return { row: (await service.findByKey(apiKey)) ?? row, alreadyRevoked: false };
      });
      const { row, alreadyRevoked } = result;
      if (options.json) {
        printJson({ apiKey: row.apiKey, serviceName: row.serviceName, revokedAt: row.revokedAt, alreadyRevoked });
      } else if (alreadyRevoked) {
        print(`API key ${row.apiKey} (service ${row.serviceName}) was already revoked at ${formatInstant(row.revokedAt)}.`);
      } else {
        print(`Revoked API key ${row.apiKey} (service ${row.serviceName}).`);
      }
      if (!alreadyRevoked) await notifyInstances([row.apiKey]);
    });

  keys
    .command('rotate')
    .description('issue a new key for a service and let its current keys expire after an overlap')
    .requiredOption('--service <name>', 'the service whose keys to rotate', serviceName)
    .option(
      '--overlap <duration>',
      'how long the current keys keep working (90m, 24h, 7d; 0 = at once); keys expiring sooner keep their expiry',
      (raw: string) => asOptionArgument(() => parseDuration(raw, 'the overlap')),
      parseDuration(DEFAULT_ROTATION_OVERLAP, 'the overlap'),
    )
    .option('--json', 'print one JSON object: the new key (as keys create) plus expiring: [{apiKey, expiresAt}]')
    .action(async (options: { service: string; overlap: number; json?: boolean }) => {
      const rotated = await withKeyService(true, async (service) => {
        try {
          return await service.rotate(options.service, { overlapMs: options.overlap });
        } catch (error) {
          if (!(error instanceof keyRules().NoActiveKeyError)) throw error;
          throw new CliError('the service has no active API key to rotate; issue one with `service-auth keys create --service <name>`.');
        }
      });
      if (options.json) {
        printJson({ ...createdJson(rotated), expiring: rotated.expiring });
      } else {
        print(describeRotated(rotated));
      }
      await notifyInstances(rotated.expiring.map((key) => key.apiKey));
    });

  return keys;
}

function createdJson(created: CreatedApiKey) {
  return {
    apiKey: created.apiKey,
    serviceName: created.serviceName,
    createdAt: created.createdAt,
    expiresAt: created.expiresAt,
    rateLimit: created.rateLimit,
    secret: created.secret,
  };
}

function keyJson(row: ApiKey) {
  return {
    apiKey: row.apiKey,
    serviceName: row.serviceName,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    rateLimit: row.rateLimit,
  };
}

function keyStatus(row: ApiKey, now: number): 'active' | 'expired' | 'revoked' {
  if (row.revokedAt !== null) return 'revoked';
  if (row.expiresAt !== null && row.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

function describeCreated(created: CreatedApiKey, title: string): string {
  const secret =
    created.secret ?? 'none: in shared mode the service signs with the shared secret (API_SHARED_SECRET), which is never printed';
  return [
    `${title} ${created.serviceName}:`,
    `  API key:  ${created.apiKey}`,
    `  secret:   ${secret}`,
    `  created:  ${formatInstant(created.createdAt)}`,
    `  expires:  ${formatInstant(created.expiresAt, 'never')}`,
    `  rate limit: ${formatRateLimit(created.rateLimit)}`,
    ...(created.secret !== null ? ['Give the secret to the service now: it is derived from the master secret and stored nowhere.'] : []),
  ].join('\n');
}

function describeRotated(rotated: RotatedApiKey): string {
  return [
    describeCreated(rotated, 'Rotated the keys of service'),
    'Previous keys:',
    ...rotated.expiring.map((key) => `  ${key.apiKey}  expires ${formatInstant(key.expiresAt)}`),
  ].join('\n');
}
