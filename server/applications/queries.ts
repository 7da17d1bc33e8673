// The reads of the joint review, as the API answers them (schemas.ts): one application with its
// current version (check, required departments and their effective opinions, deadlines in working
// days), its versions, opinions and timeline; any version as it was checked; the list and a
// department's inbox with what each waits for; the site and the overlaps found, for the map.
// Nothing here writes.
import type { Knex } from 'knex';
import { areaFigures } from '../layers/area';
import { notFound } from '../platform/errors';
import { beijingDate } from './calendar';
import { unknownApplication } from './records';
import type { Application, ApplicationList, ApplicationVersion, Check, Opinion, ReviewMap, Routing, Summary, TimelineEntry, VersionEntry } from './schemas';
import type { Status } from './vocabulary';
import type { Applications } from './workflow';

const iso = (t: Date | string) => new Date(t).toISOString();
/** The columns of a version the reads show (not the site itself: the map has it). */
const versionColumns = (knex: Knex) => [
  'version', 'name', 'project_type', 'investor', 'requested_area_m2', 'site_area_m2', 'site_source', 'site_input', 'note', 'submitted_by', 'submitted_at',
  knex.raw('deadline::text AS deadline'), 'verdict', 'check', 'required', 'outcome',
];
const siteAreas = (m2: number) => areaFigures(m2) as { area_m2: number; area_ha: number; area_mu: number };

/** One application with its current version, versions, opinions and timeline. */
export async function getApplication(apps: Applications, id: number): Promise<Application> {
  const { knex } = apps;
  const app = await knex('applications').where({ id }).first();
  if (!app) throw unknownApplication(id);
  const versions = await knex('application_versions').where({ application_id: id }).orderBy('version').select(versionColumns(knex));
  const opinions = await opinionsOf(knex, id);
  const events = await knex('application_events').where({ application_id: id }).orderBy('id').select('at', 'actor', 'kind', 'version', 'department', 'detail');
  const cur = versions.find((v) => v.version === app.current_version)!;
  return {
    id: app.id,
    number: app.number,
    status: app.status,
    version: app.current_version,
    row_version: app.row_version,
    submitted_by: app.submitted_by,
    created_at: iso(app.created_at),
    updated_at: iso(app.updated_at),
    current: versionView(apps, cur, opinions, beijingDate(), app.status),
    versions: versions.map((v): VersionEntry => ({ version: v.version, name: v.name, project_type: v.project_type, submitted_at: iso(v.submitted_at), submitted_by: v.submitted_by, note: v.note, verdict: v.verdict, outcome: v.outcome })),
    opinions,
    timeline: events.map((e) => ({ at: iso(e.at), actor: e.actor, kind: e.kind, version: e.version, department: e.department ?? undefined, detail: e.detail }) as TimelineEntry),
  };
}

/** A version as it was checked (any version: GET …/{id}/versions/{v}). */
export async function getVersion(apps: Applications, id: number, version: number): Promise<ApplicationVersion> {
  const { knex } = apps;
  const app = await knex('applications').where({ id }).first('status', 'current_version');
  const v = await knex('application_versions').where({ application_id: id, version }).first(versionColumns(knex));
  if (!app || !v) throw notFound('unknown_version', `application ${id} has no version ${version}`);
  return versionView(apps, v, await opinionsOf(knex, id), beijingDate(), version === app.current_version ? app.status : v.outcome);
}

/** A version row as the client sees it; `status` says whether deadlines still run (under review). */
function versionView(apps: Applications, v: Record<string, any>, opinions: Opinion[], today: string, status: string): ApplicationVersion {
  const effective = opinions.filter((o) => o.version === v.version && o.corrected_by === null);
  const deadline = v.deadline as string;
  const area = siteAreas(v.site_area_m2);
  const daysLeft = apps.calendar.workdaysLeft(today, deadline);
  return {
    version: v.version,
    name: v.name,
    project_type: v.project_type,
    investor: v.investor,
    requested_area_m2: v.requested_area_m2,
    site_source: v.site_source,
    site_input: v.site_input,
    site_area_m2: area.area_m2,
    site_area_ha: area.area_ha,
    site_area_mu: area.area_mu,
    submitted_by: v.submitted_by,
    submitted_at: iso(v.submitted_at),
    note: v.note,
    deadline,
    days_left: daysLeft,
    outcome: v.outcome,
    verdict: v.verdict,
    check: v.check as Check,
    required: (v.required as Routing[]).map((r) => {
      const opinion = effective.find((o) => o.department === r.department) ?? null;
      const { zh, en } = apps.department(r.department);
      return { department: r.department, zh, en, reasons: r.reasons, deadline, days_left: daysLeft, overdue: !opinion && status === 'under_review' && today > deadline, opinion };
    }),
  };
}

/** Every opinion on an application, oldest first, each with the entry that corrects it (if any). */
async function opinionsOf(knex: Knex, id: number): Promise<Opinion[]> {
  const rows = await knex('application_opinions as o')
    .join('accounts as a', 'a.id', 'o.author_id')
    .leftJoin('application_opinions as n', 'n.corrects', 'o.id')
    .where('o.application_id', id)
    .orderBy('o.id')
    .select('o.id', 'o.version', 'o.department', 'o.decision', 'o.conditions', 'o.reason', 'o.note', 'o.author', 'a.display_name as author_name', 'o.signed_at', 'o.corrects', 'n.id as corrected_by', 'o.signature');
  return rows.map((r: Opinion & { signed_at: Date }) => ({ ...r, signed_at: r.signed_at.toISOString() }));
}

