// The PostGIS half of an import. The delivered features are streamed ONCE into PostGIS with COPY
// (typed attribute columns, the geometry as hex EWKB in the source CRS), in parts of up to 50,000
// features, and everything after that is set-based SQL:
//
//   1. stage and check (each part): COPY into a staging table, then ST_Transform to EPSG:4490 and
//      ST_IsValidDetail (reason and location) of every feature, with `repair` ST_MakeValid reduced
//      to the layer's type (ST_CollectionExtract), and for a commit what the revision needs (the
//      geometry promoted to the layer's multi type, its content hash, the attributes as jsonb), in
//      one CREATE TABLE AS that PostgreSQL runs in parallel workers; a statement that fails on some
//      geometry (a transformation PROJ refuses, …) is redone row by row to name each culprit; the
//      features with a problem or a repair are kept aside for the report;
//   2. apply (each part, while nothing has been found wrong): the checked part goes into the layer
//      table and the snapshot store in the import's one transaction (stagedCommit in
//      server/revisions/commit.ts, which locks the layer at the first part);
//   3. finish: the report (problems and repairs, the first 1,000 of each by feature index, all
//      counted; the preview's geometries as GeoJSON) and, when the caller commits, the rest of the
//      revision (what the delivery no longer has is deleted). The geometries never leave PostgreSQL.
//
// Reading part k+2 (Node), staging and checking part k+1, and applying part k run at the same time.
// For that, a committing import stages in a helper session of its own: a PostgreSQL transaction
// reads only what is committed or its own, and one session runs one statement at a time. The
// helper's staging tables are unlogged scratch tables (no WAL, no autovacuum; regular tables, not
// temp tables, because PostgreSQL scans temp tables in the leader only and the import's transaction
// must read them), committed per part and dropped once the import's transaction has ended. They
// hold nothing of the layer: whatever happens, the layer changes in the one transaction or not at
// all (a part applied before a later part shows a problem is rolled back with it). If the process
// is killed, its scratch tables outlive it; each one names its session (pid and start), and the
// next committing import drops those whose session is gone.
//
// A dry run stages in its own transaction instead (nothing to overlap with, and it must write
// nothing): its staging tables are created in that transaction, invisible to everyone else, and
// vanish with its rollback.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import knexFactory, { type Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';
import type { Attribute, Layer } from '../layers/registry';
import { quoteIdent } from '../platform/sql';
import { stagedCommit, stagedContentColumns, type CommitMeta, type CommitResult, type StagedCommit } from '../revisions/commit';

const SQL_TYPE: Record<Attribute['type'], string> = { text: 'text', integer: 'integer', number: 'double precision', date: 'date', boolean: 'boolean' };

/** One feature as staged: position, class code and attributes as stored, who it is for the report, the geometry. */
export interface StageRow {
  index: number;
  properties: Record<string, unknown>;
  /** The feature's id for the report (its own id, else its key attribute). */
  id?: string | number;
  /** Index of the file it came from in the stage's file list. */
  file: number;
  /** Hex EWKB in the source CRS. */
  ewkb: string;
}

/** What the check found about one feature (a problem or a repair), straight from PostGIS. */
export interface CheckedRow {
  i: number;
  ref: string | null;
  ref_num: boolean | null;
  file: number | null;
  status: 'empty' | 'invalid' | 'repair_failed' | 'repaired' | 'unreadable';
  reason: string | null;
  lon: number | null;
  lat: number | null;
  type_before: string | null;
  type_after: string | null;
  vertices_before: number | null;
  vertices_after: number | null;
  area_before_m2: number | null;
  area_after_m2: number | null;
  /** For 'unreadable': PostgreSQL's words. */
  message?: string;
}

export interface CheckResult {
  /** Features per status (every one, not only the listed ones). */
  counts: Record<CheckedRow['status'], number>;
  /** Problems (every status but 'repaired'), by feature index, at most `limit`. */
  problems: CheckedRow[];
  /** Repairs, by feature index, at most `limit`. */
  repairs: CheckedRow[];
}

