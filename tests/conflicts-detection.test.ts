// Conflict detection against real PostGIS: the rules file and its refusals, turf-style fixtures
// (GeoJSON in, expected patches out: tests/fixtures/conflicts/{in,out}), and on the demo data the
// area identity per rule, areas against GeographicLib (pyproj), stable ids, incremental runs equal
// to full runs, and a run's results invisible until it commits.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConflictEngine } from '../server/conflicts/detect';
import { loadRules, RULES_FILE } from '../server/conflicts/rules';
import { loadRegistry, type Layer } from '../server/layers/registry';
import { PROJECT_ROOT } from '../server/platform/config';
import { layerTable, quoteIdent } from '../server/platform/sql';
import { commitRevision, restoreRevision, type RevisionFeature } from '../server/revisions/commit';
import { geodesicAreas } from './helpers/geodesic';
import { useFileDatabase } from './helpers/setup';

const run = promisify(execFile);
const registry = loadRegistry();
const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'conflicts');

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe('conflict rules (layers/conflict-rules.json)', () => {
  it('loads, with every side resolved to class codes of its layer', () => {
    const rules = loadRules(registry);
    expect(rules.rules.length).toBeGreaterThanOrEqual(10);
    const r = rules.byId.get('urban_construction_on_basic_farmland')!;
    expect(r.a.layer.id).toBe('urban_plan');
    expect(r.a.codes).toContain('R');
    expect(r.a.codes).not.toContain('E2');
    expect(r.b.codes).toEqual(['010']);
    expect(r.min_area_m2).toBe(400);
    // 010 belongs to the gravest rule only, so no place is counted in both.
    expect(rules.byId.get('urban_construction_on_land_nonconstruction')!.b.codes).not.toContain('010');
    expect(rules.byId.get('housing_on_unstable_subsidence')!.b.codes.sort()).toEqual(['basically_stable', 'unstable']);
    for (const id of ['land_construction_on_urban_nonconstruction', 'urban_construction_in_redline', 'land_construction_in_redline', 'park_in_redline', 'park_in_water_source', 'pv_on_basic_farmland', 'park_in_prohibited_zone']) {
      expect(rules.byId.has(id), id).toBe(true);
    }
  });

  it('refuses a rule naming a missing layer or class, and says which', () => {
    const json = JSON.parse(fs.readFileSync(RULES_FILE, 'utf8'));
    json.rules[0].a.layer = 'no_such_layer';
    json.rules[1].b.classes = ['010', 'XX9'];
    json.rules[2].departments = ['planning', 'nobody'];
    json.rules[3].id = json.rules[4].id;
    const file = path.join(os.tmpdir(), `rules-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(json));
    try {
      expect(() => loadRules(registry, file)).toThrowError(/rules\.0 \(urban_construction_on_basic_farmland\): a\.layer: layer 'no_such_layer' is not in the registry/);
      expect(() => loadRules(registry, file)).toThrowError(/rules\.1 .*b\.classes\.1: class 'XX9' is not in layer 'landuse_plan'/);
      expect(() => loadRules(registry, file)).toThrowError(/departments\.1: 'nobody' is not in departments\.json/);
      expect(() => loadRules(registry, file)).toThrowError(/id 'land_construction_in_redline' appears twice/);
    } finally {
      fs.rmSync(file);
    }
  });
});

// --- fixtures -------------------------------------------------------------------------------------

interface FixtureFeature {
  properties: { layer: string; code: string; name: string; adcode?: string; invalid?: boolean };
  geometry: { type: string; coordinates: unknown };
}
interface FixtureOut {
  patches?: { a: string; b: string; adcode: string; parts: number; geometry: unknown }[];
  patch_count?: number;
  union?: unknown;
  sliver_parts: number;
  sliver_geometry?: unknown;
  refused?: string[];
}

describe('conflict detection fixtures (GeoJSON in, patches out)', () => {
  const { knex } = useFileDatabase();
  const rules = loadRules(registry, path.join(FIXTURES, 'rules.json'));
  const rule = rules.rules[0];

  /** Inserts a fixture feature into its layer table (required attributes filled); returns its fid. */
  async function insert(f: FixtureFeature, repair: boolean): Promise<number> {
    const layer = registry.byId.get(f.properties.layer)!;
    const values: Record<string, unknown> = { code: f.properties.code };
    for (const a of layer.attributes) {
      if (a.name === 'name' || a.name === 'adcode') values[a.name] = f.properties[a.name as 'name' | 'adcode'] ?? f.properties.name;
      else if (a.required) values[a.name] = a.type === 'text' ? f.properties.name : a.type === 'boolean' ? false : a.type === 'date' ? '2015-01-01' : 1;
    }
    const cols = Object.keys(values);
    const geom = repair ? 'ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(?), 4490)), 3))' : 'ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(?), 4490))';
    const { rows } = await knex.raw<{ rows: { fid: number }[] }>(
      `INSERT INTO ${layerTable(layer.id)} (${cols.map(quoteIdent).join(', ')}, geom) VALUES (${cols.map(() => '?').join(', ')}, ${geom}) RETURNING fid`,
      [...cols.map((c) => values[c] as Knex.Value), JSON.stringify(f.geometry)],
    );
    return Number(rows[0].fid);
  }

  const cases = fs.readdirSync(path.join(FIXTURES, 'in')).filter((f) => f.endsWith('.geojson')).map((f) => f.replace(/\.geojson$/, '')).sort();
  it('has the fixtures the issue names', () => {
    expect(cases).toEqual(expect.arrayContaining(['touching-edges', 'hole', 'multipolygon', 'slivers', 'straddle', 'identical', 'invalid-input', 'overlapping-sources']));
  });

  for (const name of cases) {
    it(name, async () => {
      const input = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'in', `${name}.geojson`), 'utf8')) as { features: FixtureFeature[] };
      const out = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'out', `${name}.json`), 'utf8')) as FixtureOut;
      await knex.raw(`TRUNCATE plan.districts, plan.urban_plan, plan.landuse_plan, conflict_case_events, conflict_cases, conflict_pieces,
                      conflict_sources, conflict_source_overlaps, conflict_state, conflict_rules, conflict_runs RESTART IDENTITY`);
      const fidOf = new Map<string, number>();
      const refused: string[] = [];
      for (const f of input.features) {
        if (f.properties.invalid) {
          // As delivered, the layer refuses it (CHECK ST_IsValid); the import's --repair makes it valid.
          await expect(insert(f, false)).rejects.toMatchObject({ code: '23514' });
          refused.push(f.properties.name);
          fidOf.set(`${f.properties.layer}:${f.properties.name}`, await insert(f, true));
        } else fidOf.set(`${f.properties.layer}:${f.properties.name}`, await insert(f, false));
      }
      expect(refused).toEqual(out.refused ?? []);
      const engine = new ConflictEngine(knex, registry, rules);
      const result = await engine.run({ mode: 'full', requestedBy: 'test' });
      expect(result.status).toBe('succeeded');

      const { rows } = await knex.raw<{ rows: { id: string; a_fid: string; b_fid: string; adcode: string; parts: number; area_m2: number; geom: string | null; sliver_parts: number; sliver_area_m2: number }[] }>(
        `SELECT id, a_fid, b_fid, adcode, parts, area_m2, ST_AsGeoJSON(geom) AS geom, sliver_parts, sliver_area_m2 FROM conflict_pieces WHERE rule_id = ? ORDER BY id`,
        [rule.id],
      );
      const patches = rows.filter((r) => r.geom !== null);
      const slivers = rows.reduce((s, r) => s + r.sliver_parts, 0);
      expect(slivers, 'sliver parts').toBe(out.sliver_parts);

      if (out.patches) {
        const key = (a: unknown, b: unknown, adcode: string) => `${a}|${b}|${adcode}`;
        expect(patches.map((p) => key(p.a_fid, p.b_fid, p.adcode)).sort()).toEqual(
          out.patches.map((p) => key(fidOf.get(`urban_plan:${p.a}`), fidOf.get(`landuse_plan:${p.b}`), p.adcode)).sort(),
        );
        const reference = await geodesicAreas(out.patches.map((p) => p.geometry));
        for (const [i, p] of out.patches.entries()) {
          const got = patches.find((x) => key(x.a_fid, x.b_fid, x.adcode) === key(fidOf.get(`urban_plan:${p.a}`), fidOf.get(`landuse_plan:${p.b}`), p.adcode))!;
          expect(got.parts, `${name}: parts of ${p.a}×${p.b}`).toBe(p.parts);
          // The same shape as expected (symmetric difference ≈ 0) and the same area as GeographicLib's.
          const { rows: d } = await knex.raw<{ rows: { diff: number } []}>(
            `SELECT ST_Area(ST_SymDifference(ST_GeomFromGeoJSON(?), ST_SetSRID(ST_GeomFromGeoJSON(?), 4490))::geography) AS diff`,
            [got.geom, JSON.stringify(p.geometry)],
          );
          expect(d[0].diff / reference[i], `${name}: shape of ${p.a}×${p.b}`).toBeLessThan(1e-9);
          expect(rel(got.area_m2, reference[i]), `${name}: area ${got.area_m2} vs GeographicLib ${reference[i]}`).toBeLessThan(1e-4);
        }
      }
      if (out.patch_count !== undefined) {
        expect(patches.length).toBe(out.patch_count);
        // No two patches overlap, and together they are exactly the expected union.
        const { rows: u } = await knex.raw<{ rows: { overlap: number; diff: number }[] }>(
          `SELECT (SELECT COALESCE(sum(ST_Area(ST_Intersection(p.geom, q.geom)::geography)), 0) FROM conflict_pieces p JOIN conflict_pieces q ON p.id < q.id AND p.geom && q.geom) AS overlap,
                  ST_Area(ST_SymDifference((SELECT ST_Union(geom) FROM conflict_pieces), ST_SetSRID(ST_GeomFromGeoJSON(?), 4490))::geography) AS diff`,
          [JSON.stringify(out.union)],
        );
        const [ref] = await geodesicAreas([out.union]);
        expect(u[0].overlap / ref).toBeLessThan(1e-9);
        expect(u[0].diff / ref).toBeLessThan(1e-9);
        expect(rel(patches.reduce((s, p) => s + p.area_m2, 0), ref)).toBeLessThan(1e-4);
      }
      if (out.sliver_geometry) {
        const [ref] = await geodesicAreas([out.sliver_geometry]);
        expect(rel(rows.reduce((s, r) => s + r.sliver_area_m2, 0), ref)).toBeLessThan(1e-4);
      }
      // The identity: patches plus slivers make area(∪A ∩ ∪B), over the rule's classes.
      const { rows: id } = await knex.raw<{ rows: { ours: number | null; ref: number | null }[] }>(
        `SELECT (SELECT sum(area_m2 + sliver_area_m2) FROM conflict_pieces) AS ours,
                ST_Area(ST_Intersection((SELECT ST_Union(geom) FROM plan.urban_plan WHERE code = ANY(?)), (SELECT ST_Union(geom) FROM plan.landuse_plan WHERE code = ANY(?)))::geography, true) AS ref`,
        [rule.a.codes, rule.b.codes],
      );
      if (!id[0].ref) expect(id[0].ours ?? 0).toBe(0);
      else expect(rel(id[0].ours!, id[0].ref)).toBeLessThan(1e-9);
    });
  }
});

// --- the demo data ----------------------------------------------------------------------------------

describe('conflict detection on the demo data', () => {
  const db = useFileDatabase({ demo: true }); // the demo load ends with a full run
  const { knex } = db;
  const rules = loadRules(registry);
  let engine: ConflictEngine;

  beforeAll(() => {
    engine = new ConflictEngine(knex, registry, rules);
  });

  const snapshot = async () =>
    (
      await knex.raw<{ rows: { id: string; area_m2: number; sliver_area_m2: number; adcode: string }[] }>(
        'SELECT id, area_m2, sliver_area_m2, adcode FROM conflict_pieces WHERE geom IS NOT NULL OR sliver_parts > 0 ORDER BY id',
      )
    ).rows;

  it('finds every deliberate conflict of the demo (server/demo/conflicts.json)', async () => {
    const { conflicts } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'server', 'demo', 'conflicts.json'), 'utf8')) as {
      conflicts: { id: string; lon: number; lat: number; window_m: number; a: { layer: string; code: string | null }; b: { layer: string; code: string | null }; min_overlap_m2: number }[];
    };
    for (const c of conflicts) {
      const matching = rules.rules.filter(
        (r) => r.a.layer.id === c.a.layer && r.b.layer.id === c.b.layer && (c.a.code === null || r.a.codes.includes(c.a.code)) && (c.b.code === null || r.b.codes.includes(c.b.code)),
      );
      if (!matching.length) continue; // a deliberate overlap no rule is about
      const { rows } = await knex.raw<{ rows: { area: number | null }[] }>(
        `SELECT sum(area_m2) AS area FROM conflict_pieces
          WHERE rule_id = ANY(?) AND geom IS NOT NULL
            AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(?, ?), 4490)::geography, ?)`,
        [matching.map((r) => r.id), c.lon, c.lat, c.window_m],
      );
      expect(rows[0].area ?? 0, `${c.id} (${matching.map((r) => r.id).join(', ')})`).toBeGreaterThanOrEqual(c.min_overlap_m2 * 0.9);
    }
  });

  it('for every rule, patches plus slivers = area(A ∩ B) within 1e-6 (no area counted twice)', async () => {
    for (const r of rules.rules) {
      // The reference: the union of all pairwise intersections, one query, no districts, no
      // overlap bookkeeping, no slivers (∪(a ∩ b) = ∪A ∩ ∪B).
      const { rows } = await knex.raw<{ rows: { ours: number | null; ref: number | null; naive_sum: number | null }[] }>(
        `WITH pairs AS (
           SELECT ST_Intersection(a.geom, b.geom) AS g FROM ${layerTable(r.a.layer.id)} a JOIN ${layerTable(r.b.layer.id)} b ON ST_Intersects(a.geom, b.geom)
            WHERE a.code = ANY(?) AND b.code = ANY(?))
         SELECT (SELECT sum(area_m2 + sliver_area_m2) FROM conflict_pieces WHERE rule_id = ?) AS ours,
                (SELECT ST_Area(ST_Union(g)::geography, true) FROM pairs) AS ref,
                (SELECT sum(ST_Area(g::geography, true)) FROM pairs) AS naive_sum`,
        [r.a.codes, r.b.codes, r.id],
      );
      const { ours, ref } = rows[0];
      if (!ref) expect(ours ?? 0, r.id).toBe(0);
      else expect(rel(ours!, ref), `${r.id}: ${ours} vs ${ref}`).toBeLessThan(1e-6);
    }
  });

  it('agrees with GeographicLib (pyproj) on every patch area within 0.01 %', async () => {
    const { rows } = await knex.raw<{ rows: { id: string; area_m2: number; geom: string }[] }>(
      'SELECT id, area_m2, ST_AsGeoJSON(geom, 15) AS geom FROM conflict_pieces WHERE geom IS NOT NULL ORDER BY id',
    );
    expect(rows.length).toBeGreaterThan(100);
    const ref = await geodesicAreas(rows.map((r) => JSON.parse(r.geom)));
    const worst = rows.map((r, i) => ({ id: r.id, e: rel(r.area_m2, ref[i]) })).sort((a, b) => b.e - a.e)[0];
    expect(worst.e, `worst: ${worst.id}`).toBeLessThan(1e-4);
  });

  it('splits patches by district and names the district', async () => {
    const { rows } = await knex.raw<{ rows: { adcode: string; district: string | null; n: string }[] }>(
      `SELECT p.adcode, c.district, count(*) AS n FROM conflict_pieces p JOIN conflict_cases c ON c.id = p.id WHERE p.geom IS NOT NULL GROUP BY 1, 2`,
    );
    const names = new Map(rows.map((r) => [r.adcode, r.district]));
    expect(names.get('140211')).toBe('南郊区');
    // Every patch lies in the district it names.
    const { rows: outside } = await knex.raw<{ rows: { n: string }[] }>(
      `SELECT count(*) AS n FROM conflict_pieces p JOIN plan.districts d ON d.adcode = p.adcode
        WHERE p.geom IS NOT NULL AND ST_Area(ST_Difference(p.geom, d.geom)::geography) > 0.01 * p.area_m2`,
    );
    expect(Number(outside[0].n)).toBe(0);
  });

  it('keeps every patch id across a full re-run when nothing changed', async () => {
    const before = await snapshot();
    const r = await engine.run({ mode: 'full', requestedBy: 'test' });
    expect(r.totals.opened + r.totals.closed + r.totals.reopened).toBe(0);
    const after = await snapshot();
    expect(after.map((x) => x.id)).toEqual(before.map((x) => x.id));
    after.forEach((x, i) => expect(rel(x.area_m2 + 1, before[i].area_m2 + 1)).toBeLessThan(1e-12));
  });

  it('re-runs only the rules of a changed layer, only where it changed, with the same result as a full run', async () => {
    const layer: Layer = registry.byId.get('urban_plan')!;
    // A patch of the gravest rule in 南郊区, and its urban-plan block.
    const { rows: target } = await knex.raw<{ rows: { id: string; a_fid: string }[] }>(
      `SELECT id, a_fid FROM conflict_pieces WHERE rule_id = 'urban_construction_on_basic_farmland' AND adcode = '140211' AND geom IS NOT NULL ORDER BY area_m2 DESC LIMIT 1`,
    );
    expect(target.length).toBe(1);
    const untouched = (await snapshot()).filter((p) => p.id !== target[0].id);

    // A new revision of the urban plan in which that block is farmland and forest (E2) instead.
    const { rows: feats } = await knex.raw<{ rows: { fid: string; f: RevisionFeature }[] }>(
      `SELECT fid, json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 15)::json,
              'properties', json_build_object('code', CASE WHEN fid = ? THEN 'E2' ELSE code END, 'block_no', block_no, 'far', far)) AS f
         FROM plan.urban_plan ORDER BY fid`,
      [target[0].a_fid],
    );
    const rev = await commitRevision(knex, layer, feats.map((r) => r.f), { kind: 'import', createdBy: 'test', reason: 'block re-planned as farmland' });
    expect(rev.inserted).toBe(1);

    const inc = await engine.run({ mode: 'incremental', requestedBy: 'test' });
    expect(inc.mode).toBe('incremental');
    expect(inc.changedLayers).toEqual(['urban_plan']);
    for (const r of rules.rules) {
      const touches = r.a.layer.id === 'urban_plan' || r.b.layer.id === 'urban_plan';
      expect(inc.rules[r.id].recomputed, r.id).toBe(touches ? 'incremental' : 'none');
    }
    expect(inc.totals.closed).toBeGreaterThanOrEqual(1);
    const c = await knex('conflict_cases').where({ id: target[0].id }).first();
    expect(c.status).toBe('resolved_by_data');
    expect(c.resolved_layer).toBe('urban_plan');
    expect(c.resolved_revision).toBe(rev.revision);
    expect(c.last_geom).not.toBeNull();
    const afterInc = await snapshot();
    // Every other patch kept its id and area.
    const byId = new Map(afterInc.map((p) => [p.id, p]));
    for (const p of untouched) {
      if (!byId.has(p.id)) continue; // other pieces of the same block went with it
      expect(rel(byId.get(p.id)!.area_m2 + 1, p.area_m2 + 1)).toBeLessThan(1e-9);
    }
    // A full run from here finds exactly what the incremental one left.
    const full = await engine.run({ mode: 'full', requestedBy: 'test' });
    expect(full.totals.opened + full.totals.closed + full.totals.reopened).toBe(0);
    const afterFull = await snapshot();
    expect(afterFull.map((p) => p.id)).toEqual(afterInc.map((p) => p.id));

    // Restoring the earlier revision brings the patch back under its old id: the case reopens.
    await restoreRevision(knex, layer, rev.revision - 1, { createdBy: 'test' });
    const back = await engine.run({ mode: 'incremental', requestedBy: 'test' });
    expect(back.totals.reopened).toBeGreaterThanOrEqual(1);
    const reopened = await knex('conflict_cases').where({ id: target[0].id }).first();
    expect(reopened.status).toBe('pending');
    const events = await knex('conflict_case_events').where({ case_id: target[0].id }).orderBy('id').pluck('action');
    expect(events).toEqual(['detected', 'resolved_by_data', 'reappeared']);
  });

  it('records every run (mode, layer revisions, counts, areas, duration)', async () => {
    const runs = await knex('conflict_runs').orderBy('id');
    expect(runs.length).toBeGreaterThanOrEqual(4);
    const last = runs.at(-1);
    expect(last.status).toBe('succeeded');
    expect(last.duration_ms).toBeGreaterThan(0);
    expect(last.layers.urban_plan.revision).toBeGreaterThanOrEqual(3);
    expect(last.stats.totals.patches).toBeGreaterThan(100);
    expect(last.stats.rules.park_in_redline.area_m2).toBeGreaterThan(7_000_000);
  });

  it('shows readers the previous results until a run commits, and nothing of a failed run', async () => {
    const before = await snapshot();
    // Slow the run down inside its transaction, then look from another connection meanwhile.
    await knex.raw(`CREATE FUNCTION conflict_test_sleep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$`);
    // The run below opens nothing, so make it write one case (row trigger: one sleep): drop one first.
    await knex.raw(`CREATE TRIGGER slow AFTER INSERT ON conflict_cases FOR EACH ROW EXECUTE FUNCTION conflict_test_sleep()`);
    const victim = before[0].id;
    await knex('conflict_case_events').where({ case_id: victim }).delete();
    await knex('conflict_cases').where({ id: victim }).delete();
    const pending = engine.run({ mode: 'full', requestedBy: 'test' });
    await new Promise((r) => setTimeout(r, 800));
    const { rows } = await knex.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM conflict_pieces');
    const running = await knex('conflict_runs').orderBy('id', 'desc').first();
    expect(running.status).toBe('running');
    expect(Number(rows[0].n)).toBeGreaterThan(0); // the previous run's pieces, still there
    expect(await knex('conflict_cases').where({ id: victim }).first()).toBeUndefined();
    await pending;
    await knex.raw('DROP TRIGGER slow ON conflict_cases');
    expect(await knex('conflict_cases').where({ id: victim }).first()).toBeDefined();

    // A run that fails half-way leaves the results exactly as they were, and says why.
    await knex.raw(`CREATE FUNCTION conflict_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$`);
    await knex.raw(`CREATE TRIGGER fail AFTER INSERT ON conflict_pieces FOR EACH STATEMENT EXECUTE FUNCTION conflict_test_fail()`);
    const pieces = await snapshot();
    await expect(engine.run({ mode: 'full', requestedBy: 'test' })).rejects.toThrow(/disk on fire/);
    await knex.raw('DROP TRIGGER fail ON conflict_pieces');
    expect(await snapshot()).toEqual(pieces);
    const failed = await knex('conflict_runs').orderBy('id', 'desc').first();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/disk on fire/);
  });

  it('runs from the command line too (npm run conflicts)', async () => {
    const { stdout } = await run('npx', ['tsx', 'server/conflicts/cli.ts', '--json'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ONEMAP_DB_NAME: db.name, ONEMAP_DEMO: 'false' },
    });
    const r = JSON.parse(stdout);
    expect(r.status).toBe('succeeded');
    expect(r.mode).toBe('incremental');
    expect(r.changedLayers).toEqual([]);
  });
});

// --- what a review found: chains of overlaps, identical features, rules removed and put back ------

describe('incremental runs on awkward data', () => {
  const { knex } = useFileDatabase();
  const rules = loadRules(registry, path.join(FIXTURES, 'rules.json'));
  const rule = rules.rules[0];
  const sq = (x0: number, y0: number, x1: number, y1: number) =>
    `ST_Multi(ST_MakeEnvelope(${113.3 + x0 * 0.001}, ${40.1 + y0 * 0.001}, ${113.3 + x1 * 0.001}, ${40.1 + y1 * 0.001}, 4490))`;

  async function reset() {
    await knex.raw(`TRUNCATE plan.districts, plan.urban_plan, plan.landuse_plan, conflict_case_events, conflict_cases, conflict_pieces,
                    conflict_sources, conflict_source_overlaps, conflict_state, conflict_rules, conflict_runs, conflict_dirty RESTART IDENTITY`);
    await knex.raw(`INSERT INTO plan.districts (code, name, adcode, geom) VALUES ('district', '南郊区', '140211', ${sq(-20, -20, 40, 20)})`);
    await knex.raw(`INSERT INTO plan.landuse_plan (code, zone_no, geom) VALUES ('010', 'b', ${sq(-5, -5, 30, 5)})`);
  }
  /** Patches + slivers of the rule, the area of A ∩ B, and how much the patches overlap each other. */
  async function state() {
    const { rows } = await knex.raw(
      `SELECT (SELECT sum(area_m2 + sliver_area_m2) FROM conflict_pieces) AS ours,
              ST_Area(ST_Intersection((SELECT ST_Union(geom) FROM plan.urban_plan WHERE code = 'R'), (SELECT ST_Union(geom) FROM plan.landuse_plan WHERE code = '010'))::geography, true) AS ref,
              (SELECT COALESCE(sum(ST_Area(ST_Intersection(p.geom, q.geom)::geography)), 0) FROM conflict_pieces p JOIN conflict_pieces q ON p.id < q.id AND p.geom && q.geom) AS overlap`,
    );
    return rows[0] as { ours: number; ref: number; overlap: number };
  }

  it('keeps a chain of overlapping features counted once after an incremental run', async () => {
    await reset();
    // Ten rows of four blocks, each overlapping the next by a fifth of its width (sloppy digitising).
    for (let row = 0; row < 10; row++) {
      for (let i = 0; i < 4; i++) {
        await knex.raw(`INSERT INTO plan.urban_plan (code, block_no, geom) VALUES ('R', ?, ${sq(i * 2, row * 0.9 - 4.5, i * 2 + 2.4, row * 0.9 - 3.7)})`, [`r${row}c${i}`]);
      }
    }
    const engine = new ConflictEngine(knex, registry, rules);
    await engine.run({ mode: 'full', requestedBy: 'test' });
    let s = await state();
    expect(rel(s.ours, s.ref)).toBeLessThan(1e-9);
    // A write to the first block of each row, with no change of content: the incremental run
    // re-trims its neighbour, whose other neighbour (untouched) must still be subtracted.
    await knex.raw(`UPDATE plan.urban_plan SET code = code WHERE block_no LIKE '%c0'`);
    const r = await engine.run({ mode: 'incremental', requestedBy: 'test' });
    expect(r.mode).toBe('incremental');
    s = await state();
    expect(s.overlap).toBeLessThan(1e-6);
    expect(rel(s.ours, s.ref)).toBeLessThan(1e-9);
  });

  it('keeps the conflict of two identical features when the one it was made from goes', async () => {
    await reset();
    for (const name of ['twin1', 'twin2']) await knex.raw(`INSERT INTO plan.urban_plan (code, block_no, geom) VALUES ('R', ?, ${sq(0, 0, 3, 3)})`, [name]);
    const engine = new ConflictEngine(knex, registry, rules);
    await engine.run({ mode: 'full', requestedBy: 'test' });
    const [piece] = await knex('conflict_pieces').whereNotNull('geom');
    await knex('conflict_cases').where({ id: piece.id }).update({ status: 'coordinated', decision: 'follow_b', reason: '调出' });
    await knex.raw('DELETE FROM plan.urban_plan WHERE fid = ?', [piece.a_fid]);
    await engine.run({ mode: 'incremental', requestedBy: 'test' });
    const after = await knex('conflict_pieces').whereNotNull('geom');
    expect(after.map((p) => p.id)).toEqual([piece.id]);
    expect(Number(after[0].a_fid)).not.toBe(Number(piece.a_fid));
    expect(await knex('conflict_cases').where({ id: piece.id }).first()).toMatchObject({ status: 'coordinated', decision: 'follow_b' });
  });

  it('recomputes a rule that was removed from the file and put back', async () => {
    await reset();
    await knex.raw(`INSERT INTO plan.urban_plan (code, block_no, geom) VALUES ('R', 'x', ${sq(0, 0, 3, 3)})`);
    await new ConflictEngine(knex, registry, rules).run({ mode: 'full', requestedBy: 'test' });
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'rules.json'), 'utf8'));
    json.rules[0] = { ...json.rules[0], id: 'another_rule' };
    const file = path.join(os.tmpdir(), `rules-back-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(json));
    try {
      await new ConflictEngine(knex, registry, loadRules(registry, file)).run({ mode: 'incremental', requestedBy: 'test' });
      expect(await knex('conflict_pieces').where({ rule_id: rule.id }).first()).toBeUndefined();
      expect((await knex('conflict_cases').where({ rule_id: rule.id }).first()).status).toBe('resolved_by_data');
      const back = await new ConflictEngine(knex, registry, rules).run({ mode: 'incremental', requestedBy: 'test' });
      expect(back.rules[rule.id]).toMatchObject({ recomputed: 'full', patches: 1, reopened: 1 });
    } finally {
      fs.rmSync(file);
    }
  });
});
