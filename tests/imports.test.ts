// The file readers of server/imports: formats, CRS and encoding detection, and bad input, on
// files written by GDAL's ogr2ogr (the same tool departments' GIS software is built on) from the
// small text fixtures in tests/fixtures/imports/in/, and CRS transformations checked against PROJ's cs2cs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { crsFromWkt, KNOWN_CRS, openImport, readAll } from '../server/imports/index';
import type { ImportOptions, ImportProblem } from '../server/imports/index';
import { openDatabase, type Database } from '../server/platform/db';
import { testConfig } from './helpers/db';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/imports/in');
const ZONES = path.join(FIXTURES, 'plan-zones.geojson');
const NAMES = ['云冈区城镇村建设用地区', '基本农田保护区（口泉河以南）', '林业用地区·西坪'];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-imports-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ogr2ogr = (...args: string[]) => execFileSync('ogr2ogr', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Writes the zones fixture as a Shapefile with ogr2ogr; returns the files of the set by extension. */
function shapefileOf(name: string, opts: { encoding?: string; srs?: string; input?: string } = {}): Record<string, Buffer> {
  const out = path.join(dir, `${name}.shp`);
  ogr2ogr('-f', 'ESRI Shapefile', out, opts.input ?? ZONES, '-overwrite', ...(opts.srs ? ['-t_srs', opts.srs] : []), '-lco', `ENCODING=${opts.encoding ?? 'GBK'}`);
  const files: Record<string, Buffer> = {};
  for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg']) {
    const f = path.join(dir, `${name}.${ext}`);
    if (fs.existsSync(f)) files[ext] = fs.readFileSync(f);
  }
  return files;
}

/** Zips files (name → bytes) into the temporary folder. */
function zipOf(name: string, files: Record<string, Uint8Array>): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, zipSync(files, { level: 6 }));
  return p;
}

/** A Shapefile set's files under a base name in a zip, leaving out some parts. */
const entries = (base: string, set: Record<string, Buffer>, omit: string[] = []) =>
  Object.fromEntries(Object.entries(set).filter(([ext]) => !omit.includes(ext)).map(([ext, b]) => [`${base}.${ext}`, new Uint8Array(b)]));

