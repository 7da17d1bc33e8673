// Backups of the service's database (`npm run backup`, `npm run restore`; cli-backup.ts): pg_dump's
// custom format of the whole database (layers, revisions, conflicts and the ledger, applications,
// accounts, releases with their archives as large objects, the audit trail) and beside it a manifest
// with the dump's SHA-256, the audit chain's head as verified at the moment of the dump and the
// counts a restore must give back.
//
// A restore goes into a new database of its own first (pg_restore in one transaction), is checked
// there — the dump's SHA-256, the audit chain verifies and ends at the recorded head, the counts are
// the recorded ones — and only then takes the target's name: a damaged or partial backup never
// replaces anything, and a database of that name is replaced only when asked (`--replace`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { verifyChain, type ChainCheck } from '../audit/routes';
import { loadRegistry } from '../layers/registry';
import type { Config } from './config';
import { connect, type ConnectionSettings, openDatabase } from './db';
import { findPgBin, startEmbeddedCluster } from './embedded-pg';
import { sha256File } from './files';
import { layerTable, quoteIdent } from './sql';

const run = promisify(execFile);

/** What a restore must give back, counted at the dump. */
export interface BackupCounts {
  layers: Record<string, number>;
  revisions: number;
  conflictCases: number;
  applications: number;
  accounts: number;
  releases: number;
}

export interface BackupManifest {
  format: 'onemap-backup/1';
  database: string;
  createdAt: string;
  dump: { file: string; size: number; sha256: string };
  pgDump: string;
  postgis: string;
  /** The newest knex migration applied: a restore into an older service would not know the tables. */
  migration: string | null;
  audit: Pick<ChainCheck, 'ok' | 'entries' | 'head'>;
  counts: BackupCounts;
}

/** A backup or restore refused, with what to do about it (the CLI prints the message and exits 1). */
export class BackupError extends Error {}

/** Where pg_dump / pg_restore come from: the embedded cluster's own version, else the PATH's. */
const pgTool = (config: Config, tool: string) => (config.DATABASE_URL ? tool : path.join(config.ONEMAP_PG_BIN ?? findPgBin(), tool));

/** The connection as libpq's arguments for pg_dump / pg_restore. */
function libpqArgs(connection: ConnectionSettings): string[] {
  if (typeof connection === 'string') return ['--dbname', connection];
  return ['--host', connection.host, '--port', String(connection.port), '--username', connection.user, '--dbname', connection.database];
}

/** The same server, another database. */
function withDatabase(connection: ConnectionSettings, database: string): ConnectionSettings {
  if (typeof connection === 'string') return Object.assign(new URL(connection), { pathname: `/${database}` }).toString();
  return { ...connection, database };
}

/** Runs fn on a knex of its own to `connection`, destroyed after. */
async function withKnex<T>(connection: ConnectionSettings, fn: (k: Knex) => Promise<T>): Promise<T> {
  const k = connect(connection, 0);
  try {
    return await fn(k);
  } finally {
    await k.destroy();
  }
}

/** The server's maintenance database (postgres), starting the embedded cluster if needed; stop() stops what was started here. */
async function maintenanceOf(config: Config): Promise<{ connection: ConnectionSettings; stop(): Promise<void> }> {
  if (config.DATABASE_URL) return { connection: withDatabase(config.DATABASE_URL, 'postgres'), stop: async () => {} };
  const cluster = await startEmbeddedCluster({ dataDir: config.ONEMAP_DATA_DIR, port: config.ONEMAP_PG_PORT, binDir: config.ONEMAP_PG_BIN, database: 'postgres' });
  return { connection: cluster.connection, stop: () => cluster.stop() };
}

