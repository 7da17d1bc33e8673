// Writing a revision: the layer's whole content is replaced by the given features in ONE
// transaction that also records the revision and its snapshot. Either all of it commits or none
// of it does: a refused feature, an error or a killed process (the server ends the transaction
// when the connection drops) leaves the layer table, its history and its version as they were.
//
// The way through the transaction:
//   1. stage: the features go into a temp table shaped like the layer table (LIKE plan.<id>), in
//      batches, typed by PostgreSQL (NOT NULL and type errors stop here); no lock is held yet, so a
//      slow upload does not block anyone;
//   2. lock: LOCK TABLE plan.<id> IN SHARE ROW EXCLUSIVE MODE, which conflicts with itself and with
//      every other writer of the table but not with readers: two commits of one layer run one after
//      the other (the second sees the first's result), tiles and features keep being served from
//      the old content until the commit;
//   3. apply to the live table by content: rows whose content (revision_feature_hash: code,
//      attributes, geometry on a 1 mm grid) is not in the new set are deleted, new contents inserted.
//      Unchanged features keep their fid, the CHECK (ST_IsValid) runs on what is inserted, and the
//      statement triggers bump layer_versions (NOTIFY at commit: tile caches drop the layer) — when
//      something was inserted or deleted: an unchanged content runs neither statement and keeps its
//      version; a first delivery (an empty layer) is inserted without matching;
//   4. apply to the snapshot store the same way (revision_to closes rows that left, new rows for
//      what arrived) and record the layer_revisions row with count and total area (m²).
//
// Two ways in: commitRevision stages GeoJSON features itself (step 1, in its own transaction);
// stagedCommit takes a content the caller stages inside the caller's own transaction, in parts
// (the import pipeline COPYs a delivery into PostGIS once, checks it there and stages each part
// with its content hashes, attributes as jsonb and areas computed in parallel) and applies each
// part as it comes, while the caller reads the next; steps 2–4 are the same statements (Apply).
import type { Knex } from 'knex';
import { sqlType, type Layer } from '../layers/registry';
import { AppError } from '../platform/errors';
import { layerTable, quoteIdent } from '../platform/sql';
import { badMeta, contentNotKept, featuresRejected, layerBusy, unknownRevision } from './messages';
import type { CommitResult, RevisionKind } from './schemas';


/**
 * One feature of a new revision: a GeoJSON Feature whose geometry is in CGCS2000 (EPSG:4490),
 * longitude then latitude in degrees, and whose properties hold the class `code` and the layer's
 * attributes by registry name (other properties are ignored). Already validated by the caller
 * (structure, geometry type, validity, schema, codes): PostgreSQL refusing one here rejects the
 * whole commit. A Polygon (MultiLineString: LineString) is accepted for a multi layer and promoted.
 */
export interface RevisionFeature {
  type?: 'Feature';
  properties: { code: string; [attribute: string]: unknown };
  geometry: { type: string; [member: string]: unknown };
}

export interface CommitMeta {
  kind: Exclude<RevisionKind, 'demo' | 'restore'>;
  /** Who made the revision (user name; 'anonymous' until accounts exist). */
  createdBy: string;
  /** Why, in the user's words (shown in the history). */
  reason: string;
  /** File name the features came from (no path). */
  sourceName?: string | null;
  /** SHA-256 of that file's bytes, 64 lower-case hex digits. */
  sourceSha256?: string | null;
}

export interface CommitOptions {
  /** Features per staging statement (default 2,000: a few MB of GeoJSON per round trip). */
  batchSize?: number;
  /** How long to wait for another commit of the same layer to finish (ms, default 120,000). */
  lockTimeoutMs?: number;
}

/** Columns of every layer table that are not attributes: left out of a feature's attrs jsonb. */
const NON_ATTRIBUTE_COLUMNS = ['fid', 'code', 'geom', 'updated_at', 'area_m2'];
const NON_ATTRS = `'{${NON_ATTRIBUTE_COLUMNS.join(',')}}'::text[]`;

