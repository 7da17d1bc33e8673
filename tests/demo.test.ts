// The Datong demo data set (server/demo): loaded into fresh databases on real PostGIS, checked for
// what the rest of the service relies on: every layer filled, registry codes only, tiling layers
// that tile, determinism per seed, and the deliberate conflicts the conflict detection must find.
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDemo } from '../server/demo/load';
import { PROJECT_ROOT } from '../server/platform/config';
import { layerTable } from '../server/platform/sql';
import { loadRegistry } from '../server/layers/registry';
import { useTestDatabase } from './helpers/db';
import { useFileDatabase } from './helpers/setup';

interface Conflict {
  id: string;
  lon: number;
  lat: number;
  window_m: number;
  a: { layer: string; code: string | null };
  b: { layer: string; code: string | null };
  min_overlap_m2: number;
}
const conflicts = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'server/demo/conflicts.json'), 'utf8')) as { conflicts: Conflict[] }).conflicts;
const registry = loadRegistry();
const SEED = 2015;
/** Layers whose features tile the whole city (every district, no gaps, no overlaps). */
const CITY_TILING = ['districts', 'landuse_status', 'landuse_plan', 'landuse_control', 'econ_zones'];
/** Layers whose features must not overlap each other. */
const NON_OVERLAPPING = [...CITY_TILING, 'urban_plan', 'subsidence', 'eco_redline', 'water_source', 'nature_reserve', 'industrial_parks'];

/** One checksum per layer over every column that matters, in fid order. */
async function checksums(knex: Knex): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const layer of registry.delivered) {
    const { rows } = await knex.raw(
      `SELECT md5(string_agg(fid || ':' || md5(ST_AsBinary(geom)) || ':' || md5((to_jsonb(t) - 'updated_at' - 'geom')::text), ',' ORDER BY fid)) AS sum
       FROM ${layerTable(layer.id)} t`,
    );
    out[layer.id] = rows[0].sum;
  }
  return out;
}

