// The territorial spatial plan's layers (国土空间规划, 三区三线: the three zones, the urban development
// boundary, permanent basic farmland, the red line as re-drawn, and land use by the 2023 用地用海 codes),
// added by registry data alone: their registry files, the migration `npm run layers:migration` wrote,
// their demo content as SQL in layers/demo/ and their conflict rules in layers/conflict-rules.json.
// On the run's shared demo database: the layers are served like every other, their rules find
// patches, and no line of code names them.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../server/conflicts/rules';
import { loadRegistry } from '../server/layers/registry';
import { PROJECT_ROOT } from '../server/platform/config';
import { staffHeaders } from './helpers/auth';
import { requestsAs } from './helpers/http';
import { useFileServer, useSharedDemoDatabase } from './helpers/setup';

const LAYERS = ['spatial_zones', 'urban_dev_boundary', 'permanent_farmland', 'eco_redline_gtkj', 'landuse_gtkj'];
const RULES = ['gtkj_construction_outside_udb', 'urban_construction_on_permanent_farmland', 'gtkj_construction_on_permanent_farmland', 'udb_in_redline_gtkj'];
const registry = loadRegistry();
const srv = useFileServer();
const staff = requestsAs(staffHeaders);
const { knex } = useSharedDemoDatabase();

describe('the 三区三线 layers, added by registry data alone', () => {
  it('are registry layers of the territorial group, served as OGC API collections with features inside the city, their queryables from the registry', async () => {
    for (const id of LAYERS) {
      const layer = registry.byId.get(id)!;
      expect(layer.group, id).toBe('territorial');
      const { body } = await staff.getJson(`${srv.baseUrl}/ogcapi/collections/${id}/items?limit=1`);
      expect(body.numberMatched, id).toBeGreaterThan(0);
      const outside = await knex.raw(`SELECT count(*)::int AS n FROM plan.${id} t WHERE NOT ST_CoveredBy(t.geom, (SELECT ST_Buffer(ST_Union(geom), 0.0001) FROM plan.districts))`);
      expect(outside.rows[0].n, id).toBe(0);
      const q = (await staff.getJson(`${srv.baseUrl}/ogcapi/collections/${id}/queryables`)).body;
      expect(q.properties.code.enum, id).toEqual(layer.classification.classes.map((c) => c.code));
    }
    // The land use of the 2023 guide, with its construction classes as facts the rules select on.
    const gtkj = registry.byId.get('landuse_gtkj')!;
    expect(gtkj.classification.classes.filter((c) => c.construction).map((c) => c.code)).toEqual(['0701', '0703', '08', '09', '1001', '1002', '11', '12', '13', '14']);
    // The three zones tile the city: their areas add up to the districts' (within 0.01 %).
    const { rows } = await knex.raw(`SELECT (SELECT sum(area_m2) FROM plan.spatial_zones) AS zones, (SELECT sum(area_m2) FROM plan.districts) AS city`);
    expect(Math.abs(rows[0].zones - rows[0].city) / rows[0].city).toBeLessThan(1e-4);
  });

  it('their conflict rules find patches, with the areas PostGIS gives the overlays', async () => {
    const rules = loadRules(registry);
    for (const id of RULES) {
      const rule = rules.byId.get(id)!;
      const { rows } = await knex.raw(`SELECT count(*)::int AS n, coalesce(sum(area_m2), 0) AS area FROM conflict_pieces WHERE rule_id = ?`, [id]);
      expect(rows[0].n, id).toBeGreaterThan(0);
      // No more than the plain overlay of the two sides (pieces lose slivers, and what an earlier piece covers),
      const overlay = await knex.raw(
        `SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography, true)), 0) AS area
           FROM plan.${rule.a.layer.id} a JOIN plan.${rule.b.layer.id} b ON a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
          WHERE a.code = ANY(?) AND b.code = ANY(?)`,
        [rule.a.codes, rule.b.codes],
      );
      expect(Number(rows[0].area), id).toBeLessThanOrEqual(Number(overlay.rows[0].area) * (1 + 1e-6)); // pieces cut at district boundaries: 1e-6, as the detection tests allow
      expect(Number(rows[0].area), id).toBeGreaterThan(0);
    }
  });

  it('no line of code names them: the server, the viewer and the migrations but the generated one', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js|sql|css|html)$/.test(e.name)) files.push(p);
      }
    };
    for (const d of ['server', 'web/src', 'migrations']) walk(path.join(PROJECT_ROOT, d));
    const naming = files.filter((f) => LAYERS.some((id) => fs.readFileSync(f, 'utf8').includes(id))).map((f) => path.relative(PROJECT_ROOT, f));
    expect(naming).toEqual(['migrations/20261206000002_layers_5_layers.ts']);
  });
});
