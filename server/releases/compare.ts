// Comparing two releases, or a release and the working data (对比分析): per layer the features
// added, removed and changed (counts and 公顷), the area per class on each side, the net change of
// the key totals (layers/release-totals.json: basic farmland, construction land, red line, parks),
// and the open conflict cases gained and lost. A feature's identity across the two sides is the
// revision diff's (revisions/diff.ts): the same snapshot row, the same content, the same key
// attribute, or the same geometry.
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { z } from 'zod';
import { OPEN_STATUSES } from '../conflicts/vocabulary';
import type { Layer, Registry } from '../layers/registry';
import { PROJECT_ROOT } from '../platform/config';
import { badRequest, notFound } from '../platform/errors';
import { keyAttribute, type PairRow, pairsSql } from '../revisions/diff';
import { featureJsonSql } from '../revisions/history';
import type { StoredRelease } from './store';

/** One side of a comparison: a release, or the working layers at their current revisions. */
export type Side = { kind: 'release'; release: StoredRelease } | { kind: 'working'; revisions: Map<string, number>; registry: Registry };

const TotalSchema = z
  .object({ id: z.string(), zh: z.string(), en: z.string(), layer: z.string(), codes: z.array(z.string()).optional(), construction: z.boolean().optional() })
  .strict();
export type KeyTotal = z.infer<typeof TotalSchema>;

/** The key totals of layers/release-totals.json, checked against the registry. */
export function loadKeyTotals(registry: Registry, file = path.join(PROJECT_ROOT, 'layers', 'release-totals.json')): KeyTotal[] {
  const totals = z.object({ $comment: z.string().optional(), totals: z.array(TotalSchema) }).parse(JSON.parse(fs.readFileSync(file, 'utf8'))).totals;
  for (const t of totals) {
    const layer = registry.byId.get(t.layer);
    if (!layer) throw new Error(`release-totals.json: total '${t.id}': layer '${t.layer}' is not in the registry`);
    for (const c of t.codes ?? []) if (!layer.classification.classes.some((k) => k.code === c)) throw new Error(`release-totals.json: total '${t.id}': class '${c}' is not a class of '${t.layer}'`);
  }
  return totals;
}

/** The working side: every delivered layer at its current revision. */
export async function workingSide(knex: Knex, registry: Registry): Promise<Side> {
  const { rows } = await knex.raw<{ rows: { layer_id: string; revision: number }[] }>('SELECT layer_id, max(revision) AS revision FROM layer_revisions GROUP BY layer_id');
  const delivered = new Set(registry.delivered.map((l) => l.id));
  return { kind: 'working', revisions: new Map(rows.filter((r) => delivered.has(r.layer_id)).map((r) => [r.layer_id, r.revision])), registry };
}

const sideLayers = (s: Side): Map<string, { layer: Layer; revision: number }> =>
  s.kind === 'release'
    ? new Map(s.release.layers.map((l) => [l.layer_id, { layer: s.release.registry.get(l.layer_id)!, revision: l.revision }]))
    : new Map([...s.revisions].map(([id, revision]) => [id, { layer: s.registry.byId.get(id)!, revision }]));

/** A side's rows of one layer as SQL (columns id, hash, code, attrs, geom, area_m2) with its bindings; none when the side lacks the layer. */
function rowsOf(s: Side, layerId: string, revision: number | undefined): { sql: string; bindings: Knex.Value[] } {
  if (revision === undefined) return { sql: 'SELECT NULL::bigint AS id, NULL::uuid AS hash, NULL::text AS code, NULL::jsonb AS attrs, NULL::geometry AS geom, NULL::float8 AS area_m2 WHERE false', bindings: [] };
  if (s.kind === 'release') return { sql: 'SELECT fid AS id, hash, code, attrs, geom, area_m2 FROM release_features WHERE release = ? AND layer_id = ?', bindings: [s.release.row.number, layerId] };
  return {
    sql: 'SELECT id, hash, code, attrs, geom, area_m2 FROM revision_features WHERE layer_id = ? AND revision_from <= ? AND (revision_to IS NULL OR revision_to > ?)',
    bindings: [layerId, revision, revision],
  };
}

const ha = (m2: number | null | undefined) => Math.round(((m2 ?? 0) / 10_000) * 10_000) / 10_000;

export interface LayerComparison {
  layerId: string;
  title: string;
  fromRevision: number | null;
  toRevision: number | null;
  added: { count: number; area_ha: number | null };
  removed: { count: number; area_ha: number | null };
  changed: { count: number; area_before_ha: number | null; area_after_ha: number | null };
  unchanged: number;
  byClass: { code: string; zh: string; color: string; from_ha: number; to_ha: number; change_ha: number }[];
}

