// Exports opened by GDAL: every format read back with ogr2ogr/ogrinfo has the layer's features,
// attributes (Chinese text intact, also from a GBK Shapefile) and total area; a Gauss-Krüger
// Shapefile's .prj is recognised and its coordinates agree with PROJ's cs2cs; an earlier revision
// exports that revision's content; bad requests are refused; a client that leaves stops the work.
// GDAL and PROJ run through async execFile: the in-process server must keep answering meanwhile.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { loadRegistry, type Layer } from '../server/layers/registry';
import { gdalEnv } from '../server/exports/export';
import { layerTable, quoteIdent } from '../server/platform/sql';
import { commitRevision, type RevisionFeature } from '../server/revisions/commit';
import { testConfig } from './helpers/db';
import { as } from './helpers/auth';
import { expectError, requestsAs } from './helpers/http';
import { useDemoCopy } from './helpers/setup';

const registry = loadRegistry();
const layerOf = (id: string): Layer => registry.byId.get(id)!;

const { db, knex, srv } = useDemoCopy();
/** Exports are working data: requests are a staff account's (any role; anonymous: 401 below). */
const staff = requestsAs(() => as(knex, 'land.reviewer'));
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-export-test-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// --- helpers -------------------------------------------------------------------------------------

const run = async (tool: string, args: string[]) => (await promisify(execFile)(tool, args, { encoding: 'utf8', maxBuffer: 1 << 30 })).stdout;

/** Downloads an export into the test folder under its Content-Disposition name. */
async function download(layerId: string, query: string): Promise<{ file: string; name: string; headers: Headers }> {
  const res = await staff.fetch(`${srv.baseUrl}/api/layers/${layerId}/export?${query}`);
  const body = Buffer.from(await res.arrayBuffer());
  expect(res.status, body.toString().slice(0, 500)).toBe(200);
  const name = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '')?.[1];
  expect(name).toBeDefined();
  const file = path.join(tmp, name!);
  fs.writeFileSync(file, body);
  return { file, name: name!, headers: res.headers };
}

type Row = { props: Record<string, unknown>; area: number | null };

/** The layer's rows as an export should hold them: code, class_zh, attributes (area separately). */
async function expectedRows(layer: Layer, revision?: number): Promise<Row[]> {
  const zh = new Map(layer.classification.classes.map((c) => [c.code, c.zh]));
  const { rows } =
    revision === undefined
      ? await knex.raw(`SELECT to_jsonb(t) - '{fid,geom,updated_at,area_m2}'::text[] AS p, t.area_m2 AS a FROM ${layerTable(layer.id)} t`)
      : await knex.raw(
          `SELECT jsonb_build_object('code', f.code) || f.attrs AS p, f.area_m2 AS a FROM revision_features f
            WHERE f.layer_id = ? AND f.revision_from <= ? AND (f.revision_to IS NULL OR f.revision_to > ?)`,
          [layer.id, revision, revision],
        );
  return sortRows(
    rows.map((r: { p: Record<string, unknown>; a: number | null }) => ({
      props: { code: r.p.code, class_zh: zh.get(r.p.code as string), ...Object.fromEntries(layer.attributes.map((a) => [a.name, r.p[a.name] ?? null])) },
      area: r.a,
    })),
  );
}

/** The rows of an exported file as GDAL reads them (ogr2ogr to GeoJSON on stdout). */
async function exportedRows(layer: Layer, source: string): Promise<Row[]> {
  const fc = JSON.parse(await run('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', source, layer.id]));
  return sortRows(
    fc.features.map((f: { properties: Record<string, unknown> }) => {
      const { area_m2, ...props } = f.properties;
      return { props, area: (area_m2 as number | undefined) ?? null };
    }),
  );
}

const sortRows = (rows: Row[]) => rows.sort((a, b) => JSON.stringify(a.props).localeCompare(JSON.stringify(b.props)) || (a.area ?? 0) - (b.area ?? 0));

