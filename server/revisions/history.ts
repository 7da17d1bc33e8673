// Reading the history: a layer's revisions, and any revision's features from the snapshot store
// (revision_features, see migrations/20261127000001_revisions.ts), as GeoJSON built in PostGIS.
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import type { RevisionKind, RevisionRecord } from './schemas';
import { contentNotKept, unknownRevision } from './messages';

interface RevisionRow {
  revision: number;
  kind: RevisionKind;
  created_at: Date;
  created_by: string | null;
  reason: string;
  source_name: string | null;
  source_sha256: string | null;
  restored_from: number | null;
  feature_count: number;
  area_m2: number | null;
  content_kept: boolean;
  current: boolean;
}

const REVISION_COLUMNS = `revision, kind, created_at, created_by, reason, source_name, source_sha256, restored_from, feature_count, area_m2, content_kept,
  revision = max(revision) OVER () AS current`;

const toRecord = (r: RevisionRow): RevisionRecord => ({
  revision: r.revision,
  kind: r.kind,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  reason: r.reason,
  sourceName: r.source_name,
  sourceSha256: r.source_sha256,
  restoredFrom: r.restored_from,
  featureCount: r.feature_count,
  area_m2: r.area_m2 === null ? null : Math.round(r.area_m2 * 100) / 100,
  contentKept: r.content_kept,
  current: r.current,
});

/** Every revision of a layer, oldest first. */
export async function listRevisions(knex: Knex, layer: Layer): Promise<RevisionRecord[]> {
  const { rows } = await knex.raw<{ rows: RevisionRow[] }>(`SELECT ${REVISION_COLUMNS} FROM layer_revisions WHERE layer_id = ? ORDER BY revision`, [layer.id]);
  return rows.map(toRecord);
}

/** One revision of a layer; a 404 error when it does not exist. */
export async function getRevision(knex: Knex, layer: Layer, revision: number): Promise<RevisionRecord> {
  const { rows } = await knex.raw<{ rows: RevisionRow[] }>(
    `SELECT * FROM (SELECT ${REVISION_COLUMNS} FROM layer_revisions WHERE layer_id = ?) r WHERE revision = ?`,
    [layer.id, revision],
  );
  if (!rows[0]) throw unknownRevision(layer.id, revision);
  return toRecord(rows[0]);
}

/** A revision whose content can be read (exists and was kept); 404 errors otherwise. */
export async function readableRevision(knex: Knex, layer: Layer, revision: number): Promise<RevisionRecord> {
  const r = await getRevision(knex, layer, revision);
  if (!r.contentKept) throw contentNotKept(layer.id, revision);
  return r;
}

/** SQL condition: snapshot row `f` belongs to the revision bound at `?` (binds it twice). */
export const visibleAt = (f = 'f') => `(${f}.revision_from <= ? AND (${f}.revision_to IS NULL OR ${f}.revision_to > ?))`;

/**
 * SELECT expression producing one GeoJSON Feature text per snapshot row `f`: id = the snapshot
 * row's id (the same for a feature as long as it is unchanged), geometry in EPSG:4490 lon/lat
 * (9 decimals, 0.1 mm), properties in registry order with area_m2 (m², 2 decimals) for polygons.
 * Attribute names are bound as values, like everything else.
 */
export function featureJsonSql(layer: Layer, f = 'f', extra: { sql: string; bindings: Knex.Value[] } = { sql: '', bindings: [] }) {
  const props = [`'code', ${f}.code`, ...layer.attributes.map(() => `?::text, ${f}.attrs->?`)];
  if (layer.geometry === 'MultiPolygon') props.push(`'area_m2', round(${f}.area_m2::numeric, 2)`);
  return {
    sql: `json_build_object('type', 'Feature', 'id', ${f}.id, 'geometry', ST_AsGeoJSON(${f}.geom, 9)::json,
      'properties', json_build_object(${props.join(', ')}${extra.sql ? `, ${extra.sql}` : ''}))`,
    bindings: [...layer.attributes.flatMap((a) => [a.name, a.name]), ...extra.bindings],
  };
}

/** One page of a revision's features (GeoJSON Feature texts, in id order) and how many it has. */
export async function revisionFeatures(knex: Knex, layer: Layer, revision: number, page: { limit: number; offset: number }): Promise<{ features: string[]; matched: number }> {
  await readableRevision(knex, layer, revision);
  const json = featureJsonSql(layer);
  const [rows, count] = await Promise.all([
    knex.raw<{ rows: { feature: string }[] }>(
      `SELECT ${json.sql}::text AS feature FROM revision_features f WHERE f.layer_id = ? AND ${visibleAt()} ORDER BY f.id LIMIT ? OFFSET ?`,
      [...json.bindings, layer.id, revision, revision, page.limit, page.offset],
    ),
    knex.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM revision_features f WHERE f.layer_id = ? AND ${visibleAt()}`, [layer.id, revision, revision]),
  ]);
  return { features: rows.rows.map((r) => r.feature), matched: count.rows[0].n };
}