/** The changes of one layer between two sides: the pairs, and the statement parts that produced them. */
async function layerPairs(knex: Knex, from: Side, to: Side, layer: Layer, fromRev: number | undefined, toRev: number | undefined): Promise<PairRow[]> {
  const a = rowsOf(from, layer.id, fromRev);
  const b = rowsOf(to, layer.id, toRev);
  const key = keyAttribute(layer) ?? null;
  // A row on both sides (the same snapshot row: same content) is unchanged; the rest are candidates.
  const cand = `
    SELECT a.id, a.hash, a.area_m2, a.code, a.attrs->>?::text AS k, md5(ST_AsEWKB(a.geom)) AS g, 'removed' AS side
    FROM (${a.sql}) a WHERE NOT EXISTS (SELECT 1 FROM (${b.sql}) b WHERE b.id = a.id)
    UNION ALL
    SELECT b.id, b.hash, b.area_m2, b.code, b.attrs->>?::text AS k, md5(ST_AsEWKB(b.geom)) AS g, 'added' AS side
    FROM (${b.sql}) b WHERE NOT EXISTS (SELECT 1 FROM (${a.sql}) a WHERE a.id = b.id)`;
  const { rows } = await knex.raw<{ rows: PairRow[] }>(pairsSql(cand), [key, ...a.bindings, ...b.bindings, key, ...b.bindings, ...a.bindings]);
  return rows;
}

/** Area per class of one side's layer (m²). */
async function classAreas(knex: Knex, s: Side, layerId: string, revision: number | undefined): Promise<Map<string, number>> {
  const r = rowsOf(s, layerId, revision);
  const { rows } = await knex.raw<{ rows: { code: string; a: number | null }[] }>(`SELECT code, sum(area_m2) AS a FROM (${r.sql}) t GROUP BY code`, r.bindings);
  return new Map(rows.map((x) => [x.code, x.a ?? 0]));
}

/** Open conflict cases of a side: a release's recorded ones, or the ledger's now. */
async function openCases(knex: Knex, s: Side) {
  const { rows } = s.kind === 'release'
    ? await knex.raw<{ rows: { case_id: string; rule_id: string; adcode: string; area_m2: number }[] }>('SELECT case_id, rule_id, adcode, area_m2 FROM release_conflicts WHERE release = ?', [s.release.row.number])
    : await knex.raw<{ rows: { case_id: string; rule_id: string; adcode: string; area_m2: number }[] }>('SELECT id AS case_id, rule_id, adcode, COALESCE(last_area_m2, 0) AS area_m2 FROM conflict_cases WHERE status = ANY (?::text[])', [[...OPEN_STATUSES]]);
  return new Map(rows.map((r) => [r.case_id, r]));
}

export interface Comparison {
  layers: LayerComparison[];
  totals: { id: string; zh: string; layerId: string; from_ha: number; to_ha: number; change_ha: number }[];
  conflicts: { gainedCount: number; lostCount: number; gained: CaseRef[]; lost: CaseRef[] };
}
type CaseRef = { caseId: string; ruleId: string; adcode: string; area_m2: number };

