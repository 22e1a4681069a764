import { InvalidArgumentError } from 'commander';
import { SERVICE_NAME_PATTERN } from '../../lib/api-key-auth.constants.js';
import * as protocol from '../../lib/protocol/index.js';
import type { ApiKeyService } from '../../lib/keys/api-key.service.js';
import { assertKeyDatabaseExists, loadCliConfig, resolveCliOptions } from '../cli-config.js';
import { CliError, firstLine } from '../cli.error.js';

// What the `keys` commands share: the key service on the configured database, Redis notices, argument parsers.

/**
 * With REDIS_URL, tells running instances (configured with `redisBackends`)
 * to drop these keys from their caches now. The database change is already
 * made; a failure here is exit 1 with one line saying so, and `meanwhile`.
 */
export async function notifyInstances(
  apiKeys: string[],
  meanwhile = 'they stop accepting the old key(s) within their key cache TTL',
): Promise<void> {
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
      `the database is updated, but running instances could not be told through Redis (${firstLine(error)}); ${meanwhile}.`,
    );
  } finally {
    client.disconnect();
  }
}

/** Runs `fn` with an ApiKeyService on the configured database, closing the connection afterwards. */
export async function withKeyService<T>(needsSecret: boolean, fn: (service: ApiKeyService) => Promise<T>): Promise<T> {
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

/** Commander's parser of a service name argument. */
export function serviceName(raw: string): string {
  if (!SERVICE_NAME_PATTERN.test(raw)) {
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
