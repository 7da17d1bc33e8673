// The PostGIS half of an import, inside the import's one transaction. The delivered features are
// streamed ONCE into PostGIS with COPY (typed attribute columns, the geometry as hex EWKB in the
// source CRS), in parts of up to 50,000 features, and everything after that is set-based SQL:
//
//   1. check (each part): ST_Transform to EPSG:4490 and ST_IsValidDetail (reason and location) of
//      every feature, with `repair` ST_MakeValid reduced to the layer's type (ST_CollectionExtract),
//      and for a commit what the revision needs (the geometry promoted to the layer's multi type,
//      its content hash, the attributes as jsonb), in one CREATE TABLE AS that PostgreSQL
//      runs in parallel workers; a statement that fails on some geometry (a transformation PROJ
//      refuses, …) is redone row by row to name each culprit; the features with a problem or a
//      repair are kept aside for the report;
//   2. apply (each part, while nothing has been found wrong and it is no dry run): the part goes
//      into the layer table and the snapshot store (stagedCommit in server/revisions/commit.ts,
//      which locks the layer at the first part). Meanwhile the caller reads the next part, so
//      reading the file in Node and writing in PostgreSQL overlap on two cores;
//   3. finish: the report (problems and repairs, the first 1,000 of each by feature index, all
//      counted; the preview's geometries as GeoJSON) and, when the caller commits, the rest of the
//      revision (what the delivery no longer has is deleted). The geometries never leave PostgreSQL.
//
// A part applied before a later part shows a problem is simply rolled back with the transaction:
// the caller rolls back for a refused file or a dry run, and a killed process rolls back too.
// The staging tables are unlogged tables of the import's own transaction, not temp tables, because
// PostgreSQL scans temp tables in the leader only; created in the transaction, they are invisible to
// every other session and vanish with a rollback; a committing import drops them before its commit.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
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
  /** Tables made so far (dropped before a commit). */
  private readonly tables: string[] = [];
  private readonly unreadable: CheckedRow[] = [];
  /** Problems PostGIS found so far (the caller's are asked for through `fine`). */
  private problems = 0;
  private commit: StagedCommit | undefined;
  /** A part was left out of the commit (a problem showed up): the revision cannot be finished. */
  private incomplete = false;

  /**
   * `repair`: repair invalid geometries (ST_MakeValid); `commit`: apply the parts to the layer as
   * they come (while `fine()` and PostGIS find nothing wrong), as a revision with this meta; null
   * for a dry run (the checks only); `partFeatures`: features per part (default PART_FEATURES).
   */
  constructor(
    private readonly trx: Knex.Transaction,
    private readonly layer: Layer,
    private readonly opts: { repair: boolean; commit: CommitMeta | null; fine: () => boolean; partFeatures?: number },
  ) {
    this.attrs = layer.attributes;
    this.extract = layer.geometry === 'Point' ? 1 : layer.geometry === 'MultiLineString' ? 2 : 3;
    this.polygon = layer.geometry === 'MultiPolygon';
  }

  private src = (k: number) => `${this.name}_src${k}`;
  private chk = (k: number) => `${this.name}_chk${k}`;

  /**
   * Steps 1 and 2 of the top of this file for every part of `rows` (consumed once: the reader and
   * the checks in JavaScript run as it is pulled). Part k+1 is read while part k is in PostgreSQL.
   * Internal columns start with '_' (attribute names start with a letter).
   */
  async run(rows: AsyncIterable<StageRow>): Promise<void> {
    await this.trx.raw(
      `CREATE TEMP TABLE ${this.bad} (i integer, ref text, ref_num boolean, file smallint, reason text, lon double precision, lat double precision, status text,
         type_before text, type_after text, vertices_before integer, vertices_after integer, area_before_m2 double precision, area_after_m2 double precision) ON COMMIT DROP`,
    );
    const it = rows[Symbol.asyncIterator]();
    let inPostgres: Promise<void> | undefined;
    try {
      for (let k = 0; ; k++) {
        const part = await this.read(it, k);
        if (inPostgres) await inPostgres;
        if (!part.features) break;
        inPostgres = this.store(part);
        inPostgres.catch(() => undefined); // awaited above or below; this only keeps it from counting as unhandled meanwhile
        if (part.last) break;
      }
      await inPostgres;
    } finally {
      // However the reading ended, the connection is free before the transaction ends.
      await inPostgres?.catch(() => undefined);
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

  /** One part into PostgreSQL: COPY, check, and while all is well, apply. */
  private async store(part: Part): Promise<void> {
    const src = quoteIdent(this.src(part.k));
    const cols = this.attrs.map((a) => `${quoteIdent(a.name)} ${SQL_TYPE[a.type]}`);
    await this.trx.raw(
      `CREATE UNLOGGED TABLE ${src} (_i integer NOT NULL, code text, ${cols.join(', ')}${cols.length ? ',' : ''} _ref text, _ref_num boolean, _file smallint, _g geometry NOT NULL)`,
    );
    this.tables.push(this.src(part.k));
    // The transaction's own connection (knex hands a transaction's queries to that one connection).
    const conn = (await (this.trx.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as { query<T>(q: T): T };
    await pipeline(Readable.from(part.text), conn.query(copyFrom(`COPY ${src} FROM STDIN`)));
    part.text.length = 0;

    await this.check(part.k);
    const chk = quoteIdent(this.chk(part.k));
    const area = (g: string) => (this.polygon ? `CASE WHEN c._m IS NOT NULL THEN ST_Area(${g}::geography, true) END` : 'NULL::double precision');
    const { rows } = await this.trx.raw<{ rows: { problems: number }[] }>(
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
    // Only the first part's tables are read again (the preview); the others go as soon as they have served.
    if (part.k > 0) await this.drop(this.src(part.k));

    if (this.opts.commit && !this.incomplete) {
      if (this.problems || !this.opts.fine()) {
        this.incomplete = true; // the transaction will be rolled back: no more writing
      } else {
        this.commit ??= stagedCommit(this.trx, this.layer, this.opts.commit);
        await this.commit.add({ table: this.chk(part.k) });
      }
    }
    if (part.k > 0) await this.drop(this.chk(part.k));
  }

  /**
   * Drops a staging table at once. (A table made in the transaction is truncated in place, its
   * buffers released now rather than at the end of the transaction, leaving shared buffers to the
   * layer and snapshot pages being written.)
   */
  private async drop(table: string): Promise<void> {
    await this.trx.raw(`TRUNCATE ${quoteIdent(table)}`);
    await this.trx.raw(`DROP TABLE ${quoteIdent(table)}`);
    this.tables.splice(this.tables.indexOf(table), 1);
  }

  /** Step 1 for one part, with the row-by-row search for culprits when the statement fails on some geometry. */
  private async check(k: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.trx.raw('SAVEPOINT onemap_import_check');
      try {
        const sql = this.checkSql(k);
        await this.trx.raw(sql.sql, sql.bindings);
        await this.trx.raw('RELEASE SAVEPOINT onemap_import_check');
        this.tables.push(this.chk(k));
        return;
      } catch (err) {
        if (!isDataError(err) || attempt >= 2) throw err;
        await this.trx.raw('ROLLBACK TO SAVEPOINT onemap_import_check');
        const found = await this.culprits(k);
        if (!found.length) throw err;
        this.unreadable.push(...found);
        this.problems += found.length;
        await this.trx.raw(`DELETE FROM ${quoteIdent(this.src(k))} WHERE _i = ANY(?::int[])`, [found.map((r) => r.i)]);
      }
    }
  }

  /** Step 3's report: problems and repairs, the first `limit` of each by feature index, and every one counted. */
  async report(limit: number): Promise<CheckResult> {
    const counts: CheckResult['counts'] = { empty: 0, invalid: 0, repair_failed: 0, repaired: 0, unreadable: this.unreadable.length };
    const { rows: byStatus } = await this.trx.raw<{ rows: { status: CheckedRow['status']; n: number }[] }>(`SELECT status, count(*)::int AS n FROM ${this.bad} GROUP BY status`);
    for (const r of byStatus) counts[r.status] = r.n;
    const list = async (where: string) =>
      (await this.trx.raw<{ rows: CheckedRow[] }>(`SELECT * FROM ${this.bad} WHERE ${where} ORDER BY i LIMIT ?`, [limit])).rows;
    const problems = counts.empty + counts.invalid + counts.repair_failed ? await list("status <> 'repaired'") : [];
    const repairs = counts.repaired ? await list("status = 'repaired'") : [];
    return { counts, problems: mergeByIndex([...this.unreadable].sort((a, b) => a.i - b.i), problems).slice(0, limit), repairs };
  }

  /**
   * The checked geometries (EPSG:4490, after repair; not promoted to the layer's multi type) of
   * the given features of the first part as GeoJSON, by feature index; empty ones are left out.
   */
  async geojson(indexes: number[]): Promise<Map<number, string>> {
    if (!indexes.length || !this.tables.includes(this.chk(0))) return new Map();
    const { rows } = await this.trx.raw<{ rows: { i: number; geojson: string }[] }>(
      `SELECT s._i AS i, ST_AsGeoJSON(COALESCE(c._m, ST_Transform(s._g, 4490)), 15) AS geojson
       FROM ${quoteIdent(this.src(0))} s JOIN ${quoteIdent(this.chk(0))} c ON c.fid = s._i
       WHERE s._i = ANY(?::int[]) AND NOT c._empty ORDER BY s._i`,
      [indexes],
    );
    return new Map(rows.map((r) => [r.i, r.geojson]));
  }

  /** Step 3's revision, once the caller found no problem at all; the staging tables are dropped (the caller's transaction then commits). */
  async finish(): Promise<CommitResult> {
    if (!this.opts.commit) throw new Error('a dry run writes no revision');
    if (this.incomplete || this.problems || !this.opts.fine()) throw new Error('a delivery with problems cannot be committed');
    this.commit ??= stagedCommit(this.trx, this.layer, this.opts.commit);
    const result = await this.commit.finish();
    if (this.tables.length) await this.trx.raw(`DROP TABLE ${this.tables.map((t) => quoteIdent(t)).join(', ')}`);
    return result;
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
      sql: `CREATE UNLOGGED TABLE ${quoteIdent(this.chk(k))} AS
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
  private async culprits(k: number): Promise<CheckedRow[]> {
    const src = quoteIdent(this.src(k));
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    await this.trx.raw(`
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
    const { rows } = await this.trx.raw<{ rows: { i: number; message: string; ref: string | null; ref_num: boolean | null; file: number | null }[] }>(
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