/** Summaries for lists (newest first) and a department's inbox (`waitingOnly`: what still waits for it, by deadline). */
export async function listApplications(apps: Applications, opts: { status?: Status; department?: string; waitingOnly?: boolean; limit: number; offset: number }): Promise<ApplicationList> {
  const { knex } = apps;
  const q = knex('applications as a')
    .join('application_versions as v', function () {
      this.on('v.application_id', 'a.id').andOn('v.version', 'a.current_version');
    })
    .modify((b) => {
      if (opts.status) b.where('a.status', opts.status);
      if (opts.department) {
        b.whereRaw("v.required @> jsonb_build_array(jsonb_build_object('department', ?::text))", [opts.department]);
        if (opts.waitingOnly) {
          b.where('a.status', 'under_review').whereNotExists((s) =>
            s.select(1).from('application_opinions as o').whereRaw('o.application_id = a.id AND o.version = a.current_version AND o.department = ?', [opts.department!]),
          );
        }
      }
    });
  const [{ n }] = await q.clone().count({ n: '*' });
  const rows = await q
    .clone()
    .orderBy(opts.waitingOnly ? 'v.deadline' : 'a.id', opts.waitingOnly ? 'asc' : 'desc')
    .limit(opts.limit)
    .offset(opts.offset)
    .select('a.id', 'a.number', 'a.status', 'a.current_version as version', 'v.name', 'v.project_type', 'v.investor', 'v.site_area_m2', 'v.verdict', 'v.submitted_by', 'v.submitted_at', knex.raw('v.deadline::text AS deadline'), 'v.required',
      knex.raw('(SELECT coalesce(jsonb_agg(DISTINCT o.department), \'[]\') FROM application_opinions o WHERE o.application_id = a.id AND o.version = a.current_version) AS signed'));
  const today = beijingDate();
  return {
    total: Number(n),
    items: (rows as Record<string, any>[]).map((r): Summary => {
      const deadline = r.deadline as string;
      const waiting = r.status === 'under_review' ? (r.required as Routing[]).map((x) => x.department).filter((d) => !(r.signed as string[]).includes(d)) : [];
      return {
        id: r.id, number: r.number, status: r.status, version: r.version, name: r.name, project_type: r.project_type, investor: r.investor,
        site_area_ha: siteAreas(r.site_area_m2).area_ha, verdict: r.verdict, submitted_by: r.submitted_by, submitted_at: iso(r.submitted_at), deadline,
        waiting_for: waiting, overdue: waiting.length > 0 && today > deadline, days_left: apps.calendar.workdaysLeft(today, deadline),
      };
    }),
  };
}

/** The site and the check's overlaps of a version (the current one by default), as GeoJSON for the map. */
export async function reviewMap(apps: Applications, id: number, version?: number): Promise<ReviewMap> {
  const { knex } = apps;
  const app = await knex('applications').where({ id }).first('current_version', 'number');
  if (!app) throw unknownApplication(id);
  const v = version ?? app.current_version;
  const { rows } = await knex.raw<{ rows: { fc: ReviewMap | null }[] }>(
    `SELECT jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_agg(f ORDER BY ord)) AS fc FROM (
       SELECT 0 AS ord, jsonb_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(site, 8)::jsonb,
              'properties', jsonb_build_object('role', 'site', 'number', ?::text, 'version', version, 'name', name, 'area_ha', round((site_area_m2 / 10000)::numeric, 4))) AS f
         FROM application_versions WHERE application_id = ? AND version = ?
       UNION ALL
       SELECT CASE x.kind WHEN 'rule' THEN 1 ELSE 2 END, jsonb_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(x.geom, 8)::jsonb,
              'properties', jsonb_build_object('role', x.kind, 'id', x.ref, 'rule', CASE WHEN x.kind = 'rule' THEN x.ref END, 'area_ha', round((x.area_m2 / 10000)::numeric, 4)))
         FROM application_findings x WHERE x.application_id = ? AND x.version = ?) s`,
    [app.number, id, v, id, v],
  );
  const fc = rows[0].fc;
  if (!fc?.features) throw notFound('unknown_version', `application ${id} has no version ${v}`);
  // Names of the rules and zones, from the stored check (what they were called when checked).
  const check = (await knex('application_versions').where({ application_id: id, version: v }).first('check')).check as Check;
  for (const { properties: p } of fc.features) {
    if (p.role === 'rule') {
      const r = check.rules.find((x) => x.rule === p.id);
      Object.assign(p, { zh: r?.zh, en: r?.en, severity: r?.severity, layer: r?.layer });
    } else if (p.role === 'alert') {
      const a = check.alerts.find((x) => x.id === p.id);
      Object.assign(p, { zh: a?.zh, en: a?.en, layer: a?.layer });
    }
  }
  return fc;
}
