import { setTimeout as sleep } from 'node:timers/promises';
import type { FactoryProvider } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { databaseDialect } from './supported-databases.constants.js';

/** Token of the startup check below (its value is unused). */
export const API_KEY_DATABASE_CHECK = Symbol('API_KEY_DATABASE_CHECK');

/** The token under which TypeOrmModule.forRoot()/forRootAsync() provide their options (not exported by @nestjs/typeorm). */
const TYPEORM_MODULE_OPTIONS = 'TypeOrmModuleOptions';
/** How long to wait for forRootAsync() options before leaving the check to the key store. */
const OPTIONS_WAIT_MS = 30_000;
const MAX_POLL_MS = 50;

/**
 * Refuses an unsupported database at startup, before TypeORM connects.
 *
 * The DataSource provider of @nestjs/typeorm retries a failing initialization
 * (10 times, 3 s apart, by default), and an unsupported driver fails there:
 * anything that injects the DataSource would only run after those retries.
 * This provider injects nothing of TypeORM's; Nest instantiates it alongside
 * the DataSource, so its error ends the startup first. It reads the `type`
 * of the default data source (the one `TypeOrmModule.forFeature([ApiKey])`
 * uses) from the options of the TypeOrmModule that provides it; with
 * forRootAsync() those are ready once its options factory has run. Nest has
 * no public way to await another module's provider, hence the short poll.
 * When the options cannot be found, `TypeOrmApiKeyStore` checks the
 * DataSource itself.
 */
export const databaseSupportCheck: FactoryProvider = {
  provide: API_KEY_DATABASE_CHECK,
  inject: [ModulesContainer],
  useFactory: async (modules: ModulesContainer): Promise<true> => {
    const options = await defaultDataSourceOptions(modules);
    if (options?.type !== undefined) databaseDialect(options.type);
    return true;
  },
};

async function defaultDataSourceOptions(modules: ModulesContainer): Promise<{ type?: unknown } | undefined> {
  const dataSourceToken = getDataSourceToken();
  const typeOrmModule = [...modules.values()].find(
    (module) => module.providers.has(dataSourceToken) && module.providers.has(TYPEORM_MODULE_OPTIONS),
  );
  const wrapper = typeOrmModule?.providers.get(TYPEORM_MODULE_OPTIONS);
  if (!wrapper) return undefined;
  const deadline = Date.now() + OPTIONS_WAIT_MS;
  for (let pause = 1; wrapper.instance == null; pause = Math.min(pause * 2, MAX_POLL_MS)) {
    if (Date.now() > deadline) return undefined;
    await sleep(pause, undefined, { ref: false });
  }
  return wrapper.instance;
}
