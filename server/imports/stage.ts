// The PostGIS half of an import, inside the import's one transaction: the delivered features are
// streamed ONCE into a staging table with COPY (typed attribute columns, the geometry as hex EWKB
// in the source CRS), and everything after that is set-based SQL over that table:
//
//   1. check: ST_Transform to EPSG:4490 and ST_IsValidDetail (reason and location) of every feature,
//      with `repair` ST_MakeValid reduced to the layer's type (ST_CollectionExtract), in one
//      CREATE TABLE AS that PostgreSQL runs in parallel workers; a statement that fails on some
//      geometry (a transformation PROJ refuses, …) is redone row by row to name each culprit;
//   2. report: the problem and repair rows (first 1,000 of each by feature index, all counted), the
//      preview's geometries as GeoJSON;
//   3. commit (no problem, not a dry run): the checked geometries, promoted to the layer's multi
//      type, become the staged content with their content hashes, attributes as jsonb and areas
//      (again in parallel), and commitStaged (server/revisions/commit.ts) applies it to the layer
//      table and the snapshot store as a new revision. The geometries never leave PostgreSQL again.
//
// The staging tables are unlogged tables of the import's own transaction, not temp tables, because
// PostgreSQL scans temp tables in the leader only; created in the transaction, they are invisible to
// every other session and vanish with a rollback (a refused file, a dry run, a killed process);
// a committing import drops them before its commit.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';
import type { Attribute, Layer } from '../layers/registry';
import { quoteIdent } from '../platform/sql';
import { commitStaged, stagedContentColumns, type CommitMeta, type CommitResult } from '../revisions/commit';

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

/** Rows of COPY text per chunk written to the connection. */
const COPY_CHUNK_BYTES = 256 * 1024;

export class ImportStage {
  private readonly name = `onemap_import_${randomBytes(6).toString('hex')}`;
  private readonly src = quoteIdent(`${this.name}_src`);
  private readonly chk = `${this.name}_chk`;
  private readonly bad = quoteIdent(`${this.name}_bad`);
  private readonly attrs: Attribute[];
  private readonly extract: number;
  private readonly polygon: boolean;
  private checked = false;

  /**
   * `repair`: repair invalid geometries (ST_MakeValid); `commit`: the check also prepares the
   * content for commit() (content hashes, attributes as jsonb, areas: work a dry run does not need).
   */
  constructor(
    private readonly trx: Knex.Transaction,
    private readonly layer: Layer,
    private readonly opts: { repair: boolean; commit: boolean },
  ) {
    this.attrs = layer.attributes;
    this.extract = layer.geometry === 'Point' ? 1 : layer.geometry === 'MultiLineString' ? 2 : 3;
    this.polygon = layer.geometry === 'MultiPolygon';
  }