const open = async (p: string, opts: ImportOptions = {}) => readAll(await openImport(p, opts));
const codes = (ps: ImportProblem[]) => ps.map((p) => p.code);
const write = (name: string, text: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

describe('zipped Shapefile with GBK attributes (ogr2ogr -lco ENCODING=GBK)', () => {
  it('honours the .cpg and reads names and values as correct Chinese text', async () => {
    const set = shapefileOf('gbk');
    expect(set.cpg.toString()).toBe('GBK');
    const src = await open(zipOf('gbk.zip', entries('土地用途区/土地用途区', set)));
    expect(src.problems).toEqual([]);
    expect(src.format).toBe('shapefile');
    expect(src.encoding).toEqual({ name: 'gb18030', method: 'cpg' });
    expect(src.features.map((f) => f.properties['名称'])).toEqual(NAMES);
    expect(Object.keys(src.features[0].properties)).toEqual(['编号', '名称', '用途', '面积']);
    expect(src.features[1].properties['用途']).toBe('010');
    expect(src.features[0].file).toBe('土地用途区/土地用途区.shp');
  });

  it('detects GBK without a .cpg (the bytes are not valid UTF-8)', async () => {
    const src = await open(zipOf('gbk-nocpg.zip', entries('zones', shapefileOf('gbk'), ['cpg'])));
    expect(src.problems).toEqual([]);
    expect(src.encoding).toEqual({ name: 'gb18030', method: 'detected' });
    expect(src.features.map((f) => f.properties['名称'])).toEqual(NAMES);
  });

  it('detects UTF-8 without a .cpg', async () => {
    const src = await open(zipOf('utf8-nocpg.zip', entries('zones', shapefileOf('utf8', { encoding: 'UTF-8' }), ['cpg'])));
    expect(src.encoding).toEqual({ name: 'utf-8', method: 'detected' });
    expect(src.features.map((f) => f.properties['名称'])).toEqual(NAMES);
  });

  it('uses the encoding the caller states over the .cpg', async () => {
    const set = shapefileOf('gbk');
    const src = await open(zipOf('gbk-wrongcpg.zip', entries('zones', { ...set, cpg: Buffer.from('UTF-8') })), { encoding: 'gbk' });
    expect(src.encoding).toEqual({ name: 'gb18030', method: 'explicit' });
    expect(src.features[2].properties['名称']).toBe(NAMES[2]);
  });

  it('reads the .prj as CGCS2000 3-degree Gauss-Krüger CM 114°E (EPSG:4547) with coordinates in metres', async () => {
    const src = await open(zipOf('crs.zip', entries('zones', shapefileOf('gbk'))));
    expect(src.crs).toMatchObject({ epsg: 4547, method: 'prj-parameters', geographic: false, warnings: [] });
    expect(src.bbox).toEqual([440000, 4430000, 444500, 4432500]);
    expect(src.features[1].geometry).toMatchObject({ type: 'Polygon' });
    expect((src.features[1].geometry as { coordinates: number[][][] }).coordinates).toHaveLength(2); // the hole survives
  });

  it('reads a .shp from a folder with its sibling files', async () => {
    shapefileOf('ondisk');
    const src = await open(path.join(dir, 'ondisk.shp'));
    expect(src.problems).toEqual([]);
    expect(src.features).toHaveLength(3);
    expect(src.features[0].properties['名称']).toBe(NAMES[0]);
  });
});

describe('CRS detection', () => {
  // Every family the importer recognises, as PROJ writes them: ESRI WKT1 (.prj), GDAL WKT1 (with
  // AUTHORITY) and WKT2 (with ID). The ESRI form has no EPSG code: it is matched on its parameters.
  const epsgCodes = [4490, 4547, 4526, 4513, 4554, 4491, 4502, 4512, 2383, 2362, 2349, 2390, 2327, 2338, 2435, 2414, 2401, 21413, 21453, 4326, 4610, 4214, 32649, 32650];
  it.each(epsgCodes)('recognises EPSG:%i from its ESRI, GDAL and WKT2 forms', (code) => {
    for (const format of ['WKT1_ESRI', 'WKT1_GDAL', 'WKT2_2019']) {
      const wkt = execFileSync('projinfo', [`EPSG:${code}`, '-o', format, '-q', '--single-line']).toString();
      const r = crsFromWkt(wkt);
      expect(r.ok && r.crs.epsg, `${format}: ${wkt.slice(0, 80)}`).toBe(code);
      if (r.ok) expect(r.method).toBe(format === 'WKT1_ESRI' ? 'prj-parameters' : 'prj-authority');
    }
  });

  it('matches every recognised Gauss-Krüger code to the same parameters as PROJ', () => {
    const gk = [...KNOWN_CRS.values()].filter((c) => c.kind === 'gk3' || c.kind === 'gk6');
    expect(gk.length).toBe(3 * 2 * (11 + 21));
    // A sample across datums and series (projinfo per code is slow): PROJ's own proj-string must match ours.
    for (const c of gk.filter((_, i) => i % 17 === 0)) {
      const proj = execFileSync('projinfo', [`EPSG:${c.epsg}`, '-o', 'PROJ', '-q']).toString();
      expect(proj, `EPSG:${c.epsg}`).toContain(`+lon_0=${c.cm} `);
      expect(proj, `EPSG:${c.epsg}`).toContain(`+x_0=${c.prefixed ? c.zone! * 1e6 + 500000 : 500000} `);
    }
  });

  it.each([2154, 4269, 28405, 27700])('does not mistake EPSG:%i (another datum, maybe on the same ellipsoid) for a Chinese CRS', (code) => {
    // RGF93 and NAD83 are on GRS80 like CGCS2000; Pulkovo 1942 on Krassowsky like Beijing 1954.
    const r = crsFromWkt(execFileSync('projinfo', [`EPSG:${code}`, '-o', 'WKT1_ESRI', '-q']).toString());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/datum/);
  });

  it('warns that Xian 1980 and Beijing 1954 need local datum-shift parameters', async () => {
    for (const [srs, epsg] of [['EPSG:2383', 2383], ['EPSG:2435', 2435]] as const) {
      const src = await open(zipOf(`datum-${epsg}.zip`, entries('zones', shapefileOf(`datum${epsg}`, { srs }))));
      expect(src.crs.epsg).toBe(epsg);
      expect(src.crs.warnings.join(' ')).toMatch(/local transformation parameters/);
      expect(src.problems).toEqual([]); // a warning, not a refusal: Datong is where the coordinates say
    }
  });

  it('reads the zone from a prefixed easting (38 4xx xxx) when the .prj names the unprefixed zone', async () => {
    const set = shapefileOf('zone38', { srs: 'EPSG:4526' });
    const src0 = await open(zipOf('zone38.zip', entries('zones', set)));
    expect(src0.crs.epsg).toBe(4526);
    expect(src0.bbox![0]).toBeGreaterThan(38_400_000);
    // The same coordinates with the .prj of EPSG:4547 (a common export mistake).
    const prj4547 = execFileSync('projinfo', ['EPSG:4547', '-o', 'WKT1_ESRI', '-q', '--single-line']);
    const src = await open(zipOf('zone38-wrongprj.zip', entries('zones', { ...set, prj: prj4547 })));
    expect(src.problems).toEqual([]);
    expect(src.crs.epsg).toBe(4526);
    expect(src.crs.warnings.join(' ')).toMatch(/zone prefix 38.*EPSG:4526/);
  });

  it('reports a missing .prj with a hint from the coordinates, and accepts an explicit SRID instead', async () => {
    const set = shapefileOf('noprj', { srs: 'EPSG:4526' });
    const src = await open(zipOf('noprj.zip', entries('zones', set, ['prj'])));
    expect(codes(src.problems)).toEqual(['crs_missing']);
    expect(src.problems[0].hint).toMatch(/zone prefix 38.*EPSG:4526/);
    const ok = await open(zipOf('noprj2.zip', entries('zones', set, ['prj'])), { srid: 4526 });
    expect(ok.problems).toEqual([]);
    expect(ok.crs).toMatchObject({ epsg: 4526, method: 'explicit' });
  });

  it('reports an explicit SRID that contradicts the zone prefix of the coordinates', async () => {
    const set = shapefileOf('noprj3', { srs: 'EPSG:4526' });
    const src = await open(zipOf('noprj3.zip', entries('zones', set, ['prj'])), { srid: 4547 });
    expect(codes(src.problems)).toContain('crs_zone_mismatch');
  });

  it('reports coordinates that cannot be in Datong, with a hint that the CRS is probably wrong', async () => {
    // Gauss-Krüger metres in a GeoJSON without a crs member (RFC 7946: CRS84).
    const doc = JSON.parse(fs.readFileSync(ZONES, 'utf8'));
    delete doc.crs;
    const src = await open(write('nocrs.geojson', JSON.stringify(doc)));
    expect(src.crs).toMatchObject({ epsg: 4326, method: 'geojson-default' });
    const p = src.problems.find((q) => q.code === 'outside_datong')!;
    expect(p.file).toBe('nocrs.geojson');
    expect(p.hint).toMatch(/CRS is probably wrong.*Gauss-Krüger metres.*EPSG:4547/);
  });

  it('says when latitude and longitude are swapped', async () => {
    const fc = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [40.1, 113.3] } }] };
    const src = await open(write('swapped.geojson', JSON.stringify(fc)));
    expect(src.problems.find((q) => q.code === 'outside_datong')?.hint).toMatch(/swapped/);
  });

  it('accepts degrees in Datong (CGCS2000 ≈ WGS 84) and places Beijing outside', async () => {
    const pt = (lon: number, lat: number) => JSON.stringify({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [lon, lat] } });
    expect((await open(write('datong.geojson', pt(113.3, 40.08)))).problems).toEqual([]);
    expect(codes((await open(write('beijing.geojson', pt(116.4, 39.9)))).problems)).toEqual(['outside_datong']);
  });
});