const STAGE = quoteIdent('revision_stage');
const STAGE_H = quoteIdent('revision_stage_h');
const LIVE_H = quoteIdent('revision_live_h');
const OPEN_H = quoteIdent('revision_open_h');

const DEFAULT_BATCH = 2_000;
const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

/**
 * Replaces a layer's content with the given features as a new revision (one transaction, see the
 * top of this file). The caller validated the features and checked that the user may write.
 * TODO(accounts): the caller must pass the authenticated user and check that they belong to the
 * layer's owning department (layer.department) or are an admin before calling this.
 */
export async function commitRevision(
  knex: Knex,
  layer: Layer,
  features: Iterable<RevisionFeature> | AsyncIterable<RevisionFeature>,
  meta: CommitMeta,
  opts: CommitOptions = {},
): Promise<CommitResult> {
  checkMeta(meta);
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw new Error(`batchSize should be an integer from 1 to 100000, got ${batchSize}`);
  return inTransaction(knex, layer, opts, async (trx) => {
    await createStage(trx, layer);
    let staged = 0;
    let batch: RevisionFeature[] = [];
    for await (const f of features) {
      batch.push(f);
      if (batch.length === batchSize) {
        await stageBatch(trx, layer, batch, staged);
        staged += batch.length;
        batch = [];
      }
    }
    if (batch.length) await stageBatch(trx, layer, batch, staged);
    return apply(trx, layer, GEOJSON_STAGE, { ...meta, restoredFrom: null });
  });
}

export interface RestoreMeta {
  createdBy: string;
  /** Default: "restore of revision r". */
  reason?: string;
}

/**
 * Makes a new revision (kind 'restore') whose content equals revision `revision`'s.
 * TODO(accounts): only the owning department or an admin may restore (checked by the caller).
 */
export async function restoreRevision(knex: Knex, layer: Layer, revision: number, meta: RestoreMeta, opts: CommitOptions = {}): Promise<CommitResult> {
  const reason = meta.reason?.trim() || `restore of revision ${revision}`;
  checkMeta({ kind: 'import', createdBy: meta.createdBy, reason });
  return inTransaction(knex, layer, opts, async (trx) => {
    const { rows } = await trx.raw<{ rows: { content_kept: boolean }[] }>('SELECT content_kept FROM layer_revisions WHERE layer_id = ? AND revision = ?', [layer.id, revision]);
    if (!rows[0]) throw unknownRevision(layer.id, revision);
    if (!rows[0].content_kept) throw contentNotKept(layer.id, revision);
    await createStage(trx, layer);
    // A revision's rows never change once a later revision exists, so no lock is needed to read them.
    const attrs = layer.attributes.map((a) => quoteIdent(a.name));
    await trx.raw(
      `INSERT INTO ${STAGE} (fid, code, ${[...attrs, 'geom'].join(', ')})
       SELECT f.id, f.code, ${attrs.map((a) => `r.${a}`).join(', ')}${attrs.length ? ',' : ''} f.geom
       FROM revision_features f CROSS JOIN LATERAL jsonb_populate_record(NULL::${STAGE}, f.attrs) r
       WHERE f.layer_id = ? AND f.revision_from <= ? AND (f.revision_to IS NULL OR f.revision_to > ?)`,
      [layer.id, revision, revision],
    );
    return apply(trx, layer, GEOJSON_STAGE, { kind: 'restore', createdBy: meta.createdBy, reason, sourceName: null, sourceSha256: null, restoredFrom: revision });
  });
}

/**
 * The new content of a layer, staged by the caller in its own transaction: a relation with one row
 * per feature: `fid` (the feature's position, its order in the new content), `code`, `geom`
 * (EPSG:4490, already the layer's geometry type, valid), and the columns stagedContentColumns()
 * computes: `_attrs` (the attributes by registry name, as jsonb; their types come back from the
 * layer's registry) and `_hash`. Other columns are ignored.
 */
export interface StagedContent {
  /** A table name or a parenthesised SELECT, as SQL text (values inlined as literals, see knex's toQuery). */
  relation: string;
}

