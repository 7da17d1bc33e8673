// The joint review (联动审批) against the real service and PostGIS: sites drawn, typed as
// boundary points (converted with proj4, held to PROJ's cs2cs within 1 mm) and refused with named
// problems; the compliance check (areas against GeographicLib, routing from the rules and the
// type); parallel opinions with the rules of the game (own department, required, never your own
// application, once per version, immutable, corrections linked); the derived outcome; amend and
// resubmit; overdue deadlines; the audit trail.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../server/accounts/accounts';
import { WorkCalendar } from '../server/applications/calendar';
import { loadRules } from '../server/conflicts/rules';
import { loadDemoApplications } from '../server/demo/applications';
import { loadRegistry } from '../server/layers/registry';
import { PROJECT_ROOT } from '../server/platform/config';
import { commitRevision, type RevisionFeature } from '../server/revisions/commit';
import { as } from './helpers/auth';
import { geodesicAreas } from './helpers/geodesic';
import { getJson } from './helpers/http';
import { useDemoCopy } from './helpers/setup';
import { findSites, squarePoints, type TestSite } from './helpers/sites';

const { knex, srv } = useDemoCopy();
let api: string;
let sites: { farmland: TestSite; clean: TestSite };
const registry = loadRegistry();

beforeAll(async () => {
  api = `${srv.baseUrl}/api/applications`;
  sites = await findSites(knex);
});

const post = async (url: string, who: string | null, body: unknown) =>
  getJson(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(who ? await as(knex, who) : {}) }, body: JSON.stringify(body) });
const get = async (url: string, who: string) => getJson(url, { headers: await as(knex, who) });
const counts = async () => {
  const [a, v, o, e] = await Promise.all(['applications', 'application_versions', 'application_opinions', 'application_events'].map((t) => knex(t).count({ n: '*' }).first()));
  return [a, v, o, e].map((x) => Number(x!.n));
};
const pv = (site: unknown) => ({ name: '塔山光伏电站二期', project_type: 'energy', investor: '大同光伏新能源有限公司', requested_area_m2: 90_000, site });

describe('demo applications (npm start)', () => {
  it('show the workflow at work: one approved with a condition, one on basic farmland waiting for three departments', async () => {
    expect(await loadDemoApplications(knex, registry, loadRules(registry))).toBe(2);
    expect(await loadDemoApplications(knex, registry, loadRules(registry))).toBe(0); // only into a database without any
    const list = (await get(api, 'window')).body;
    expect(list.items.map((x: any) => [x.name, x.status, x.verdict])).toEqual([
      ['塔山光伏电站二期', 'under_review', 'conflicting'],
      ['南郊区农光互补分布式光伏电站', 'approved', 'compliant'],
    ]);
    expect(list.items[0].waiting_for.sort()).toEqual(['land', 'ndrc', 'planning']);
    const inbox = (await get(`${api}/inbox`, 'land.reviewer')).body;
    expect(inbox.items.map((x: any) => x.name)).toEqual(['塔山光伏电站二期']);
  });
});

