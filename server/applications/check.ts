// The automatic compliance check (合规性审查) of a site against every plan, in PostGIS:
//   - per plan layer, the classes the site touches with their ellipsoidal area and share of the site
//     (pieces of the same class unioned first, so overlapping features are not counted twice);
//   - every conflict rule the site breaks given its project type (the site stands in for one side
//     of the rule, e.g. a PV site for pv_sites in pv_on_basic_farmland), with the overlap's area;
//     overlaps below the rule's minimum mapped area are listed as slivers and break nothing;
//   - the sensitive zones it touches (subsidence, red line, water source, …) and whose they are;
//   - a verdict per layer, per plan and overall; the departments the application goes to.
// The check records the revision of every layer it read, so the report stays what it was after the
// plans change.
import type { Knex } from 'knex';
import { areaFigures, M2_PER_HA } from '../layers/area';
import type { Layer, Registry } from '../layers/registry';
import { layerTable } from '../platform/sql';
import type { Check, CheckClass, CheckLayer, CheckRule, CheckAlert, Routing } from './schemas';
import type { ProjectType, ProjectTypes } from './types';
import { WINDOW_DEPARTMENT, worstVerdict as worst, zhOf, VERDICTS, type FindingKind, type Verdict } from './vocabulary';

export type { Check } from './schemas';

/** An alert counts from this much overlap (m²): less is the noise of boundaries drawn twice. */
export const ALERT_MIN_M2 = 1;
/** Share of the covered part on conforming classes below which a layer needs review (DOMAIN: ≥ 0.9 reads as inside). */
export const CONFORMS_MIN_SHARE = 0.9;
/** Groups whose layers are not plans to check a site against. */
const NOT_CHECKED = new Set(['base', 'conflicts']);

/** Areas as the check reports them (m², 公顷, 亩). */
type Area = Check['site'];
const areas = (m2: number): Area => areaFigures(m2) as Area;
/** Overlap geometries (EWKB hex) of the rules broken and the alerts touched, stored for the map. */
export interface Finding { kind: FindingKind; ref: string; ewkb: string; area_m2: number }

const SITE = 'ST_GeomFromEWKB(decode(:site, \'hex\'))';
/**
 * The features a check reads from a layer: its current content, or (to reproduce an earlier check)
 * the content of a recorded revision from the snapshot store, bound as :layer and :rev.
 */
const sourceSql = (layer: Layer, asOf: boolean) =>
  asOf
    ? `(SELECT code, geom FROM revision_features WHERE layer_id = :layer AND revision_from <= :rev AND (revision_to IS NULL OR revision_to > :rev))`
    : layerTable(layer.id);
/** The part of the site covered by the selected features of a layer, as a polygonal geometry. */
const overlapSql = (layer: Layer, asOf: boolean) =>
  `SELECT ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(ST_CollectionExtract(ST_Intersection(f.geom, s.g), 3))), 3)) AS g
     FROM ${sourceSql(layer, asOf)} f, (SELECT ${SITE} AS g) s
    WHERE f.geom && s.g AND ST_Intersects(f.geom, s.g) AND f.code IN (SELECT jsonb_array_elements_text(:codes::jsonb))`;

/**
 * Runs the check of a site (EWKB hex, EPSG:4490) for a project type; read-only. With `asOf` (the
 * revisions an earlier check recorded) it reads those revisions from the snapshot store instead of
 * the current content, which reproduces that check.
 */
