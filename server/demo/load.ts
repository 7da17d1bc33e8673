// The Datong demo data set: fills every registry layer with planning data that looks real to a
// planner (tiling land-use parcels and zones, street blocks, red lines, subsidence, PV plants …),
// in one transaction, deterministically from a seed. The geometry work is PostGIS SQL in
// server/demo/sql/*.sql (run in file order); this module binds the inputs, runs the steps and
// moves the result into the layer tables.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { geoJsonProblems } from '../platform/geojson';
import { PROJECT_ROOT } from '../platform/config';
import { layerTable, quoteIdent } from '../platform/sql';
import { ensureDemoAccounts } from '../accounts/demo';
import { ConflictEngine } from '../conflicts/detect';
import { loadRules } from '../conflicts/rules';
import { loadRegistry, sqlType, type Layer, type Registry } from '../layers/registry';
import { approvedProjects, econProjects, pvSites, stamps } from './projects';
import { centralCity, mines, mountains, parks, prohibitedAreas, redlines, reserves, rivers, roads, towns, waterSources } from './places';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SQL_DIR = path.join(HERE, 'sql');
const DISTRICTS_FILE = path.join(PROJECT_ROOT, 'layers/base/datong-districts-2015.geojson');

export type DemoScale = 'demo' | 'large';

export interface DemoOptions {
  scale: DemoScale;
  /** Seed of the generator: the same seed gives byte-identical data. Integer 1..2^31-1; default 2015. */
  seed?: number;
  /** Empty the layer tables first (same transaction); without it non-empty tables are refused. */
  replace?: boolean;
}

/**
 * Densities per scale. demo: ~20,000 status parcels, ~2,000 plan zones, ~2,000 urban blocks, loads
 * in seconds; large: ≥ 300,000 parcels and ≥ 50,000 features in the other tiling/env layers.
 */
const SCALES = {
  demo: {
    status_per_km2: 1.0, // base density of status parcels (points per km²)
    town_per_km2: 3.0, // extra density within 1.5 × a town's radius
    zone_per_km2: 0.12, // land-use plan zones
    zone_town_per_km2: 0.5,
    urban_cell_m: 300, // central-city street block (m)
    urban_outer_cell_m: 1000, // planning-area cell (m)
    urban_ring_km: 5 as number | null, // planning area: central city + this ring (null: the whole city)
    subsidence_scale: 1.0, // multiplies each mine's subsidence radius
    subdivide_pieces: null as number | null, // split env/econ layers into this many pieces (null: no)
  },
  large: {
    status_per_km2: 20,
    town_per_km2: 40,
    zone_per_km2: 3.6,
    zone_town_per_km2: 8,
    urban_cell_m: 300,
    urban_outer_cell_m: 500,
    urban_ring_km: null,
    subsidence_scale: 4.0,
    subdivide_pieces: 52_000,
  },
} satisfies Record<DemoScale, Record<string, number | null>>;

/** Layers split into many pieces at the large scale (each must reach ≥ 50,000 features). */
const SUBDIVIDED_AT_LARGE = ['econ_zones', 'eco_redline', 'water_source', 'nature_reserve'];

/** English names of the 2015 districts (pinyin), by adcode. */
const NAME_EN: Record<string, string> = {
  '140202': 'Chengqu District',
  '140203': 'Kuangqu District',
  '140211': 'Nanjiao District',
  '140212': 'Xinrong District',
  '140221': 'Yanggao County',
  '140222': 'Tianzhen County',
  '140223': 'Guangling County',
  '140224': 'Lingqiu County',
  '140225': 'Hunyuan County',
  '140226': 'Zuoyun County',
  '140227': 'Datong County',
};

/** The generator's SQL steps, in order (file name → text). */
function sqlSteps(): { name: string; text: string }[] {
  return fs
    .readdirSync(SQL_DIR)
    .filter((f) => /^[0-8]\d_.*\.sql$/.test(f))
    .sort()
    .map((name) => ({ name, text: fs.readFileSync(path.join(SQL_DIR, name), 'utf8') }));
}

const stagingTable = (layerId: string) => quoteIdent(`demo_${layerId}`);

/**
 * A layer added by registry data alone has its demo content as data too: layers/demo/<id>.sql, SQL
 * that fills its staging table (demo_<id>: k, code, its attributes, geom) from the staging tables
 * of the layers before it, run after the generator's own steps. One that reads another data layer's
 * staging table runs after it; a cycle is refused, naming it.
 */
const DEMO_DATA_DIR = path.join(PROJECT_ROOT, 'layers', 'demo');