/** How a staging table of the helper session names its session (pid and start), for the clean-up after a killed import. */
const SCRATCH_COMMENT = 'onemap import staging of session';
/** COPY text per write to the connection. */
const COPY_WRITE_BYTES = 256 * 1024;
/** A part: this many features (default), or this much COPY text, whichever comes first. */
export const PART_FEATURES = 50_000;
const PART_BYTES = 32 * 1024 * 1024;

/** One part read into memory as COPY text. */
interface Part {
  k: number;
  text: Buffer[];
  features: number;
  /** The reader has no more features after this part. */
  last: boolean;
}

export class ImportStage {
  private readonly name = `onemap_import_${randomBytes(6).toString('hex')}`;
  private readonly bad = quoteIdent(`${this.name}_bad`);
  private readonly attrs: Attribute[];
  private readonly extract: number;
  private readonly polygon: boolean;
  /** The helper session that stages a committing import (see the top of this file); undefined: the import's transaction stages. */
  private helper: Knex | undefined;
  /** Staging tables that exist (the helper's are dropped by close()). */
  private readonly tables: string[] = [];
  private readonly unreadable: CheckedRow[] = [];
  /** Problems PostGIS found so far (the caller's are asked for through `fine`). */
  private problems = 0;
  private commit: StagedCommit | undefined;
  /** A part was left out of the commit (a problem showed up): the revision cannot be finished. */
  private incomplete = false;

  /**
   * `repair`: repair invalid geometries (ST_MakeValid); `commit`: apply the parts to the layer as
   * they come (while `fine()` and PostGIS find nothing wrong), as a revision with this meta, the
   * staging then done by a helper session of `db` (the import's transaction's database) so that
   * checking one part and applying the previous one overlap; null for a dry run (the checks only,
   * all in the import's transaction); `partFeatures`: features per part (default PART_FEATURES).
   */
  constructor(
    private readonly trx: Knex.Transaction,
    private readonly layer: Layer,
    private readonly opts: { repair: boolean; commit: CommitMeta | null; fine: () => boolean; db: Knex; partFeatures?: number },
  ) {
    this.attrs = layer.attributes;
    this.extract = layer.geometry === 'Point' ? 1 : layer.geometry === 'MultiLineString' ? 2 : 3;
    this.polygon = layer.geometry === 'MultiPolygon';
  }

  private src = (k: number) => `${this.name}_src${k}`;
  private chk = (k: number) => `${this.name}_chk${k}`;

  /**
   * Steps 1 and 2 of the top of this file for every part of `rows` (consumed once: the reader and
   * the checks in JavaScript run as it is pulled). Part k+1 is read while part k is checked and
   * part k-1 applied. Internal columns start with '_' (attribute names start with a letter).
   */
  async run(rows: AsyncIterable<StageRow>): Promise<void> {
    if (this.opts.commit) await this.openHelper();
    await this.staging((t) =>
      t.raw(
        `CREATE TEMP TABLE ${this.bad} (i integer, ref text, ref_num boolean, file smallint, reason text, lon double precision, lat double precision, status text,
           type_before text, type_after text, vertices_before integer, vertices_after integer, area_before_m2 double precision, area_after_m2 double precision)`,
      ),
    );
    const it = rows[Symbol.asyncIterator]();
    let staging: Promise<void> | undefined;
    let applying: Promise<void> = Promise.resolve();
    let failed: { err: unknown } | undefined;
    try {
      for (let k = 0; ; k++) {
        const part = await this.read(it, k);
        if (staging) await staging;
        if (failed) throw failed.err;
        if (!part.features) break;
        const staged = this.stage(part);
        staging = staged;
        staging.catch(() => undefined); // awaited above or below; this only keeps it from counting as unhandled meanwhile
        applying = applying.then(() => staged).then(() => this.apply(part.k));
        applying.catch((err: unknown) => (failed ??= { err }));
        if (part.last) break;
      }
      await staging;
      await applying;
    } finally {
      // However it ended, nothing is still running on either connection when the transaction ends.
      await staging?.catch(() => undefined);
      await applying.catch(() => undefined);
    }
  }