describe('CRS transformation: PostGIS ST_Transform agrees with PROJ cs2cs within 1 mm', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase(testConfig(), { database: inject('demoDatabase') });
  });
  afterAll(() => db.close());

  // Test points over Datong (lon, lat in CGCS2000 degrees).
  const points = [[113.3, 40.08], [112.6, 39.05], [114.55, 40.8], [113.92, 39.44]];
  /** cs2cs on lines in each CRS's own axis order. */
  const cs2cs = (from: string, to: string, lines: number[][]) =>
    execFileSync('cs2cs', ['-f', '%.10f', from, to], { input: lines.map((l) => l.join(' ')).join('\n') + '\n' })
      .toString().trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).map(Number));

  it.each([4547, 4526, 2383, 2362, 2435, 2414, 4326])('EPSG:%i → EPSG:4490', async (epsg) => {
    const geographic = epsg === 4326;
    // Source coordinates: the test points in EPSG:epsg (cs2cs, axis order northing/lat first).
    const src = geographic ? points.map(([lon, lat]) => [lat, lon]) : cs2cs('EPSG:4490', `EPSG:${epsg}`, points.map(([lon, lat]) => [lat, lon]));
    const ref = cs2cs(`EPSG:${epsg}`, 'EPSG:4490', src); // lat, lon
    // PostGIS takes x = easting / longitude, y = northing / latitude: as the readers hand them out.
    const rows = await db.knex.raw<{ rows: { lon: number; lat: number }[] }>(
      `SELECT ST_X(g) AS lon, ST_Y(g) AS lat FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(x, y), ?::int), 4490) AS g, n
         FROM unnest(?::float8[], ?::float8[]) WITH ORDINALITY AS t(x, y, n)) s ORDER BY n`,
      [epsg, src.map((c) => c[1]), src.map((c) => c[0])],
    );
    expect(rows.rows).toHaveLength(points.length);
    rows.rows.forEach((r, i) => {
      expect(Math.abs(r.lat - ref[i][0]), `point ${i} lat`).toBeLessThan(1e-8); // 1e-8° ≈ 1.1 mm
      expect(Math.abs(r.lon - ref[i][1]), `point ${i} lon`).toBeLessThan(1e-8);
    });
    if (!geographic) {
      // And back: the projected metres agree within 1 mm.
      const back = await db.knex.raw<{ rows: { x: number; y: number }[] }>(
        'SELECT ST_X(g) AS x, ST_Y(g) AS y FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(?, ?), 4490), ?::int) AS g) s',
        [ref[0][1], ref[0][0], epsg],
      );
      expect(Math.abs(back.rows[0].x - src[0][1])).toBeLessThan(1e-3);
      expect(Math.abs(back.rows[0].y - src[0][0])).toBeLessThan(1e-3);
    }
  });
});