function dataSteps(registry: Registry): { name: string; text: string }[] {
  const own = registry.delivered.filter((l) => !GENERATED[l.id]).map((l) => l.id);
  const text = new Map(own.map((id) => [id, fs.readFileSync(path.join(DEMO_DATA_DIR, `${id}.sql`), 'utf8')]));
  const needs = (id: string) => own.filter((o) => o !== id && new RegExp(`\\bdemo_${o}\\b`).test(text.get(id)!));
  const order: string[] = [];
  const visit = (id: string, trail: string[]) => {
    if (order.includes(id)) return;
    if (trail.includes(id)) throw new Error(`layers/demo: the demo contents read each other in a cycle: ${[...trail, id].join(' → ')}`);
    for (const n of needs(id)) visit(n, [...trail, id]);
    order.push(id);
  };
  for (const id of own) visit(id, []);
  return order.map((id) => ({ name: `layers/demo/${id}.sql`, text: text.get(id)! }));
}

/**
 * Loads the demo data set into every registry layer, in one transaction (all or nothing), and
 * records revision rows; returns the feature count per layer.
 */
export async function loadDemo(knex: Knex, opts: DemoOptions): Promise<Record<string, number>> {
  if (opts.scale !== 'demo' && opts.scale !== 'large') throw new Error(`scale should be 'demo' or 'large', got ${JSON.stringify(opts.scale)}`);
  const seed = opts.seed ?? 2015;
  if (!Number.isInteger(seed) || seed < 1 || seed > 2_000_000_000) throw new Error(`seed should be an integer in 1..2000000000, got ${seed}`);
  const registry = loadRegistry();
  checkRegistry(registry);
  const params = SCALES[opts.scale];
  const rules = loadRules(registry);

  const counts = await knex.transaction(async (trx) => {
    // The whole load is one unit of work; large statements run longer than the service timeout.
    await trx.raw('SET LOCAL statement_timeout = 0');
    await trx.raw('SET LOCAL client_min_messages = warning');
    await emptyOrRefuse(trx, registry, opts.replace === true);

    await createInputs(trx, registry, seed, opts.scale, params);
    for (const step of [...sqlSteps(), ...dataSteps(registry)]) await runStep(trx, step.name, step.text);
    if (params.subdivide_pieces) {
      const text = fs.readFileSync(path.join(SQL_DIR, '90_subdivide.sql'), 'utf8');
      for (const id of SUBDIVIDED_AT_LARGE) await runStep(trx, `90_subdivide.sql (${id})`, text.replaceAll('{{table}}', stagingTable(id)));
    }

    const counts: Record<string, number> = {};
    const reason = opts.scale === 'demo' ? `demo data (seed ${seed})` : 'large benchmark data';
    for (const layer of registry.delivered) {
      counts[layer.id] = await publish(trx, layer);
      const polygon = layer.geometry === 'MultiPolygon';
      await trx.raw(
        `INSERT INTO layer_revisions (layer_id, revision, reason, feature_count, area_m2)
         SELECT ?, COALESCE((SELECT max(revision) FROM layer_revisions WHERE layer_id = ?), 0) + 1, ?, count(*), ${polygon ? 'sum(area_m2)' : 'NULL'}
         FROM ${layerTable(layer.id)}`,
        [layer.id, layer.id, reason],
      );
    }
    return counts;
  });
  await ensureDemoAccounts(knex, registry);
  // The demo's conflicts, detected once (a full run is an explicit action; this load is one).
  // A database that already had runs gets an incremental run: the ledger's cases carry over.
  const engine = new ConflictEngine(knex, registry, rules);
  await engine.run({ mode: (await engine.hasBase()) ? 'incremental' : 'full', requestedBy: 'demo', trigger: { via: 'demo load', scale: opts.scale } });
  return counts;
}

/** Every registry layer must have a generator here or its demo content in layers/demo/<id>.sql, and every generator a layer. */
function checkRegistry(registry: Registry) {
  const generated = new Set(Object.keys(GENERATED));
  const missing = registry.delivered.filter((l) => !generated.has(l.id) && !fs.existsSync(path.join(DEMO_DATA_DIR, `${l.id}.sql`))).map((l) => l.id);
  const extra = [...generated].filter((id) => !registry.byId.has(id));
  if (missing.length || extra.length) {
    throw new Error(`demo generator and layer registry disagree: no generator nor layers/demo/<id>.sql for [${missing.join(', ')}]; not in the registry: [${extra.join(', ')}]`);
  }
}

