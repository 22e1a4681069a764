import { Command, InvalidArgumentError } from 'commander';
import { SERVICE_NAME_PATTERN } from '../../lib/api-key-auth.constants.js';
import type { ApiKey } from '../../lib/entities/api-key.entity.js';
import { NoActiveKeyError } from '../../lib/errors/key-management.error.js';
import * as protocol from '../../lib/protocol/index.js';
import type { ApiKeyService, CreatedApiKey, RotatedApiKey } from '../../lib/services/api-key.service.js';
import { assertKeyDatabaseExists, loadCliConfig, resolveCliOptions } from '../cli-config.js';
import { formatInstant, print, printJson, table } from '../cli-output.js';
import { CliError, firstLine } from '../cli.error.js';
import { parseDuration, parseExpiry } from '../duration.parser.js';

/** Default of `keys rotate --overlap`. */
export const DEFAULT_ROTATION_OVERLAP = '24h';

/** `service-auth keys create|list|revoke|rotate`. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('issue, list, revoke and rotate API keys (in the DATABASE_URL database)');

  keys
    .command('create')
    .description("issue a new API key for a service; in derived mode also prints the key's secret (shown once)")
    .requiredOption('--service <name>', 'the calling service, [a-z0-9][a-z0-9._-]{0,63}', serviceName)
    .option('--expires <when>', 'expiry: a duration (30d, 12h, 90m) or an ISO 8601 date or date-time; default: never', (raw: string) =>
      asOptionArgument(() => parseExpiry(raw, 'the expiry')),
    )
    .option('--json', 'print one JSON object {apiKey, serviceName, createdAt, expiresAt, secret}')
    .action(async (options: { service: string; expires?: Date; json?: boolean }) => {
      const created = await withKeyService(true, (service) =>
        service.create(options.service, { expiresAt: options.expires ?? null }),
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
            ['API KEY', 'SERVICE', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'],
            rows.map((row) => [
              row.apiKey,
              row.serviceName,
              keyStatus(row, now),
              formatInstant(row.createdAt),
              formatInstant(row.expiresAt, 'never'),
              formatInstant(row.lastUsedAt),
            ]),
          ),
        );
      }
    });

  keys
    .command('revoke')
    .description(
      'revoke an API key for good (with REDIS_URL, running instances drop it at once; otherwise within their key cache TTL)',
    )
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
    .description("issue a new key for a service and let its current keys expire after an overlap")
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
          if (!(error instanceof NoActiveKeyError)) throw error;
          throw new CliError(
            'the service has no active API key to rotate; issue one with `service-auth keys create --service <name>`.',
          );
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

/**
 * With REDIS_URL, tells running instances (configured with `redisBackends`)
 * to drop these keys from their caches now. The database change is already
 * made; a failure here is exit 1 with one line saying so.
 */
async function notifyInstances(apiKeys: string[]): Promise<void> {
  const { redisUrl } = loadCliConfig();
  if (!redisUrl || apiKeys.length === 0) return;
  const { createRedisClient, redisReady, RedisKeyInvalidationBus } = await import('../../lib/redis/index.js');
  const client = createRedisClient(redisUrl, { retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await redisReady(client, 3_000);
    const bus = new RedisKeyInvalidationBus(client);
    for (const apiKey of apiKeys) await bus.publish(apiKey);
  } catch (error) {
    throw new CliError(
      `the database is updated, but running instances could not be told through Redis (${firstLine(error)}); ` +
        'they stop accepting the old key(s) within their key cache TTL.',
    );
  } finally {
    client.disconnect();
  }
}

/** Runs `fn` with an ApiKeyService on the configured database, closing the connection afterwards. */
async function withKeyService<T>(needsSecret: boolean, fn: (service: ApiKeyService) => Promise<T>): Promise<T> {
  const config = loadCliConfig();
  const options = resolveCliOptions(config, needsSecret);
  assertKeyDatabaseExists(config);
  // Nest and TypeORM are loaded only when a command needs the database.
  const [{ ApiKey, ApiKeyCache, ApiKeyService }, { TypeOrmApiKeyStore }, { openDataSource }] = await Promise.all([
    import('../../lib/index.js'),
    import('../../lib/stores/typeorm-api-key.store.js'),
    import('../data-source.factory.js'),
  ]);
  const dataSource = await openDataSource(config);
  try {
    const repository = dataSource.getRepository(ApiKey);
    const cache = new ApiKeyCache(new TypeOrmApiKeyStore(repository), options);
    return await fn(new ApiKeyService(repository, cache, options));
  } finally {
    await dataSource.destroy();
  }
}

function createdJson(created: CreatedApiKey) {
  return {
    apiKey: created.apiKey,
    serviceName: created.serviceName,
    createdAt: created.createdAt,
    expiresAt: created.expiresAt,
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
  };
}

function keyStatus(row: ApiKey, now: number): 'active' | 'expired' | 'revoked' {
  if (row.revokedAt !== null) return 'revoked';
  if (row.expiresAt !== null && row.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

function describeCreated(created: CreatedApiKey, title: string): string {
  const secret =
    created.secret ??
    'none: in shared mode the service signs with the shared secret (API_SHARED_SECRET), which is never printed';
  return [
    `${title} ${created.serviceName}:`,
    `  API key:  ${created.apiKey}`,
    `  secret:   ${secret}`,
    `  created:  ${formatInstant(created.createdAt)}`,
    `  expires:  ${formatInstant(created.expiresAt, 'never')}`,
    ...(created.secret !== null
      ? ["Give the secret to the service now: it is derived from the master secret and stored nowhere."]
      : []),
  ].join('\n');
}

function describeRotated(rotated: RotatedApiKey): string {
  return [
    describeCreated(rotated, 'Rotated the keys of service'),
    'Previous keys:',
    ...rotated.expiring.map((key) => `  ${key.apiKey}  expires ${formatInstant(key.expiresAt)}`),
  ].join('\n');
}

function serviceName(raw: string): string {
  if (!SERVICE_NAME_PATTERN.test(raw)) {
    throw new InvalidArgumentError('use 1 to 64 characters of [a-z0-9._-], starting with a letter or digit.');
  }
  return raw;
}

function apiKeyArgument(raw: string): string {
  if (!protocol.API_KEY_PATTERN.test(raw)) {
    throw new InvalidArgumentError('an API key is 16 to 128 characters of [A-Za-z0-9_-].');
  }
  return raw;
}

/** Turns a UsageError of a value parser into the error commander reports as a bad option argument. */
function asOptionArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
