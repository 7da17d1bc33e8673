// The import pipeline end to end, against a database of its own: a department's GBK Shapefile
// in Gauss-Krüger EPSG:4547 (written by GDAL's ogr2ogr, zipped) imported through the CLI and through
// the HTTP upload lands at the right place (PROJ's cs2cs as the reference) with its Chinese
// attributes as a new revision; a bad delivery is refused with every problem listed and the layer
// unchanged; --repair, --dry-run, the upload limit and an unknown layer; and the import fixtures
// (tests/fixtures/imports: a file in, its report out; REGEN=1 rewrites the reports).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../server/layers/registry';
import { importFile } from '../server/imports/pipeline';
import type { ImportReport } from '../server/imports/schemas';
import { PROJECT_ROOT } from '../server/platform/config';
import { layerTable } from '../server/platform/sql';
import { commitRevision } from '../server/revisions/commit';
import { as } from './helpers/auth';
import { getJson } from './helpers/http';
import { useFileDatabase, useFileServer } from './helpers/setup';

const LAYER = 'landuse_plan';
const registry = loadRegistry();
const UPLOAD_MAX_MB = 1;

const db = useFileDatabase();
const { knex } = db;
let dir: string;

beforeAll(async () => {
  // The layer's content before the imports: a revision of two zones (the whole demo would take 18 s to load).
  const zone = (no: string, lon: number) => ({
    properties: { code: '010', zone_no: no },
    geometry: { type: 'MultiPolygon', coordinates: [[[[lon, 40], [lon + 0.01, 40], [lon + 0.01, 40.01], [lon, 40.01], [lon, 40]]]] },
  });
  await commitRevision(knex, registry.byId.get(LAYER)!, [zone('原-1', 113.1), zone('原-2', 113.2)], { kind: 'import', createdBy: 'test', reason: 'the content before' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-import-pipeline-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
// (registered after the content before: the service starts on it)
const srv = useFileServer(db, { ONEMAP_UPLOAD_MAX_MB: String(UPLOAD_MAX_MB) });

// --- fixtures ------------------------------------------------------------------------------------------

type Xy = [number, number]; // EPSG:4547 easting, northing (m)
interface Zone {
  props: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
}

/** A square of `side` metres with its south-west corner at (e, n), as a Polygon ring in EPSG:4547. */
const square = (e: number, n: number, side = 500): Zone['geometry'] => ({
  type: 'Polygon',
  coordinates: [[[e, n], [e + side, n], [e + side, n + side], [e, n + side], [e, n]]],
});

/** A bow-tie (its ring crosses itself at the centre): invalid, ST_MakeValid makes two triangles. */
const bowtie = (e: number, n: number, side = 500): Zone['geometry'] => ({
  type: 'Polygon',
  coordinates: [[[e, n], [e + side, n + side], [e + side, n], [e, n + side], [e, n]]],
});

/** A GeoJSON FeatureCollection in EPSG:4547 (the pre-RFC 7946 `crs` member, as GDAL writes it). */
function geojsonOf(name: string, zones: Zone[]): string {
  const p = path.join(dir, `${name}.geojson`);
  const doc = {
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4547' } },
    features: zones.map((z) => ({ type: 'Feature', properties: z.props, geometry: z.geometry })),
  };
  fs.writeFileSync(p, JSON.stringify(doc));
  return p;
}

/** A delivery of tests/fixtures/imports/in by its case name. */
const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'imports');
const fixture = (name: string) => {
  const file = fs.readdirSync(path.join(FIXTURES, 'in')).find((f) => f.replace(/\.[^.]+$/, '') === name);
  if (!file) throw new Error(`no fixture ${name} in ${FIXTURES}/in`);
  return path.join(FIXTURES, 'in', file);
};

/** The zones as a GBK Shapefile in EPSG:4547 written by ogr2ogr, zipped; returns the zip's path. */
function shapefileZip(name: string, zones: Zone[]): string {
  const src = geojsonOf(name, zones);
  const shp = path.join(dir, `${name}.shp`);
  execFileSync('ogr2ogr', ['-f', 'ESRI Shapefile', shp, src, '-overwrite', '-lco', 'ENCODING=GBK'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const files: Record<string, Uint8Array> = {};
  for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg']) files[`${name}.${ext}`] = new Uint8Array(fs.readFileSync(path.join(dir, `${name}.${ext}`)));
  const zip = path.join(dir, `${name}.zip`);
  fs.writeFileSync(zip, zipSync(files));
  return zip;
}

/** Three land-use zones as a department delivers them: Chinese column names and values. */
const delivery = (prefix: string, e0: number): Zone[] => [
  { props: { 区块编号: `${prefix}-甲01`, 名称: '云冈区城镇村建设用地区', 用途: '030' }, geometry: square(e0, 4_430_000) },
  { props: { 区块编号: `${prefix}-乙02`, 名称: '基本农田保护区（口泉河以南）', 用途: '010' }, geometry: square(e0 + 1000, 4_430_000) },
  { props: { 区块编号: `${prefix}-丙03`, 名称: '林业用地区·西坪', 用途: '080' }, geometry: square(e0 + 2000, 4_430_000) },
];

// --- helpers -------------------------------------------------------------------------------------------

/** Runs the import CLI on the test database; resolves with its exit code and output. */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', 'server/imports/cli.ts', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ONEMAP_DB_NAME: db.name, ONEMAP_DEMO: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function cliJson(...args: string[]): Promise<{ code: number | null; report: ImportReport; stderr: string }> {
  const r = await cli(...args, '--json');
  let report: ImportReport;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`the CLI printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

/** Uploads a file to the import endpoint, as the named account (default: 市国土局's plan editor, whose layer it is; null: anonymous). */
async function upload(layerId: string, file: string, fields: Record<string, string> = {}, name = path.basename(file), who: string | null = 'land.editor') {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([fs.readFileSync(file)]), name);
  return getJson(`${srv.baseUrl}/api/layers/${layerId}/imports`, { method: 'POST', body: form, headers: who ? await as(knex, who) : {} });
}

/** What a layer holds: count, latest revision, data version and the sorted content hashes. */
async function layerState(layerId: string) {
  const { rows } = await knex.raw(
    `SELECT revision_feature_hash(t.code, to_jsonb(t) - '{fid,code,geom,updated_at,area_m2}'::text[], t.geom)::text AS h FROM ${layerTable(layerId)} t ORDER BY 1`,
  );
  const rev = await knex('layer_revisions').where('layer_id', layerId).max('revision as r').first();
  const version = await knex('layer_versions').where('layer_id', layerId).first('version');
  return { count: rows.length, revision: Number(rev!.r), version: Number(version.version), content: createHash('sha256').update(rows.map((r: { h: string }) => r.h).join('\n')).digest('hex') };
}

/** PROJ's cs2cs: an EPSG:4547 point (northing easting, the EPSG axis order) in EPSG:4490 as [lon, lat]. */
function cs2cs(easting: number, northing: number): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const child = execFile('cs2cs', ['-f', '%.12f', 'EPSG:4547', 'EPSG:4490'], { encoding: 'utf8' }, (err, stdout) => {
      if (err) return reject(err);
      const [lat, lon] = stdout.trim().split(/\s+/).map(Number);
      resolve([lon, lat]);
    });
    child.stdin!.end(`${northing} ${easting}\n`);
  });
}

/** One feature of the layer through the OGC API, by its zone number. */
async function ogcFeature(zoneNo: string) {
  const r = await getJson(`${srv.baseUrl}/ogcapi/collections/${LAYER}/items?zone_no=${encodeURIComponent(zoneNo)}`, { headers: await as(knex, 'land.reviewer') });
  expect(r.status).toBe(200);
  expect(r.body.features, zoneNo).toHaveLength(1);
  return r.body.features[0];
}

/** Every vertex of a (Multi)Polygon. */
const vertices = (g: { type: string; coordinates: any }): number[][] => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates).flat(2);

/** Expects the delivered zones at their places (cs2cs) with their Chinese attributes and codes. */
async function expectZonesServed(zones: Zone[]) {
  for (const z of zones) {
    const f = await ogcFeature(String(z.props['区块编号']));
    expect(f.properties.code).toBe(z.props['用途']);
    expect(f.properties.zone_no).toBe(z.props['区块编号']);
    const [e, n] = (z.geometry.coordinates as Xy[][])[0][2]; // the north-east corner
    const [lon, lat] = await cs2cs(e, n);
    const nearest = Math.min(...vertices(f.geometry).map(([x, y]) => Math.max(Math.abs(x - lon), Math.abs(y - lat))));
    expect(nearest, `${z.props['区块编号']}: vertex ${e}, ${n}`).toBeLessThan(1e-8);
  }
}

/** The uploads this process (the service in-process) has in the temp folder (platform/scratch.ts names them). */
const uploadDirs = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`onemap-work-${process.pid}-upload-`) || f.startsWith('onemap-spool-'));

// --- the tests -------------------------------------------------------------------------------------------

describe('a GBK Shapefile in EPSG:4547 through the CLI', () => {
  it('becomes a new revision, served by the OGC API at the place cs2cs computes with its Chinese attributes', async () => {
    const zones = delivery('云冈', 440_000);
    const zip = shapefileZip('土地用途区-cli', zones);
    const before = await layerState(LAYER);
    const { code, report, stderr } = await cliJson(zip, '--layer', LAYER);
    expect(code, stderr).toBe(0);
    expect(report).toMatchObject({ ok: true, layer: LAYER, format: 'shapefile', featureCount: 3, problemCount: 0, problems: [] });
    expect(report.crs).toMatchObject({ epsg: 4547 });
    expect(report.encoding).toEqual({ name: 'gb18030', method: 'cpg' });
    expect(report.mapping).toEqual({ code: '用途', attributes: { zone_no: '区块编号' }, ignored: ['名称'] });
    expect(report.revision).toMatchObject({ revision: before.revision + 1, featureCount: 3 });

    await expectZonesServed(zones);
    const { body } = await getJson(`${srv.baseUrl}/api/layers/${LAYER}/revisions`, { headers: await as(knex, 'land.reviewer') });
    const last = body.revisions.at(-1);
    expect(last).toMatchObject({ revision: before.revision + 1, kind: 'import', featureCount: 3 });
    expect(JSON.stringify(last)).toContain(createHash('sha256').update(fs.readFileSync(zip)).digest('hex'));
    expect(JSON.stringify(last)).toContain('土地用途区-cli.zip');
  });
});

describe('a GBK Shapefile in EPSG:4547 through the HTTP upload', () => {
  it('answers 201 with the report, and the OGC API serves the features at their place with their Chinese attributes', async () => {
    const zones = delivery('新荣', 450_000);
    const zip = shapefileZip('upload', zones);
    const before = await layerState(LAYER);
    const r = await upload(LAYER, zip, {}, '土地用途区（新荣）.zip');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ ok: true, featureCount: 3, source: { name: '土地用途区（新荣）.zip' }, revision: { revision: before.revision + 1 } });
    expect(r.body.preview.features).toHaveLength(3);
    expect(r.body.preview.features[0].properties).toEqual({ code: '030', zone_no: '新荣-甲01' });
    await expectZonesServed(zones);
    expect(uploadDirs()).toEqual([]);
    // The revision names the account that imported it.
    expect((await knex('layer_revisions').where({ layer_id: LAYER, revision: before.revision + 1 }).first('created_by')).created_by).toBe('land.editor');
  });

  it('needs an account (401) of the layer’s department or an admin (403), for a dry run too, and writes nothing', async () => {
    const zip = shapefileZip('refused', delivery('拒', 470_000));
    const before = await layerState(LAYER);
    const anonymous = await upload(LAYER, zip, { dryRun: 'true' }, 'x.zip', null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('unauthenticated');
    for (const who of ['land.reviewer', 'planning.editor', 'window']) {
      const r = await upload(LAYER, zip, {}, 'x.zip', who);
      expect(r.status, who).toBe(403);
      expect(r.body.message).toContain(who);
    }
    expect(await layerState(LAYER)).toEqual(before);
    expect(uploadDirs()).toEqual([]);
    const dry = await upload(LAYER, zip, { dryRun: 'true' }, 'x.zip', 'admin');
    expect(dry.status, JSON.stringify(dry.body).slice(0, 300)).toBe(200);
  });
});

describe('a delivery with several problems', () => {
  // 0 fine; 1 a class code not in TD/T 1024; 2 no zone number; 3 a bow-tie; 4 a line in a polygon layer.
  const bad = () => fixture('several-problems');

  it('is refused over HTTP with 422 listing every problem with its feature index, and the layer is unchanged', async () => {
    const before = await layerState(LAYER);
    const r = await upload(LAYER, bad());
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('import_rejected');
    const report: ImportReport = r.body.details;
    expect(report.ok).toBe(false);
    expect(report.problemCount).toBe(4);
    expect(report.problems.map((p) => [p.feature, p.code])).toEqual([
      [1, 'code_unknown'],
      [2, 'attribute_missing'],
      [3, 'geometry_invalid'],
      [4, 'geometry_type'],
    ]);
    expect(report.problems[0]).toMatchObject({ id: '坏-1' });
    const invalid = report.problems[2];
    expect(invalid.message).toMatch(/Self-intersection/);
    // The crossing is the centre of the bow-tie: (463 250, 4 430 250) in EPSG:4547.
    const [lon, lat] = await cs2cs(463_250, 4_430_250);
    expect(Math.abs(invalid.location![0] - lon)).toBeLessThan(1e-6);
    expect(Math.abs(invalid.location![1] - lat)).toBeLessThan(1e-6);
    expect(report.revision).toBeUndefined();
    expect(await layerState(LAYER)).toEqual(before);
  });

  it('is refused by the CLI with exit status 2 and a table row per problem, and the layer is unchanged', async () => {
    const before = await layerState(LAYER);
    const r = await cli(bad(), '--layer', LAYER);
    expect(r.code, r.stderr).toBe(2);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/)[0])).toEqual(['1', '2', '3', '4']);
    expect(r.stdout).toMatch(/code_unknown[\s\S]*attribute_missing[\s\S]*geometry_invalid[\s\S]*geometry_type/);
    expect(r.stdout).toMatch(/REFUSED: 4 problems.*nothing was written/);
    expect(await layerState(LAYER)).toEqual(before);
  });
});

describe('--repair', () => {
  it('repairs a bow-tie with ST_MakeValid into a valid MultiPolygon, reports the change and imports it', async () => {
    const zones: Zone[] = [
      { props: { 区块编号: '修-0', 用途: '060' }, geometry: square(470_000, 4_430_000) },
      { props: { 区块编号: '修-1', 用途: '060' }, geometry: bowtie(471_000, 4_430_000) },
    ];
    const zip = shapefileZip('repair', zones);
    const refused = await cliJson(zip, '--layer', LAYER);
    expect(refused.code).toBe(2);
    expect(refused.report.problems.map((p) => p.code)).toEqual(['geometry_invalid']);

    const { code, report, stderr } = await cliJson(zip, '--layer', LAYER, '--repair');
    expect(code, stderr).toBe(0);
    expect(report.repairedCount).toBe(1);
    const fix = report.repaired[0];
    expect(fix).toMatchObject({ feature: 1, id: '修-1', typeAfter: 'MULTIPOLYGON' });
    expect(fix.reason).toMatch(/Self-intersection/);
    // Two triangles of a quarter of the 500 m square each: 125,000 m² (a Gauss-Krüger square is not exactly that on the ellipsoid).
    expect(fix.area_after_m2!).toBeGreaterThan(124_000);
    expect(fix.area_after_m2!).toBeLessThan(126_000);
    const { rows } = await knex.raw(`SELECT ST_IsValid(geom) AS valid, ST_NumGeometries(geom) AS parts, area_m2 FROM ${layerTable(LAYER)} WHERE zone_no = '修-1'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ valid: true, parts: 2 });
    expect(rows[0].area_m2).toBeCloseTo(fix.area_after_m2!, 3);
  });
});