/** The layers the SQL steps fill (their staging tables are demo_<id>). */
const GENERATED: Record<string, true> = Object.fromEntries(
  ['districts', 'central_city', 'roads', 'rivers', 'econ_zones', 'econ_projects', 'landuse_plan', 'landuse_control', 'urban_plan', 'eco_redline', 'water_source', 'nature_reserve', 'industrial_parks', 'landuse_status', 'subsidence', 'pv_sites', 'approved_projects'].map((id) => [id, true]),
);

async function emptyOrRefuse(trx: Knex.Transaction, registry: Registry, replace: boolean) {
  const filled: string[] = [];
  for (const layer of registry.delivered) {
    const { rows } = await trx.raw(`SELECT EXISTS (SELECT 1 FROM ${layerTable(layer.id)}) AS filled`);
    if (rows[0].filled) filled.push(layer.id);
  }
  if (filled.length && !replace) throw new Error(`layer tables are not empty: ${filled.join(', ')} (use --replace to empty them first)`);
  if (filled.length) await trx.raw(`TRUNCATE ${registry.delivered.map((l) => layerTable(l.id)).join(', ')} RESTART IDENTITY`);
}

async function runStep(trx: Knex.Transaction, name: string, text: string) {
  try {
    await trx.raw(text);
  } catch (err) {
    // knex prefixes the message with the whole statement: keep PostgreSQL's own words.
    const message = (err as Error).message;
    throw new Error(`demo data step ${name} failed: ${message.startsWith(text) ? message.slice(text.length).replace(/^ - /, '') : message}`);
  }
}

