// The difference between two revisions of a layer: features added, removed and changed, as GeoJSON
// and as counts and areas (m²).
//
// Identity of a feature across revisions, in three steps:
//   1. same content: equal revision_feature_hash (code, attributes, geometry on a 1 mm grid: see migrations/…_revision_hash_grid.ts) on both sides
//      is the same feature, unchanged (duplicates are matched one to one). Only the rows whose
//      revision range starts or ends between the two revisions are looked at; a row valid in both
//      is unchanged by construction.
//   2. same key: of what is left, a removed and an added feature with the same value of the
//      layer's key attribute (see keyAttribute), each unique on its side, are one feature changed.
//   3. same geometry: of what is still left, a removed and an added feature with identical
//      geometry, each unique on its side, are one feature whose code or attributes changed.
// Everything else is added or removed. A key value that appears twice on one side pairs nothing
// (reported as removed + added rather than guessed).
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { featureJsonSql, readableRevision, visibleAt } from './history';
import type { Change, DiffSummary } from './schemas';

/**
 * The attribute that names a feature across revisions (parcel_no, zone_no, block_no, …): until
 * the registry has a `key` field, the layer's first required text attribute.
 */
export function keyAttribute(layer: Layer): string | undefined {
  return layer.attributes.find((a) => a.required && a.type === 'text')?.name;
}

export interface Diff {
  summary: DiffSummary;
  /** Number of changes (added + removed + changed): the features of the whole diff. */
  matched: number;
  /**
   * One page of GeoJSON Feature texts, properties._change = added | removed | changed. An added or
   * changed feature shows its state in `to`, a removed one its state in `from`; a changed one also
   * carries its state in `from` as the foreign member "before" (a Feature).
   */
  features: string[];
}

/**
 * The changes between two sides, as pairs of rows (see the top of this file). `cand` is a SELECT of
 * the rows on one side only (a row on both is unchanged), with columns id, hash, area_m2, code,
 * k (the key attribute's value), g (md5 of the geometry) and side ('removed': only on the old
 * side; 'added': only on the new one). The release comparison (releases/compare.ts) uses it too.
 */
export const pairsSql = (cand: string) => `
WITH cand AS (${cand}),
numbered AS (SELECT c.*, row_number() OVER (PARTITION BY side, hash ORDER BY id) AS n FROM cand c),
same AS (
  SELECT r.id FROM numbered r JOIN numbered a ON r.side = 'removed' AND a.side = 'added' AND a.hash = r.hash AND a.n = r.n
  UNION ALL
  SELECT a.id FROM numbered r JOIN numbered a ON r.side = 'removed' AND a.side = 'added' AND a.hash = r.hash AND a.n = r.n
),
rest AS (
  SELECT c.*, count(*) OVER (PARTITION BY side, k) AS kc FROM cand c WHERE NOT EXISTS (SELECT 1 FROM same s WHERE s.id = c.id)
),
by_key AS (
  SELECT r.id AS old_id, a.id AS new_id FROM rest r JOIN rest a
  ON r.side = 'removed' AND a.side = 'added' AND a.k = r.k AND r.kc = 1 AND a.kc = 1
),
rest2 AS (
  SELECT r.*, count(*) OVER (PARTITION BY side, g) AS gc FROM rest r
  WHERE NOT EXISTS (SELECT 1 FROM by_key b WHERE b.old_id = r.id) AND NOT EXISTS (SELECT 1 FROM by_key b WHERE b.new_id = r.id)
),
by_geom AS (
  SELECT r.id AS old_id, a.id AS new_id FROM rest2 r JOIN rest2 a
  ON r.side = 'removed' AND a.side = 'added' AND a.g = r.g AND r.gc = 1 AND a.gc = 1
),
changes AS (
  SELECT 'changed' AS change, old_id, new_id FROM by_key
  UNION ALL SELECT 'changed', old_id, new_id FROM by_geom
  UNION ALL SELECT 'removed', id, NULL FROM rest2 r WHERE side = 'removed' AND NOT EXISTS (SELECT 1 FROM by_geom b WHERE b.old_id = r.id)
  UNION ALL SELECT 'added', NULL, id FROM rest2 r WHERE side = 'added' AND NOT EXISTS (SELECT 1 FROM by_geom b WHERE b.new_id = r.id)
)
SELECT ch.change, ch.old_id, ch.new_id, o.area_m2 AS old_area, n.area_m2 AS new_area, o.code AS old_code, n.code AS new_code
FROM changes ch LEFT JOIN cand o ON o.id = ch.old_id AND o.side = 'removed' LEFT JOIN cand n ON n.id = ch.new_id AND n.side = 'added'
ORDER BY COALESCE(ch.new_id, ch.old_id)`;

