// A version's check run again, nothing written: against the plan revisions it recorded (read from
// the snapshot store, which reproduces it area for area, or names what was lost), or against the
// plans as they are now (what changed since the application was checked: rules, zones, class
// areas, verdict, departments).
import { conflict, notFound } from '../platform/errors';
import { checkSite } from './check';
import type { Check, CheckDifference, Recheck } from './schemas';
import type { RecheckAgainst } from './vocabulary';
import type { Applications } from './workflow';

/** Runs a version's check again against the recorded revisions or today's plans, and compares. */
export async function recheck(apps: Applications, id: number, version: number, against: RecheckAgainst): Promise<Recheck> {
  const { knex } = apps;
  const { rows } = await knex.raw<{ rows: { ewkb: string; site_area_m2: number; project_type: string; check: Check }[] }>(
    "SELECT encode(ST_AsEWKB(site), 'hex') AS ewkb, site_area_m2, project_type, \"check\" FROM application_versions WHERE application_id = ? AND version = ?",
    [id, version],
  );
  if (!rows.length) throw notFound('unknown_version', `application ${id} has no version ${version}`);
  const v = rows[0];
  const stored = v.check;
  const type = apps.types.byCode.get(v.project_type);
  if (!type) throw conflict('unknown_project_type', `project type '${v.project_type}' is no longer in layers/project-types.json`);
  if (against === 'recorded') {
    const recorded = Object.entries(stored.revisions).filter(([, r]) => r !== null) as [string, number][];
    const { rows: kept } = await knex.raw<{ rows: { layer_id: string; revision: number; content_kept: boolean }[] }>(
      'SELECT layer_id, revision, content_kept FROM layer_revisions WHERE (layer_id, revision) IN (SELECT x ->> 0, (x ->> 1)::int FROM jsonb_array_elements(?::jsonb) x)',
      [JSON.stringify(recorded)],
    );
    const lost = recorded.filter(([l, r]) => !kept.some((k) => k.layer_id === l && k.revision === r && k.content_kept));
    if (lost.length) throw conflict('content_not_kept', `the content of ${lost.map(([l, r]) => `${l}@${r}`).join(', ')} is not kept; the check cannot be reproduced`, { revisions: lost });
  }
  const { check } = await checkSite(knex, apps.registry, apps.types, type, { ewkb: v.ewkb, area_m2: v.site_area_m2 }, against === 'recorded' ? stored.revisions : undefined);
  const differences = compareChecks(stored, check);
  return { against, reproduced: differences.length === 0, differences, stored_revisions: stored.revisions, check };
}

/** Where two checks of one site differ: verdict, rules, zones, per-layer class areas (1 mm² or 1e-9 relative), routing. */
export function compareChecks(a: Check, b: Check): CheckDifference[] {
  const out: CheckDifference[] = [];
  const same = (x: number, y: number) => Math.abs(x - y) <= Math.max(1e-6, 1e-9 * Math.max(Math.abs(x), Math.abs(y)));
  const m2 = (x: number | null) => (x === null ? 'absent' : `${x.toFixed(2)} m²`);
  if (a.verdict !== b.verdict) out.push({ what: 'verdict', key: 'verdict', zh: '综合结论', en: 'verdict', before: a.verdict, after: b.verdict, text: `verdict: ${a.verdict} → ${b.verdict}` });
  type Named = { area_m2: number; zh: string; en: string };
  const pairs = (what: 'rule' | 'zone' | 'class', x: Map<string, Named>, y: Map<string, Named>) => {
    for (const k of new Set([...x.keys(), ...y.keys()])) {
      const p = x.get(k), q = y.get(k);
      const before = p?.area_m2 ?? null, after = q?.area_m2 ?? null;
      if (before !== null && after !== null && same(before, after)) continue;
      const n = (p ?? q)!;
      const text = before === null ? `${what} ${k}: new (${m2(after)})` : after === null ? `${what} ${k}: gone (was ${m2(before)})` : `${what} ${k}: ${m2(before)} → ${m2(after)}`;
      out.push({ what, key: k, zh: n.zh, en: n.en, before, after, text });
    }
  };
  pairs('rule', new Map(a.rules.map((r) => [r.rule, r])), new Map(b.rules.map((r) => [r.rule, r])));
  pairs('zone', new Map(a.alerts.map((r) => [r.id, r])), new Map(b.alerts.map((r) => [r.id, r])));
  const classes = (c: Check) => new Map(c.plans.flatMap((p) => p.layers.flatMap((l) => l.classes.map((k) => [`${l.layer}/${k.code}`, { area_m2: k.area_m2, zh: `${l.zh}·${k.zh}`, en: `${l.en}: ${k.en}` }] as const))));
  pairs('class', classes(a), classes(b));
  const deps = (c: Check) => c.required.map((r) => r.department).sort().join(',');
  if (deps(a) !== deps(b)) out.push({ what: 'departments', key: 'departments', zh: '审查部门', en: 'departments', before: deps(a), after: deps(b), text: `departments: ${deps(a)} → ${deps(b)}` });
  return out;
}