  /**
   * Creates the staging table and streams the rows into it with one COPY; resolves when PostgreSQL
   * has them all. `rows` is consumed once (the reader and the checks in JavaScript run as it is pulled).
   * Internal columns start with '_' (attribute names start with a letter).
   */
  async load(rows: AsyncIterable<StageRow>): Promise<number> {
    const cols = this.attrs.map((a) => `${quoteIdent(a.name)} ${SQL_TYPE[a.type]}`);
    await this.trx.raw(
      `CREATE UNLOGGED TABLE ${this.src} (_i integer NOT NULL, code text, ${cols.join(', ')}${cols.length ? ',' : ''} _ref text, _ref_num boolean, _file smallint, _g geometry NOT NULL)`,
    );
    // The transaction's own connection (knex hands a transaction's queries to that one connection).
    const conn = (await (this.trx.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as { query<T>(q: T): T };
    const copy = conn.query(copyFrom(`COPY ${this.src} FROM STDIN`));
    const attrs = this.attrs;
    let n = 0;
    async function* text(): AsyncGenerator<Buffer> {
      let chunk = '';
      for await (const r of rows) {
        let line = `${r.index}\t${copyText(r.properties.code)}`;
        for (const a of attrs) line += `\t${copyValue(a, r.properties[a.name])}`;
        line += r.id === undefined ? '\t\\N\t\\N' : `\t${copyText(String(r.id))}\t${typeof r.id === 'number' ? 't' : 'f'}`;
        line += `\t${r.file}\t${r.ewkb}\n`;
        chunk += line;
        n++;
        if (chunk.length >= COPY_CHUNK_BYTES) {
          yield Buffer.from(chunk, 'utf8');
          chunk = '';
        }
      }
      if (chunk) yield Buffer.from(chunk, 'utf8');
    }
    await pipeline(Readable.from(text()), copy);
    return n;
  }

  /**
   * Steps 1 and 2 of the top of this file: problems and repairs, the first `limit` of each by
   * feature index, and every one counted. Features PostGIS cannot take at all are found row by
   * row, only when the set-based statement failed on one.
   */
  async check(limit: number): Promise<CheckResult> {
    const unreadable: CheckedRow[] = [];
    for (let attempt = 0; ; attempt++) {
      await this.trx.raw('SAVEPOINT onemap_import_check');
      try {
        const sql = this.checkSql();
        await this.trx.raw(sql.sql, sql.bindings);
        await this.trx.raw('RELEASE SAVEPOINT onemap_import_check');
        break;
      } catch (err) {
        if (!isDataError(err) || attempt >= 2) throw err;
        await this.trx.raw('ROLLBACK TO SAVEPOINT onemap_import_check');
        const found = await this.culprits();
        if (!found.length) throw err;
        unreadable.push(...found);
        await this.trx.raw(`DELETE FROM ${this.src} WHERE _i = ANY(?::int[])`, [found.map((r) => r.i)]);
      }
    }
    this.checked = true;

    // The features with a problem or a repair (few, in a delivery that can be imported).
    const area = (g: string) => (this.polygon ? `CASE WHEN c._m IS NOT NULL THEN ST_Area(${g}::geography, true) END` : 'NULL::double precision');
    await this.trx.raw(
      `CREATE TEMP TABLE ${this.bad} ON COMMIT DROP AS
       SELECT c.fid::int AS i, c._ref AS ref, c._ref_num AS ref_num, c._file AS file, c._reason AS reason, c._lon AS lon, c._lat AS lat,
              CASE WHEN c._empty THEN 'empty' WHEN c._m IS NULL THEN 'invalid'
                   WHEN ST_IsValid(c._m) AND NOT ST_IsEmpty(c._m) THEN 'repaired' ELSE 'repair_failed' END AS status,
              GeometryType(c._before) AS type_before, GeometryType(c._m) AS type_after, ST_NPoints(c._before) AS vertices_before, ST_NPoints(c._m) AS vertices_after,
              ${area('c._before')} AS area_before_m2, ${area('c._m')} AS area_after_m2
       FROM ${quoteIdent(this.chk)} c WHERE c._empty OR NOT c._valid`,
    );
    const counts: CheckResult['counts'] = { empty: 0, invalid: 0, repair_failed: 0, repaired: 0, unreadable: unreadable.length };
    const { rows: byStatus } = await this.trx.raw<{ rows: { status: CheckedRow['status']; n: number }[] }>(`SELECT status, count(*)::int AS n FROM ${this.bad} GROUP BY status`);
    for (const r of byStatus) counts[r.status] = r.n;
    const list = async (where: string) =>
      (await this.trx.raw<{ rows: CheckedRow[] }>(`SELECT * FROM ${this.bad} WHERE ${where} ORDER BY i LIMIT ?`, [limit])).rows;
    const problems = counts.empty + counts.invalid + counts.repair_failed ? await list("status <> 'repaired'") : [];
    const repairs = counts.repaired ? await list("status = 'repaired'") : [];
    return { counts, problems: mergeByIndex(unreadable, problems).slice(0, limit), repairs };
  }

  /** The checked geometries (EPSG:4490, after repair; not yet promoted to the layer's multi type) of the given features as GeoJSON, by feature index; empty ones left out. */
  async geojson(indexes: number[]): Promise<Map<number, string>> {
    if (!this.checked) throw new Error('check() first');
    if (!indexes.length) return new Map();
    const { rows } = await this.trx.raw<{ rows: { i: number; geojson: string }[] }>(
      `SELECT s._i AS i, ST_AsGeoJSON(COALESCE(c._m, ST_Transform(s._g, 4490)), 15) AS geojson
       FROM ${this.src} s JOIN ${quoteIdent(this.chk)} c ON c.fid = s._i
       WHERE s._i = ANY(?::int[]) AND NOT c._empty ORDER BY s._i`,
      [indexes],
    );
    return new Map(rows.map((r) => [r.i, r.geojson]));
  }

  /** Step 3 of the top of this file; the caller found no problem. The staging tables are dropped (the transaction then commits). */
  async commit(meta: CommitMeta): Promise<CommitResult> {
    if (!this.checked || !this.opts.commit) throw new Error('check() of a stage made for commit first');
    const result = await commitStaged(this.trx, this.layer, { table: this.chk }, meta);
    await this.trx.raw(`DROP TABLE ${quoteIdent(this.chk)}, ${this.src}`);
    return result;
  }

  /**
   * Step 1 as one statement, in parallel workers: per feature the geometry in EPSG:4490 and
   * ST_IsValidDetail's verdict (`_valid`, `_reason`, `_lon`/`_lat`), with repair ST_MakeValid's
   * result `_m` and the geometry before it `_before`; `geom` is what would be stored (repaired,
   * promoted to the layer's multi type). For a commit, also what commitStaged needs (StagedContent).
   */
  private checkSql(): { sql: string; bindings: string[] } {
    const attrs = this.attrs.map((a) => `s.${quoteIdent(a.name)}`);
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    const content = this.opts.commit ? stagedContentColumns(this.layer, 's', 'x.geom') : { sql: '', bindings: [] };
    return {
      sql: `CREATE UNLOGGED TABLE ${quoteIdent(this.chk)} AS
      SELECT s._i::bigint AS fid, s.code, ${attrs.join(', ')}${attrs.length ? ',' : ''} s._ref, s._ref_num, s._file,
             ST_IsEmpty(t.g) AS _empty, d.valid AS _valid, d.reason AS _reason, ST_X(d.location) AS _lon, ST_Y(d.location) AS _lat,
             ${m} AS _m, CASE WHEN ${m} IS NOT NULL THEN t.g END AS _before, x.geom${content.sql ? `, ${content.sql}` : ''}
      FROM ${this.src} s CROSS JOIN LATERAL ST_Transform(s._g, 4490) AS t(g) CROSS JOIN LATERAL ST_IsValidDetail(t.g) AS d
      CROSS JOIN LATERAL ${final} AS x(geom)`,
      bindings: content.bindings,
    };
  }

  private repairSql(g: string, valid: string): string {
    return this.opts.repair ? `CASE WHEN NOT ${valid} THEN ST_CollectionExtract(ST_MakeValid(${g}), ${this.extract}) END` : 'NULL::geometry';
  }

  /** The features the check statement fails on, each with PostgreSQL's message (a PL/pgSQL loop catching each row's error). */
  private async culprits(): Promise<CheckedRow[]> {
    const m = this.repairSql('t.g', 'd.valid');
    const final = this.layer.geometry === 'Point' ? `ST_SetSRID(COALESCE(${m}, t.g), 4490)` : `ST_Multi(COALESCE(${m}, t.g))`;
    await this.trx.raw(`
CREATE OR REPLACE FUNCTION pg_temp.onemap_import_culprits() RETURNS TABLE (i integer, message text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE r record;
BEGIN
  FOR r IN SELECT s._i, s._g FROM ${this.src} s ORDER BY s._i LOOP
    BEGIN
      PERFORM ST_IsEmpty(t.g), ST_X(d.location), ${final}${this.polygon ? `, ST_Area((${final})::geography, true)` : ''}
      FROM ST_Transform(r._g, 4490) AS t(g) CROSS JOIN LATERAL ST_IsValidDetail(t.g) AS d;
    EXCEPTION WHEN data_exception OR internal_error THEN
      i := r._i;
      message := SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END $$`);
    const { rows } = await this.trx.raw<{ rows: { i: number; message: string; ref: string | null; ref_num: boolean | null; file: number | null }[] }>(
      `SELECT c.i, c.message, s._ref AS ref, s._ref_num AS ref_num, s._file AS file FROM pg_temp.onemap_import_culprits() c JOIN ${this.src} s ON s._i = c.i ORDER BY c.i`,
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
