import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader as Pbf } from 'pbf';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { loadRegistry } from '../server/layers/registry';
import { openDatabase } from '../server/platform/db';
import { as, staffHeaders } from './helpers/auth';
import { expectError, requestsAs } from './helpers/http';
import { positional, runTileStatement, TILE_MAXZOOM, tileContaining, tileParams, type TileSource, tileSql, tileStatement } from '../server/tiles/mvt';
import { testConfig, useTestDatabase } from './helpers/db';
import { startTestServer } from './helpers/server';
import { useFileServer } from './helpers/setup';

const tileOf = tileContaining;

async function fetchTile(url: string, headers: Record<string, string> = staffHeaders()) {
  const res = await fetch(url, { headers });
  const raw = Buffer.from(await res.arrayBuffer()); // fetch undoes Content-Encoding: gzip
  return { res, tile: new VectorTile(new Pbf(raw)), raw };
}

const srv = useFileServer();
/** The working tiles are staff's: requests are the run's staff account's (anonymous: 'without an account' below). */
const staff = requestsAs(staffHeaders);

describe('TileJSON', () => {
  it('is TileJSON 3.0 whose tiles template points at the layer’s MVT endpoint, with the data version', async () => {
    const { body } = await staff.getJson(`${srv.baseUrl}/tiles/landuse_plan.json`);
    expect(body.tilejson).toBe('3.0.0');
    expect(body.tiles[0]).toMatch(new RegExp(`^${srv.baseUrl}/tiles/landuse_plan/\\{z\\}/\\{x\\}/\\{y\\}\\.mvt\\?v=\\d+$`));
    expect(body.vector_layers[0].id).toBe('landuse_plan');
    expect(body.vector_layers[0].fields).toMatchObject({ code: 'String', zone_no: 'String', area_m2: 'Number' });
    expect(body.bounds[0]).toBeGreaterThan(112.4);
  });

  it('answers 404 with a code for an unknown layer', async () => {
    await staff.expectError(`${srv.baseUrl}/tiles/nope.json`, 404, 'unknown_layer');
  });
});

