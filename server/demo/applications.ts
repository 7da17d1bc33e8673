// Demo applications of the joint review, so that a first start shows the workflow at work: a PV
// project on basic farmland waiting in the inboxes of 国土局, 发改委 and 规划局, and one already
// approved (with a condition). Made through the workflow itself (the bodies validated as the API
// validates them; checked, routed, signed, audited), on sites found in the demo data: 300 m
// squares of a 2 km grid in EPSG:4547 inside one district, clear of every sensitive layer, one
// with 2–7 ha of 基本农田保护区 and one without.
import type { Knex } from 'knex';
import type { Account } from '../accounts/accounts';
import { WorkCalendar } from '../applications/calendar';
import { sign, submit } from '../applications/commands';
import { NewApplication, OpinionBody } from '../applications/schemas';
import { loadProjectTypes } from '../applications/types';
import { Applications } from '../applications/workflow';
import type { RuleSet } from '../conflicts/rules';
import type { Registry } from '../layers/registry';

export interface DemoSite {
  /** South-west corner in EPSG:4547 metres (easting, northing); the square is 300 m × 300 m. */
  x: number;
  y: number;
  /** The square as a GeoJSON Polygon in EPSG:4490 (lon, lat), corners transformed by PostGIS. */
  geometry: { type: 'Polygon'; coordinates: number[][][] };
  /** Area on basic farmland (m², ellipsoidal). */
  farmland_m2: number;
}

const SITES_SQL = `
WITH grid AS (
  SELECT x, y, ST_Transform(ST_MakeEnvelope(x, y, x + 300, y + 300, 4547), 4490) AS g
    FROM generate_series(0, 60) i, generate_series(0, 60) j, LATERAL (SELECT 440000 + i * 2000.0 AS x, 4380000 + j * 2000.0 AS y) c
), scored AS (
  SELECT x, y, g,
    (SELECT coalesce(ST_Area(ST_UnaryUnion(ST_Collect(ST_Intersection(f.geom, g)))::geography, true), 0) FROM plan.landuse_plan f WHERE f.geom && g AND f.code = '010' AND ST_Intersects(f.geom, g)) AS farm,
    EXISTS (SELECT 1 FROM plan.landuse_plan f WHERE f.geom && g AND ST_Intersects(f.geom, g)) AS planned,
    EXISTS (SELECT 1 FROM plan.eco_redline f WHERE f.geom && g AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.water_source f WHERE f.geom && g AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.nature_reserve f WHERE f.geom && g AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.subsidence f WHERE f.geom && g AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.econ_zones f WHERE f.geom && g AND f.code = 'prohibited' AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.approved_projects f WHERE f.geom && g AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.industrial_parks f WHERE f.geom && g AND ST_Intersects(f.geom, g))
    OR EXISTS (SELECT 1 FROM plan.pv_sites f WHERE f.geom && g AND ST_Intersects(f.geom, g)) AS sensitive,
    (SELECT min(adcode) FROM plan.districts f WHERE ST_Covers(f.geom, g)) AS adcode
  FROM grid
)
SELECT a.x AS fx, a.y AS fy, ST_AsGeoJSON(a.g, 9) AS fg, a.farm, b.x AS cx, b.y AS cy, ST_AsGeoJSON(b.g, 9) AS cg
  FROM scored a JOIN LATERAL (
    SELECT * FROM scored b WHERE b.planned AND NOT b.sensitive AND b.adcode IS NOT NULL AND b.farm = 0
     ORDER BY (b.x - a.x) ^ 2 + (b.y - a.y) ^ 2 LIMIT 1) b ON true
 WHERE a.planned AND NOT a.sensitive AND a.adcode IS NOT NULL AND a.farm BETWEEN 20000 AND 70000
   AND (b.x - a.x) ^ 2 + (b.y - a.y) ^ 2 < 20000.0 ^ 2
 ORDER BY a.x, a.y LIMIT 1`;

/** A site on basic farmland and a clean one near it, from the demo data. */
export async function findDemoSites(knex: Knex): Promise<{ farmland: DemoSite; clean: DemoSite }> {
  const { rows } = await knex.raw(SITES_SQL);
  if (!rows.length) throw new Error('the demo data has no site for the demo applications');
  const r = rows[0];
  return {
    farmland: { x: Number(r.fx), y: Number(r.fy), geometry: JSON.parse(r.fg), farmland_m2: Number(r.farm) },
    clean: { x: Number(r.cx), y: Number(r.cy), geometry: JSON.parse(r.cg), farmland_m2: 0 },
  };
}

/** The corners of a site's square as boundary points (X northing, Y easting), in EPSG:4547 or with zone prefix 38 (EPSG:4526). */
export function squarePoints(s: Pick<DemoSite, 'x' | 'y'>, prefixed = false) {
  const e = prefixed ? 38_000_000 : 0;
  return [
    { order: 1, x: s.y, y: e + s.x },
    { order: 2, x: s.y, y: e + s.x + 300 },
    { order: 3, x: s.y + 300, y: e + s.x + 300 },
    { order: 4, x: s.y + 300, y: e + s.x },
  ];
}

/** Adds the demo applications to a database that has none (demo accounts must exist). */
export async function loadDemoApplications(knex: Knex, registry: Registry, rules: RuleSet): Promise<number> {
  if (await knex('applications').first('id')) return 0;
  const apps = new Applications(knex, registry, loadProjectTypes(registry, rules), WorkCalendar.load());
  const account = async (name: string): Promise<Account> => knex('accounts').where({ name }).first('id', 'name', 'display_name', 'department', 'roles');
  const [window, land, ndrc, planning] = await Promise.all(['window', 'land.reviewer', 'ndrc.reviewer', 'planning.reviewer'].map(account));
  const sites = await findDemoSites(knex);

  // Approved: a distributed PV plant on a clean site, typed as boundary points with the zone prefix.
  const approved = await submit(apps, window, NewApplication.parse({
    name: '南郊区农光互补分布式光伏电站', project_type: 'energy', investor: '大同市南郊新能源开发有限公司', requested_area_m2: 90_000,
    site: { source: 'points', srid: 4526, points: squarePoints(sites.clean, true) },
  }));
  await sign(apps, land, approved, OpinionBody.parse({ version: 1, decision: 'conditional', conditions: '光伏板下保持农业种植，不得硬化地面；按规定办理设施农用地备案' }));
  await sign(apps, ndrc, approved, OpinionBody.parse({ version: 1, decision: 'approve' }));
  await sign(apps, planning, approved, OpinionBody.parse({ version: 1, decision: 'approve' }));

  // Under review: a ground PV station whose site lies partly on basic farmland.
  await submit(apps, window, NewApplication.parse({
    name: '塔山光伏电站二期', project_type: 'energy', investor: '大同光伏新能源有限公司', requested_area_m2: 90_000,
    site: { source: 'drawn', geometry: sites.farmland.geometry },
  }));
  return 2;
}