/**
 * The SELECT list expressions that complete a staged row (see StagedContent): `attrs` (the
 * attributes as jsonb, as the snapshot store keeps them) and `hash` (the content hash the snapshot
 * store keys on), from the code and attribute columns of `alias` and the final geometry `geom` (an
 * SQL expression). Attribute names are bindings.
 */
export function stagedContentColumns(layer: Layer, alias: string, geom: string): Record<'attrs' | 'hash', { sql: string; bindings: string[] }> {
  const attrs = attrsJson(layer, alias);
  return { attrs, hash: { sql: `revision_feature_hash(${alias}.code, ${attrs.sql}, ${geom})`, bindings: attrs.bindings } };
}

/**
 * A new revision whose content the caller stages in its own transaction `trx`, in parts
 * (StagedContent tables, each part's fids above the previous part's): add() applies each part
 * as it comes (the layer is locked from the first one), finish() completes the revision. The
 * caller commits its transaction after finish(), or rolls it back on any error or second
 * thought (a killed process does too): the layer is then exactly as it was. PostgreSQL's refusals
 * come back as the same 4xx AppErrors as commitRevision's.
 * TODO(accounts): the caller checks that the user may write the layer, as for commitRevision.
 */
export interface StagedCommit {
  add(part: StagedContent): Promise<void>;
  finish(): Promise<CommitResult>;
}

/** Starts a StagedCommit: nothing happens in the database until the first add() (or finish()). */
export function stagedCommit(trx: Knex.Transaction, layer: Layer, meta: CommitMeta, opts: Pick<CommitOptions, 'lockTimeoutMs'> = {}): StagedCommit {
  checkMeta(meta);
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  let started: Promise<Apply> | undefined;
  const apply = () =>
    (started ??= (async () => {
      await trx.raw(`SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`);
      return Apply.begin(trx, layer, { ...meta, restoredFrom: null });
    })());
  const mapped = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw commitError(err, layer, lockTimeoutMs);
    }
  };
  return {
    add: (part) => mapped(async () => (await apply()).add({ table: part.relation, hashed: true })),
    finish: () => mapped(async () => (await apply()).finish()),
  };
}

function checkMeta(meta: CommitMeta) {
  if (meta.kind !== 'import' && meta.kind !== 'edit') throw badMeta('kind', "'import' or 'edit'", meta.kind);
  if (typeof meta.createdBy !== 'string' || !meta.createdBy.trim() || meta.createdBy.length > 200) throw badMeta('createdBy', 'a user name of 1–200 characters', meta.createdBy);
  if (typeof meta.reason !== 'string' || !meta.reason.trim() || meta.reason.length > 2000) throw badMeta('reason', 'a text of 1–2000 characters', meta.reason);
  if (meta.sourceName != null && (typeof meta.sourceName !== 'string' || meta.sourceName.length > 500)) throw badMeta('sourceName', 'a file name of up to 500 characters', meta.sourceName);
  if (meta.sourceSha256 != null && !/^[0-9a-f]{64}$/.test(String(meta.sourceSha256))) throw badMeta('sourceSha256', '64 lower-case hex digits', meta.sourceSha256);
}

/** The transaction of a commit, with its settings, and PostgreSQL's refusals turned into 4xx errors. */
async function inTransaction(knex: Knex, layer: Layer, opts: CommitOptions, work: (trx: Knex.Transaction) => Promise<CommitResult>): Promise<CommitResult> {
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  try {
    return await knex.transaction(async (trx) => {
      // One unit of work: a 300,000-feature layer takes longer than the per-request statement timeout.
      await trx.raw('SET LOCAL statement_timeout = 0');
      await trx.raw(`SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`);
      return work(trx);
    });
  } catch (err) {
    throw commitError(err, layer, lockTimeoutMs);
  }
}

/** PostgreSQL's refusal of a commit as the AppError to answer with (other errors as they are). */
function commitError(err: unknown, layer: Layer, lockTimeoutMs: number): unknown {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; message?: string; detail?: string };
  if (e.code === '55P03') return layerBusy(layer.id, lockTimeoutMs);
  // Class 22 (data exception: bad number, date, GeoJSON) and 23 (NOT NULL, CHECK ST_IsValid, type).
  if (typeof e.code === 'string' && /^2[23]/.test(e.code)) return featuresRejected(layer.id, pgMessage(e), e.code);
  return err;
}