  /** Runs staging statements: in a transaction of the helper session (committed at its end), else in the import's transaction. */
  private staging<T>(work: (t: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.helper ? this.helper.transaction(work) : work(this.trx);
  }

  /**
   * The helper session: one connection of its own (no statement timeout), which first drops the
   * staging tables of importing sessions that died (a killed process) before they could.
   */
  private async openHelper(): Promise<void> {
    this.helper = knexFactory({
      client: 'pg',
      connection: this.opts.db.client.config.connection,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
          conn.query('SET statement_timeout = 0; SET client_min_messages = warning', (err) => done(err, conn));
        },
      },
    });
    const { rows } = await this.helper.raw<{ rows: { t: string }[] }>(
      `SELECT c.relname AS t FROM pg_class c
       CROSS JOIN LATERAL regexp_match(obj_description(c.oid, 'pg_class'), '^${SCRATCH_COMMENT} (\\d+) started (.+)$') m
       WHERE c.relkind = 'r' AND c.relname LIKE 'onemap\\_import\\_%' AND m IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = m[1]::int AND a.backend_start = m[2]::timestamptz)`,
    );
    for (const r of rows) await this.helper.raw(`DROP TABLE IF EXISTS ${quoteIdent(r.t)}`);
  }

  /** A staging table made in the helper session says whose it is, so that it can be dropped if that session dies first. */
  private async made(t: Knex.Transaction, table: string): Promise<void> {
    this.tables.push(table);
    if (this.helper) {
      await t.raw(`DO $$ BEGIN EXECUTE format('COMMENT ON TABLE %I IS %L', '${table}', '${SCRATCH_COMMENT} ' || pg_backend_pid() || ' started ' || (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())); END $$`);
    }
  }

  /** The next part of `rows` as COPY text. */
  private async read(it: AsyncIterator<StageRow>, k: number): Promise<Part> {
    const text: Buffer[] = [];
    let chunk = '';
    let bytes = 0;
    let features = 0;
    let last = false;
    const most = this.opts.partFeatures ?? PART_FEATURES;
    while (features < most && bytes < PART_BYTES) {
      const next = await it.next();
      if (next.done) {
        last = true;
        break;
      }
      const r = next.value;
      let line = `${r.index}\t${copyText(r.properties.code)}`;
      for (const a of this.attrs) line += `\t${copyValue(a, r.properties[a.name])}`;
      line += r.id === undefined ? '\t\\N\t\\N' : `\t${copyText(String(r.id))}\t${typeof r.id === 'number' ? 't' : 'f'}`;
      line += `\t${r.file}\t${r.ewkb}\n`;
      chunk += line;
      features++;
      if (chunk.length >= COPY_WRITE_BYTES) {
        const b = Buffer.from(chunk, 'utf8');
        text.push(b);
        bytes += b.length;
        chunk = '';
      }
    }
    if (chunk) text.push(Buffer.from(chunk, 'utf8'));
    return { k, text, features, last };
  }

  /** Step 1 for one part: COPY, check, the features with a problem or a repair kept aside. */
  private async stage(part: Part): Promise<void> {
    await this.staging(async (t) => {
      const src = quoteIdent(this.src(part.k));
      const cols = this.attrs.map((a) => `${quoteIdent(a.name)} ${SQL_TYPE[a.type]}`);
      await t.raw(
        `CREATE UNLOGGED TABLE ${src} (_i integer NOT NULL, code text, ${cols.join(', ')}${cols.length ? ',' : ''} _ref text, _ref_num boolean, _file smallint, _g geometry NOT NULL) WITH (autovacuum_enabled = false)`,
      );
      await this.made(t, this.src(part.k));
      // The transaction's own connection (knex hands a transaction's queries to that one connection).
      const conn = (await (t.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as { query<T>(q: T): T };
      await pipeline(Readable.from(part.text), conn.query(copyFrom(`COPY ${src} FROM STDIN`)));
      part.text.length = 0;

      await this.check(t, part.k);
      const chk = quoteIdent(this.chk(part.k));
      const area = (g: string) => (this.polygon ? `CASE WHEN c._m IS NOT NULL THEN ST_Area(${g}::geography, true) END` : 'NULL::double precision');
      const { rows } = await t.raw<{ rows: { problems: number }[] }>(
        `WITH found AS (
           INSERT INTO ${this.bad}
           SELECT c.fid::int, c._ref, c._ref_num, c._file, c._reason, c._lon, c._lat,
                  CASE WHEN c._empty THEN 'empty' WHEN c._m IS NULL THEN 'invalid'
                       WHEN ST_IsValid(c._m) AND NOT ST_IsEmpty(c._m) THEN 'repaired' ELSE 'repair_failed' END,
                  GeometryType(c._before), GeometryType(c._m), ST_NPoints(c._before), ST_NPoints(c._m), ${area('c._before')}, ${area('c._m')}
           FROM ${chk} c WHERE c._empty OR NOT c._valid
           RETURNING status)
         SELECT count(*) FILTER (WHERE status <> 'repaired')::int AS problems FROM found`,
      );
      this.problems += rows[0].problems;
      // Only the first part's source rows are read again (the preview); the others go at once.
      if (part.k > 0) await this.drop(t, this.src(part.k));
      // A dry run needs no part but the first one any more either.
      if (part.k > 0 && !this.opts.commit) await this.drop(t, this.chk(part.k));
    });
  }

  /** Step 2 for one part, once it is staged: into the layer, while all is well. */
  private async apply(k: number): Promise<void> {
    if (!this.opts.commit || this.incomplete) return;
    if (this.problems || !this.opts.fine()) {
      this.incomplete = true; // the transaction will be rolled back: no more writing
      return;
    }
    this.commit ??= stagedCommit(this.trx, this.layer, this.opts.commit);
    await this.commit.add({ table: this.chk(k) });
  }

  /**
   * Drops a staging table at once. (A table made in the same transaction is truncated in place,
   * its buffers released now rather than at the end of the transaction, leaving shared buffers to
   * the layer and snapshot pages being written.)
   */
  private async drop(t: Knex.Transaction, table: string): Promise<void> {
    if (!this.helper) await t.raw(`TRUNCATE ${quoteIdent(table)}`);
    await t.raw(`DROP TABLE ${quoteIdent(table)}`);
    this.tables.splice(this.tables.indexOf(table), 1);
  }

  /** Step 1 for one part, with the row-by-row search for culprits when the statement fails on some geometry. */
  private async check(t: Knex.Transaction, k: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await t.raw('SAVEPOINT onemap_import_check');
      try {
        const sql = this.checkSql(k);
        await t.raw(sql.sql, sql.bindings);
        await t.raw('RELEASE SAVEPOINT onemap_import_check');
        await this.made(t, this.chk(k));
        return;
      } catch (err) {
        if (!isDataError(err) || attempt >= 2) throw err;
        await t.raw('ROLLBACK TO SAVEPOINT onemap_import_check');
        const found = await this.culprits(t, k);
        if (!found.length) throw err;
        this.unreadable.push(...found);
        this.problems += found.length;
        await t.raw(`DELETE FROM ${quoteIdent(this.src(k))} WHERE _i = ANY(?::int[])`, [found.map((r) => r.i)]);
      }
    }
  }

  /** Step 3's report: problems and repairs, the first `limit` of each by feature index, and every one counted. */
  async report(limit: number): Promise<CheckResult> {
    return this.staging(async (t) => {
      const counts: CheckResult['counts'] = { empty: 0, invalid: 0, repair_failed: 0, repaired: 0, unreadable: this.unreadable.length };
      const { rows: byStatus } = await t.raw<{ rows: { status: CheckedRow['status']; n: number }[] }>(`SELECT status, count(*)::int AS n FROM ${this.bad} GROUP BY status`);
      for (const r of byStatus) counts[r.status] = r.n;
      const list = async (where: string) => (await t.raw<{ rows: CheckedRow[] }>(`SELECT * FROM ${this.bad} WHERE ${where} ORDER BY i LIMIT ?`, [limit])).rows;
      const problems = counts.empty + counts.invalid + counts.repair_failed ? await list("status <> 'repaired'") : [];
      const repairs = counts.repaired ? await list("status = 'repaired'") : [];
      return { counts, problems: mergeByIndex([...this.unreadable].sort((a, b) => a.i - b.i), problems).slice(0, limit), repairs };
    });
  }

  /**
   * The checked geometries (EPSG:4490, after repair; not promoted to the layer's multi type) of
   * the given features of the first part as GeoJSON, by feature index; empty ones are left out.
   */
  async geojson(indexes: number[]): Promise<Map<number, string>> {
    if (!indexes.length || !this.tables.includes(this.chk(0))) return new Map();
    const { rows } = await this.staging((t) =>
      t.raw<{ rows: { i: number; geojson: string }[] }>(
        `SELECT s._i AS i, ST_AsGeoJSON(COALESCE(c._m, ST_Transform(s._g, 4490)), 15) AS geojson
         FROM ${quoteIdent(this.src(0))} s JOIN ${quoteIdent(this.chk(0))} c ON c.fid = s._i
         WHERE s._i = ANY(?::int[]) AND NOT c._empty ORDER BY s._i`,
        [indexes],
      ),
    );
    return new Map(rows.map((r) => [r.i, r.geojson]));
  }

  /** Step 3's revision, once the caller found no problem at all (the caller's transaction then commits). */
  async finish(): Promise<CommitResult> {
    if (!this.opts.commit) throw new Error('a dry run writes no revision');
    if (this.incomplete || this.problems || !this.opts.fine()) throw new Error('a delivery with problems cannot be committed');
    this.commit ??= stagedCommit(this.trx, this.layer, this.opts.commit);
    return this.commit.finish();
  }

  /**
   * Drops the helper session's staging tables and closes it: after the import's transaction has
   * ended (it read those tables, and holds its locks on them until then). The import's own
   * staging tables (a dry run's) went with its rollback.
   */
  async close(): Promise<void> {
    if (!this.helper) return;
    try {
      if (this.tables.length) await this.helper.raw(`DROP TABLE IF EXISTS ${this.tables.map((t) => quoteIdent(t)).join(', ')}`);
    } finally {
      await this.helper.destroy();
      this.helper = undefined;
    }
  }

  /**
   * Step 1 for part k as one statement, in parallel workers: per feature the geometry in EPSG:4490
   * and ST_IsValidDetail's verdict (`_valid`, `_reason`, `_lon`/`_lat`), with repair ST_MakeValid's
   * result `_m` and the geometry before it `_before`; `geom` is what would be stored (repaired,
   * promoted to the layer's multi type). For a commit also what stagedCommit needs (StagedContent).
   */
  private checkSql(k: number): { sql: string; bindings: string[] } {
    const attrs = this.attrs.map((a) => `s.${quoteIdent(a.name)}`);
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    const content = this.opts.commit ? stagedContentColumns(this.layer, 's', 'x.geom') : { sql: '', bindings: [] };
    return {
      sql: `CREATE UNLOGGED TABLE ${quoteIdent(this.chk(k))} WITH (autovacuum_enabled = false) AS
      SELECT s._i::bigint AS fid, s.code, ${attrs.join(', ')}${attrs.length ? ',' : ''} s._ref, s._ref_num, s._file,
             ST_IsEmpty(t.g) AS _empty, d.valid AS _valid, d.reason AS _reason, ST_X(d.location) AS _lon, ST_Y(d.location) AS _lat,
             ${m} AS _m, CASE WHEN ${m} IS NOT NULL THEN t.g END AS _before, x.geom${content.sql ? `, ${content.sql}` : ''}
      FROM ${quoteIdent(this.src(k))} s CROSS JOIN LATERAL ST_Transform(s._g, 4490) AS t(g) CROSS JOIN LATERAL ST_IsValidDetail(t.g) AS d
      CROSS JOIN LATERAL ${final} AS x(geom)`,
      bindings: content.bindings,
    };
  }

  private repairSql(g: string, valid: string): string {
    return this.opts.repair ? `CASE WHEN NOT ${valid} THEN ST_CollectionExtract(ST_MakeValid(${g}), ${this.extract}) END` : 'NULL::geometry';
  }

  /** The features of part k the check statement fails on, each with PostgreSQL's message (a PL/pgSQL loop catching each row's error). */
  private async culprits(t: Knex.Transaction, k: number): Promise<CheckedRow[]> {
    const src = quoteIdent(this.src(k));
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    await t.raw(`
CREATE OR REPLACE FUNCTION pg_temp.onemap_import_culprits() RETURNS TABLE (i integer, message text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE r record;
BEGIN
  FOR r IN SELECT s._i, s._g FROM ${src} s ORDER BY s._i LOOP
    BEGIN
      PERFORM ST_IsEmpty(t.g), ST_X(d.location), revision_feature_hash(NULL, NULL, ${final})
      FROM ST_Transform(r._g, 4490) AS t(g) CROSS JOIN LATERAL ST_IsValidDetail(t.g) AS d;
    EXCEPTION WHEN data_exception OR internal_error THEN
      i := r._i;
      message := SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END $$`);
    const { rows } = await t.raw<{ rows: { i: number; message: string; ref: string | null; ref_num: boolean | null; file: number | null }[] }>(
      `SELECT c.i, c.message, s._ref AS ref, s._ref_num AS ref_num, s._file AS file FROM pg_temp.onemap_import_culprits() c JOIN ${src} s ON s._i = c.i ORDER BY c.i`,
    );
    return rows.map((r) => ({
      i: r.i,
      ref: r.ref,
      ref_num: r.ref_num,
      file: r.file,
      status: 'unreadable',
      message: r.message,
      reason: null,
      lon: null,
      lat: null,
      type_before: null,
      type_after: null,
      vertices_before: null,
      vertices_after: null,
      area_before_m2: null,
      area_after_m2: null,
    }));
  }
}

/** Two lists sorted by feature index, merged. */
function mergeByIndex(a: CheckedRow[], b: CheckedRow[]): CheckedRow[] {
  if (!a.length) return b;
  return [...a, ...b].sort((x, y) => x.i - y.i);
}

const isDataError = (err: unknown) => {
  const code = (err as { code?: string }).code;
  // Class 22 (data exception) and XX000 (PostGIS's own errors: a failed transformation, …).
  return typeof code === 'string' && (/^22/.test(code) || code === 'XX000');
};

// --- COPY text format ------------------------------------------------------------------------------

const SPECIAL = /[\\\t\n\r\0]/;

/** A text value in COPY's text format: backslash escapes; NUL, which PostgreSQL text cannot hold, dropped. */
function copyText(v: unknown): string {
  if (v === undefined || v === null) return '\\N';
  const s = String(v);
  if (!SPECIAL.test(s)) return s;
  return s.replace(/[\\\t\n\r\0]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : ''));
}

/** An attribute value (as convert() typed it) in COPY's text format for the attribute's column type. */
function copyValue(a: Attribute, v: unknown): string {
  if (v === undefined || v === null) return '\\N';
  switch (a.type) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'integer':
    case 'number':
      return String(v);
    default:
      return copyText(v);
  }
}
