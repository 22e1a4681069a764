import type { ApiKeyService } from '../../lib/index.js';
import { assertKeyDatabaseExists, cliKeyServiceOptions, loadCliConfig } from '../cli-config.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, firstLine, UsageError } from '../cli.error.js';
import { keyRules, loadKeyRules } from '../key-rules.js';

// What the `keys` commands share: the key service on the configured database, and Redis notices.

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
  const options = cliKeyServiceOptions(config, needsSecret);
  assertKeyDatabaseExists(config);
  await loadKeyRules();
  const { ApiKey, ApiKeyAuthConfigurationError, ApiKeyManagementError, ApiKeyService, NoActiveKeyError } = keyRules();
  // TypeORM's data source is loaded only when a command needs the database.
  const { openDataSource } = await import('../data-source.factory.js');
  const dataSource = await openDataSource(config);
  try {
    return await fn(ApiKeyService.forRepository(dataSource.getRepository(ApiKey), options));
  } catch (error) {
    // Bad input found by the key service: exit 2, except a service without an active key (exit 1).
    if (error instanceof ApiKeyAuthConfigurationError) throw new UsageError(error.message);
    if (error instanceof ApiKeyManagementError) {
      throw new CliError(error.message, error instanceof NoActiveKeyError ? EXIT_FAILURE : EXIT_USAGE);
    }
    throw error;
  } finally {
    await dataSource.destroy();
  }
}