describe('sites', () => {
  it('need a window clerk (401 anonymous, 403 a reviewer)', async () => {
    expect((await post(`${api}/sites`, null, { source: 'drawn', geometry: sites.clean.geometry })).status).toBe(401);
    const r = await post(`${api}/sites`, 'land.reviewer', { source: 'drawn', geometry: sites.clean.geometry });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('forbidden');
  });

  it('drawn: the area in m², 公顷 and 亩 agrees with GeographicLib', async () => {
    const r = await post(`${api}/sites`, 'window', { source: 'drawn', geometry: sites.clean.geometry });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.geometry.type).toBe('MultiPolygon');
    const [ref] = await geodesicAreas([sites.clean.geometry]);
    expect(Math.abs(r.body.area_m2 - ref) / ref).toBeLessThan(1e-6);
    expect(r.body.area_ha).toBeCloseTo(ref / 10_000, 3);
    expect(r.body.area_mu).toBeCloseTo(ref / (10_000 / 15), 1);
  });

  it('typed boundary points in EPSG:4547 and with the zone prefix (EPSG:4526) land on the same place, within 1 mm of cs2cs', async () => {
    const plain = await post(`${api}/sites`, 'window', { source: 'points', srid: 4547, points: squarePoints(sites.clean) });
    const prefixed = await post(`${api}/sites`, 'window', { source: 'points', srid: 4526, points: squarePoints(sites.clean, true) });
    expect(plain.status, JSON.stringify(plain.body)).toBe(200);
    expect(prefixed.status, JSON.stringify(prefixed.body)).toBe(200);
    const ring = plain.body.geometry.coordinates[0][0] as number[][];
    expect(ring).toHaveLength(5);
    // PROJ's cs2cs, the independent reference, in the EPSG axis orders: X northing, Y easting in; lat, lon out.
    const input = squarePoints(sites.clean).map((p) => `${p.x} ${p.y}`).join('\n');
    const out = execFileSync('cs2cs', ['-f', '%.10f', 'EPSG:4547', 'EPSG:4490'], { input }).toString().trim().split('\n');
    out.forEach((line, i) => {
      const [lat, lon] = line.split(/\s+/).map(Number);
      const mLon = Math.abs(ring[i][0] - lon) * 111_320 * Math.cos((lat * Math.PI) / 180);
      const mLat = Math.abs(ring[i][1] - lat) * 110_574;
      expect(Math.hypot(mLon, mLat)).toBeLessThan(0.001);
    });
    const ring2 = prefixed.body.geometry.coordinates[0][0] as number[][];
    ring2.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(ring[i][0], 10);
      expect(p[1]).toBeCloseTo(ring[i][1], 10);
    });
    expect(Math.abs(plain.body.area_m2 - 90_000) / 90_000).toBeLessThan(0.001); // GK scale near 114°E
  });

  it('uploaded: a zipped Shapefile in EPSG:4526 written by ogr2ogr, and a GeoJSON in EPSG:4547, read through the import path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-site-'));
    try {
      const pts = squarePoints(sites.clean, true);
      const ring = [...pts, pts[0]].map((p) => [p.y, p.x]);
      const gj = { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4526' } }, features: [{ type: 'Feature', properties: { 名称: '光伏场址' }, geometry: { type: 'Polygon', coordinates: [ring] } }] };
      fs.writeFileSync(path.join(dir, 'site.geojson'), JSON.stringify(gj));
      execFileSync('ogr2ogr', ['-f', 'ESRI Shapefile', path.join(dir, '场址.shp'), path.join(dir, 'site.geojson'), '-lco', 'ENCODING=GBK']);
      execFileSync('zip', ['-q', '-j', path.join(dir, 'site.zip'), ...['shp', 'shx', 'dbf', 'prj', 'cpg'].map((e) => path.join(dir, `场址.${e}`))]);
      const upload = async (file: string, name: string) => {
        const form = new FormData();
        form.append('file', new Blob([fs.readFileSync(file)]), name);
        return getJson(`${api}/sites`, { method: 'POST', headers: await as(knex, 'window'), body: form });
      };
      const shp = await upload(path.join(dir, 'site.zip'), '场址.zip');
      expect(shp.status, JSON.stringify(shp.body)).toBe(200);
      expect(shp.body.crs).toMatch(/EPSG:4526/);
      expect(shp.body.file.sha256).toMatch(/^[0-9a-f]{64}$/);
      const typed = await post(`${api}/sites`, 'window', { source: 'points', srid: 4526, points: pts });
      expect(Math.abs(shp.body.area_m2 - typed.body.area_m2) / typed.body.area_m2).toBeLessThan(1e-6); // PROJ (PostGIS) and proj4js agree
      // The same ring in EPSG:4547 as GeoJSON with its crs member.
      const plain = { ...gj, crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4547' } }, features: [{ ...gj.features[0], geometry: { type: 'Polygon', coordinates: [ring.map(([e, n]) => [e - 38_000_000, n])] } }] };
      fs.writeFileSync(path.join(dir, 'plain.geojson'), JSON.stringify(plain));
      const geo = await upload(path.join(dir, 'plain.geojson'), 'plain.geojson');
      expect(geo.status, JSON.stringify(geo.body)).toBe(200);
      expect(Math.abs(geo.body.area_m2 - typed.body.area_m2) / typed.body.area_m2).toBeLessThan(1e-6);
      // A file of lines is not a site.
      fs.writeFileSync(path.join(dir, 'line.geojson'), JSON.stringify({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[113.3, 40.0], [113.31, 40.0]] } }));
      const line = await upload(path.join(dir, 'line.geojson'), 'line.geojson');
      expect(line.status).toBe(422);
      expect(line.body.code).toBe('invalid_site_file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad sites with a 4xx that names the problem, and writes nothing', async () => {
    const before = await counts();
    const [lon, lat] = sites.clean.geometry.coordinates[0][0];
    const d = 0.003;
    const bowtie = { type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat + d], [lon + d, lat], [lon, lat + d], [lon, lat]]] };
    const self = await post(api, 'window', pv({ source: 'drawn', geometry: bowtie }));
    expect(self.status).toBe(422);
    expect(self.body.code).toBe('invalid_site');
    expect(self.body.message).toMatch(/Self-intersection/);
    expect(self.body.details.location[0]).toBeCloseTo(lon + d / 2, 6);

    const wrongPrefix = await post(`${api}/sites`, 'window', { source: 'points', srid: 4526, points: squarePoints(sites.clean, true).map((p) => ({ ...p, y: p.y - 1_000_000 })) });
    expect(wrongPrefix.status).toBe(422);
    expect(wrongPrefix.body.code).toBe('wrong_zone');
    expect(wrongPrefix.body.message).toMatch(/zone number 37.*zone 38/);

    const prefixInPlain = await post(`${api}/sites`, 'window', { source: 'points', srid: 4547, points: squarePoints(sites.clean, true) });
    expect(prefixInPlain.body.code).toBe('wrong_zone');
    expect(prefixInPlain.body.details.hint).toMatch(/zone 38/);

    // The same numbers typed for the zone west of Datong (CM 111°E, EPSG:4545) land outside it.
    const otherZone = await post(`${api}/sites`, 'window', { source: 'points', srid: 4545, points: squarePoints(sites.clean) });
    expect(otherZone.status).toBe(422);
    expect(otherZone.body.code).toBe('wrong_zone');
    expect(otherZone.body.message).toMatch(/fit EPSG:4547/);

    const swapped = await post(`${api}/sites`, 'window', { source: 'points', srid: 4547, points: squarePoints(sites.clean).map((p) => ({ ...p, x: p.y, y: p.x })) });
    expect(swapped.body.code).toBe('wrong_zone');
    expect(swapped.body.message).toMatch(/swapped/);

    const beijing = { type: 'Polygon', coordinates: [[[116.39, 39.9], [116.4, 39.9], [116.4, 39.91], [116.39, 39.91], [116.39, 39.9]]] };
    const outside = await post(api, 'window', pv({ source: 'drawn', geometry: beijing }));
    expect(outside.status).toBe(422);
    expect(outside.body.code).toBe('site_outside_datong');

    const notGeoJson = await post(api, 'window', pv({ source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[113, 40], [113.1, 40]]] } }));
    expect(notGeoJson.status).toBe(400);
    expect(notGeoJson.body.code).toBe('invalid_site_geojson');

    const badType = await post(api, 'window', { ...pv({ source: 'drawn', geometry: sites.clean.geometry }), project_type: 'casino' });
    expect(badType.status).toBe(400);
    expect(badType.body.details.field).toBe('project_type');

    expect(await counts()).toEqual(before);
  });
});