/** Same features, attribute for attribute, and each feature's area_m2 within 1e-9 relative. */
function expectSameRows(got: Row[], want: Row[]) {
  expect(got.length).toBe(want.length);
  expect(got.map((r) => r.props)).toEqual(want.map((r) => r.props));
  got.forEach((r, i) => expect(Math.abs(r.area! - want[i].area!) / want[i].area!).toBeLessThan(1e-9));
}

/**
 * Feature count, sum of the area_m2 attribute and the ellipsoidal area recomputed by GDAL's SQLite
 * dialect (SpatiaLite ST_Area(geometry, 1), in EPSG:4490 for projected files). SpatiaLite's
 * ellipsoidal area is an approximation (on the demo's land-use zones it reads 2.4e-6 above the
 * geodesic area of PostGIS and GeographicLib), so it is checked at 1e-5; the 1e-6 check is
 * reimportedArea's.
 */
async function gdalTotals(source: string, layerId: string, geomColumn: string, projected: boolean) {
  const g = projected ? `ST_Transform(${geomColumn}, 4490)` : geomColumn;
  const out = await run('ogrinfo', ['-ro', '-q', source, '-dialect', 'SQLITE', '-sql', `SELECT count(*) AS n, sum(area_m2) AS a, sum(ST_Area(${g}, 1)) AS e FROM "${layerId}"`]);
  const value = (name: string) => {
    const m = new RegExp(`^\\s*${name} \\((?:Integer|Integer64|Real)\\) = (\\S+)`, 'm').exec(out);
    if (!m) throw new Error(`ogrinfo gave no ${name} (is GDAL built with SpatiaLite?):\n${out}`);
    return Number(m[1]);
  };
  return { count: value('n'), areaAttr: value('a'), areaEllipsoid: value('e') };
}

let reimports = 0;

/**
 * The export loaded back into PostGIS by ogr2ogr (reprojected to EPSG:4490 by GDAL) and its
 * geodesic area recomputed there: ST_Area(geography) of the geometry that went through the file.
 */
async function reimportedTotals(source: string, layerId: string) {
  const c = testConfig();
  const connection = c.DATABASE_URL
    ? Object.assign(new URL(c.DATABASE_URL), { pathname: `/${db.name}` }).toString()
    : { host: path.resolve(c.ONEMAP_DATA_DIR, 'run'), port: c.ONEMAP_PG_PORT, user: 'postgres', database: db.name };
  const table = `reimport_${++reimports}`;
  await promisify(execFile)('ogr2ogr', ['-f', 'PostgreSQL', 'PG:', source, layerId, '-nln', `public.${table}`, '-lco', 'GEOMETRY_NAME=geom', '-nlt', 'PROMOTE_TO_MULTI', '-t_srs', 'EPSG:4490'], {
    env: gdalEnv({ connection, statementTimeoutMs: 60_000 }, tmp),
  });
  try {
    const { rows } = await knex.raw(`SELECT count(*)::int AS n, sum(ST_Area(geom::geography, true)) AS a FROM public.${quoteIdent(table)}`);
    return { count: rows[0].n as number, area: rows[0].a as number };
  } finally {
    await knex.raw(`DROP TABLE public.${quoteIdent(table)}`);
  }
}

/** Every total an export must agree on with the layer table. */
async function expectSameTotals(layerId: string, source: string, geomColumn: string, projected: boolean) {
  const want = await layerTotals(layerId);
  const got = await gdalTotals(source, layerId, geomColumn, projected);
  expect(got.count).toBe(want.count);
  expect(relative(got.areaAttr, want.area)).toBeLessThan(1e-6);
  expect(relative(got.areaEllipsoid, want.area)).toBeLessThan(1e-5);
  const back = await reimportedTotals(source, layerId);
  expect(back.count).toBe(want.count);
  expect(relative(back.area, want.area)).toBeLessThan(1e-6);
}