/** PostgreSQL's own words (knex prefixes the whole statement to the message). */
function pgMessage(e: { message?: string; detail?: string }): string {
  const m = (e.message ?? '').split(' - ').pop() ?? '';
  return e.detail ? `${m} (${e.detail})` : m;
}

async function createStage(trx: Knex.Transaction, layer: Layer) {
  // Same columns, types and NOT NULLs as the layer table; no identity, no generated area, no CHECK.
  await trx.raw(`CREATE TEMP TABLE ${STAGE} (LIKE ${layerTable(layer.id)} INCLUDING DEFAULTS) ON COMMIT DROP`);
}

/** Geometry of a staged GeoJSON feature in EPSG:4490, promoted to the layer's multi type. */
function geometrySql(layer: Layer): string {
  const g = "ST_SetSRID(ST_GeomFromGeoJSON(e.f->'geometry'), 4490)";
  return layer.geometry === 'Point' ? g : `ST_Multi(${g})`;
}

/** Stages one batch; fid holds the feature's position in the input (its order in the new content). */
async function stageBatch(trx: Knex.Transaction, layer: Layer, batch: RevisionFeature[], offset: number) {
  const attrs = layer.attributes.map((a) => quoteIdent(a.name));
  await trx.raw(
    `INSERT INTO ${STAGE} (fid, code, ${[...attrs, 'geom'].join(', ')})
     SELECT ? + e.ord, e.f->'properties'->>'code', ${attrs.map((a) => `r.${a}`).join(', ')}${attrs.length ? ',' : ''} ${geometrySql(layer)}
     FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS e(f, ord)
     CROSS JOIN LATERAL jsonb_populate_record(NULL::${STAGE}, COALESCE(e.f->'properties', '{}') - ${NON_ATTRS}) r`,
    [offset, JSON.stringify(batch)],
  );
}

/**
 * A row's attributes as jsonb, names bound as values: the same jsonb as the capture function's
 * (migrations/…_revisions.ts), and jsonb text is canonical, so the content hashes agree.
 */
function attrsJson(layer: Layer, alias: string): { sql: string; bindings: string[] } {
  return {
    sql: `jsonb_build_object(${layer.attributes.map((a) => `?::text, ${alias}.${quoteIdent(a.name)}`).join(', ')})`,
    bindings: layer.attributes.map((a) => a.name),
  };
}

/**
 * Where the new content is: the relation (quoted, or a parenthesised SELECT), and whether it is a
 * StagedContent (_hash and _attrs, no attribute columns) rather than shaped like the layer table.
 */
interface Stage {
  table: string;
  hashed: boolean;
}
/** commitRevision's and restoreRevision's temp table: fid, code, attributes, geom. */
const GEOJSON_STAGE: Stage = { table: STAGE, hashed: false };

type ApplyMeta = { kind: RevisionKind; createdBy: string; reason: string; sourceName?: string | null; sourceSha256?: string | null; restoredFrom: number | null };

/** Steps 2–4 (see the top of this file) once the whole new content is staged. */
async function apply(trx: Knex.Transaction, layer: Layer, stage: Stage, meta: ApplyMeta): Promise<CommitResult> {
  const a = await Apply.begin(trx, layer, meta);
  await a.add(stage);
  return a.finish();
}

/**
 * Steps 2–4 of the top of this file, the new content taken in parts (each with fids above the
 * previous part's), so that a caller can apply what it has staged while it is still staging the
 * rest: begin() locks the layer and takes the content hashes of the live table and of the open
 * snapshot rows; add() inserts a part's features whose content is new (the live table and the
 * snapshot store); finish() deletes and closes what the new content no longer has and records the
 * revision. Content hashes are numbered within equal hashes across all parts, so duplicates match
 * one to one, as in one statement. Everything runs in the caller's transaction.
 */
