// The PostGIS half of an import. The delivered features are streamed ONCE into PostGIS with COPY
// (the attributes as the layer stores them, the geometry as hex EWKB in the source CRS), in parts
// of up to 50,000 features, and everything after that is set-based SQL:
//
//   1. stage and check (each part): COPY into import_sources, then ST_Transform to EPSG:4490 and
//      ST_IsValidDetail (reason and location) of every feature, with `repair` ST_MakeValid reduced
//      to the layer's type (ST_CollectionExtract), and for a commit what the revision needs (the
//      geometry promoted to the layer's multi type, its content hash), in one CREATE TEMP TABLE AS
//      that PostgreSQL runs in parallel workers; a statement that fails on some geometry (a
//      transformation PROJ refuses, …) is redone row by row to name each culprit; the features with
//      a problem or a repair are kept aside for the report;
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
// helper commits each part's checked content into import_staging, under the import's run id and
// the part's number, and the import's transaction applies it from there. No import creates a table
// of its own but temporary ones: import_sources and import_staging are the migration's
// (migrations/…_import_staging.ts), shared by every import, each row marked with its run and part.
// They hold nothing of the layer: whatever happens, the layer changes in the one transaction or not
// at all (a part applied before a later part shows a problem is rolled back with it). The import
// deletes its rows as they are used and when it ends; if the process is killed, its run
// (import_runs: the helper's pid and start) names a session that is gone, and the next committing
// import deletes what it left.
//
// A dry run stages in a session of its own too, in one transaction that is rolled back at its end
// (nothing to overlap with, and it must write nothing): its rows in import_sources are never
// committed, its other tables are temporary, and all of it goes with the rollback. (A session of
// its own: temporary tables get the local buffers the session sets before its first one.)
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import knexFactory, { type Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';
import type { Attribute, Layer } from '../layers/registry';
import { quoteIdent } from '../platform/sql';
import { stagedCommit, type CommitMeta, type StagedCommit } from '../revisions/commit';
import type { CommitResult } from '../revisions/schemas';

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

/** The delivered features as read, of every running import (migrations/…_import_staging.ts). */
const SOURCES = 'import_sources';
/** The checked content of committing imports, which both sessions of one see. */
const STAGING = 'import_staging';
/** COPY text per write to the connection. */
const COPY_WRITE_BYTES = 256 * 1024;
/** A part: this many features (default), or this much COPY text, whichever comes first. */
export const PART_FEATURES = 50_000;
const PART_BYTES = 32 * 1024 * 1024;
/** Local buffers of an import's session, for the temporary table a part is checked into (MB; PostgreSQL's default is 8). */
const TEMP_BUFFERS_MB = 128;

/** One part read into memory as COPY text. */
interface Part {
  k: number;
  text: Buffer[];
  features: number;
  /** The reader has no more features after this part. */
  last: boolean;
}

/**
 * Deletes what imports whose staging session is gone (a killed process) left in the shared tables:
 * their import_runs rows and their rows of import_sources and import_staging. Run by every
 * committing import and by the service's start; returns the runs removed.
 */
export async function deleteKilledImports(knex: Knex): Promise<number[]> {
  const { rows } = await knex.raw<{ rows: { id: string }[] }>(
    `WITH gone AS (
       DELETE FROM import_runs r WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.pid AND a.backend_start = r.backend_start)
       RETURNING id),
     sources AS (DELETE FROM ${SOURCES} WHERE run_id IN (SELECT id FROM gone)),
     staged AS (DELETE FROM ${STAGING} WHERE run_id IN (SELECT id FROM gone))
     SELECT id FROM gone`,
  );
  return rows.map((r) => Number(r.id));
}

export class ImportStage {
  /** Prefix of this import's temporary tables. */
  private readonly name = `onemap_import_${randomBytes(6).toString('hex')}`;
  private readonly bad = quoteIdent(`${this.name}_bad`);
  private readonly attrs: Attribute[];
  private readonly extract: number;
  private readonly polygon: boolean;
  /** The session that stages (see the top of this file): a committing import's helper, or a dry run's own. */
  private helper: Knex | undefined;
  /** A dry run's one transaction in that session, rolled back by close(). */
  private dry: Knex.Transaction | undefined;
  /** The import's run (import_runs.id) its rows are marked with; 0 for a dry run (whose rows no one else sees). */
  private runId = 0;
  /** Parts applied to the layer whose rows in import_staging are still to be deleted. */
  private applied: number[] = [];
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
   * in a session of its own, rolled back); `partFeatures`: features per part (default PART_FEATURES).
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

  /** The temporary table the check of part k writes. */
  private chk = (k: number) => quoteIdent(`${this.name}_chk${k}`);
  /** This import's rows of part k in `table`, as a FROM item (SQL text, the numbers inlined as literals). */
  private rowsOf = (table: string, k: number) => this.trx.raw(`(SELECT * FROM ${table} WHERE run_id = ? AND part = ?)`, [this.runId, k]).toQuery();

  /**
   * Steps 1 and 2 of the top of this file for every part of `rows` (consumed once: the reader and
   * the checks in JavaScript run as it is pulled). Part k+1 is read while part k is checked and
   * part k-1 applied. Internal columns start with '_' (attribute names start with a letter).
   */
  async run(rows: AsyncIterable<StageRow>): Promise<void> {
    await this.openSession();
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

  /** Runs staging statements: for a commit in a transaction of the helper session (committed at its end), for a dry run in its one transaction. */
  private staging<T>(work: (t: Knex.Transaction) => Promise<T>): Promise<T> {
    if (this.dry) return work(this.dry);
    if (!this.helper) throw new Error('the import stage is not open');
    return this.helper.transaction(work);
  }

  /**
   * The staging session: one connection of its own (no statement timeout). A committing import's
   * first deletes what imports whose session died (a killed process) left, then records this
   * import's run; a dry run's opens its one transaction.
   */
  private async openSession(): Promise<void> {
    const helper = knexFactory({
      client: 'pg',
      connection: this.opts.db.client.config.connection,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
          conn.query(`SET statement_timeout = 0; SET client_min_messages = warning; SET temp_buffers = '${TEMP_BUFFERS_MB}MB'`, (err) => done(err, conn));
        },
      },
    });
    this.helper = helper;
    if (!this.opts.commit) {
      this.dry = await helper.transaction();
      return;
    }
    await deleteKilledImports(helper);
    const { rows } = await helper.raw<{ rows: { id: string }[] }>(
      'INSERT INTO import_runs (layer_id, pid, backend_start) SELECT ?, pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid() RETURNING id',
      [this.layer.id],
    );
    this.runId = Number(rows[0].id);
  }

  /** The next part of `rows` as COPY text (import_sources' columns). */
  private async read(it: AsyncIterator<StageRow>, k: number): Promise<Part> {
    const text: Buffer[] = [];
    let chunk = '';
    let bytes = 0;
    let features = 0;
    let last = false;
    const most = this.opts.partFeatures ?? PART_FEATURES;
    const key = `${this.runId}\t${k}\t`;
    while (features < most && bytes < PART_BYTES) {
      const next = await it.next();
      if (next.done) {
        last = true;
        break;
      }
      const r = next.value;
      let line = `${key}${r.index}\t${copyText(r.properties.code)}\t${copyText(attributesJson(this.attrs, r.properties))}`;
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

  /** Step 1 for one part: COPY, check, the features with a problem or a repair kept aside, the content staged for the commit. */
  private async stage(part: Part): Promise<void> {
    await this.staging(async (t) => {
      await this.deleteApplied(t);
      // The transaction's own connection (knex hands a transaction's queries to that one connection).
      const conn = (await (t.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as { query<T>(q: T): T };
      await pipeline(Readable.from(part.text), conn.query(copyFrom(`COPY ${SOURCES} (run_id, part, i, code, attrs, ref, ref_num, file, g) FROM STDIN`)));
      part.text.length = 0;
      // The check's planner must know the part's size, or it checks a part of "three rows" without parallel workers.
      await t.raw(`ANALYZE ${SOURCES}`);

      await this.check(t, part.k);
      const chk = this.chk(part.k);
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
      // What the import's transaction applies, while nothing is wrong (else it applies nothing more).
      if (this.opts.commit && !this.problems && this.opts.fine()) {
        await t.raw(`INSERT INTO ${STAGING} (run_id, part, fid, code, _attrs, _hash, geom) SELECT ?, ?, fid, code, _attrs, _hash, geom FROM ${chk}`, [this.runId, part.k]);
        // The import's transaction joins the part by fid: its planner needs to know the part's size.
        await t.raw(`ANALYZE ${STAGING}`);
      }
      // Only the first part's rows are read again (the preview); the others go at once (a dry run's with its rollback).
      if (part.k > 0) {
        if (this.opts.commit) await t.raw(`DELETE FROM ${SOURCES} WHERE run_id = ? AND part = ?`, [this.runId, part.k]);
        await t.raw(`DROP TABLE ${chk}`);
      }
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
    await this.commit.add({ relation: this.rowsOf(STAGING, k) });
    this.applied.push(k);
  }

  /** Deletes the staged content of the parts applied so far (in the helper, while the import's transaction goes on). */
  private async deleteApplied(t: Knex.Transaction): Promise<void> {
    if (!this.applied.length) return;
    await t.raw(`DELETE FROM ${STAGING} WHERE run_id = ? AND part = ANY(?::int[])`, [this.runId, this.applied.splice(0)]);
  }

  /** Step 1 for one part, with the row-by-row search for culprits when the statement fails on some geometry. */
  private async check(t: Knex.Transaction, k: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await t.raw('SAVEPOINT onemap_import_check');
      try {
        const sql = this.checkSql(k);
        await t.raw(sql.sql, sql.bindings);
        await t.raw('RELEASE SAVEPOINT onemap_import_check');
        return;
      } catch (err) {
        if (!isDataError(err) || attempt >= 2) throw err;
        await t.raw('ROLLBACK TO SAVEPOINT onemap_import_check');
        const found = await this.culprits(t, k);
        if (!found.length) throw err;
        this.unreadable.push(...found);
        this.problems += found.length;
        await t.raw(`DELETE FROM ${SOURCES} WHERE run_id = ? AND part = ? AND i = ANY(?::int[])`, [this.runId, k, found.map((r) => r.i)]);
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
    if (!indexes.length) return new Map();
    const { rows } = await this.staging((t) =>
      t.raw<{ rows: { i: number; geojson: string }[] }>(
        `SELECT s.i, ST_AsGeoJSON(COALESCE(c._m, ST_Transform(s.g, 4490)), 15) AS geojson
         FROM ${this.rowsOf(SOURCES, 0)} s JOIN ${this.chk(0)} c ON c.fid = s.i
         WHERE s.i = ANY(?::int[]) AND NOT c._empty ORDER BY s.i`,
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
   * Ends the staging session: a dry run's transaction is rolled back (its rows and tables with it);
   * a committing import deletes what it left in the shared tables, after the import's transaction
   * has ended (it read those rows), its temporary tables discarded first (a session's own go when
   * it ends, but not necessarily before its client has gone).
   */
  async close(): Promise<void> {
    if (!this.helper) return;
    try {
      if (this.dry) {
        await this.dry.rollback().catch(() => undefined);
        return;
      }
      await this.helper.raw('DISCARD TEMP').catch(() => undefined); // (a killed helper reconnects without any)
      await this.helper.raw(
        `WITH done AS (DELETE FROM import_runs WHERE id = ? RETURNING id),
              sources AS (DELETE FROM ${SOURCES} WHERE run_id IN (SELECT id FROM done))
         DELETE FROM ${STAGING} WHERE run_id IN (SELECT id FROM done)`,
        [this.runId],
      );
    } finally {
      await this.helper.destroy();
      this.helper = undefined;
      this.dry = undefined;
    }
  }

  /**
   * Step 1 for part k as one statement, in parallel workers: per feature the geometry in EPSG:4490
   * and ST_IsValidDetail's verdict (`_valid`, `_reason`, `_lon`/`_lat`), with repair ST_MakeValid's
   * result `_m` and the geometry before it `_before`; `geom` is what would be stored (repaired,
   * promoted to the layer's multi type), with `_attrs` and, for a commit, `_hash` what stagedCommit
   * needs (StagedContent).
   */
  private checkSql(k: number): { sql: string; bindings: number[] } {
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    return {
      sql: `CREATE TEMP TABLE ${this.chk(k)} AS
      SELECT s.i::bigint AS fid, s.code, a.attrs AS _attrs, s.ref AS _ref, s.ref_num AS _ref_num, s.file AS _file,
             ST_IsEmpty(t.g) AS _empty, d.valid AS _valid, d.reason AS _reason, ST_X(d.location) AS _lon, ST_Y(d.location) AS _lat,
             ${m} AS _m, CASE WHEN ${m} IS NOT NULL THEN t.g END AS _before, x.geom,
             ${this.opts.commit ? 'revision_feature_hash(s.code, a.attrs, x.geom)' : 'NULL::uuid'} AS _hash
      FROM ${SOURCES} s CROSS JOIN LATERAL (SELECT s.attrs::jsonb) AS a(attrs)
      CROSS JOIN LATERAL ST_Transform(s.g, 4490) AS t(g) CROSS JOIN LATERAL ST_IsValidDetail(t.g) AS d
      CROSS JOIN LATERAL ${final} AS x(geom)
      WHERE s.run_id = ? AND s.part = ?`,
      bindings: [this.runId, k],
    };
  }

  private repairSql(g: string, valid: string): string {
    return this.opts.repair ? `CASE WHEN NOT ${valid} THEN ST_CollectionExtract(ST_MakeValid(${g}), ${this.extract}) END` : 'NULL::geometry';
  }

  /** The features of part k the check statement fails on, each with PostgreSQL's message (a PL/pgSQL loop catching each row's error). */
  private async culprits(t: Knex.Transaction, k: number): Promise<CheckedRow[]> {
    const src = this.rowsOf(SOURCES, k);
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    await t.raw(`
CREATE OR REPLACE FUNCTION pg_temp.onemap_import_culprits() RETURNS TABLE (i integer, message text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE r record;
BEGIN
  FOR r IN SELECT s.i, s.g FROM ${src} s ORDER BY s.i LOOP
    BEGIN
      PERFORM ST_IsEmpty(t.g), ST_X(d.location), revision_feature_hash(NULL, NULL, ${final})
      FROM ST_Transform(r.g, 4490) AS t(g) CROSS JOIN LATERAL ST_IsValidDetail(t.g) AS d;
    EXCEPTION WHEN data_exception OR internal_error THEN
      i := r.i;
      message := SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END $$`);
    const { rows } = await t.raw<{ rows: { i: number; message: string; ref: string | null; ref_num: boolean | null; file: number | null }[] }>(
      `SELECT c.i, c.message, s.ref, s.ref_num, s.file FROM pg_temp.onemap_import_culprits() c JOIN ${src} s ON s.i = c.i ORDER BY c.i`,
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

const UNHELD = /[\0\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The attributes of a staged row as JSON, every registry attribute by name (null when empty), the
 * values as convert() typed them: jsonb of this text equals the jsonb the snapshot store builds from
 * the layer table's typed columns, so the content hashes agree. Text that PostgreSQL cannot hold
 * (NUL, lone surrogates) is cleaned as the COPY text of a column would be.
 */
function attributesJson(attrs: Attribute[], properties: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const a of attrs) {
    const v = properties[a.name];
    out[a.name] = v === undefined ? null : typeof v === 'string' && UNHELD.test(v) ? v.replace(/\0/g, '').replace(LONE_SURROGATE, '\ufffd') : v;
  }
  return JSON.stringify(out);
}