async function layerTotals(layerId: string) {
  const { rows } = await knex.raw(`SELECT count(*)::int AS n, sum(area_m2) AS a FROM ${layerTable(layerId)}`);
  return { count: rows[0].n as number, area: rows[0].a as number };
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** The entries of a zip file, by name. */
function unzip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) => {
        zip.openReadStream(e, (err2, stream) => {
          if (err2) return reject(err2);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => { entries.set(e.fileName, Buffer.concat(chunks)); zip.readEntry(); });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** The EPSG code GDAL identifies for a file's layer (the last, top-level ID of its WKT). */
async function identifiedEpsg(source: string, layerId: string): Promise<number | undefined> {
  const out = await run('ogrinfo', ['-ro', '-so', source, layerId]);
  const m = /ID\["EPSG",(\d+)\]\]\s*\nData axis/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/** Directories the exports of this process (the service in-process) write into (platform/scratch.ts names them). */
const exportDirs = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(`onemap-work-${process.pid}-export-`));

// --- formats ---------------------------------------------------------------------------------------

describe('export formats, read back by GDAL', () => {
  const layer = layerOf('landuse_plan');

  it('GeoJSON (RFC 7946, CRS84) has every feature, attribute and the same total area', async () => {
    const { file, name, headers } = await download(layer.id, 'format=geojson');
    expect(name).toBe('landuse_plan-r1-CRS84.geojson');
    expect(headers.get('content-type')).toMatch(/^application\/geo\+json/);
    const fc = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.crs).toBeUndefined(); // RFC 7946: no crs member, CRS84 implied
    expectSameRows(await exportedRows(layer, file), await expectedRows(layer));
    await expectSameTotals(layer.id, file, 'geometry', false);
  });

  it('Shapefile (EPSG:4490, UTF-8) is a zip of .shp .shx .dbf .prj .cpg that GDAL reads as EPSG:4490', async () => {
    const { file, name, headers } = await download(layer.id, 'format=shapefile');
    expect(name).toBe('landuse_plan-r1-EPSG4490.zip');
    expect(headers.get('content-type')).toBe('application/zip');
    const entries = await unzip(file);
    expect([...entries.keys()].sort()).toEqual(['cpg', 'dbf', 'prj', 'shp', 'shx'].map((e) => `landuse_plan.${e}`));
    expect(entries.get('landuse_plan.cpg')!.toString().trim()).toBe('UTF-8');
    expect(await identifiedEpsg(`/vsizip/${file}`, layer.id)).toBe(4490);
    expectSameRows(await exportedRows(layer, `/vsizip/${file}`), await expectedRows(layer));
    await expectSameTotals(layer.id, `/vsizip/${file}`, 'geometry', false);
  });

  it('Shapefile in GBK and EPSG:4547: the .cpg says so, GDAL reads the Chinese names back and the .prj as EPSG:4547', async () => {
    const { file, name } = await download(layer.id, 'format=shapefile&crs=EPSG:4547&encoding=gbk');
    expect(name).toBe('landuse_plan-r1-EPSG4547-gbk.zip');
    const entries = await unzip(file);
    expect(entries.get('landuse_plan.cpg')!.toString().trim()).toMatch(/GBK|936/);
    // The DBF holds the class names as GBK bytes, not UTF-8.
    const dbf = entries.get('landuse_plan.dbf')!;
    const zhName = layer.classification.classes[0].zh;
    expect(dbf.includes(iconv.encode(zhName, 'gbk'))).toBe(true);
    expect(dbf.includes(Buffer.from(zhName, 'utf8'))).toBe(false);
    expect(await identifiedEpsg(`/vsizip/${file}`, layer.id)).toBe(4547);
    expectSameRows(await exportedRows(layer, `/vsizip/${file}`), await expectedRows(layer));
    await expectSameTotals(layer.id, `/vsizip/${file}`, 'geometry', true);
  });

  it('a Gauss-Krüger Shapefile vertex agrees with PROJ cs2cs EPSG:4490 → EPSG:4547 within 1 mm', async () => {
    const { file } = await download(layer.id, 'format=shapefile&crs=EPSG:4547');
    // The first feature in fid order, first vertex of its first exterior ring (a reversed ring keeps it).
    const { rows } = await knex.raw(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) AS p FROM ${layerTable(layer.id)} ORDER BY fid LIMIT 1) s`,
    );
    const { lon, lat } = rows[0];
    const fc = JSON.parse(await run('ogr2ogr', ['-f', 'GeoJSON', '-limit', '1', '/vsistdout/', `/vsizip/${file}`, layer.id]));
    const geom = fc.features[0].geometry;
    const [x, y] = geom.type === 'Polygon' ? geom.coordinates[0][0] : geom.coordinates[0][0][0]; // easting, northing
    const ref = await cs2cs('EPSG:4547', lat, lon); // [northing, easting]
    expect(Math.abs(y - ref[0])).toBeLessThan(0.001);
    expect(Math.abs(x - ref[1])).toBeLessThan(0.001);
  });

  it('GeoPackage (EPSG:4526) has every feature, attribute and the same total area, in EPSG:4526', async () => {
    const { file, name, headers } = await download(layer.id, 'format=gpkg&crs=EPSG:4526');
    expect(name).toBe('landuse_plan-r1-EPSG4526.gpkg');
    expect(headers.get('content-type')).toBe('application/geopackage+sqlite3');
    expect(await identifiedEpsg(file, layer.id)).toBe(4526);
    expectSameRows(await exportedRows(layer, file), await expectedRows(layer));
    await expectSameTotals(layer.id, file, 'geom', true);
  });

  it('leaves no temp folder behind after the downloads', async () => {
    await waitFor(() => exportDirs().length === 0, 'export temp folders removed');
  });
});

/** PROJ's cs2cs: one "lat lon" point (EPSG:4490 axis order) into the target CRS, in its axis order. */
function cs2cs(target: string, lat: number, lon: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('cs2cs', ['-f', '%.6f', 'EPSG:4490', target], { encoding: 'utf8' }, (err, stdout) => {
      if (err) return reject(err);
      resolve(stdout.trim().split(/\s+/).slice(0, 2).map(Number));
    });
    child.stdin!.end(`${lat} ${lon}\n`);
  });
}

async function waitFor(ok: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- revisions -------------------------------------------------------------------------------------

describe('exporting a revision', () => {
  it('an earlier revision exports that revision’s content, the current one the new content', async () => {
    const layer = layerOf('urban_plan');
    const before = await expectedRows(layer);
    // Revision 2: a tenth of the blocks gone, the floor-area ratio of the rest raised.
    const { rows } = await knex.raw(
      `SELECT json_build_object('type', 'Feature', 'properties', to_jsonb(t) - '{fid,geom,updated_at,area_m2}'::text[],
         'geometry', ST_AsGeoJSON(t.geom, 15)::json) AS f FROM ${layerTable(layer.id)} t ORDER BY t.fid`,
    );
    const features: RevisionFeature[] = rows
      .map((r: { f: RevisionFeature }) => r.f)
      .filter((_f: RevisionFeature, i: number) => i % 10 !== 0)
      .map((f: RevisionFeature) => ({ ...f, properties: { ...f.properties, far: Math.round((Number(f.properties.far ?? 0) + 0.5) * 100) / 100 } }));
    const result = await commitRevision(knex, layer, features, { kind: 'import', createdBy: 'test', reason: 'export test' });
    expect(result.revision).toBe(2);

    const old = await download(layer.id, 'format=gpkg&revision=1');
    expect(old.name).toBe('urban_plan-r1-EPSG4490.gpkg');
    expectSameRows(await exportedRows(layer, old.file), before);

    const now = await download(layer.id, 'format=gpkg');
    expect(now.name).toBe('urban_plan-r2-EPSG4490.gpkg');
    const after = await expectedRows(layer);
    expect(after.length).toBe(features.length);
    expectSameRows(await exportedRows(layer, now.file), after);
    // Revision 2 asked for by number equals the current content.
    expectSameRows(await exportedRows(layer, (await download(layer.id, 'format=geojson&revision=2')).file), await expectedRows(layer, 2));
  });

  it('an earlier revision exports whatever plan PostgreSQL picks (sequential scans: no typed cast on another layer’s rows)', async () => {
    // GDAL wraps the query (… WHERE geom IS NOT NULL LIMIT 1); with a sequential scan of the snapshot
    // store, a qual pushed down beside layer_id would cast roads and points to MultiPolygon and fail.
    await knex.raw(`ALTER DATABASE ${quoteIdent(db.name)} SET enable_bitmapscan = off`);
    await knex.raw(`ALTER DATABASE ${quoteIdent(db.name)} SET enable_indexscan = off`);
    try {
      const layer = layerOf('landuse_plan');
      const old = await download(layer.id, 'format=gpkg&revision=1');
      expectSameRows(await exportedRows(layer, old.file), await expectedRows(layer, 1));
    } finally {
      await knex.raw(`ALTER DATABASE ${quoteIdent(db.name)} RESET enable_bitmapscan`);
      await knex.raw(`ALTER DATABASE ${quoteIdent(db.name)} RESET enable_indexscan`);
    }
  });
});

// --- bad input and a client that leaves ----------------------------------------------------------

describe('export refusals', () => {
  const url = (q: string, id = 'landuse_plan') => `${srv.baseUrl}/api/layers/${id}/export?${q}`;

  it('an unknown layer is 404 unknown_layer', () => staff.expectError(url('format=geojson', 'no_such_layer'), 404, 'unknown_layer'));
  it('an unknown revision is 404 unknown_revision', () => staff.expectError(url('format=gpkg&revision=99'), 404, 'unknown_revision'));
  it('a revision that is not a positive integer is 400', () => staff.expectError(url('format=gpkg&revision=0'), 400, 'invalid_parameter'));
  it('an unknown format is 400 unsupported_format', () => staff.expectError(url('format=kml'), 400, 'unsupported_format'));
  it('GeoJSON in a projected CRS is 400 unsupported_crs', () => staff.expectError(url('format=geojson&crs=EPSG:4547'), 400, 'unsupported_crs'));
  it('a Shapefile in a CRS other than CGCS2000 is 400 unsupported_crs', () => staff.expectError(url('format=shapefile&crs=EPSG:3857'), 400, 'unsupported_crs'));
  it('a Shapefile in a made-up CRS text is 400 unsupported_crs', () => staff.expectError(url("format=shapefile&crs=EPSG:4547';DROP"), 400, 'unsupported_crs'));
  it('GBK for a GeoPackage is 400 unsupported_encoding', () => staff.expectError(url('format=gpkg&encoding=gbk'), 400, 'unsupported_encoding'));
  it('an unknown encoding is 400 unsupported_encoding', () => staff.expectError(url('format=shapefile&encoding=latin1'), 400, 'unsupported_encoding'));
  it('an unknown parameter is 400 unknown_parameter', () => staff.expectError(url('format=gpkg&bbox=1,2,3,4'), 400, 'unknown_parameter'));
  it('without an account, 401 unauthenticated (working data)', () => expectError(url('format=gpkg'), 401, 'unauthenticated'));

  it('a client that leaves during the export stops ogr2ogr and leaves no temp folder', async () => {
    const ac = new AbortController();
    const started = staff.fetch(`${srv.baseUrl}/api/layers/landuse_status/export?format=gpkg&crs=EPSG:4547`, { signal: ac.signal }).catch(() => undefined);
    await waitFor(async () => (await ogr2ogrChildren()) > 0, 'ogr2ogr started');
    ac.abort();
    await started;
    await waitFor(async () => (await ogr2ogrChildren()) === 0, 'ogr2ogr ended');
    await waitFor(() => exportDirs().length === 0, 'export temp folder removed');
  });
});

/** ogr2ogr processes started by this process (the in-process server). */
async function ogr2ogrChildren(): Promise<number> {
  const out = await run('ps', ['-o', 'comm=', '--ppid', String(process.pid)]).catch(() => '');
  return out.split('\n').filter((l) => l.trim() === 'ogr2ogr').length;
}