// Timeouts: a demo load takes ~10 s on two cores; the determinism test loads a second database.
// (How long a load takes is measured by `npm run bench:demo`, not asserted here.)
describe('demo data set', { timeout: 180_000 }, () => {
  const db = useFileDatabase();
  let counts: Record<string, number>;

  beforeAll(async () => {
    counts = await loadDemo(db.knex, { scale: 'demo', seed: SEED });
  }, 300_000);

  it('fills every registry layer, reporting the counts it stored', async () => {
    for (const layer of registry.delivered) {
      const { rows } = await db.knex.raw(`SELECT count(*)::int AS n FROM ${layerTable(layer.id)}`);
      expect(rows[0].n, layer.id).toBeGreaterThan(0);
      expect(counts[layer.id], layer.id).toBe(rows[0].n);
    }
  });

  it('has survey-like granularity: 15,000–30,000 status parcels, 1,000–3,000 plan zones and urban blocks', () => {
    expect(counts.landuse_status).toBeGreaterThanOrEqual(15_000);
    expect(counts.landuse_status).toBeLessThanOrEqual(30_000);
    expect(counts.landuse_plan).toBeGreaterThanOrEqual(1_000);
    expect(counts.landuse_plan).toBeLessThanOrEqual(3_000);
    expect(counts.urban_plan).toBeGreaterThanOrEqual(1_000);
  });

  it('stores the eleven real 2015 districts with about 14,070 km² in all', async () => {
    const { rows } = await db.knex.raw(`SELECT array_agg(name ORDER BY adcode) AS names, sum(area_m2) / 1e6 AS km2,
      count(*) FILTER (WHERE code = 'district')::int AS districts FROM plan.districts`);
    expect(rows[0].names).toEqual(['城区', '矿区', '南郊区', '新荣区', '阳高县', '天镇县', '广灵县', '灵丘县', '浑源县', '左云县', '大同县']);
    expect(rows[0].districts).toBe(4);
    expect(Math.abs(rows[0].km2 - 14_070) / 14_070).toBeLessThan(0.02);
  });

  it('uses only the class codes of the registry', async () => {
    for (const layer of registry.layers) {
      const allowed = layer.classification.classes.map((c) => c.code);
      const { rows } = await db.knex.raw(`SELECT DISTINCT code FROM ${layerTable(layer.id)} ORDER BY code`);
      for (const { code } of rows) expect(allowed, `${layer.id}: ${code}`).toContain(code);
    }
  });

  it('stores valid geometries in EPSG:4490 only', async () => {
    for (const layer of registry.layers) {
      const { rows } = await db.knex.raw(
        `SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom) OR ST_SRID(geom) <> 4490 OR ST_IsEmpty(geom))::int AS bad FROM ${layerTable(layer.id)}`,
      );
      expect(rows[0].bad, layer.id).toBe(0);
    }
  });

  it('tiles the city with the land-use, control and functional-zone layers: their area is the districts\' area', async () => {
    const { rows: d } = await db.knex.raw('SELECT sum(area_m2) AS a FROM plan.districts');
    for (const id of CITY_TILING) {
      const { rows } = await db.knex.raw(`SELECT sum(area_m2) AS a FROM ${layerTable(id)}`);
      // Same total to 1 m² per km² (no overlaps is checked separately, so equal sums mean no gaps).
      expect(Math.abs(rows[0].a - d[0].a), id).toBeLessThan(d[0].a / 1e6);
    }
  });

  it('has no overlapping features within the tiling and zoning layers', async () => {
    for (const id of NON_OVERLAPPING) {
      const { rows } = await db.knex.raw(
        `SELECT COALESCE(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0) AS overlap_m2
         FROM ${layerTable(id)} a JOIN ${layerTable(id)} b ON a.fid < b.fid AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)`,
      );
      expect(rows[0].overlap_m2, id).toBeLessThan(1);
    }
  });

  it('puts 10 ground PV stations (500 MW) on subsidence land, 5 distributed projects (50 MW) and 350 MW elsewhere', async () => {
    const { rows } = await db.knex.raw(`SELECT code, on_subsidence, count(*)::int AS n, sum(capacity_mw) AS mw FROM plan.pv_sites GROUP BY 1, 2 ORDER BY 1, 2`);
    expect(rows).toEqual([
      { code: 'distributed', on_subsidence: false, n: 5, mw: 50 },
      { code: 'ground', on_subsidence: false, n: 8, mw: 350 },
      { code: 'ground', on_subsidence: true, n: 10, mw: 500 },
    ]);
  });

  it('records revision 1 with the feature count and area of every layer', async () => {
    const { rows } = await db.knex.raw('SELECT layer_id, revision, reason, feature_count, area_m2 FROM layer_revisions ORDER BY layer_id');
    expect(rows.map((r: { layer_id: string }) => r.layer_id)).toEqual(registry.delivered.map((l) => l.id).sort());
    for (const r of rows) {
      expect(r.revision).toBe(1);
      expect(r.reason).toBe(`demo data (seed ${SEED})`);
      expect(r.feature_count).toBe(counts[r.layer_id]);
      if (registry.byId.get(r.layer_id)!.geometry === 'MultiPolygon') expect(r.area_m2).toBeGreaterThan(0);
      else expect(r.area_m2).toBeNull();
    }
  });

  it('refuses to load over non-empty layer tables without replace, changing nothing', async () => {
    const before = await db.knex.raw('SELECT count(*)::int AS n FROM plan.landuse_status');
    await expect(loadDemo(db.knex, { scale: 'demo', seed: SEED })).rejects.toThrow(/not empty/);
    const after = await db.knex.raw('SELECT count(*)::int AS n FROM plan.landuse_status');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it.each(conflicts.map((c) => [c.id, c] as const))('contains deliberate conflict %s', async (_id, c) => {
    const codeA = c.a.code === null ? '' : 'AND a.code = ?';
    const codeB = c.b.code === null ? '' : 'AND b.code = ?';
    const { rows } = await db.knex.raw(
      `WITH w AS (SELECT ST_SetSRID(ST_Buffer(ST_SetSRID(ST_MakePoint(?, ?), 4490)::geography, ?)::geometry, 4490) AS g)
       SELECT COALESCE(sum(ST_Area(ST_Intersection(ST_Intersection(a.geom, b.geom), w.g)::geography)), 0) AS overlap_m2
       FROM w, ${layerTable(c.a.layer)} a JOIN ${layerTable(c.b.layer)} b ON a.geom && b.geom AND ST_Intersects(a.geom, b.geom) ${codeA} ${codeB}
       WHERE a.geom && w.g AND b.geom && w.g`,
      [c.lon, c.lat, c.window_m, ...[c.a.code, c.b.code].filter((x): x is string => x !== null)],
    );
    expect(rows[0].overlap_m2).toBeGreaterThanOrEqual(c.min_overlap_m2);
  });

  it('gives byte-identical data for the same seed (a second database, loaded again)', async () => {
    const other = await useTestDatabase();
    try {
      await loadDemo(other.knex, { scale: 'demo', seed: SEED });
      expect(await checksums(other.knex)).toEqual(await checksums(db.knex));
    } finally {
      await other.close();
    }
  });
});
