// Test databases: every test run and every test file that writes gets a fresh database of its
// own on the embedded cluster (or on DATABASE_URL's server); the demo database is never touched.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { loadConfig, type Config } from '../../server/platform/config';
import { migrate, openDatabase, type Database } from '../../server/platform/db';

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