/** The counts of a database (the registry's layers that have a table there). */
async function countsOf(k: Knex): Promise<BackupCounts> {
  const one = async (sql: string) => Number((await k.raw<{ rows: { n: string }[] }>(sql)).rows[0].n);
  const layers: Record<string, number> = {};
  for (const layer of loadRegistry().delivered) {
    const { rows } = await k.raw<{ rows: { t: string | null }[] }>('SELECT to_regclass(?) AS t', [layerTable(layer.id)]);
    if (rows[0].t) layers[layer.id] = await one(`SELECT count(*) AS n FROM ${layerTable(layer.id)}`);
  }
  return {
    layers,
    revisions: await one('SELECT count(*) AS n FROM layer_revisions'),
    conflictCases: await one('SELECT count(*) AS n FROM conflict_cases'),
    applications: await one('SELECT count(*) AS n FROM applications'),
    accounts: await one('SELECT count(*) AS n FROM accounts'),
    releases: await one('SELECT count(*) AS n FROM releases'),
  };
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
export const manifestPath = (dumpFile: string) => dumpFile.replace(/\.dump$/, '') + '.json';

/**
 * Dumps the configured database to `out` (default: <data dir>/backups/onemap-<db>-<time>.dump)
 * and writes its manifest beside it. The audit chain is verified and its head recorded in the
 * dump's own snapshot: pg_dump runs with the snapshot the check was made in, so the head is the
 * dump's last entry whatever is written meanwhile.
 */
export async function backup(config: Config, opts: { out?: string } = {}): Promise<{ file: string; manifestFile: string; manifest: BackupManifest }> {
  const db = await openDatabase(config);
  try {
    const database = typeof db.connection === 'string' ? new URL(db.connection).pathname.slice(1) : db.connection.database;
    const createdAt = new Date();
    const file = path.resolve(opts.out ?? path.join(config.ONEMAP_DATA_DIR, 'backups', `onemap-${database}-${stamp(createdAt)}.dump`));
    if (!file.endsWith('.dump')) throw new BackupError(`the backup file should end in .dump: ${file}`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const part = `${file}.part-${process.pid}`;
    const manifest = await db.knex
      .transaction(
        async (trx) => {
          // One snapshot for the check, the counts and the dump (pg_dump --snapshot).
          const { rows } = await trx.raw<{ rows: { s: string }[] }>('SELECT pg_export_snapshot() AS s');
          const audit = await verifyChain(trx);
          if (!audit.ok) {
            throw new BackupError(`the audit chain does not verify (${audit.brokenAt?.problem} at entry ${audit.brokenAt?.id}): no backup is made of a trail that is broken; see GET /api/audit/verify`);
          }
          const counts = await countsOf(trx);
          const { rows: mig } = await trx.raw<{ rows: { name: string | null }[] }>('SELECT max(name) AS name FROM knex_migrations');
          const { stdout: version } = await run(pgTool(config, 'pg_dump'), ['--version']);
          await run(pgTool(config, 'pg_dump'), ['--format=custom', '--snapshot', rows[0].s, '--file', part, ...libpqArgs(db.connection)], { maxBuffer: 16 << 20 });
          const { sha256, size } = await sha256File(part);
          const m: BackupManifest = {
            format: 'onemap-backup/1',
            database,
            createdAt: createdAt.toISOString(),
            dump: { file: path.basename(file), size, sha256 },
            pgDump: version.trim(),
            postgis: db.postgisVersion,
            migration: mig[0].name,
            audit: { ok: audit.ok, entries: audit.entries, head: audit.head },
            counts,
          };
          return m;
        },
        { isolationLevel: 'repeatable read', readOnly: true },
      )
      .catch(async (err: unknown) => {
        await fs.rm(part, { force: true });
        throw err;
      });
    const manifestFile = manifestPath(file);
    await fs.writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
    await fs.rename(part, file);
    return { file, manifestFile, manifest };
  } finally {
    await db.close();
  }
}

export interface Restored {
  database: string;
  replaced: boolean;
  manifest: BackupManifest;
  audit: ChainCheck;
  counts: BackupCounts;
}

/**
 * Restores a backup into `database` (default: the configured one): into a new database first,
 * checked, then renamed. An existing database of that name is refused unless `replace`.
 */
export async function restore(config: Config, dumpFile: string, opts: { database?: string; replace?: boolean } = {}): Promise<Restored> {
  const file = path.resolve(dumpFile);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await fs.readFile(manifestPath(file), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new BackupError(`no readable manifest beside the backup (${manifestPath(file)}): ${(err as Error).message}`);
  }
  if (manifest.format !== 'onemap-backup/1') throw new BackupError(`${manifestPath(file)} is not a backup manifest of this service`);
  const { sha256, size } = await sha256File(file).catch((err: Error) => {
    throw new BackupError(`cannot read the backup ${file}: ${err.message}`);
  });
  if (sha256 !== manifest.dump.sha256 || size !== manifest.dump.size) {
    throw new BackupError(`the backup is damaged: ${file} has SHA-256 ${sha256} (${size} bytes), its manifest says ${manifest.dump.sha256} (${manifest.dump.size} bytes); nothing was restored`);
  }
  const target = opts.database ?? config.ONEMAP_DB_NAME;
  if (!/^[a-z_][a-z0-9_]*$/.test(target)) throw new BackupError(`database name '${target}': lower-case letters, digits and _ only`);
  const maintenance = await maintenanceOf(config);
  const server = maintenance.connection;
  const staging = `${target.slice(0, 40)}_restore_${randomBytes(4).toString('hex')}`;
  const exists = async (k: Knex, name: string) => (await k.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_database WHERE datname = ?', [name])).rows.length > 0;
  try {
    await withKnex(server, async (k) => {
      if ((await exists(k, target)) && !opts.replace) throw new BackupError(`database '${target}' exists: restore into another one (--database <name>) or replace it (--replace); nothing was restored`);
      await k.raw(`CREATE DATABASE ${quoteIdent(staging)} TEMPLATE template0 ENCODING 'UTF8'`);
    });
    try {
      try {
        await run(pgTool(config, 'pg_restore'), ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', ...libpqArgs(withDatabase(server, staging)), file], { maxBuffer: 16 << 20 });
      } catch (err) {
        throw new BackupError(`pg_restore failed, nothing was restored: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').slice(-5).join('\n')}`);
      }
      const { audit, counts } = await withKnex(withDatabase(server, staging), async (k) => ({ audit: await verifyChain(k), counts: await countsOf(k) }));
      if (!audit.ok || audit.head?.id !== manifest.audit.head?.id || audit.head?.hash !== manifest.audit.head?.hash) {
        throw new BackupError(`the restored audit chain does not match the backup's (verifies: ${audit.ok}; head ${JSON.stringify(audit.head)}, recorded ${JSON.stringify(manifest.audit.head)}); nothing was restored`);
      }
      if (JSON.stringify(counts) !== JSON.stringify(manifest.counts)) {
        throw new BackupError(`the restored counts differ from the backup's (${JSON.stringify(counts)} against ${JSON.stringify(manifest.counts)}); nothing was restored`);
      }
      const replaced = await withKnex(server, async (k) => {
        const there = await exists(k, target);
        if (there) await k.raw(`DROP DATABASE ${quoteIdent(target)} WITH (FORCE)`);
        await k.raw(`ALTER DATABASE ${quoteIdent(staging)} RENAME TO ${quoteIdent(target)}`);
        return there;
      });
      return { database: target, replaced, manifest, audit, counts };
    } catch (err) {
      await withKnex(server, (k) => k.raw(`DROP DATABASE IF EXISTS ${quoteIdent(staging)} WITH (FORCE)`)).catch(() => {});
      throw err;
    }
  } finally {
    await maintenance.stop();
  }
}
