// Test databases: every test run and every test file that writes gets a fresh database of its
// own on the embedded cluster (or on DATABASE_URL's server); the demo database is never touched.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import pg from 'pg';
import { loadConfig, type Config } from '../../server/platform/config';
import { migrate, openDatabase, type Database } from '../../server/platform/db';
import { findPgBin } from '../../server/platform/embedded-pg';

export const testConfig = (env: Record<string, string> = {}): Config =>
  loadConfig({ ...process.env, ONEMAP_DEMO: 'false', ONEMAP_CHECK_RESPONSES: 'true', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env });

/** Opens (creating it when needed) a database of the given name, migrated. */
export async function openTestDatabase(name: string): Promise<Database> {
  const config = testConfig();
  if (config.DATABASE_URL) {
    await withMaintenance(config, async (c) => {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!rowCount) await c.query(`CREATE DATABASE "${name}"`);
    });
  }
  const db = await openDatabase(config, { database: name });
  await migrate(db.knex);
  return db;
}

/** Drops a test database, closing its connections. */
export async function dropTestDatabase(name: string): Promise<void> {
  const config = testConfig();
  await withMaintenance(config, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

async function withMaintenance<T>(config: Config, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const settings: pg.ClientConfig = config.DATABASE_URL
    ? { connectionString: Object.assign(new URL(config.DATABASE_URL), { pathname: '/postgres' }).toString() }
    : { host: `${config.ONEMAP_DATA_DIR}/run`, port: config.ONEMAP_PG_PORT, user: 'postgres', database: 'postgres' };
  const c = new pg.Client(settings);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export const freshName = (prefix = 'onemap_t') => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A fresh, migrated, empty database for one test file; close() drops it. */
export async function useTestDatabase(): Promise<{ knex: Knex; name: string; close(): Promise<void> }> {
  const name = freshName();
  const db = await openTestDatabase(name);
  return {
    knex: db.knex,
    name,
    async close() {
      await db.close();
      await dropTestDatabase(name);
    },
  };
}

/** A PostgreSQL client tool: the embedded cluster's own version, else the PATH's (DATABASE_URL). */
export const pgClientTool = (tool: 'pg_dump' | 'pg_restore') => {
  const config = testConfig();
  return config.DATABASE_URL ? tool : path.join(config.ONEMAP_PG_BIN ?? findPgBin(), tool);
};

/** libpq arguments (pg_dump, pg_restore) naming a database on the run's server. */
export function libpqArgs(database: string): string[] {
  const config = testConfig();
  if (config.DATABASE_URL) return ['--dbname', Object.assign(new URL(config.DATABASE_URL), { pathname: `/${database}` }).toString()];
  return ['--host', path.join(config.ONEMAP_DATA_DIR, 'run'), '--port', String(config.ONEMAP_PG_PORT), '--username', 'postgres', '--dbname', database];
}

/** Writes a database of the run's server to `file` (pg_dump's custom format). */
export async function dumpTestDatabase(database: string, file: string): Promise<void> {
  await promisify(execFile)(pgClientTool('pg_dump'), [...libpqArgs(database), '--format', 'custom', '--compress', '1', '--file', file]);
}

/**
 * A fresh database restored from a dump (pg_restore in one transaction): a copy of the demo in
 * seconds, where loading it takes 20 s and more; migrated (nothing to do on a current dump);
 * close() drops it.
 */
export async function restoredTestDatabase(dump: string): Promise<{ knex: Knex; name: string; close(): Promise<void> }> {
  const name = freshName();
  const config = testConfig();
  await withMaintenance(config, (c) => c.query(`CREATE DATABASE "${name}"`));
  let db: Database | undefined;
  try {
    await promisify(execFile)(pgClientTool('pg_restore'), [...libpqArgs(name), '--no-owner', '--single-transaction', dump]);
    db = await openDatabase(config, { database: name });
    await migrate(db.knex);
  } catch (err) {
    await db?.close();
    await dropTestDatabase(name);
    throw err;
  }
  return {
    knex: db.knex,
    name,
    async close() {
      await db!.close();
      await dropTestDatabase(name);
    },
  };
}