describe('--dry-run', () => {
  it('checks and reports, with a preview in EPSG:4490, and writes nothing', async () => {
    const before = await layerState(LAYER);
    const { code, report } = await cliJson(shapefileZip('dry', delivery('阳高', 480_000)), '--layer', LAYER, '--dry-run');
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, dryRun: true, featureCount: 3 });
    expect(report.revision).toBeUndefined();
    const [lon, lat] = vertices(report.preview!.features[0].geometry as any)[0];
    expect(lon).toBeGreaterThan(113);
    expect(lat).toBeGreaterThan(39.9);
    expect(await layerState(LAYER)).toEqual(before);
  });
});

describe('the checks in PostGIS, set-based over the staged delivery', () => {
  const layer = registry.byId.get(LAYER)!;
  const run = (file: string, opts: Partial<Parameters<typeof importFile>[3]> = {}) => importFile(knex, layer, file, { createdBy: 'test', ...opts });
  /**
   * What the imports left staged (nothing once an import has ended): their tables (only temporary
   * ones, which go with their session) and their rows in the shared staging tables of
   * migrations/…_import_staging.ts.
   */
  const stagingTables = async () => [
    ...(await knex.raw("SELECT relname FROM pg_class WHERE relname LIKE 'onemap\\_import\\_%'")).rows,
    ...(await knex.raw(`SELECT 'import_runs' AS rows, count(*)::int AS n FROM import_runs HAVING count(*) > 0
                        UNION ALL SELECT 'import_sources', count(*)::int FROM import_sources HAVING count(*) > 0
                        UNION ALL SELECT 'import_staging', count(*)::int FROM import_staging HAVING count(*) > 0`)).rows,
  ];

  it('names a geometry PostGIS cannot transform (geometry_unreadable, in PostgreSQL’s words) and checks the others', async () => {
    // 0 fine; 1 a coordinate of 1e20 m; 2 a bow-tie.
    const report = await run(fixture('unreadable'), { dryRun: true });
    expect(report.ok).toBe(false);
    const mine = report.problems.filter((p) => p.feature !== undefined);
    expect(mine.map((p) => [p.feature, p.code])).toEqual([
      [1, 'geometry_unreadable'],
      [2, 'geometry_invalid'],
    ]);
    expect(mine[0]).toMatchObject({ id: '读-1' });
    expect(mine[0].message).toMatch(/projection domain/);
    expect(report.problemCounts).toMatchObject({ geometry_unreadable: 1, geometry_invalid: 1 });
    // The coordinates also put the file's extent outside Datong (the reader's check of the whole file).
    expect(report.problemCounts.outside_datong).toBe(1);
    expect(report.preview!.features.map((f) => f.id)).toEqual([0, 2]);
    expect(await stagingTables()).toEqual([]);
  });

  it('lists the first 1,000 problems by feature index, wherever they were found, and counts them all', async () => {
    // 1,200 zones with a class code TD/T 1024 does not have; two of them also invalid (PostGIS finds those after the file is read).
    const zones: Zone[] = Array.from({ length: 1200 }, (_, i) => ({
      props: { 区块编号: `多-${i}`, 用途: '999' },
      geometry: i === 3 || i === 1100 ? bowtie(500_000 + (i % 40) * 600, 4_400_000 + Math.floor(i / 40) * 600) : square(500_000 + (i % 40) * 600, 4_400_000 + Math.floor(i / 40) * 600),
    }));
    const report = await run(geojsonOf('many', zones), { dryRun: true, preview: false });
    expect(report.problemCount).toBe(1202);
    expect(report.problemCounts).toEqual({ code_unknown: 1200, geometry_invalid: 2 });
    expect(report.problems).toHaveLength(1000);
    expect(report.problems.slice(0, 5).map((p) => [p.feature, p.code])).toEqual([
      [0, 'code_unknown'],
      [1, 'code_unknown'],
      [2, 'code_unknown'],
      [3, 'code_unknown'],
      [3, 'geometry_invalid'],
    ]);
    expect(report.problems.at(-1)!.feature).toBe(998);
    expect(report.preview).toBeUndefined();
  });

  it('commits from the staging table what a dry run checked, with the areas PostGIS computes, and leaves no staging table', async () => {
    const zones = delivery('浑源', 510_000);
    const file = shapefileZip('staged', zones);
    const dry = await run(file, { dryRun: true });
    expect(dry).toMatchObject({ ok: true, dryRun: true, featureCount: 3 });
    const report = await run(file, { name: '浑源.zip' });
    expect(report.ok).toBe(true);
    expect(report.preview!.features).toEqual(dry.preview!.features);
    const { rows } = await knex.raw(
      `SELECT t.zone_no, t.code, t.area_m2, ST_Area(t.geom::geography, true) AS area, GeometryType(t.geom) AS type, f.area_m2 AS snapshot_area
       FROM ${layerTable(LAYER)} t JOIN revision_features f ON f.layer_id = ? AND f.revision_to IS NULL AND f.geom = t.geom
       WHERE t.zone_no LIKE '浑源-%' ORDER BY t.zone_no`,
      [LAYER],
    );
    expect(rows.map((r: { zone_no: string; code: string; type: string }) => [r.zone_no, r.code, r.type])).toEqual([
      ['浑源-丙03', '080', 'MULTIPOLYGON'],
      ['浑源-乙02', '010', 'MULTIPOLYGON'],
      ['浑源-甲01', '030', 'MULTIPOLYGON'],
    ]);
    for (const r of rows) {
      expect(r.area_m2).toBeCloseTo(r.area, 6);
      expect(r.snapshot_area).toBe(r.area_m2);
    }
    expect(report.revision!.area_m2).toBeGreaterThan(3 * 240_000);
    expect(await stagingTables()).toEqual([]);
  });

  it('applies a delivery part by part as one revision: duplicates across parts match one to one, unchanged features keep their fids', async () => {
    const zone = (no: string, e: number, code = '010'): Zone => ({ props: { 区块编号: no, 用途: code }, geometry: square(e, 4_440_000) });
    const fids = async () =>
      Object.fromEntries(
        (await knex.raw(`SELECT zone_no, array_agg(fid ORDER BY fid) AS fids FROM ${layerTable(LAYER)} GROUP BY zone_no`)).rows.map((r: { zone_no: string; fids: string[] }) => [r.zone_no, r.fids.map(Number)]),
      );
    // Two features a part: parts [A, B], [C, A again], [D].
    const first = await run(geojsonOf('parts-1', [zone('分-A', 520_000), zone('分-B', 521_000), zone('分-C', 522_000), zone('分-A', 520_000), zone('分-D', 523_000)]), { batchSize: 2 });
    expect(first.ok).toBe(true);
    expect(first.revision).toMatchObject({ featureCount: 5, inserted: 5 });
    const before = await fids();
    expect(Object.keys(before).sort()).toEqual(['分-A', '分-B', '分-C', '分-D']);
    expect(before['分-A']).toHaveLength(2);

    // B and D go, E comes, A (twice) and C stay: parts [A, C], [A, E].
    const second = await run(geojsonOf('parts-2', [zone('分-A', 520_000), zone('分-C', 522_000), zone('分-A', 520_000), zone('分-E', 524_000, '030')]), { batchSize: 2 });
    expect(second.revision).toMatchObject({ revision: first.revision!.revision + 1, featureCount: 4, inserted: 1, deleted: 2, unchanged: 3 });
    const after = await fids();
    expect(after).toEqual({ '分-A': before['分-A'], '分-C': before['分-C'], '分-E': [expect.any(Number)] });
    const { rows } = await knex.raw('SELECT count(*)::int AS n FROM revision_features WHERE layer_id = ? AND revision_to IS NULL', [LAYER]);
    expect(rows[0].n).toBe(4);
    expect(await stagingTables()).toEqual([]);
  });

  it('writes a first delivery into an empty layer part by part: fids in the file’s order, the snapshot equal to the live rows, a re-delivery unchanged (same data version)', async () => {
    const control = registry.byId.get('landuse_control')!;
    const t = layerTable(control.id);
    expect((await knex.raw(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(0);
    const zones: Zone[] = ['011', '021', '031', '041', '011'].map((code, i) => ({ props: { 区块编号: `管-${i}`, 用途: code }, geometry: square(530_000 + 1000 * i, 4_440_000, 400 + 50 * i) }));
    zones.push({ props: { 区块编号: '管-0', 用途: '011' }, geometry: square(530_000, 4_440_000, 400) }); // the first one again, in the last part
    const file = geojsonOf('first-delivery', zones);
    const first = await importFile(knex, control, file, { createdBy: 'test', batchSize: 2 });
    expect(first.ok).toBe(true);
    expect(first.revision).toMatchObject({ revision: 1, featureCount: 6, inserted: 6, deleted: 0 });
    const { rows: live } = await knex.raw(`SELECT fid::int, zone_no, area_m2, ST_Area(geom::geography, true) AS area FROM ${t} ORDER BY fid`);
    const base = live[0].fid;
    expect(live.map((r: { fid: number; zone_no: string }) => [r.fid - base, r.zone_no])).toEqual([[0, '管-0'], [1, '管-1'], [2, '管-2'], [3, '管-3'], [4, '管-4'], [5, '管-0']]);
    for (const r of live) expect(r.area_m2).toBeCloseTo(r.area, 6);
    // The snapshot of revision 1 is the live content, row for row (hash, code, attributes, geometry, area).
    const { rows: diff } = await knex.raw(
      `(SELECT code, jsonb_build_object('zone_no', zone_no) AS attrs, geom, area_m2, revision_feature_hash(code, jsonb_build_object('zone_no', zone_no), geom) AS hash FROM ${t}
        EXCEPT ALL
        SELECT code, attrs, geom, area_m2, hash FROM revision_features WHERE layer_id = ? AND revision_from = 1 AND revision_to IS NULL)
       UNION ALL
       (SELECT code, attrs, geom, area_m2, hash FROM revision_features WHERE layer_id = ? AND revision_from = 1 AND revision_to IS NULL
        EXCEPT ALL
        SELECT code, jsonb_build_object('zone_no', zone_no), geom, area_m2, revision_feature_hash(code, jsonb_build_object('zone_no', zone_no), geom) FROM ${t})`,
      [control.id, control.id],
    );
    expect(diff).toEqual([]);
    // The identity goes on after the block the delivery took.
    const { rows: next } = await knex.raw(`SELECT nextval(pg_get_serial_sequence(?, 'fid'))::int AS n`, [t]);
    expect(next[0].n).toBe(base + 6);

    const again = await importFile(knex, control, file, { createdBy: 'test', batchSize: 4 });
    expect(again.revision).toMatchObject({ revision: 2, featureCount: 6, inserted: 0, deleted: 0, unchanged: 6 });
    // An unchanged content is a revision (the delivery happened) but not a change of the data: tile
    // caches, ETags and conflict runs keep what they have.
    expect(again.revision!.dataVersion).toBe(first.revision!.dataVersion);
    expect((await knex.raw(`SELECT array_agg(fid::int ORDER BY fid) AS f FROM ${t}`)).rows[0].f).toEqual(live.map((r: { fid: number }) => r.fid));
  });

  it('rolls back the parts already applied when a later part has a problem', async () => {
    const before = await layerState(LAYER);
    const zones: Zone[] = [0, 1, 2, 3].map((i) => ({ props: { 区块编号: `晚-${i}`, 用途: '010' }, geometry: square(530_000 + i * 1000, 4_440_000) }));
    zones.push({ props: { 区块编号: '晚-4', 用途: '010' }, geometry: bowtie(534_000, 4_440_000) });
    const report = await run(geojsonOf('late-problem', zones), { batchSize: 2 });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.feature, p.code])).toEqual([[4, 'geometry_invalid']]);
    expect(report.revision).toBeUndefined();
    expect(await layerState(LAYER)).toEqual(before);
    expect(await stagingTables()).toEqual([]);
  });

  /** A delivery of 40,000 small squares (two parts of 20,000), large enough to still be in PostgreSQL when a connection is killed. */
  function bigDelivery(): string {
    const file = path.join(dir, 'big.geojsonl');
    if (fs.existsSync(file)) return file;
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      const [x, y] = [113 + (i % 200) * 0.001, 40 + Math.floor(i / 200) * 0.001];
      const feature = { type: 'Feature', properties: { 区块编号: `断-${i}`, 用途: '010' }, geometry: { type: 'Polygon', coordinates: [[[x, y], [x + 0.0005, y], [x + 0.0005, y + 0.0005], [x, y]]] } };
      lines.push(`\x1e${JSON.stringify(feature)}\n`);
    }
    fs.writeFileSync(file, lines.join(''));
    return file;
  }

  it.each([
    ['the helper session copying a part into PostGIS', "query LIKE 'COPY import\\_sources %'"],
    ['the import’s transaction writing a part into the layer', "query LIKE 'WITH live AS%'"],
  ])('leaves the layer as it was when the importing connection dies in the middle (%s)', async (_what, which) => {
    const before = await layerState(LAYER);
    const file = bigDelivery();
    const importing = run(file, { name: 'killed.geojsonl', batchSize: 20_000 }).then(
      () => 'finished',
      (err: Error) => err.message,
    );
    let killed = 0;
    for (let t = 0; t < 1000 && !killed; t++) {
      const { rows } = await knex.raw(`SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE datname = current_database() AND ${which} AND pid <> pg_backend_pid()`);
      killed = rows.length;
      if (!killed) await new Promise((r) => setTimeout(r, 5));
    }
    expect(killed).toBe(1);
    expect(await importing).not.toBe('finished');
    expect(await layerState(LAYER)).toEqual(before);
    expect(await stagingTables()).toEqual([]);
  });

  it('deletes what a killed importing process left staged, and no one else’s', async () => {
    /** A run of the given helper session with a row in each staging table. */
    const made = async (pid: number, started: string) => {
      const { rows } = await knex.raw(`INSERT INTO import_runs (layer_id, pid, backend_start) VALUES (?, ?, ?) RETURNING id`, [LAYER, pid, started]);
      const run = Number(rows[0].id);
      await knex.raw(`INSERT INTO import_sources (run_id, part, i, code, attrs, g) VALUES (?, 0, 0, '010', '{}', 'POINT(0 0)')`, [run]);
      await knex.raw(`INSERT INTO import_staging (run_id, part, fid, code, _attrs, _hash, geom) VALUES (?, 0, 0, '010', '{}', md5('')::uuid, 'POINT(0 0)')`, [run]);
      return run;
    };
    const left = async () => ({
      runs: (await knex.raw('SELECT id::int FROM import_runs ORDER BY id')).rows.map((r: { id: number }) => r.id),
      sources: (await knex.raw('SELECT DISTINCT run_id::int FROM import_sources ORDER BY 1')).rows.map((r: { run_id: number }) => r.run_id),
      staging: (await knex.raw('SELECT DISTINCT run_id::int FROM import_staging ORDER BY 1')).rows.map((r: { run_id: number }) => r.run_id),
    });
    // A session that is gone, and one that is alive (this test's own connection).
    const dead = await made(999_999, '2001-01-01 00:00:00+00');
    const { rows: me } = await knex.raw('SELECT pid, backend_start::text AS s FROM pg_stat_activity WHERE pid = pg_backend_pid()');
    const alive = await made(me[0].pid, me[0].s);
    expect(await left()).toEqual({ runs: [dead, alive], sources: [dead, alive], staging: [dead, alive] });
    const report = await run(shapefileZip('after-kill', delivery('左云', 540_000)));
    expect(report.ok).toBe(true);
    expect(await left()).toEqual({ runs: [alive], sources: [alive], staging: [alive] });
    for (const t of ['import_sources', 'import_staging']) await knex.raw(`DELETE FROM ${t} WHERE run_id = ?`, [alive]);
    await knex.raw('DELETE FROM import_runs WHERE id = ?', [alive]);
  });
});