describe('without an account', () => {
  it('the TileJSON and the tiles answer 401 unauthenticated (working data), an invalid token too', async () => {
    const [x, y] = tileOf(113.3, 40.08, 12);
    for (const path of ['/tiles/landuse_plan.json', `/tiles/landuse_plan/12/${x}/${y}.mvt`, '/tiles/nope.json', '/tiles/nope/1/0/0.mvt']) {
      await expectError(`${srv.baseUrl}${path}`, 401, 'unauthenticated');
      const wrong = await expectError(`${srv.baseUrl}${path}`, 401, 'unauthenticated', { headers: { Authorization: 'Bearer not-a-token-of-anybody-at-all' } });
      expect(wrong.details.problem).toBe('credential');
    }
  });

  it('keeps working tiles out of shared caches (Cache-Control private)', async () => {
    const [x, y] = tileOf(113.3, 40.08, 9);
    const res = await staff.fetch(`${srv.baseUrl}/tiles/districts/9/${x}/${y}.mvt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^private\b/);
  });
});

describe('vector tiles', () => {
  it('decode as MVT with the layer’s features and attributes, gzip-compressed, with the MVT content type', async () => {
    const [x, y] = tileOf(113.3, 40.08, 12);
    const tj = (await staff.getJson(`${srv.baseUrl}/tiles/urban_plan.json`)).body;
    const url = tj.tiles[0].replace('{z}', '12').replace('{x}', x).replace('{y}', y);
    const { res, tile } = await fetchTile(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const layer = tile.layers.urban_plan;
    expect(layer.length).toBeGreaterThan(10);
    const codes = new Set<string>();
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      expect(f.type).toBe(3); // polygon
      expect(typeof f.properties.block_no).toBe('string');
      expect(f.properties.area_m2).toBeGreaterThan(0);
      codes.add(String(f.properties.code));
    }
    expect([...codes].some((c) => ['R', 'A', 'B', 'M'].includes(c))).toBe(true);
  });

  it('keeps low zooms small: the z8 status tile drops sub-pixel parcels and unique attributes, and stays under 512 KB', async () => {
    const [x8, y8] = tileOf(113.3, 40.08, 8);
    const z8 = await fetchTile(`${srv.baseUrl}/tiles/landuse_status/8/${x8}/${y8}.mvt`);
    let z10Features = 0;
    let z10Bytes = 0;
    for (let dx = 0; dx < 4; dx++)
      for (let dy = 0; dy < 4; dy++) {
        const t = await fetchTile(`${srv.baseUrl}/tiles/landuse_status/10/${x8 * 4 + dx}/${y8 * 4 + dy}.mvt`);
        z10Features += t.tile.layers.landuse_status?.length ?? 0;
        z10Bytes += t.raw.length;
      }
    const layer = z8.tile.layers.landuse_status;
    expect(layer.length).toBeGreaterThan(100);
    expect(layer.length).toBeLessThan(z10Features * 0.9); // parcels under 1.5 px at z8 are left out
    expect(z8.raw.length).toBeLessThan(z10Bytes);
    expect(z8.raw.length).toBeLessThan(512 * 1024);
    expect(layer.feature(0).properties.parcel_no).toBeUndefined(); // attributes from z12 on
    const [x12, y12] = tileOf(113.3, 40.08, 12);
    const z12 = await fetchTile(`${srv.baseUrl}/tiles/landuse_status/12/${x12}/${y12}.mvt`);
    expect(typeof z12.tile.layers.landuse_status.feature(0).properties.parcel_no).toBe('string');
  });

  it('holds every feature even when PostgreSQL scans in parallel, byte for byte the same each time', async () => {
    // Force parallel plans on a session of our own, as the large data set gets them by itself.
    const db = await openDatabase(testConfig(), { database: inject('demoDatabase') });
    const client = new pg.Client(db.knex.client.config.connection as pg.ClientConfig);
    await client.connect();
    try {
      const stmt = tileStatement(loadRegistry().byId.get('landuse_status')!);
      const [x, y] = tileOf(113.3, 40.08, 11);
      const p = tileParams(11, x, y);
      const values = stmt.params.map((k) => p[k]);
      const serial = (await client.query(stmt.text, values)).rows[0].tile as Buffer;
      await client.query('SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET min_parallel_index_scan_size = 0');
      const parallel = (await client.query(stmt.text, values)).rows[0].tile as Buffer;
      const ids = (b: Buffer) => {
        const l = new VectorTile(new Pbf(b)).layers.landuse_status;
        return Array.from({ length: l.length }, (_, i) => Number(l.feature(i).id));
      };
      expect(ids(serial).length).toBeGreaterThan(100);
      expect(ids(parallel)).toEqual(ids(serial));
      expect(parallel.equals(serial)).toBe(true);
      const served = await fetchTile(`${srv.baseUrl}/tiles/landuse_status/11/${x}/${y}.mvt`);
      expect(served.raw.equals(serial)).toBe(true);
    } finally {
      await client.end();
      await db.close();
    }
  });

  it('keeps every polygon at the top zoom: a speck, and a sliver thinner than a tile unit as a small square; the zoom below leaves both out', async () => {
    const db = await openDatabase(testConfig(), { database: inject('demoDatabase') });
    try {
      const layer = loadRegistry().byId.get('landuse_plan')!;
      const code = layer.classification.classes[0].code;
      // At the city centre: a 1 m × 1 m speck (1 m²) and a 30 m × 1 cm sliver (0.3 m²), in degrees.
      const [lon, lat] = [113.30011, 40.08011];
      const m = { lat: 1 / 111_000, lon: 1 / (111_000 * Math.cos((lat * Math.PI) / 180)) };
      const box = (x0: number, y0: number, w: number, h: number) =>
        `MULTIPOLYGON(((${x0} ${y0}, ${x0 + w} ${y0}, ${x0 + w} ${y0 + h}, ${x0} ${y0 + h}, ${x0} ${y0})))`;
      const source: TileSource = {
        from: `(VALUES (1::bigint, '${code}'::text, ST_GeomFromText('${box(lon, lat, m.lon, m.lat)}', 4490), 1.0::float8),
                       (2::bigint, '${code}'::text, ST_GeomFromText('${box(lon + 5 * m.lon, lat, 30 * m.lon, 0.01 * m.lat)}', 4490), 0.3::float8)) AS t(fid, code, geom, area_m2)`,
        column: () => 'NULL::text',
      };
      const stmt = positional(tileSql(layer, source));
      const render = async (z: number) => {
        const [x, y] = tileOf(lon, lat, z);
        const raw = await runTileStatement(db.knex, stmt, tileParams(z, x, y));
        const l = raw.length ? new VectorTile(new Pbf(raw)).layers.landuse_plan : undefined;
        return new Map(Array.from({ length: l?.length ?? 0 }, (_, i) => [Number(l!.feature(i).id), l!.feature(i).loadGeometry()[0]]));
      };
      const top = await render(TILE_MAXZOOM);
      expect([...top.keys()].sort()).toEqual([1, 2]);
      // The sliver is a square around its point on surface: about a quarter pixel (2 of 4096 units) each way.
      const ring = top.get(2)!;
      const xs = ring.map((pt) => pt.x);
      const ys = ring.map((pt) => pt.y);
      expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThanOrEqual(3);
      expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThanOrEqual(3);
      expect((await render(TILE_MAXZOOM - 1)).size).toBe(0);
      expect(tileParams(TILE_MAXZOOM - 1, 0, 0).min_area_m2).toBeGreaterThan(1);
    } finally {
      await db.close();
    }
  });

  it('serves an empty tile outside the data as 200 with an empty body', async () => {
    const { res, raw } = await fetchTile(`${srv.baseUrl}/tiles/districts/10/0/0.mvt`);
    expect(res.status).toBe(200);
    expect(raw.length).toBe(0);
  });

  it('marks tiles of the current version immutable and revalidates the rest with an ETag', async () => {
    const tj = (await staff.getJson(`${srv.baseUrl}/tiles/districts.json`)).body;
    const [x, y] = tileOf(113.3, 40.08, 9);
    const current = await staff.fetch(tj.tiles[0].replace('{z}', '9').replace('{x}', x).replace('{y}', y));
    expect(current.headers.get('cache-control')).toContain('immutable');
    const bare = await staff.fetch(`${srv.baseUrl}/tiles/districts/9/${x}/${y}.mvt`);
    expect(bare.headers.get('cache-control')).toContain('max-age=0');
    const etag = bare.headers.get('etag')!;
    const again = await staff.fetch(`${srv.baseUrl}/tiles/districts/9/${x}/${y}.mvt`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
  });

  it.each([
    ['districts/23/0/0.mvt', 'tile_out_of_range'],
    ['districts/3/8/0.mvt', 'tile_out_of_range'],
    ['districts/3/0/8.mvt', 'tile_out_of_range'],
    ['districts/-1/0/0.mvt', 'tile_out_of_range'],
    ['districts/a/b/c.mvt', 'tile_out_of_range'],
  ])('refuses %s with a 400', async (path, code) => {
    await staff.expectError(`${srv.baseUrl}/tiles/${path}`, 400, code);
  });

  it('answers 404 for a tile of an unknown layer', async () => {
    await staff.expectError(`${srv.baseUrl}/tiles/nope/1/0/0.mvt`, 404, 'unknown_layer');
  });
});

describe('tiles after an edit', () => {
  it('a write to a layer bumps its version: the TileJSON, the ETag and the tile content all change at once', async () => {
    const db = await useTestDatabase();
    const own = await startTestServer(db.name);
    const headers = await as(db.knex, 'planning.reviewer');
    const mine = requestsAs(() => headers);
    try {
      const insert = (name: string, lon: number) =>
        db.knex.raw(`INSERT INTO plan.econ_projects (code, name, geom) VALUES ('energy', ?, ST_SetSRID(ST_MakePoint(?, 40.08), 4490))`, [name, lon]);
      await insert('甲', 113.3);
      await new Promise((r) => setTimeout(r, 300));
      const [x, y] = tileOf(113.3, 40.08, 10);
      const before = (await mine.getJson(`${own.baseUrl}/tiles/econ_projects.json`)).body;
      const t1 = await fetchTile(before.tiles[0].replace('{z}', '10').replace('{x}', x).replace('{y}', y), headers);
      expect(t1.tile.layers.econ_projects.length).toBe(1);

      await insert('乙', 113.301);
      // The NOTIFY reaches the server asynchronously; poll the TileJSON for the new version.
      let after = before;
      for (let i = 0; i < 50 && after.tiles[0] === before.tiles[0]; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = (await mine.getJson(`${own.baseUrl}/tiles/econ_projects.json`)).body;
      }
      expect(after.tiles[0]).not.toBe(before.tiles[0]);
      const t2 = await fetchTile(after.tiles[0].replace('{z}', '10').replace('{x}', x).replace('{y}', y), headers);
      expect(t2.tile.layers.econ_projects.length).toBe(2);
      expect(t2.res.headers.get('etag')).not.toBe(t1.res.headers.get('etag'));
      // The old ETag no longer validates, so a client revalidating gets the new tile.
      const reval = await mine.fetch(`${own.baseUrl}/tiles/econ_projects/10/${x}/${y}.mvt`, { headers: { 'If-None-Match': t1.res.headers.get('etag')! } });
      expect(reval.status).toBe(200);
    } finally {
      await own.close();
      await db.close();
    }
  });
});
