// Database access: the knex pool, the PostGIS version check and migrations.
// Without DATABASE_URL the embedded cluster is started; with it, that server is used as is.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import type { Config } from './config';
import { PROJECT_ROOT, redactUrl } from './config';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-pg';
import { log } from './log';

export interface Database {
  knex: Knex;
  postgisVersion: string;
  /** Where the pool connects (for tools that open their own connection, e.g. GDAL for exports). */
  connection: ConnectionSettings;
  close(): Promise<void>;
}

export type ConnectionSettings = string | { host: string; port: number; user: string; database: string };

/** Opens the configured database (starting the embedded cluster if needed) and checks PostGIS. */
export async function openDatabase(config: Config, opts: { database?: string } = {}): Promise<Database> {
  let cluster: EmbeddedCluster | undefined;
  let connection: ConnectionSettings;
  if (config.DATABASE_URL) {
    const url = new URL(config.DATABASE_URL);
    if (opts.database) url.pathname = `/${opts.database}`;
    connection = url.toString();
    log.info({ database: redactUrl(connection) }, 'database: using DATABASE_URL');
  } else {
    cluster = await startEmbeddedCluster({
      dataDir: config.ONEMAP_DATA_DIR,
      port: config.ONEMAP_PG_PORT,
      binDir: config.ONEMAP_PG_BIN,
      database: opts.database ?? config.ONEMAP_DB_NAME,
    });
    connection = cluster.connection;
  }
  const knex = connect(connection, config.ONEMAP_STATEMENT_TIMEOUT_MS);
  try {
    const postgisVersion = await ensurePostgis(knex);
    return {
      knex,
      postgisVersion,
      connection,
      async close() {
        await knex.destroy();
        await cluster?.stop();
      },
    };
  } catch (err) {
    await knex.destroy();
    await cluster?.stop();
    throw err;
  }
}

/** A knex pool whose connections carry the statement timeout. */
export function connect(connection: ConnectionSettings, statementTimeoutMs: number): Knex {
  return knexFactory({
    client: 'pg',
    connection: typeof connection === 'string' ? { connectionString: connection } : connection,
    pool: {
      min: 0,
      max: 16,
      afterCreate(conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
        conn.query(`SET statement_timeout = ${Math.trunc(statementTimeoutMs)}`, (err) => done(err, conn));
      },
    },
  });
}

const MIN_POSTGIS = [3, 1];

/** Creates the postgis extension if absent; refuses servers without PostGIS ≥ 3.1. */
export async function ensurePostgis(knex: Knex): Promise<string> {
  const avail = await knex.raw<{ rows: { default_version: string | null; installed_version: string | null }[] }>(
    "SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'postgis'",
  );
  const row = avail.rows[0];
  if (!row) throw new Error('PostGIS is not installed on this PostgreSQL server: install PostGIS ≥ 3.1 (Debian: postgresql-15-postgis-3)');
  const version = row.installed_version ?? row.default_version ?? '0';
  const [maj, min] = version.split('.').map(Number);
  if (maj < MIN_POSTGIS[0] || (maj === MIN_POSTGIS[0] && min < MIN_POSTGIS[1])) {
    throw new Error(`PostGIS ${version} is too old: the service needs PostGIS ≥ ${MIN_POSTGIS.join('.')}`);
  }
  if (!row.installed_version) await knex.raw('CREATE EXTENSION IF NOT EXISTS postgis');
  const lib = await knex.raw<{ rows: { v: string }[] }>('SELECT postgis_lib_version() AS v');
  return lib.rows[0].v;
}

const MIGRATIONS = path.join(PROJECT_ROOT, 'migrations');

/**
 * Migrations are TypeScript modules imported by this module (not by knex's own loader), so they
 * load wherever the server's TypeScript loads: under tsx and under vitest alike.
 */
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => fs.readdirSync(MIGRATIONS).filter((f) => /^\d+_\w+\.ts$/.test(f)).sort(),
  getMigrationName: (name) => name,
  getMigration: (name) => import(/* @vite-ignore */ pathToFileURL(path.join(MIGRATIONS, name)).href),
};

/** Applies the knex migrations in migrations/ (the only way the schema changes). */
export async function migrate(knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest({ migrationSource });
  if (applied.length) log.info({ applied }, 'database: migrations applied');
  return applied as string[];
}