describe('the upload', () => {
  it('answers 413 above ONEMAP_UPLOAD_MAX_MB, writes nothing and keeps no temporary file', async () => {
    const before = await layerState(LAYER);
    const big = path.join(dir, 'big.zip');
    fs.writeFileSync(big, Buffer.alloc(Math.round((UPLOAD_MAX_MB + 0.5) * 1024 * 1024), 7));
    const r = await upload(LAYER, big);
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('payload_too_large');
    expect(r.body.message).toMatch(/1 MB/);
    expect(await layerState(LAYER)).toEqual(before);
    expect(uploadDirs()).toEqual([]);
  });

  it('answers 404 for a layer that is not in the registry', async () => {
    const r = await upload('no_such_layer', shapefileZip('nolayer', delivery('无', 490_000)));
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('unknown_layer');
  });

  it('answers 400 for a bad srid field', async () => {
    const r = await upload(LAYER, shapefileZip('badsrid', delivery('错', 490_000)), { srid: 'abc' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('invalid_parameter');
  });

  it('lists every problem of the form fields, each at its field, and writes nothing', async () => {
    const before = await layerState(LAYER);
    const r = await upload(LAYER, fixture('several-problems'), { srid: '0', encoding: 'klingon', dryRun: 'maybe', reason: 'x'.repeat(2001) });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('invalid_parameter');
    expect(r.body.details.field).toBe('srid');
    expect(r.body.details.problems.map((p: { path: string }) => p.path)).toEqual(['srid', 'encoding', 'reason', 'dryRun']);
    expect(await layerState(LAYER)).toEqual(before);
    expect(uploadDirs()).toEqual([]);
  });

  it('refuses a form field it does not know (400 invalid_upload, naming it)', async () => {
    const r = await upload(LAYER, fixture('several-problems'), { dry_run: 'true' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'invalid_upload', details: { field: 'dry_run' } });
  });
});

describe('import fixtures (a file in, its report out)', () => {
  /** How each case is imported (cases.json): always a dry run, into landuse_plan unless it says. */
  const cases: Record<string, { layer?: string; srid?: number; repair?: boolean }> = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8'));
  const names = Object.keys(cases).filter((k) => !k.startsWith('$'));

  /** The report without what changes from run to run (elapsed_ms), numbers rounded as PROJ and GEOS versions may differ in the last digits: degrees to 1e-7 (1 cm), the rest to 0.1. */
  const normalised = (report: ImportReport): unknown => {
    const { elapsed_ms: _elapsed, ...rest } = report;
    const round = (v: unknown): unknown => {
      if (typeof v === 'number' && !Number.isInteger(v)) return Math.abs(v) <= 360 ? Math.round(v * 1e7) / 1e7 : Math.round(v * 10) / 10;
      if (Array.isArray(v)) return v.map(round);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]));
      return v;
    };
    return round(rest);
  };

  it('has a case for every file of in/ and a report for every case', () => {
    const files = fs.readdirSync(path.join(FIXTURES, 'in')).map((f) => f.replace(/\.[^.]+$/, '')).sort();
    expect(files).toEqual([...names].sort());
    if (!process.env.REGEN) expect(fs.readdirSync(path.join(FIXTURES, 'out')).sort()).toEqual(names.map((n) => `${n}.json`).sort());
  });

  for (const name of names) {
    it(name, async () => {
      const c = cases[name];
      const layer = registry.byId.get(c.layer ?? LAYER)!;
      const report = normalised(await importFile(knex, layer, fixture(name), { createdBy: 'test', dryRun: true, srid: c.srid, repair: c.repair }));
      const out = path.join(FIXTURES, 'out', `${name}.json`);
      if (process.env.REGEN) fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      expect(report).toEqual(JSON.parse(fs.readFileSync(out, 'utf8')));
    });
  }
});
