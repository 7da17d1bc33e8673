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
// part as it comes, while the caller reads the next; steps 2–4 are the same statements (apply.ts).
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { AppError } from '../platform/errors';
import { layerTable, quoteIdent } from '../platform/sql';
import { Apply, attrsJson, type ApplyMeta, type Stage } from './apply';
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

const DEFAULT_BATCH = 2_000;
const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

/**
 * Replaces a layer's content with the given features as a new revision (one transaction, see the
 * top of this file). The caller validated the features, passes the authenticated account, and has
 * checked that it may write the layer (layerWrite in accounts/needs.ts: a plan_editor of the layer's
 * owning department, or an admin).
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
 * Only the owning department's plan editor or an admin may restore (layerWrite, checked by the caller).
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
 * The caller has checked that the account may write the layer (layerWrite), as for commitRevision.
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

/** commitRevision's and restoreRevision's temp table: fid, code, attributes, geom. */
const GEOJSON_STAGE: Stage = { table: STAGE, hashed: false };

/** Steps 2–4 (see the top of this file) once the whole new content is staged. */
async function apply(trx: Knex.Transaction, layer: Layer, stage: Stage, meta: ApplyMeta): Promise<CommitResult> {
  const a = await Apply.begin(trx, layer, meta);
  await a.add(stage);
  return a.finish();
}