/** Temp tables (dropped at commit): the parameters, the geography of places.ts, and one staging table per layer. */
async function createInputs(trx: Knex.Transaction, registry: Registry, seed: number, scale: DemoScale, p: (typeof SCALES)[DemoScale]) {
  const tmp = 'CREATE TEMP TABLE';
  await trx.raw(`${tmp} demo_params (seed integer, scale text, status_per_km2 float8, town_per_km2 float8, zone_per_km2 float8, zone_town_per_km2 float8,
    urban_cell_m float8, urban_outer_cell_m float8, urban_ring_km float8, subsidence_scale float8, subdivide_pieces integer) ON COMMIT DROP`);
  await trx('demo_params').insert({ seed, scale, ...p });

  await trx.raw(`${tmp} demo_src_districts (adcode text, name text, name_en text, geom geometry) ON COMMIT DROP`);
  const fc = JSON.parse(fs.readFileSync(DISTRICTS_FILE, 'utf8')) as { features: { id: string; properties: { name: string }; geometry: unknown }[] };
  // Structure first (geometry validity is repaired in SQL, 10_base.sql): a broken file stops here.
  const problems = geoJsonProblems(fc, path.basename(DISTRICTS_FILE));
  if (problems.length) throw new Error(`district boundaries are not valid GeoJSON:\n  ${problems.join('\n  ')}`);
  for (const f of fc.features) {
    await trx.raw('INSERT INTO demo_src_districts VALUES (?, ?, ?, ST_SetSRID(ST_GeomFromGeoJSON(?), 4490))', [
      f.id,
      f.properties.name,
      NAME_EN[f.id] ?? null,
      JSON.stringify(f.geometry),
    ]);
  }

  await trx.raw(`${tmp} demo_towns (i integer, name text, lon float8, lat float8, r_km float8) ON COMMIT DROP`);
  await trx('demo_towns').insert(towns.map((t, i) => ({ i: i + 1, ...t })));
  await trx.raw(`${tmp} demo_mines (i integer, name text, lon float8, lat float8, r_km float8, stage text) ON COMMIT DROP`);
  await trx('demo_mines').insert(mines.map((m, i) => ({ i: i + 1, ...m })));
  await trx.raw(`${tmp} demo_mountains (i integer, name text, lon float8, lat float8, rx_km float8, ry_km float8, h float8) ON COMMIT DROP`);
  await trx('demo_mountains').insert(mountains.map((m, i) => ({ i: i + 1, ...m })));
  await trx.raw(`${tmp} demo_lines (kind text, i integer, name text, code text, ref text, coords text) ON COMMIT DROP`);
  await trx('demo_lines').insert([
    ...rivers.map((l, i) => ({ kind: 'rivers', i: i + 1, name: l.name, code: l.code, ref: null, coords: JSON.stringify(l.coords) })),
    ...roads.map((l, i) => ({ kind: 'roads', i: i + 1, name: l.name, code: l.code, ref: l.ref ?? null, coords: JSON.stringify(l.coords) })),
  ]);
  await trx.raw(`${tmp} demo_central (geom geometry) ON COMMIT DROP`);
  await trx.raw(`INSERT INTO demo_central VALUES (ST_SetSRID(ST_GeomFromGeoJSON(?), 4490))`, [JSON.stringify({ type: 'Polygon', coordinates: [centralCity] })]);

  await trx.raw(`${tmp} demo_areas (kind text, i integer, name text, extra text, lon float8, lat float8, rx_km float8, ry_km float8,
    r1 float8, r2 float8, r3 float8, zones text[]) ON COMMIT DROP`);
  await trx('demo_areas').insert([
    ...redlines.map((a, i) => ({ kind: 'redline', i: i + 1, name: a.name, extra: a.fn, lon: a.lon, lat: a.lat, rx_km: a.rx_km, ry_km: a.ry_km })),
    ...waterSources.map((a, i) => ({ kind: 'water', i: i + 1, name: a.name, lon: a.lon, lat: a.lat, r1: a.r_km[0], r2: a.r_km[1], r3: a.r_km[2] })),
    ...reserves.map((a, i) => ({ kind: 'reserve', i: i + 1, name: a.name, extra: a.level, lon: a.lon, lat: a.lat, rx_km: a.rx_km, ry_km: a.ry_km })),
    ...prohibitedAreas.map((a, i) => ({ kind: 'prohibited', i: i + 1, name: a.name, lon: a.lon, lat: a.lat, rx_km: a.rx_km, ry_km: a.ry_km })),
    ...parks.map((a, i) => ({ kind: 'park', i: i + 1, name: a.name, extra: a.industry, lon: a.lon, lat: a.lat, rx_km: a.rx_km, ry_km: a.ry_km, zones: a.zones })),
  ]);

  await trx.raw(`${tmp} demo_pv (i integer, code text, name text, lon float8, lat float8, capacity_mw float8, grid_status text, grid_date text, on_subsidence boolean) ON COMMIT DROP`);
  await trx('demo_pv').insert(pvSites.map((s, i) => ({ i: i + 1, grid_date: null, ...s })));
  await trx.raw(`${tmp} demo_approved (i integer, code text, name text, lon float8, lat float8, w_m float8, h_m float8, approval_no text, approved_on text, investor text) ON COMMIT DROP`);
  await trx('demo_approved').insert(approvedProjects.map((s, i) => ({ i: i + 1, ...s })));
  await trx.raw(`${tmp} demo_econ_projects_src (i integer, code text, name text, lon float8, lat float8, inv float8, year integer) ON COMMIT DROP`);
  await trx('demo_econ_projects_src').insert(econProjects.map((s, i) => ({ i: i + 1, ...s })));
  await trx.raw(`${tmp} demo_stamps (i integer, conflict text, layer text, code text, lon float8, lat float8, w_m float8, h_m float8) ON COMMIT DROP`);
  await trx('demo_stamps').insert(stamps.map((s, i) => ({ i: i + 1, ...s })));

  // Staging tables: k (a stable sort key), code, the registry attributes, geom (last).
  for (const layer of registry.delivered) {
    const cols = layer.attributes.map((a) => `${quoteIdent(a.name)} ${sqlType[a.type]}`);
    await trx.raw(`${tmp} ${stagingTable(layer.id)} (k text, code text, ${cols.join(', ')}${cols.length ? ',' : ''} geom geometry) ON COMMIT DROP`);
  }
}

/**
 * Moves one staging table into its layer table, in a fixed order (so fids and bytes repeat):
 * polygons made valid and multi, lines multi, empty or zero-area leftovers of overlays dropped.
 */
async function publish(trx: Knex.Transaction, layer: Layer): Promise<number> {
  const attrs = layer.attributes.map((a) => quoteIdent(a.name));
  const geom =
    layer.geometry === 'MultiPolygon' ? 'pg_temp.poly(geom)' : layer.geometry === 'MultiLineString' ? 'ST_Multi(ST_CollectionExtract(geom, 2))' : 'geom';
  const keep = layer.geometry === 'MultiPolygon' ? 'g IS NOT NULL AND ST_Area(g) > 0' : 'g IS NOT NULL AND NOT ST_IsEmpty(g)';
  const { rowCount } = await trx.raw(
    `INSERT INTO ${layerTable(layer.id)} (code, ${attrs.join(', ')}${attrs.length ? ',' : ''} geom)
     SELECT code, ${attrs.join(', ')}${attrs.length ? ',' : ''} ST_SetSRID(g, 4490)
     FROM (SELECT *, ${geom} AS g FROM ${stagingTable(layer.id)}) s
     WHERE ${keep}
     ORDER BY k, md5(ST_AsBinary(g))`,
  );
  return rowCount ?? 0;
}