describe('the joint review of a PV site on basic farmland', () => {
  let id: number;
  let app: any;

  it('is submitted once by the window and checked against every plan', async () => {
    expect((await post(api, 'land.reviewer', pv({ source: 'drawn', geometry: sites.farmland.geometry }))).status).toBe(403);
    const r = await post(api, 'window', pv({ source: 'drawn', geometry: sites.farmland.geometry }));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    app = r.body;
    id = app.id;
    expect(app.number).toMatch(/^DT-\d{4}-\d{5}$/);
    expect(app.status).toBe('under_review');
    const check = app.current.check;
    expect(check.verdict).toBe('conflicting');
    const rule = check.rules.find((x: any) => x.rule === 'pv_on_basic_farmland');
    expect(rule).toBeDefined();
    expect(rule.sliver).toBe(false);
    expect(rule.summary_zh).toMatch(/^\d+\.\d{2} 公顷 位于基本农田保护区$/);
    // The overlap's area against GeographicLib, on the stored overlap geometry.
    const fc = (await get(`${api}/${id}/map`, 'window')).body;
    const overlap = fc.features.find((f: any) => f.properties.role === 'rule' && f.properties.rule === 'pv_on_basic_farmland');
    const [ref] = await geodesicAreas([overlap.geometry]);
    expect(Math.abs(rule.area_m2 - ref) / ref).toBeLessThan(1e-4);
    expect(Math.abs(rule.area_m2 - sites.farmland.farmland_m2) / sites.farmland.farmland_m2).toBeLessThan(1e-6);
    expect(rule.area_ha).toBeCloseTo(rule.area_m2 / 10_000, 4);
    // Per plan: the land-use plan conflicts, with the classes on the site summing to the site.
    const land = check.plans.find((p: any) => p.group === 'landuse');
    expect(land.verdict).toBe('conflicting');
    const lp = land.layers.find((l: any) => l.layer === 'landuse_plan');
    expect(lp.classes.find((c: any) => c.code === '010').area_m2).toBeCloseTo(rule.area_m2, 2);
    expect(lp.classes.reduce((s: number, c: any) => s + c.share, 0)).toBeCloseTo(lp.covered_share, 3);
    expect(lp.revision).toBeGreaterThanOrEqual(1);
    expect(check.revisions.landuse_plan).toBe(lp.revision);
    expect(check.alerts.map((a: any) => a.id)).toEqual(['basic_farmland']);
    // Routed to 国土局, 发改委 and 规划局, each with a deadline in working days.
    expect(app.current.required.map((x: any) => x.department).sort()).toEqual(['land', 'ndrc', 'planning']);
    expect(app.current.required.map((x: any) => x.zh).sort()).toEqual(['市发改委', '市国土局', '市规划局'].sort());
    expect(app.current.required.find((x: any) => x.department === 'land').reasons.join()).toMatch(/光伏电站占用基本农田/);
    expect(app.current.deadline).toBe(WorkCalendar.load().addWorkdays(beijingToday(), 10));
  });

  it('is in the inbox of each required department and not of the others', async () => {
    for (const who of ['land.reviewer', 'ndrc.reviewer', 'planning.reviewer']) {
      const r = await get(`${api}/inbox`, who);
      expect(r.status).toBe(200);
      const item = r.body.items.find((x: any) => x.id === id);
      expect(item, who).toBeDefined();
      expect(item.waiting_for.sort()).toEqual(['land', 'ndrc', 'planning']);
      expect(item.overdue).toBe(false);
      expect(item.days_left).toBe(10);
    }
    expect((await get(`${api}/inbox`, 'env.reviewer')).body.items.some((x: any) => x.id === id)).toBe(false);
    expect((await get(`${api}/inbox`, 'window')).status).toBe(403);
    expect((await getJson(`${api}/${id}`)).status).toBe(401);
  });

  it('takes opinions only from reviewers of the required departments', async () => {
    const before = await counts();
    const approve = { version: 1, decision: 'approve' };
    for (const [who, status] of [['window', 403], ['admin', 403], ['env.reviewer', 403], ['land.editor', 403], [null, 401]] as const) {
      const r = await post(`${api}/${id}/opinions`, who, approve);
      expect(r.status, `${who}`).toBe(status);
    }
    const noReason = await post(`${api}/${id}/opinions`, 'land.reviewer', { version: 1, decision: 'reject' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.details.field).toBe('reason');
    const noConditions = await post(`${api}/${id}/opinions`, 'land.reviewer', { version: 1, decision: 'conditional' });
    expect(noConditions.body.details.field).toBe('conditions');
    expect(await counts()).toEqual(before);
  });

  it('lets two departments sign at the same moment (both land) and the same department only once (409)', async () => {
    const [a, b] = await Promise.all([
      post(`${api}/${id}/opinions`, 'ndrc.reviewer', { version: 1, decision: 'approve' }),
      post(`${api}/${id}/opinions`, 'planning.reviewer', { version: 1, decision: 'conditional', conditions: '光伏板下复合种植，不得硬化地面' }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.application.status).toBe('under_review');
    const twice = await Promise.all([1, 2].map(() => post(`${api}/${id}/opinions`, 'ndrc.reviewer', { version: 1, decision: 'approve' })));
    expect(twice.map((r) => r.status)).toEqual([409, 409]);
    expect(twice[0].body.code).toBe('already_signed');
    expect(a.body.opinion.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(a.body.opinion.author).toBe('ndrc.reviewer');
  });

  it('keeps signed opinions immutable in the database itself', async () => {
    await expect(knex('application_opinions').where({ application_id: id }).update({ decision: 'reject' })).rejects.toThrow(/cannot be changed/);
    await expect(knex('application_opinions').where({ application_id: id }).delete()).rejects.toThrow(/cannot be changed/);
  });

  it('is rejected as soon as 国土局 rejects it', async () => {
    const r = await post(`${api}/${id}/opinions`, 'land.reviewer', { version: 1, decision: 'reject', reason: '占用基本农田保护区 5 公顷以上，不符合土地利用总体规划' });
    expect(r.status).toBe(201);
    expect(r.body.application.status).toBe('rejected');
    expect(r.body.application.current.required.find((x: any) => x.department === 'land').opinion.decision).toBe('reject');
    // Decided: no more opinions or corrections on this version.
    const late = await post(`${api}/${id}/opinions/${r.body.opinion.id}/corrections`, 'land.reviewer', { decision: 'approve', note: '改判' });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('not_under_review');
  });

  it('is amended by the window with a site typed as boundary points, checked again and clean', async () => {
    expect((await post(`${api}/${id}/versions`, 'window', { site: { source: 'points', srid: 4547, points: squarePoints(sites.clean) } })).body.details.field).toBe('note');
    const r = await post(`${api}/${id}/versions`, 'window', { note: '调整选址，避让基本农田', site: { source: 'points', srid: 4547, points: squarePoints(sites.clean) } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    app = r.body;
    expect(app.version).toBe(2);
    expect(app.status).toBe('under_review');
    expect(app.current.name).toBe('塔山光伏电站二期');
    expect(app.current.site_source).toBe('points');
    expect(app.current.site_input.srid).toBe(4547);
    expect(app.current.check.verdict).toBe('compliant');
    expect(app.current.check.rules).toEqual([]);
    expect(app.current.check.alerts).toEqual([]);
    expect(app.current.required.map((x: any) => x.department).sort()).toEqual(['land', 'ndrc', 'planning']);
    expect(app.current.required.every((x: any) => x.opinion === null)).toBe(true);
    expect(app.versions.map((v: any) => [v.version, v.outcome])).toEqual([[1, 'rejected'], [2, 'under_review']]);
    // Opinions on version 1 are history; a reviewer cannot sign the old version.
    const stale = await post(`${api}/${id}/opinions`, 'land.reviewer', { version: 1, decision: 'approve' });
    expect(stale.body.code).toBe('stale_version');
  });

  it('takes corrections as new linked entries, and is approved when every department approves', async () => {
    const first = await post(`${api}/${id}/opinions`, 'land.reviewer', { version: 2, decision: 'approve' });
    expect(first.status).toBe(201);
    const other = await post(`${api}/${id}/opinions/${first.body.opinion.id}/corrections`, 'ndrc.reviewer', { decision: 'reject', reason: 'x', note: 'y' });
    expect(other.status).toBe(403);
    const corr = await post(`${api}/${id}/opinions/${first.body.opinion.id}/corrections`, 'land.reviewer', { decision: 'conditional', conditions: '按规定办理用地手续', note: '补充用地条件' });
    expect(corr.status, JSON.stringify(corr.body)).toBe(201);
    expect(corr.body.opinion.corrects).toBe(first.body.opinion.id);
    const again = await post(`${api}/${id}/opinions/${first.body.opinion.id}/corrections`, 'land.reviewer', { decision: 'approve', note: '再改' });
    expect(again.body.code).toBe('already_corrected');
    const original = corr.body.application.opinions.find((o: any) => o.id === first.body.opinion.id);
    expect(original.decision).toBe('approve'); // unchanged, and marked as corrected
    expect(original.corrected_by).toBe(corr.body.opinion.id);

    await post(`${api}/${id}/opinions`, 'ndrc.reviewer', { version: 2, decision: 'approve' });
    const last = await post(`${api}/${id}/opinions`, 'planning.reviewer', { version: 2, decision: 'approve' });
    expect(last.body.application.status).toBe('approved');
    const land = last.body.application.current.required.find((x: any) => x.department === 'land');
    expect(land.opinion.decision).toBe('conditional');
    expect(last.body.application.timeline.map((e: any) => e.kind)).toEqual(['submitted', 'opinion', 'opinion', 'opinion', 'rejected', 'resubmitted', 'opinion', 'correction', 'opinion', 'opinion', 'approved']);
    // The approved site is now approval data of the one map: a new revision of approved_projects,
    // written with the approving opinion, with the application's number as approval number.
    const published = await knex('plan.approved_projects').where({ approval_no: last.body.application.number }).select('code', 'name', 'investor', 'area_m2', knex.raw('approved_on::text AS approved_on'));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ code: 'energy', name: '塔山光伏电站二期', investor: '大同光伏新能源有限公司', approved_on: beijingToday() });
    expect(Math.abs(published[0].area_m2 - last.body.application.current.site_area_m2)).toBeLessThan(0.01);
    const rev = await knex('layer_revisions').where({ layer_id: 'approved_projects' }).orderBy('revision', 'desc').first();
    expect(rev).toMatchObject({ kind: 'edit', created_by: 'planning.reviewer' });
    expect(rev.reason).toContain(last.body.application.number);
    expect(last.body.application.timeline.at(-1).detail.approved_projects_revision).toBe(rev.revision);
    // Approved: it can no longer be withdrawn or amended.
    expect((await post(`${api}/${id}/withdraw`, 'window', { reason: 'x' })).status).toBe(409);
    expect((await post(`${api}/${id}/versions`, 'window', { note: 'x' })).body.code).toBe('already_approved');
  });

  it('serves the printable report and the versions as they were checked', async () => {
    const res = await fetch(`${api}/${id}/report?version=1`, { headers: await as(knex, 'land.reviewer') });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('合规性审查报告');
    expect(html).toContain('光伏电站占用基本农田保护区');
    expect(html).toMatch(/<svg[^>]+viewBox/);
    expect(html).toContain('不同意');
    const v1 = (await get(`${api}/${id}/versions/1`, 'window')).body;
    expect(v1.check.verdict).toBe('conflicting');
    expect(v1.outcome).toBe('rejected');
  });

  it('goes to the audit trail, event by event, and the chain verifies', async () => {
    const rows = await knex('audit_log').where('action', 'like', 'application.%').where('object', 'like', `${app.number}v%`).orderBy('id').select('actor', 'action');
    expect(rows.map((r) => r.action)).toEqual(['application.submitted', 'application.opinion', 'application.opinion', 'application.opinion', 'application.rejected', 'application.resubmitted', 'application.opinion', 'application.correction', 'application.opinion', 'application.opinion', 'application.approved']);
    expect(rows[0].actor).toBe('window');
    const v = await get(`${srv.baseUrl}/api/audit/verify`, 'admin');
    expect(v.status).toBe(200);
    expect(v.body.ok).toBe(true);
  });
});

describe('rules of the game', () => {
  it('lists every problem of a body at its field (400 invalid_body), the first as details.field, and writes nothing', async () => {
    const before = await counts();
    const sub = await post(api, 'window', { name: ' ', project_type: 'casino', requested_area_m2: -1, site: { source: 'points', srid: 4326, points: [{ x: 4_400_000 }] } });
    expect(sub.status).toBe(400);
    expect(sub.body.code).toBe('invalid_body');
    expect(sub.body.details.field).toBe('name');
    expect(sub.body.details.problems.map((p: any) => p.path)).toEqual(expect.arrayContaining(['name', 'investor', 'project_type', 'requested_area_m2', 'site.srid', 'site.points.0.y', 'site.points']));
    expect(sub.body.details.problems.find((p: any) => p.path === 'site.srid').message).toMatch(/Gauss-Krüger/);
    // The cross-field rules of an opinion are listed with the rest, at their fields.
    const [{ id }] = await knex('applications').where({ status: 'under_review' }).orderBy('id').limit(1).select('id');
    const opinion = await post(`${api}/${id}/opinions`, 'land.reviewer', { decision: 'reject', conditions: 7 });
    expect(opinion.status).toBe(400);
    expect(opinion.body.details.problems.map((p: any) => p.path).sort()).toEqual(['conditions', 'reason', 'version']);
    const conditional = await post(`${api}/${id}/opinions`, 'land.reviewer', { version: 'one', decision: 'conditional', reason: '  ' });
    expect(conditional.body.details.problems.map((p: any) => p.path).sort()).toEqual(['conditions', 'version']);
    const correction = await post(`${api}/${id}/opinions/1/corrections`, 'land.reviewer', { decision: 'reject' });
    expect(correction.body.details.problems.map((p: any) => p.path).sort()).toEqual(['note', 'reason']);
    expect(await counts()).toEqual(before);
  });

  it('says where an application goes when a reviewer of another department signs (403 forbidden)', async () => {
    const r = await post(api, 'window', { ...pv({ source: 'drawn', geometry: sites.clean.geometry }), name: '部门测试项目' });
    const sign = await post(`${api}/${r.body.id}/opinions`, 'env.reviewer', { version: 1, decision: 'approve' });
    expect(sign.status).toBe(403);
    expect(sign.body.code).toBe('forbidden');
    expect(sign.body.message).toContain(r.body.number);
    expect(sign.body.message).toMatch(/goes to .*市国土局/);
    expect(sign.body.details.need).toMatchObject({ roles: ['reviewer'], departments: expect.arrayContaining(['land', 'ndrc', 'planning']) });
    expect(sign.body.details.need.or).toBeUndefined(); // an admin as such does not sign either
  });

  it('is described by the generated OpenAPI document, bodies and answers from the same schemas', async () => {
    const doc = (await getJson(`${srv.baseUrl}/api/openapi.json`)).body;
    const op = doc.paths['/api/applications/{id}/opinions'].post;
    expect(op.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/OpinionBody');
    expect(op.responses['201'].content['application/json'].schema.properties.application.$ref).toBe('#/components/schemas/Application');
    expect(doc.paths['/api/applications'].get.parameters.find((p: any) => p.name === 'status').schema.enum).toEqual(['under_review', 'approved', 'rejected', 'withdrawn']);
    expect(doc.paths['/api/applications/sites'].post.requestBody.content['multipart/form-data'].schema.required).toEqual(['file']);
    expect(doc.components.schemas.NewApplication.properties.project_type.enum).toEqual(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'layers/project-types.json'), 'utf8')).types.map((t: any) => t.code));
  });

  it('nobody reviews an application they submitted', async () => {
    const both = await createAccount(knex, { name: 'clerk.land', display_name: '兼任窗口与国土审查', department: 'land', roles: ['window_clerk', 'reviewer'], password: 'a long test password' });
    const r = await post(api, both.name, pv({ source: 'drawn', geometry: sites.farmland.geometry }));
    expect(r.status).toBe(201);
    const sign = await post(`${api}/${r.body.id}/opinions`, both.name, { version: 1, decision: 'approve' });
    expect(sign.status).toBe(403);
    expect(sign.body.message).toMatch(/nobody reviews an application they submitted/);
  });

  it('an amendment and an opinion at the same moment both resolve (no lost write, no 5xx)', async () => {
    const r = await post(api, 'window', { ...pv({ source: 'drawn', geometry: sites.clean.geometry }), name: '并发修改测试' });
    const id = r.body.id;
    const [amend, sign] = await Promise.all([
      post(`${api}/${id}/versions`, 'window', { note: '补充建设单位', investor: '大同新能源投资有限公司' }),
      post(`${api}/${id}/opinions`, 'ndrc.reviewer', { version: 1, decision: 'approve' }),
    ]);
    expect(amend.status, JSON.stringify(amend.body)).toBe(201);
    expect([201, 409]).toContain(sign.status); // signed before the amendment, or told the version is stale
    if (sign.status === 409) expect(sign.body.code).toBe('stale_version');
    const a = (await get(`${api}/${id}`, 'window')).body;
    expect(a.version).toBe(2);
    expect(a.current.investor).toBe('大同新能源投资有限公司');
    expect(a.opinions.length).toBe(sign.status === 201 ? 1 : 0);
  });

  it('flags overdue opinions, withdraws on request', async () => {
    const r = await post(api, 'window', { ...pv({ source: 'drawn', geometry: sites.clean.geometry }), name: '超期测试项目' });
    const id = r.body.id;
    await knex('application_versions').where({ application_id: id }).update({ deadline: '2026-01-05' }); // (id from the 201 above)
    const a = (await get(`${api}/${id}`, 'window')).body;
    expect(a.current.required.every((x: any) => x.overdue)).toBe(true);
    const inbox = (await get(`${api}/inbox`, 'land.reviewer')).body;
    const item = inbox.items.find((x: any) => x.id === id);
    expect(item.overdue).toBe(true);
    expect(item.days_left).toBeLessThan(0);
    expect(inbox.items[0].deadline <= inbox.items[inbox.items.length - 1].deadline).toBe(true);
    expect((await post(`${api}/${id}/withdraw`, 'land.reviewer', { reason: 'x' })).status).toBe(403);
    const w = await post(`${api}/${id}/withdraw`, 'window', { reason: '建设单位申请撤回' });
    expect(w.status).toBe(200);
    expect(w.body.status).toBe('withdrawn');
    expect(w.body.current.required.some((x: any) => x.overdue)).toBe(false);
    expect((await get(`${api}/inbox`, 'land.reviewer')).body.items.some((x: any) => x.id === id)).toBe(false);
    expect((await get(`${api}?status=withdrawn`, 'window')).body.items.map((x: any) => x.id)).toContain(id);
  });
});

describe('reproducible checks', () => {
  it('a check is reproduced from the plan revisions it recorded after the plans change, and today’s differences are named', async () => {
    const r = await post(api, 'window', { ...pv({ source: 'drawn', geometry: sites.farmland.geometry }), name: '复核测试项目' });
    const id = r.body.id;
    const stored = r.body.current.check;
    const same = await get(`${api}/${id}/versions/1/recheck`, 'land.reviewer');
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ against: 'recorded', reproduced: true, differences: [] });
    // The land-use plan changes: its basic farmland under the site becomes general farmland (020), a new revision.
    const layer = registry.byId.get('landuse_plan')!;
    const { rows } = await knex.raw(
      `SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom)::json,
              'properties', (to_jsonb(t) - 'geom' - 'fid' - 'area_m2' - 'updated_at') || jsonb_build_object('code',
                CASE WHEN code = '010' AND ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON(?), 4490)) THEN '020' ELSE code END)) AS f
         FROM plan.landuse_plan t ORDER BY fid`,
      [JSON.stringify(sites.farmland.geometry)],
    );
    const commit = await commitRevision(knex, layer, rows.map((x: { f: RevisionFeature }) => x.f), { kind: 'edit', createdBy: 'land.editor', reason: '基本农田调整（测试）' });
    expect(commit.revision).toBeGreaterThan(stored.revisions.landuse_plan);
    // Against the recorded revisions: the same check, area for area.
    const again = (await get(`${api}/${id}/versions/1/recheck?against=recorded`, 'land.reviewer')).body;
    expect(again.reproduced).toBe(true);
    expect(again.check.rules.find((x: any) => x.rule === 'pv_on_basic_farmland').area_m2).toBeCloseTo(stored.rules.find((x: any) => x.rule === 'pv_on_basic_farmland').area_m2, 6);
    // Against today's plans: the rule and the zone are gone, the verdict and the classes changed.
    const now = (await get(`${api}/${id}/versions/1/recheck?against=current`, 'land.reviewer')).body;
    expect(now.reproduced).toBe(false);
    expect(now.check.revisions.landuse_plan).toBe(commit.revision);
    expect(now.differences.map((d: any) => d.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^verdict: conflicting → compliant$/), expect.stringMatching(/^rule pv_on_basic_farmland: gone/), expect.stringMatching(/^zone basic_farmland: gone/), expect.stringMatching(/^class landuse_plan\/020: new/)]));
    expect(now.differences.find((d: any) => d.what === 'rule')).toMatchObject({ key: 'pv_on_basic_farmland', zh: '光伏电站占用基本农田保护区', after: null });
    // The stored report is unchanged.
    expect((await get(`${api}/${id}`, 'window')).body.current.check).toEqual(stored);
    expect((await get(`${api}/${id}/versions/1/recheck?against=yesterday`, 'window')).body.code).toBe('invalid_parameter');
  });
});

describe('working days', () => {
  const cal = WorkCalendar.load();
  it('skip weekends and public holidays and count make-up working days', () => {
    expect(cal.addWorkdays('2026-11-26', 10)).toBe('2026-12-10'); // Thu + 10 working days
    expect(cal.addWorkdays('2026-09-30', 1)).toBe('2026-10-08'); // after the National Day holiday (1–7 October)
    expect(cal.addWorkdays('2026-10-09', 1)).toBe('2026-10-10'); // Saturday make-up working day
    expect(cal.workdaysLeft('2026-11-26', '2026-12-10')).toBe(10);
    expect(cal.workdaysLeft('2026-12-10', '2026-11-26')).toBe(-10);
  });
});

function beijingToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
}