class Apply {
  private readonly table: string;
  private readonly polygon: boolean;
  private readonly attrs: string[];
  private inserted = 0;
  private parts = 0;

  private constructor(
    private readonly trx: Knex.Transaction,
    private readonly layer: Layer,
    private readonly meta: ApplyMeta,
    private readonly revision: number,
    /** The layer table's fid identity sequence. */
    private readonly sequence: string,
  ) {
    this.table = layerTable(layer.id);
    this.polygon = layer.geometry === 'MultiPolygon';
    this.attrs = layer.attributes.map((a) => quoteIdent(a.name));
  }

  static async begin(trx: Knex.Transaction, layer: Layer, meta: ApplyMeta): Promise<Apply> {
    const table = layerTable(layer.id);
    await trx.raw(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
    const { rows } = await trx.raw<{ rows: { r: number }[] }>('SELECT COALESCE(max(revision), 0) + 1 AS r FROM layer_revisions WHERE layer_id = ?', [layer.id]);
    const seq = await trx.raw<{ rows: { s: string }[] }>(`SELECT pg_get_serial_sequence(?, 'fid') AS s`, [table]);
    const a = new Apply(trx, layer, meta, rows[0].r, seq.rows[0].s);
    // (Reading the layer table, PostgreSQL hashes in parallel.)
    const json = attrsJson(layer, 't');
    const live = await trx.raw(
      `CREATE TEMP TABLE ${LIVE_H} ON COMMIT DROP AS
       SELECT t.fid AS id, h.hash, row_number() OVER (PARTITION BY h.hash ORDER BY t.fid) AS n
       FROM ${table} t CROSS JOIN LATERAL (SELECT revision_feature_hash(t.code, ${json.sql}, t.geom) AS hash) h`,
      json.bindings,
    );
    const open = await trx.raw(
      `CREATE TEMP TABLE ${OPEN_H} ON COMMIT DROP AS
       SELECT id, hash, row_number() OVER (PARTITION BY hash ORDER BY id) AS n FROM revision_features WHERE layer_id = ? AND revision_to IS NULL`,
      [layer.id],
    );
    await trx.raw(`CREATE TEMP TABLE ${STAGE_H} (id bigint NOT NULL, hash uuid NOT NULL, n bigint NOT NULL) ON COMMIT DROP`);
    for (const t of [LIVE_H, OPEN_H]) await trx.raw(`ANALYZE ${t}`);
    a.empty = live.rowCount === 0 && open.rowCount === 0;
    return a;
  }

  /**
   * Neither the live table nor the snapshot store has a feature of the layer (a first delivery):
   * every staged feature is new, so a part that carries its hashes goes in without being matched.
   */
  private empty = false;

  /** Inserts a part of the new content (its fids above every earlier part's) whose content the live table (snapshot store) does not have. */
  async add(stage: Stage): Promise<void> {
    const { trx, table, attrs } = this;
    if (this.empty && stage.hashed) return this.addAll(stage);
    const json = attrsJson(this.layer, 's');
    const part = quoteIdent(`revision_part_h${this.parts++}`);
    // The part's hashes, numbered on from the earlier parts' equal hashes (rarely any).
    if (stage.hashed) {
      await trx.raw(`CREATE TEMP TABLE ${part} ON COMMIT DROP AS SELECT s.fid AS id, s._hash AS hash, row_number() OVER (PARTITION BY s._hash ORDER BY s.fid) AS n FROM ${stage.table} s`);
    } else {
      await trx.raw(
        `CREATE TEMP TABLE ${part} ON COMMIT DROP AS
         SELECT s.fid AS id, h.hash, row_number() OVER (PARTITION BY h.hash ORDER BY s.fid) AS n
         FROM ${stage.table} s CROSS JOIN LATERAL (SELECT revision_feature_hash(s.code, ${json.sql}, s.geom) AS hash) h`,
        json.bindings,
      );
    }
    if (this.parts > 1) {
      await trx.raw(
        `UPDATE ${part} p SET n = p.n + e.k
         FROM (SELECT hash, count(*) AS k FROM ${STAGE_H} WHERE hash IN (SELECT hash FROM ${part}) GROUP BY hash) e WHERE e.hash = p.hash`,
      );
    }
    await trx.raw(`INSERT INTO ${STAGE_H} SELECT id, hash, n FROM ${part}`);
    await trx.raw(`ANALYZE ${part}`);

    // The features new to the live table get their fids from its identity now, in the order of
    // the new content, so that their snapshot rows can take the area the layer table computes
    // (area_m2 is a generated column: computed once, not twice).
    const fresh = quoteIdent(`revision_part_new${this.parts - 1}`);
    const made = await trx.raw(
      `CREATE TEMP TABLE ${fresh} ON COMMIT DROP AS
       SELECT q.id, nextval(?::regclass) AS fid FROM (SELECT h.id FROM ${part} h WHERE ${notIn('h', LIVE_H)} ORDER BY h.id) q`,
      [this.sequence],
    );
    const [attrsSql, bindings] = stage.hashed ? ['s._attrs', []] : [json.sql, json.bindings];
    const row = this.layerColumns(stage);
    // No INSERT statement at all when nothing is new to the live table: its statement trigger would
    // bump the layer's data version (tile caches, ETags, conflict runs) for an unchanged content.
    const { rows } = await trx.raw<{ rows: { inserted: number }[] }>(
      `WITH live AS (
         ${made.rowCount === 0 ? `SELECT NULL::bigint AS fid, NULL::double precision AS area_m2 WHERE false` : `INSERT INTO ${table} (${['fid', 'code', ...attrs, 'geom'].join(', ')})
         SELECT f.fid, ${row.columns}
         FROM ${fresh} f JOIN ${stage.table} s ON s.fid = f.id${row.lateral} ORDER BY f.fid
         RETURNING fid${this.polygon ? ', area_m2' : ''}`}
       ), snapshot AS (
         INSERT INTO revision_features (layer_id, revision_from, hash, code, attrs, geom, area_m2)
         SELECT ?, ?, h.hash, s.code, ${attrsSql}, s.geom, ${this.polygon ? 'COALESCE(l.area_m2, ST_Area(s.geom::geography, true))' : 'NULL'}
         FROM ${stage.table} s JOIN ${part} h ON h.id = s.fid LEFT JOIN ${fresh} f ON f.id = s.fid LEFT JOIN live l ON l.fid = f.fid
         WHERE ${notIn('h', OPEN_H)} ORDER BY s.fid
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM live)::int AS inserted, (SELECT count(*) FROM snapshot)::int AS snapshot`,
      [this.layer.id, this.revision, ...bindings],
    );
    this.inserted += rows[0].inserted;
    await trx.raw(`DROP TABLE ${part}, ${fresh}`);
  }

  /**
   * A stage's rows as the layer table's columns (code, the attributes in registry order, geom) of
   * the stage's alias `s`; a StagedContent's attributes come out of its jsonb, typed as the registry says.
   */
  private layerColumns(stage: Stage): { columns: string; lateral: string } {
    if (!stage.hashed || !this.layer.attributes.length) return { columns: ['code', ...this.attrs, 'geom'].map((c) => `s.${c}`).join(', '), lateral: '' };
    const typed = this.layer.attributes.map((a) => `${quoteIdent(a.name)} ${sqlType[a.type]}`);
    return {
      columns: ['s.code', ...this.attrs.map((c) => `a.${c}`), 's.geom'].join(', '),
      lateral: ` CROSS JOIN LATERAL jsonb_to_record(s._attrs) AS a(${typed.join(', ')})`,
    };
  }

  /**
   * add() for a first delivery (`empty`): every feature of the part goes into the live table and
   * the snapshot store, in one statement, with no matching. The part's fids (the staged order,
   * consecutive within a part) map onto a block of the identity sequence taken at once, so each
   * snapshot row finds the area its live row computed by fid.
   */
  private async addAll(stage: Stage): Promise<void> {
    const { trx, table, attrs } = this;
    this.parts++;
    const { rows: span } = await trx.raw<{ rows: { lo: string | null; n: string }[] }>(`SELECT min(s.fid) AS lo, max(s.fid) - min(s.fid) + 1 AS n FROM ${stage.table} s`);
    if (span[0].lo === null) return;
    const { rows: block } = await trx.raw<{ rows: { base: string }[] }>('SELECT nextval(?::regclass) AS base', [this.sequence]);
    const base = Number(block[0].base);
    const n = Number(span[0].n);
    if (n > 1) await trx.raw('SELECT setval(?::regclass, ?)', [this.sequence, base + n - 1]);
    const offset = base - Number(span[0].lo);
    const row = this.layerColumns(stage);
    const { rows } = await trx.raw<{ rows: { inserted: number }[] }>(
      `WITH live AS (
         INSERT INTO ${table} (${['fid', 'code', ...attrs, 'geom'].join(', ')})
         SELECT s.fid + ?::bigint, ${row.columns}
         FROM ${stage.table} s${row.lateral} ORDER BY s.fid
         RETURNING fid${this.polygon ? ', area_m2' : ''}
       ), snapshot AS (
         INSERT INTO revision_features (layer_id, revision_from, hash, code, attrs, geom, area_m2)
         SELECT ?, ?, s._hash, s.code, s._attrs, s.geom, ${this.polygon ? 'l.area_m2' : 'NULL'}
         FROM ${stage.table} s JOIN live l ON l.fid = s.fid + ?::bigint ORDER BY s.fid
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM live)::int AS inserted, (SELECT count(*) FROM snapshot)::int AS snapshot`,
      [offset, this.layer.id, this.revision, offset],
    );
    this.inserted += rows[0].inserted;
  }

  /** Deletes (closes) what the new content no longer has, records the revision, and says what was done. */
  async finish(): Promise<CommitResult> {
    const { trx, table, revision, meta, layer } = this;
    await trx.raw(`ANALYZE ${STAGE_H}`);
    // (Likewise no DELETE statement when nothing leaves.)
    const gone = quoteIdent('revision_gone');
    const left = await trx.raw(`CREATE TEMP TABLE ${gone} ON COMMIT DROP AS SELECT l.id FROM ${LIVE_H} l WHERE ${notIn('l', STAGE_H)}`);
    const del = left.rowCount ? await trx.raw(`DELETE FROM ${table} WHERE fid IN (SELECT id FROM ${gone})`) : { rowCount: 0 };
    await trx.raw(`UPDATE revision_features SET revision_to = ? WHERE id IN (SELECT p.id FROM ${OPEN_H} p WHERE ${notIn('p', STAGE_H)})`, [revision]);
    const { rows } = await trx.raw<{ rows: { feature_count: number; area_m2: number | null; created_at: Date }[] }>(
      `INSERT INTO layer_revisions (layer_id, revision, kind, reason, created_by, source_name, source_sha256, restored_from, feature_count, area_m2)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, count(*), ${this.polygon ? 'sum(area_m2)' : 'NULL'} FROM ${table}
       RETURNING feature_count, area_m2, created_at`,
      [layer.id, revision, meta.kind, meta.reason, meta.createdBy, meta.sourceName ?? null, meta.sourceSha256 ?? null, meta.restoredFrom],
    );
    const version = await trx('layer_versions').where('layer_id', layer.id).first<{ version: string } | undefined>('version');
    return {
      layerId: layer.id,
      revision,
      featureCount: rows[0].feature_count,
      area_m2: rows[0].area_m2,
      inserted: this.inserted,
      deleted: del.rowCount ?? 0,
      unchanged: rows[0].feature_count - this.inserted,
      dataVersion: Number(version?.version ?? 0),
      createdAt: rows[0].created_at.toISOString(),
    };
  }
}

/** The rows of `side` whose content (hash, number among equal hashes) is not in `other`. */
const notIn = (side: string, other: string) => `NOT EXISTS (SELECT 1 FROM ${other} o WHERE o.hash = ${side}.hash AND o.n = ${side}.n)`;