/** The pairs of snapshot rows that make up a revision diff: the rows whose range starts or ends between the two revisions. */
const DIFF_SQL = pairsSql(`
  SELECT f.id, f.hash, f.area_m2, f.code, f.attrs->>?::text AS k, md5(ST_AsEWKB(f.geom)) AS g,
         CASE WHEN ${visibleAt()} THEN 'removed' ELSE 'added' END AS side
  FROM revision_features f
  WHERE f.layer_id = ? AND ${visibleAt()} <> ${visibleAt()}`);

export interface PairRow {
  change: Change;
  old_id: string | null;
  new_id: string | null;
  old_area: number | null;
  new_area: number | null;
  old_code: string | null;
  new_code: string | null;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The diff from revision `from` to revision `to` (either order; from = 0 is the empty layer before
 * its first revision), with one page of its features.
 */
export async function diffRevisions(knex: Knex, layer: Layer, from: number, to: number, page: { limit: number; offset: number }): Promise<Diff> {
  const target = await readableRevision(knex, layer, to);
  const source = from === 0 ? null : await readableRevision(knex, layer, from);
  const key = keyAttribute(layer) ?? null;
  const { rows } = await knex.raw<{ rows: PairRow[] }>(DIFF_SQL, [key, from, from, layer.id, from, from, to, to]);

  const polygon = layer.geometry === 'MultiPolygon';
  const sum = (xs: (number | null)[]) => (polygon ? round2(xs.reduce<number>((s, x) => s + (x ?? 0), 0)) : null);
  const of = (c: Change) => rows.filter((r) => r.change === c);
  const [added, removed, changed] = [of('added'), of('removed'), of('changed')];
  const summary: DiffSummary = {
    layerId: layer.id,
    from,
    to,
    key,
    added: { count: added.length, area_m2: sum(added.map((r) => r.new_area)) },
    removed: { count: removed.length, area_m2: sum(removed.map((r) => r.old_area)) },
    changed: { count: changed.length, area_before_m2: sum(changed.map((r) => r.old_area)), area_after_m2: sum(changed.map((r) => r.new_area)) },
    unchanged: { count: target.featureCount - added.length - changed.length },
    area_change_m2: polygon ? round2((target.area_m2 ?? 0) - (source?.area_m2 ?? 0)) : null,
  };

  const slice = rows.slice(page.offset, page.offset + page.limit);
  return { summary, matched: rows.length, features: slice.length ? await changeFeatures(knex, layer, slice) : [] };
}

/** GeoJSON texts of the given changes, in their order. */
async function changeFeatures(knex: Knex, layer: Layer, pairs: PairRow[]): Promise<string[]> {
  const tag = { sql: `'_change', p.change`, bindings: [] };
  const after = featureJsonSql(layer, 'n', tag);
  const before = featureJsonSql(layer, 'o', tag);
  const { rows } = await knex.raw<{ rows: { after: string | null; before: string | null }[] }>(
    `SELECT CASE WHEN n.id IS NULL THEN NULL ELSE ${after.sql}::text END AS after,
            CASE WHEN o.id IS NULL THEN NULL ELSE ${before.sql}::text END AS before
     FROM jsonb_to_recordset(?::jsonb) AS p(ord integer, change text, old_id bigint, new_id bigint)
     LEFT JOIN revision_features n ON n.id = p.new_id
     LEFT JOIN revision_features o ON o.id = p.old_id
     ORDER BY p.ord`,
    [...after.bindings, ...before.bindings, JSON.stringify(pairs.map((p, ord) => ({ ord, change: p.change, old_id: p.old_id, new_id: p.new_id })))],
  );
  return rows.map((r) => {
    if (r.after && r.before) return `${r.after.slice(0, -1)},"before":${r.before}}`;
    return (r.after ?? r.before)!;
  });
}
