import { DataSource } from 'typeorm';
import { POSTGRES_URL, postgresOptions } from './databases.js';

/** The POSTGRES_URL server's `postgres` maintenance database, where databases are created and dropped. */
function maintenanceDataSource(): DataSource {
  const url = new URL(POSTGRES_URL!);
  url.pathname = '/postgres';
  return new DataSource(postgresOptions(url.toString()));
}

async function onServer(statements: string[]): Promise<void> {
  const server = maintenanceDataSource();
  await server.initialize();
  try {
    for (const statement of statements) await server.query(statement);
  } finally {
    await server.destroy();
  }
}

function checkedName(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  return name;
}

/**
 * A new, empty PostgreSQL database named `name` on the POSTGRES_URL server
 * (dropped first if it exists), so that a suite does not share the `api_keys`
 * table with suites running at the same time. Returns its URL.
 */
export async function createScratchPostgresDatabase(name: string): Promise<string> {
  checkedName(name);
  await onServer([`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, `CREATE DATABASE "${name}"`]);
  const url = new URL(POSTGRES_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropScratchPostgresDatabase(name: string): Promise<void> {
  await onServer([`DROP DATABASE IF EXISTS "${checkedName(name)}" WITH (FORCE)`]);
}
