// Database access: the knex pool, the PostGIS version check, migrations and the database code
// (functions and triggers, migrations/functions/*.sql) applied after them.
// Without DATABASE_URL the embedded cluster is started; with it, that server is used as is.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import type { Config } from './config';
import { PROJECT_ROOT, redactUrl } from './config';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-pg';
import { log } from './log';
import { ReadRouter } from './replicas';

export interface Database {
  knex: Knex;
  postgisVersion: string;
  /** Where the pool connects (for tools that open their own connection, e.g. GDAL for exports). */
  connection: ConnectionSettings;
  /** Where reads go: the streaming replicas of ONEMAP_READ_DATABASE_URL that are far enough, else the primary (platform/replicas.ts). */
  reads: ReadRouter;
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
    const reads = new ReadRouter(
      knex,
      (config.ONEMAP_READ_DATABASE_URL ?? []).map((url) => ({ name: redactUrl(url), knex: connect(url, config.ONEMAP_STATEMENT_TIMEOUT_MS) })),
    );
    if (reads.enabled) log.info({ replicas: reads.status().map((r) => r.name) }, 'database: reads on streaming replicas');
    await reads.start();
    return {
      knex,
      postgisVersion,
      connection,
      reads,
      async close() {
        await reads.stop();
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

/**
 * Applies the knex migrations in migrations/ (the only way the tables change), then the database
 * code of migrations/functions/ (applyDatabaseCode). Returns the migrations applied.
 */
export async function migrate(knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest({ migrationSource });
  if (applied.length) log.info({ applied }, 'database: migrations applied');
  // A migration may have created, dropped or redefined functions and tables: all the code goes on again.
  await applyDatabaseCode(knex, { force: applied.length > 0 });
  return applied as string[];
}

/** The database code: the current definition of every function and trigger, one .sql file per topic. */
export const DATABASE_CODE = path.join(MIGRATIONS, 'functions');
const DATABASE_CODE_LOCK = 'onemap:database-code';

interface CodeFile {
  file: string;
  sql: string;
  sha256: string;
}

/**
 * Applies every .sql file of the database code (migrations/functions/) in file-name order, each in
 * one transaction, and records its sha256 in database_code. A file whose sha256 is the one recorded
 * is skipped unless `force`: a normal start reads one table and takes no lock, so it never rewrites
 * functions and triggers (which locks their tables) while other processes run. Several processes
 * starting at once take turns on a transaction-level advisory lock, and each sees under it what
 * the others have just applied. A failing file stops with an error naming the file, the line and
 * PostgreSQL's message. Returns the files applied.
 */
export async function applyDatabaseCode(knex: Knex, opts: { dir?: string; force?: boolean } = {}): Promise<string[]> {
  const dir = opts.dir ?? DATABASE_CODE;
  const files: CodeFile[] = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return { file, sql, sha256: createHash('sha256').update(sql).digest('hex') };
    });
  const recorded = new Map(
    (await knex('database_code').select<{ file: string; sha256: string }[]>('file', 'sha256')).map((r) => [r.file, r.sha256]),
  );
  if (!opts.force && files.every((f) => recorded.get(f.file) === f.sha256)) return [];

  const applied: string[] = [];
  for (const f of files) {
    const done = await inTransaction(knex, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DATABASE_CODE_LOCK]);
      const { rows } = await c.query<{ sha256: string }>('SELECT sha256 FROM database_code WHERE file = $1', [f.file]);
      if (!opts.force && rows[0]?.sha256 === f.sha256) return false;
      // The whole file as one simple query (many statements; no parameters).
      await c.query(f.sql).catch((err: unknown) => {
        throw codeError(path.join(dir, f.file), f.sql, err);
      });
      await c.query(
        `INSERT INTO database_code (file, sha256) VALUES ($1, $2)
         ON CONFLICT (file) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()`,
        [f.file, f.sha256],
      );
      return true;
    });
    if (done) applied.push(f.file);
  }
  // A file taken out of the folder is no longer recorded (its functions stay until a migration drops them).
  await knex('database_code').whereNotIn('file', files.map((f) => f.file)).delete();
  if (applied.length) log.info({ applied }, 'database: functions and triggers applied');
  return applied;
}

/** The error of a failing database code file: its path, the line PostgreSQL points at, the message. */
function codeError(file: string, sql: string, err: unknown): Error {
  const e = err as { message?: string; position?: string; where?: string };
  // position: 1-based, in characters of the query text, which is the whole file.
  const line = e.position ? `, line ${sql.slice(0, Number(e.position) - 1).split('\n').length}` : '';
  const where = e.where ? ` (${e.where})` : '';
  const shown = file.startsWith(PROJECT_ROOT + path.sep) ? path.relative(PROJECT_ROOT, file) : file;
  return new Error(`database code ${shown}${line}: ${e.message ?? String(err)}${where}`, { cause: err });
}

/**
 * Runs fn in one transaction on a connection of the pool, through the driver: knex.raw would take
 * every ? of a file (a jsonb operator, say) for a binding.
 */
async function inTransaction<T>(knex: Knex, fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
  const c = (await knex.client.acquireConnection()) as pg.ClientBase;
  try {
    await c.query('BEGIN');
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await knex.client.releaseConnection(c);
  }
}
