// Applying a layer's new content, once it is staged, as a revision (steps 2–4 of commit.ts): the
// layer locked against other commits (not readers), the live table and the snapshot store changed
// by content (what is new inserted, what left deleted or closed; unchanged features keep their fid
// and snapshot row), and the revision recorded with its count and total area. The content may come
// in parts while the caller stages the rest (an import). Everything runs in the caller's transaction.
import type { Knex } from 'knex';
import { sqlType, type Layer } from '../layers/registry';
import { layerTable, quoteIdent } from '../platform/sql';
import type { CommitResult, RevisionKind } from './schemas';

const STAGE_H = quoteIdent('revision_stage_h');
const LIVE_H = quoteIdent('revision_live_h');
const OPEN_H = quoteIdent('revision_open_h');

/**
 * Where the new content is: the relation (quoted, or a parenthesised SELECT), and whether it is a
 * StagedContent (_hash and _attrs, no attribute columns) rather than shaped like the layer table.
 */
export interface Stage {
  table: string;
  hashed: boolean;
}
/** What the revision records. */
export type ApplyMeta = { kind: RevisionKind; createdBy: string; reason: string; sourceName?: string | null; sourceSha256?: string | null; restoredFrom: number | null };

/**
 * A row's attributes as jsonb, names bound as values: the same jsonb as the capture function's
 * (migrations/…_revisions.ts), and jsonb text is canonical, so the content hashes agree.
 */
export function attrsJson(layer: Layer, alias: string): { sql: string; bindings: string[] } {
  return {
    sql: `jsonb_build_object(${layer.attributes.map((a) => `?::text, ${alias}.${quoteIdent(a.name)}`).join(', ')})`,
    bindings: layer.attributes.map((a) => a.name),
  };
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
export class Apply {
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
