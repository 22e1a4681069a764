import { DataSource } from 'typeorm';
import { MYSQL_URL, mysqlOptions } from './databases.js';

/**
 * A new, empty MySQL/MariaDB database named `name` on the MYSQL_URL server
 * (dropped first if it exists), so that a suite does not share the `api_keys`
 * table with suites running at the same time. Returns its URL.
 */
export async function createScratchMysqlDatabase(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const server = new DataSource(mysqlOptions());
  await server.initialize();
  try {
    await server.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await server.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await server.destroy();
  }
  const url = new URL(MYSQL_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropScratchMysqlDatabase(name: string): Promise<void> {
  const server = new DataSource(mysqlOptions());
  await server.initialize();
  try {
    await server.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await server.destroy();
  }
}