export async function checkSite(
  knex: Knex,
  registry: Registry,
  types: ProjectTypes,
  type: ProjectType,
  site: { ewkb: string; area_m2: number },
  asOf?: Record<string, number | null>,
): Promise<{ check: Check; findings: Finding[] }> {
  const layers = registry.delivered.filter((l) => l.geometry === 'MultiPolygon' && !NOT_CHECKED.has(l.group) && (!asOf || l.id in asOf));
  const revisions: Record<string, number | null> = {};
  if (asOf) Object.assign(revisions, Object.fromEntries(layers.map((l) => [l.id, asOf[l.id]])));
  else {
    const { rows: revs } = await knex.raw<{ rows: { layer_id: string; revision: number }[] }>(
      'SELECT layer_id, max(revision) AS revision FROM layer_revisions WHERE layer_id IN (SELECT jsonb_array_elements_text(?::jsonb)) GROUP BY layer_id',
      [JSON.stringify(layers.map((l) => l.id))],
    );
    for (const l of layers) revisions[l.id] = revs.find((r) => r.layer_id === l.id)?.revision ?? null;
  }
  // A layer read as of a revision: bound as :layer and :rev (a layer without any revision then reads nothing).
  const at = (layer: Layer) => (asOf ? { layer: layer.id, rev: revisions[layer.id] ?? 0 } : {});
  const share = (m2: number) => Math.round((m2 / site.area_m2) * 1e6) / 1e6;

  // Per layer: the area of each class on the site, and of all classes together (covered).
  const perLayer = new Map<string, { covered: number; classes: CheckClass[] }>();
  for (const layer of layers) {
    const { rows } = await knex.raw<{ rows: { code: string | null; a: number }[] }>(
      `SELECT f.code, COALESCE(ST_Area(ST_UnaryUnion(ST_Collect(ST_CollectionExtract(ST_Intersection(f.geom, s.g), 3)))::geography, true), 0) AS a
         FROM ${sourceSql(layer, Boolean(asOf))} f, (SELECT ${SITE} AS g) s
        WHERE f.geom && s.g AND ST_Intersects(f.geom, s.g)
        GROUP BY GROUPING SETS ((f.code), ())`,
      { site: site.ewkb, ...at(layer) },
    );
    const byCode = new Map(layer.classification.classes.map((c) => [c.code, c]));
    const classes = rows
      .filter((r) => r.code !== null && r.a > 0)
      .map((r) => ({ code: r.code!, zh: byCode.get(r.code!)?.zh ?? r.code!, en: byCode.get(r.code!)?.en ?? r.code!, ...areas(r.a), share: share(r.a) }))
      .sort((a, b) => (b.area_m2 ?? 0) - (a.area_m2 ?? 0));
    perLayer.set(layer.id, { covered: rows.find((r) => r.code === null)?.a ?? 0, classes });
  }

  const findings: Finding[] = [];
  // Overlaps by layer and classes, computed once (a rule and a zone often select the same, e.g. 010).
  const overlaps = new Map<string, Promise<{ ewkb: string | null; area: number }>>();
  const overlap = (layer: Layer, codes: string[]) => {
    const key = `${layer.id}|${[...codes].sort().join(',')}`;
    let o = overlaps.get(key);
    if (!o) {
      o = knex
        .raw<{ rows: { ewkb: string | null; a: number | null }[] }>(
          `SELECT encode(ST_AsEWKB(o.g), 'hex') AS ewkb, ST_Area(o.g::geography, true) AS a FROM (${overlapSql(layer, Boolean(asOf))}) o`,
          { site: site.ewkb, codes: JSON.stringify(codes), ...at(layer) },
        )
        .then(({ rows }) => ({ ewkb: rows[0]?.ewkb ?? null, area: rows[0]?.a ?? 0 }));
      overlaps.set(key, o);
    }
    return o;
  };

  // The conflict rules the type makes the site stand in for.
  const rules: CheckRule[] = [];
  for (const { rule, other } of type.rules) {
    // Only when the layer has any of the other side's classes on the site (saves the overlay).
    const touched = perLayer.get(other.layer.id)?.classes.some((c) => other.codes.includes(c.code));
    if (!touched) continue;
    const o = await overlap(other.layer, other.codes);
    if (!o.ewkb || o.area <= 0) continue;
    const sliver = o.area < rule.min_area_m2;
    const classZh = other.codes.length <= 3 ? other.codes.map((c) => other.layer.classification.classes.find((k) => k.code === c)?.zh ?? c).join('、') : other.layer.title.zh;
    rules.push({
      rule: rule.id, zh: rule.zh, en: rule.en, kind: rule.kind, severity: rule.severity, departments: rule.departments,
      layer: other.layer.id, classes: other.codes, ...areas(o.area), share: share(o.area), sliver,
      summary_zh: `${(o.area / M2_PER_HA).toFixed(2)} 公顷 位于${classZh}${sliver ? `（小于最小上图面积 ${rule.min_area_m2} 平方米，视为细碎）` : ''}`,
    });
    if (!sliver) findings.push({ kind: 'rule', ref: rule.id, ewkb: o.ewkb, area_m2: o.area });
  }

  // Sensitive zones touched.
  const alerts: CheckAlert[] = [];
  for (const a of types.alerts) {
    if (!perLayer.get(a.layer.id)?.classes.some((c) => a.codes.includes(c.code))) continue;
    const o = await overlap(a.layer, a.codes);
    if (!o.ewkb || o.area < ALERT_MIN_M2) continue;
    alerts.push({ id: a.id, zh: a.zh, en: a.en, layer: a.layer.id, department: a.department, ...areas(o.area), share: share(o.area) });
    findings.push({ kind: 'alert', ref: a.id, ewkb: o.ewkb, area_m2: o.area });
  }

  // Verdicts per layer: conflicting where a rule is broken on it, needs review where a sensitive
  // zone is touched or the site is not on the classes its type belongs on.
  const checkedLayers: CheckLayer[] = layers.map((layer) => {
    const p = perLayer.get(layer.id)!;
    const notes: string[] = [];
    let verdict: Verdict = 'compliant';
    const broken = rules.filter((r) => r.layer === layer.id && !r.sliver);
    if (broken.length) {
      verdict = 'conflicting';
      notes.push(...broken.map((r) => `${r.zh}：${r.summary_zh}`));
    }
    for (const a of alerts.filter((x) => x.layer === layer.id)) {
      verdict = worst([verdict, 'needs_review']);
      notes.push(`涉及${a.zh} ${a.area_ha?.toFixed(2)} 公顷`);
    }
    const conforming = type.conforms.get(layer.id);
    if (conforming && p.covered > 0) {
      const on = p.classes.filter((c) => conforming.includes(c.code)).reduce((s, c) => s + (c.area_m2 ?? 0), 0);
      const ratio = on / p.covered;
      if (ratio < CONFORMS_MIN_SHARE) {
        verdict = worst([verdict, 'needs_review']);
        notes.push(`${(ratio * 100).toFixed(1)} % 位于${type.zh}适用的地类（${conforming.join('、')}），低于 ${CONFORMS_MIN_SHARE * 100} %`);
      }
    }
    return { layer: layer.id, zh: layer.title.zh, en: layer.title.en, department: layer.department, revision: revisions[layer.id], verdict, covered_share: share(p.covered), classes: p.classes, notes };
  });
  const plans = registry.groups
    .map((g) => {
      const ls = checkedLayers.filter((l) => registry.byId.get(l.layer)!.group === g.id);
      return { group: g.id, zh: g.zh, en: g.en, verdict: worst(ls.map((l) => l.verdict)), layers: ls };
    })
    .filter((p) => p.layers.length);

  // Who reviews: the type's departments, then those of the rules broken, the zones touched and the
  // owners of the plans the site does not comply with. The window itself does not review.
  const required = new Map<string, string[]>();
  const need = (d: string, why: string) => {
    if (d === WINDOW_DEPARTMENT) return;
    const list = required.get(d) ?? [];
    if (!list.includes(why)) list.push(why);
    required.set(d, list);
  };
  for (const d of type.departments) need(d, `${type.zh}必审`);
  for (const r of rules.filter((x) => !x.sliver)) for (const d of r.departments) need(d, `规则：${r.zh}`);
  for (const a of alerts) need(a.department, `涉及${a.zh}`);
  for (const l of checkedLayers.filter((x) => x.verdict !== 'compliant')) need(l.department, `${l.zh}：${zhOf(VERDICTS, l.verdict)}`);
  const order = registry.departments.map((d) => d.id);

  const verdict = worst(checkedLayers.map((l) => l.verdict));
  return {
    check: {
      verdict,
      project_type: type.code,
      site: areas(site.area_m2),
      checked_at: new Date().toISOString(),
      revisions,
      plans,
      rules,
      alerts,
      required: [...required].map(([department, reasons]): Routing => ({ department, reasons })).sort((a, b) => order.indexOf(a.department) - order.indexOf(b.department)),
    },
    findings,
  };
}
