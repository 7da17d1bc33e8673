// Writing an export: GDAL's ogr2ogr reads the layer (current content or an earlier revision) from
// PostgreSQL with the statement of query.ts, reprojects it (-t_srs) and writes the file into a temp
// folder of its own; the caller streams the file and then removes the folder (ExportFile.remove).
// An aborted request (client gone) kills ogr2ogr and removes the folder at once.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import type { ConnectionSettings } from '../platform/db';
import { log } from '../platform/log';
import { scratchFolder } from '../platform/scratch';
import { readableRevision } from '../revisions/history';
import { FORMAT_SPECS, type ExportOptions } from './formats';
import { exportFailed } from './messages';
import { exportSql } from './query';

export interface ExportRequest extends ExportOptions {
  layer: Layer;
  /** null: the current content. */
  revision: number | null;
}

export interface ExportFile {
  /** The written file (in a temp folder of its own). */
  path: string;
  size: number;
  /** Download name, e.g. landuse_plan-r3-EPSG4547.zip. */
  fileName: string;
  contentType: string;
  /** The revision exported (the latest one for the current content; 0 when the layer has none). */
  revision: number;
  /** Removes the temp folder; safe to call twice. */
  remove(): Promise<void>;
}

export interface GdalSettings {
  /** Where the service's pool connects; GDAL connects the same way, through libpq's PG* variables. */
  connection: ConnectionSettings;
  /** Per-statement timeout (ms) for GDAL's session too (it reads through a cursor, FETCH by FETCH). */
  statementTimeoutMs: number;
}

/** OGR geometry type names of the registry's geometry types (-nlt). */
const OGR_TYPE = { MultiPolygon: 'MULTIPOLYGON', MultiLineString: 'MULTILINESTRING', Point: 'POINT' } as const;

/** Writes the export of a layer into a temp folder; 404 for an unknown or unkept revision. */
export async function writeExport(knex: Knex, gdal: GdalSettings, req: ExportRequest, signal: AbortSignal): Promise<ExportFile> {
  const { layer, format, crs, encoding } = req;
  const spec = FORMAT_SPECS[format];
  const revision = req.revision === null ? await latestRevision(knex, layer) : (await readableRevision(knex, layer, req.revision)).revision;
  // The current content comes from the layer table, not the snapshot store: it is what tiles and
  // features serve. (A commit between reading `revision` above and GDAL's read would make the file
  // name one revision behind; the content is always one consistent snapshot: GDAL reads it through one cursor.)
  const sql = exportSql(knex, layer, { revision: req.revision, textWidth: spec.textWidth });

  const dir = await scratchFolder('export');
  const remove = () => fs.rm(dir, { recursive: true, force: true });
  const out = path.join(dir, spec.output(layer.id));
  const args = [
    '-f', spec.driver, out, 'PG:',
    '-sql', sql,
    '-nln', layer.id,
    '-nlt', OGR_TYPE[layer.geometry],
    '-s_srs', 'EPSG:4490',
    '-t_srs', `EPSG:${crs.srid}`,
    ...spec.lco({ encoding }).flatMap((o) => ['-lco', o]),
    ...(format === 'gpkg' ? ['-lco', `IDENTIFIER=${layer.title.zh}`, '-lco', `DESCRIPTION=${layer.title.en} (${layer.standard})`] : []),
  ];
  const started = Date.now();
  try {
    await ogr2ogr(args, gdalEnv(gdal, dir), signal);
    const { size } = await fs.stat(out);
    log.info({ layerId: layer.id, format, srid: crs.srid, encoding, revision, bytes: size, ms: Date.now() - started }, 'export written');
    const tag = encoding === 'gbk' ? '-gbk' : '';
    return { path: out, size, fileName: `${layer.id}-r${revision}-${crs.label}${tag}.${spec.ext}`, contentType: spec.contentType, revision, remove };
  } catch (err) {
    await remove();
    if (signal.aborted) throw err;
    log.error({ err, layerId: layer.id, format, srid: crs.srid }, 'export: ogr2ogr failed');
    throw exportFailed(layer.id);
  }
}

async function latestRevision(knex: Knex, layer: Layer): Promise<number> {
  const { rows } = await knex.raw<{ rows: { r: number | null }[] }>('SELECT max(revision) AS r FROM layer_revisions WHERE layer_id = ?', [layer.id]);
  return rows[0]?.r ?? 0;
}

/** Runs ogr2ogr; rejects with its stderr on failure; killed when the signal aborts. */
export function ogr2ogr(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ogr2ogr', args, { env, signal, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr).slice(-4000) }));
      else resolve();
    });
  });
}

/**
 * The child's environment: libpq's PG* variables for the connection (so no password appears on a
 * command line), the statement timeout as a session option, and GDAL's temp files in our folder.
 * The parent's own PG* variables are dropped: the service's configuration decides where GDAL reads.
 */
export function gdalEnv(gdal: GdalSettings, tmpDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  const c = gdal.connection;
  let options = `-c statement_timeout=${Math.trunc(gdal.statementTimeoutMs)}`;
  if (typeof c === 'string') {
    const url = new URL(c);
    // libpq reads the query string of a URI too (sslmode, host for a socket folder, …): map those it has variables for.
    const fromQuery: Record<string, string> = {
      host: 'PGHOST', port: 'PGPORT', user: 'PGUSER', password: 'PGPASSWORD', dbname: 'PGDATABASE', sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT',
      sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', sslcrl: 'PGSSLCRL', application_name: 'PGAPPNAME', connect_timeout: 'PGCONNECT_TIMEOUT',
      target_session_attrs: 'PGTARGETSESSIONATTRS', channel_binding: 'PGCHANNELBINDING',
    };
    if (url.hostname) env.PGHOST = decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1'));
    if (url.port) env.PGPORT = url.port;
    if (url.username) env.PGUSER = decodeURIComponent(url.username);
    if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
    if (url.pathname.length > 1) env.PGDATABASE = decodeURIComponent(url.pathname.slice(1));
    for (const [k, v] of url.searchParams) {
      if (fromQuery[k]) env[fromQuery[k]] = v;
      else if (k === 'options') options = `${v} ${options}`;
    }
  } else {
    Object.assign(env, { PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGDATABASE: c.database });
  }
  return { ...env, PGOPTIONS: options, PGCLIENTENCODING: 'UTF8', PGAPPNAME: env.PGAPPNAME ?? 'onemap-export', CPL_TMPDIR: tmpDir };
}