/** The whole comparison from one side to the other. */
export async function compare(knex: Knex, from: Side, to: Side, totals: KeyTotal[]): Promise<Comparison> {
  const fromLayers = sideLayers(from);
  const toLayers = sideLayers(to);
  const ids = [...new Set([...fromLayers.keys(), ...toLayers.keys()])];
  const layers: LayerComparison[] = [];
  const areas = new Map<string, { from: Map<string, number>; to: Map<string, number> }>();
  for (const id of ids) {
    const f = fromLayers.get(id);
    const t = toLayers.get(id);
    const layer = (t ?? f)!.layer;
    const polygon = layer.geometry === 'MultiPolygon';
    const [pairs, fromAreas, toAreas, counts] = await Promise.all([
      layerPairs(knex, from, to, layer, f?.revision, t?.revision),
      classAreas(knex, from, id, f?.revision),
      classAreas(knex, to, id, t?.revision),
      countOf(knex, to, id, t?.revision),
    ]);
    areas.set(id, { from: fromAreas, to: toAreas });
    const of = (c: string) => pairs.filter((p) => p.change === c);
    const sum = (xs: (number | null)[]) => (polygon ? ha(xs.reduce<number>((s, x) => s + (x ?? 0), 0)) : null);
    const [added, removed, changed] = [of('added'), of('removed'), of('changed')];
    const codes = [...new Set([...fromAreas.keys(), ...toAreas.keys()])];
    layers.push({
      layerId: id,
      title: layer.title.zh,
      fromRevision: f?.revision ?? null,
      toRevision: t?.revision ?? null,
      added: { count: added.length, area_ha: sum(added.map((p) => p.new_area)) },
      removed: { count: removed.length, area_ha: sum(removed.map((p) => p.old_area)) },
      changed: { count: changed.length, area_before_ha: sum(changed.map((p) => p.old_area)), area_after_ha: sum(changed.map((p) => p.new_area)) },
      unchanged: counts - added.length - changed.length,
      byClass: polygon
        ? layer.classification.classes
            .filter((c) => codes.includes(c.code))
            .map((c) => ({ code: c.code, zh: c.zh, color: c.color, from_ha: ha(fromAreas.get(c.code)), to_ha: ha(toAreas.get(c.code)), change_ha: ha((toAreas.get(c.code) ?? 0) - (fromAreas.get(c.code) ?? 0)) }))
            .filter((c) => c.from_ha !== 0 || c.to_ha !== 0)
        : [],
    });
  }
  const keyTotals = totals
    .filter((t) => areas.has(t.layer))
    .map((t) => {
      const layer = (toLayers.get(t.layer) ?? fromLayers.get(t.layer))!.layer;
      const codes = t.codes ?? layer.classification.classes.filter((c) => !t.construction || c.construction).map((c) => c.code);
      const total = (m: Map<string, number>) => codes.reduce((s, c) => s + (m.get(c) ?? 0), 0);
      const a = areas.get(t.layer)!;
      return { id: t.id, zh: t.zh, layerId: t.layer, from_ha: ha(total(a.from)), to_ha: ha(total(a.to)), change_ha: ha(total(a.to) - total(a.from)) };
    });
  const [fromCases, toCases] = await Promise.all([openCases(knex, from), openCases(knex, to)]);
  const ref = (r: { case_id: string; rule_id: string; adcode: string; area_m2: number }): CaseRef => ({ caseId: r.case_id, ruleId: r.rule_id, adcode: r.adcode, area_m2: Math.round(r.area_m2 * 100) / 100 });
  const gained = [...toCases.values()].filter((c) => !fromCases.has(c.case_id)).map(ref);
  const lost = [...fromCases.values()].filter((c) => !toCases.has(c.case_id)).map(ref);
  return { layers, totals: keyTotals, conflicts: { gainedCount: gained.length, lostCount: lost.length, gained, lost } };
}

async function countOf(knex: Knex, s: Side, layerId: string, revision: number | undefined): Promise<number> {
  if (revision === undefined) return 0;
  const r = rowsOf(s, layerId, revision);
  const { rows } = await knex.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM (${r.sql}) t`, r.bindings);
  return rows[0].n;
}

/**
 * The changed features of one layer as GeoJSON Feature texts (properties._change: added, removed or
 * changed; an added or changed one in its new state, a removed one in its old), one page of them.
 */
export async function changedFeatures(knex: Knex, from: Side, to: Side, layerId: string, page: { limit: number; offset: number }): Promise<{ features: string[]; matched: number }> {
  const f = sideLayers(from).get(layerId);
  const t = sideLayers(to).get(layerId);
  if (!f && !t) throw notFound('unknown_collection', `neither side of the comparison has layer '${layerId}'`, { parameter: 'layer', layerId });
  const layer = (t ?? f)!.layer;
  const pairs = await layerPairs(knex, from, to, layer, f?.revision, t?.revision);
  const slice = pairs.slice(page.offset, page.offset + page.limit);
  if (!slice.length) return { features: [], matched: pairs.length };
  const a = rowsOf(from, layerId, f?.revision);
  const b = rowsOf(to, layerId, t?.revision);
  const tag = { sql: `'_change', p.change`, bindings: [] };
  const json = featureJsonSql(layer, 'x', tag);
  // Each change's row: the new side's for added and changed, the old side's for removed.
  const { rows } = await knex.raw<{ rows: { feature: string }[] }>(
    `SELECT ${json.sql}::text AS feature
     FROM jsonb_to_recordset(?::jsonb) AS p(ord integer, change text, old_id bigint, new_id bigint)
     CROSS JOIN LATERAL (
       SELECT * FROM (${b.sql}) n WHERE n.id = p.new_id
       UNION ALL
       SELECT * FROM (${a.sql}) o WHERE p.new_id IS NULL AND o.id = p.old_id
     ) x
     ORDER BY p.ord`,
    [...json.bindings, JSON.stringify(slice.map((p, ord) => ({ ord, change: p.change, old_id: p.old_id, new_id: p.new_id }))), ...b.bindings, ...a.bindings],
  );
  return { features: rows.map((r) => r.feature), matched: pairs.length };
}

/** A release compared with itself says nothing: 400 same_release. */
export function checkDistinct(n: number, withWhat: number | 'working') {
  if (withWhat === n) throw badRequest('same_release', `release ${n} compared with itself has no differences; give another release or 'working'`, { parameter: 'with' });
}