describe('zip safety', () => {
  it('refuses entry names that are absolute or climb out with .., reads the rest and names each', async () => {
    const set = shapefileOf('trav');
    // fflate writes any name; make same-length placeholders and patch them in the bytes (both headers).
    const p = zipOf('trav.zip', { ...entries('zones', set), 'XX/evil.shp': new Uint8Array([1]), 'Xetc/passwd.dbf': new Uint8Array([1]) });
    const bytes = fs.readFileSync(p);
    const patched = Buffer.from(bytes.toString('latin1').replaceAll('XX/evil.shp', '../evil.shp').replaceAll('Xetc/passwd.dbf', '/etc/passwd.dbf'), 'latin1');
    fs.writeFileSync(p, patched);
    const src = await open(p);
    const unsafe = src.problems.filter((q) => q.code === 'zip_unsafe_path');
    expect(unsafe.map((q) => q.file).sort()).toEqual(['../evil.shp', '/etc/passwd.dbf']);
    expect(unsafe.map((q) => q.message).join(' ')).toMatch(/absolute.*|climbs/);
    expect(src.features).toHaveLength(3); // the safe set was still read, so every problem is listed
  });

  it('refuses an archive with more entries than the limit before reading them', async () => {
    const src = await open(zipOf('many.zip', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}.txt`, new Uint8Array([i])]))), { limits: { maxEntries: 10 } });
    expect(codes(src.problems)).toEqual(['zip_too_many_entries']);
    expect(src.problems[0].message).toMatch(/20 entries; at most 10/);
  });

  it('refuses a zip bomb by its declared size before inflating it', async () => {
    const bomb = zipOf('bomb.zip', { ...entries('zones', shapefileOf('bomb')), 'zones.xml': new Uint8Array(64 * 1024 * 1024) });
    expect(fs.statSync(bomb).size).toBeLessThan(200_000); // 64 MiB of zeros deflate to ~64 KB
    const src = await open(bomb, { limits: { maxUncompressedBytes: 16 * 1024 * 1024 } });
    expect(codes(src.problems)).toEqual(['zip_too_large']);
    expect(src.features).toEqual([]);
  });

  it('stops inflating an entry whose header understates its size (checked while reading)', async () => {
    const set = shapefileOf('liar');
    const big = Buffer.concat([set.dbf, Buffer.alloc(8 * 1024 * 1024, 0x20)]); // a .dbf padded to 8 MiB
    const p = zipOf('liar.zip', { ...entries('zones', set, ['dbf']), 'zones.dbf': new Uint8Array(big) });
    // Patch the declared uncompressed size of zones.dbf (local header offset 22, central offset 24) to its real .dbf size.
    const z = fs.readFileSync(p);
    for (let i = 0; i < z.length - 46; i++) {
      const sig = z.readUInt32LE(i);
      const nameAt = sig === 0x04034b50 ? i + 30 : sig === 0x02014b50 ? i + 46 : -1;
      if (nameAt < 0) continue;
      const nameLen = z.readUInt16LE(sig === 0x04034b50 ? i + 26 : i + 28);
      if (z.subarray(nameAt, nameAt + nameLen).toString() !== 'zones.dbf') continue;
      z.writeUInt32LE(set.dbf.length, sig === 0x04034b50 ? i + 22 : i + 24);
    }
    fs.writeFileSync(p, z);
    const src = await open(p, { limits: { maxUncompressedBytes: 4 * 1024 * 1024 } });
    expect(src.problems).toEqual([expect.objectContaining({ code: 'zip_too_large', file: 'zones.dbf' })]);
    expect(src.problems[0].message).toMatch(/beyond the \d+ bytes its header declares/);
  });
});

describe('bad input: every problem, with where it is', () => {
  it('names a missing .dbf and .shx', async () => {
    const src = await open(zipOf('parts.zip', entries('zones', shapefileOf('parts'), ['dbf', 'shx'])));
    const missing = src.problems.filter((q) => q.code === 'shapefile_missing_part').map((q) => q.message).join(' | ');
    expect(missing).toMatch(/zones\.shx is missing/);
    expect(missing).toMatch(/zones\.dbf is missing/);
  });

  it('reports a truncated .shp with the feature where it broke off', async () => {
    const set = shapefileOf('trunc');
    const src = await open(zipOf('trunc.zip', entries('zones', { ...set, shp: set.shp.subarray(0, set.shp.length - 60) })));
    const p = src.problems.find((q) => q.code === 'format_truncated')!;
    expect(p.file).toBe('zones.shp');
    expect(p.feature).toBe(2);
    expect(src.features).toHaveLength(2);
  });

  it('reports several .prj in different CRSs in one zip as mixed', async () => {
    const a = shapefileOf('mixA');
    const b = shapefileOf('mixB', { srs: 'EPSG:2383' });
    const src = await open(zipOf('mixed.zip', { ...entries('a', a), ...entries('b', b) }));
    const p = src.problems.find((q) => q.code === 'crs_mixed')!;
    expect(p.message).toMatch(/a\.shp: EPSG:4547.*b\.shp: EPSG:2383/);
    expect(src.features).toHaveLength(6);
  });

  it('reports empty, truncated and non-spatial files', async () => {
    expect(codes((await open(write('empty.geojson', ''))).problems)).toEqual(['file_empty']);
    const text = fs.readFileSync(ZONES, 'utf8');
    const t = await open(write('cut.geojson', text.slice(0, text.length / 2)));
    expect(codes(t.problems)).toEqual(['format_truncated']);
    expect(codes((await open(write('plain.json', '{"name": "大同", "rows": [1, 2]}'))).problems)).toEqual(['not_spatial']);
    expect(codes((await open(zipOf('docs.zip', { 'readme.txt': new Uint8Array([65]) }))).problems)).toEqual(['not_spatial']);
    expect(codes((await open(write('junk.zip', 'PK\x03\x04 not really a zip'))).problems)).toEqual(['zip_corrupt']);
  });

  it('lists duplicate ids, a disagreeing crs member and structure errors of one GeoJSON together', async () => {
    const doc = JSON.parse(fs.readFileSync(ZONES, 'utf8'));
    doc.features[0].id = 'A';
    doc.features[1].id = 'A';
    doc.features[2].crs = { type: 'name', properties: { name: 'EPSG:2383' } };
    doc.features.push({ type: 'Feature', id: 'B', properties: {}, geometry: { type: 'Polygon', coordinates: [[[440000, 4430000], [441000, 4430000]]] } });
    const src = await open(write('many-problems.geojson', JSON.stringify(doc)));
    // (geojson-validation says two things about the broken ring: too few positions, not closed.)
    expect([...new Set(src.problems.map((q) => `${q.code} @ ${q.feature}`))]).toEqual(['crs_mixed @ 2', 'duplicate_id @ 1', 'geojson_invalid @ 3']);
    expect(src.problems[1].message).toMatch(/feature 1 has the id "A" of feature 0/);
  });

  it('checks an id attribute the caller names for duplicates (Shapefiles have no feature ids)', async () => {
    const doc = JSON.parse(fs.readFileSync(ZONES, 'utf8'));
    doc.features[2].properties['编号'] = 'YG-001';
    const set = shapefileOf('dupid', { input: write('dupid.geojson', JSON.stringify(doc)) });
    const src = await open(zipOf('dupid.zip', entries('zones', set)), { idProperty: '编号' });
    expect(src.problems).toEqual([expect.objectContaining({ code: 'duplicate_id', feature: 2, file: 'zones.shp' })]);
  });
});

describe('GeoJSON text sequences', () => {
  const features = () => (JSON.parse(fs.readFileSync(ZONES, 'utf8')).features as object[]).map((f) => JSON.stringify(f));

  it('reads RFC 8142 RS-separated records with the CRS stated by the caller', async () => {
    const src = await open(write('zones.geojsons', features().map((f) => `\x1e${f}\n`).join('')), { srid: 4547 });
    expect(src.format).toBe('geojsonseq');
    expect(src.problems).toEqual([]);
    expect(src.features.map((f) => f.properties['名称'])).toEqual(NAMES);
  });

  it('reads newline-delimited records and reports a broken one by its line', async () => {
    const lines = features();
    lines.splice(1, 0, '{"type": "Feature", "properties": {');
    const src = await open(write('zones.geojsonl', lines.join('\n') + '\n'), { srid: 4547 });
    expect(src.features).toHaveLength(3);
    expect(src.problems).toEqual([expect.objectContaining({ code: 'format_truncated', line: 2 })]);
  });
});

describe('GeoPackage', () => {
  it('reads the srs from gpkg_spatial_ref_sys and Chinese text (ogr2ogr -f GPKG)', async () => {
    const p = path.join(dir, 'zones.gpkg');
    ogr2ogr('-f', 'GPKG', p, ZONES, '-nln', '土地用途区', '-overwrite');
    const src = await open(p);
    expect(src.problems).toEqual([]);
    expect(src.crs).toMatchObject({ epsg: 4547, method: 'gpkg-srs' });
    expect(src.features.map((f) => f.properties['名称'])).toEqual(NAMES);
    expect(src.features[0]).toMatchObject({ id: 1, file: '土地用途区' });
    expect(src.features[1].geometry).toEqual(JSON.parse(fs.readFileSync(ZONES, 'utf8')).features[1].geometry);
  });

  it('reports feature tables in different CRSs as mixed', async () => {
    const p = path.join(dir, 'mixed.gpkg');
    ogr2ogr('-f', 'GPKG', p, ZONES, '-nln', 'a', '-overwrite');
    ogr2ogr('-f', 'GPKG', p, ZONES, '-nln', 'b', '-update', '-t_srs', 'EPSG:4490');
    const src = await open(p);
    expect(src.problems.find((q) => q.code === 'crs_mixed')?.message).toMatch(/a: EPSG:4547; b: EPSG:4490/);
    expect(src.features).toHaveLength(6);
  });

  it('reports a truncated GeoPackage', async () => {
    const p = path.join(dir, 'whole.gpkg');
    ogr2ogr('-f', 'GPKG', p, ZONES, '-overwrite');
    const cut = fs.readFileSync(p);
    const src = await open(write('cut.gpkg', cut.subarray(0, 2048)));
    expect(src.problems.length).toBeGreaterThan(0);
    expect(src.problems[0].file).toBe('cut.gpkg');
  });
});

describe('boundary-point CSV (界址点)', () => {
  const csv = () => fs.readFileSync(path.join(FIXTURES, 'boundary-points.csv'), 'utf8');

  it('builds polygons from GBK rows, X = northing and Y = easting, holes from higher ring numbers', async () => {
    const src = await open(write('points-gbk.csv', iconv.encode(csv(), 'gbk')), { srid: 4547 });
    expect(src.problems).toEqual([]);
    expect(src.encoding).toEqual({ name: 'gb18030', method: 'detected' });
    expect(src.features.map((f) => [f.id, f.properties['地类']])).toEqual([['DT-01', '城镇村建设用地'], ['DT-02', '基本农田']]);
    const [outer, hole] = (src.features[0].geometry as { coordinates: number[][][] }).coordinates;
    expect(outer[0]).toEqual([440000, 4430000]); // [easting, northing] = [Y, X]
    expect(outer).toHaveLength(5);
    expect(hole).toHaveLength(5); // closed although the file does not repeat its first point
    // Points are taken in their order column, not their row order.
    expect((src.features[1].geometry as { coordinates: number[][][] }).coordinates[0]).toEqual([[442000, 4432000], [442500, 4432000], [442500, 4432500], [442000, 4432500], [442000, 4432000]]);
  });

  it('needs the CRS stated, and says when X and Y are swapped', async () => {
    expect(codes((await open(write('points.csv', csv()))).problems)).toEqual(['crs_missing']);
    const swapped = csv().replace('X,Y', 'Y,X');
    const src = await open(write('points-swapped.csv', swapped), { srid: 4547 });
    expect(src.problems.find((q) => q.code === 'outside_datong')?.hint).toMatch(/X and Y look swapped/);
  });

  it('lists every bad row by its line', async () => {
    const lines = csv().trimEnd().split('\n');
    lines[3] = lines[3].replace('4431000.000', 'abc');
    lines.push('DT-02,1,4,4432600.000,442000.000,基本农田');
    const src = await open(write('points-bad.csv', lines.join('\n')), { srid: 4547 });
    expect(src.problems.map((q) => [q.code, q.line])).toEqual([['csv_bad_row', 4], ['csv_bad_row', 15]]);
    expect(src.problems[1].message).toMatch(/point 4 twice \(also on line 14\)/);
  });
});
