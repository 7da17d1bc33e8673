// A release through the standards (/releases/{n}): its OGC API – Features (Part 1 and Part 2 CRS,
// read by GDAL's OAPIF driver too), its TileJSON, tiles (every pinned layer in one tile, immutable,
// kept in release_tiles) and style; the latest alias; who may read a draft or a withdrawn release;
// and that a new revision of a working layer changes the working service but not the release, by
// a byte.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader as Pbf } from 'pbf';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../server/conflicts/rules';
import { loadRegistry } from '../server/layers/registry';
import { renderReleaseTile } from '../server/releases/mvt';
import { Releases } from '../server/releases/store';
import { tileContaining } from '../server/tiles/mvt';
import { as } from './helpers/auth';
import { expectError, getJson } from './helpers/http';
import { prepareRelease, publishRelease, releaseCall, reviseLandusePlan } from './helpers/releases';
import { useDemoCopy } from './helpers/setup';

const registry = loadRegistry();
const { knex, srv } = useDemoCopy();
/** The city: Datong's centre, where every plan has features. */
const CITY: [number, number] = [113.3, 40.08];

const gdal = async (tool: string, args: string[], timeout = 120_000) => (await promisify(execFile)(tool, args, { encoding: 'utf8', maxBuffer: 1 << 30, timeout })).stdout;

/** PROJ's cs2cs on "lat lon" lines (EPSG:4490 axis order) into the target CRS. */
function cs2cs(target: string, latLon: number[][]): number[][] {
  const out = execFileSync('cs2cs', ['-f', '%.6f', 'EPSG:4490', target], { input: latLon.map(([a, b]) => `${a} ${b}`).join('\n') + '\n' }).toString();
  return out.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).map(Number));
}

async function fetchTile(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  const raw = Buffer.from(await res.arrayBuffer()); // fetch undoes Content-Encoding: gzip
  return { res, raw, tile: new VectorTile(new Pbf(raw)) };
}

/** An items page without its timeStamp (the one part that is the answer's own moment). */
const itemsText = async (url: string, init?: RequestInit) => (await (await fetch(url, init)).text()).replace(/"timeStamp":"[^"]+",/, '');

describe('before any release is published', () => {
  it('latest names none: 404 no_current_release', async () => {
    await expectError(`${srv.baseUrl}/releases/latest/ogcapi`, 404, 'no_current_release');
    await expectError(`${srv.baseUrl}/releases/1/ogcapi`, 404, 'unknown_release');
  });
});

describe('a published release', () => {
  let release: any;
  let base: string;
  let ogc: string;
  let pins: { layer_id: string; revision: number; feature_count: number; bbox: number[] | null }[];
  beforeAll(async () => {
    release = await publishRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图（2015年版）' });
    base = `${srv.baseUrl}/releases/${release.number}`;
    ogc = `${base}/ogcapi`;
    pins = (await knex.raw('SELECT layer_id, revision, feature_count, bbox FROM release_layers WHERE release = ? ORDER BY position', [release.number])).rows;
  });

  describe('OGC API – Features', () => {
    it('the landing page links the API definition, the conformance classes and the collections, each answering', async () => {
      const { status, body } = await getJson(ogc);
      expect(status).toBe(200);
      expect(body.title).toContain(`第${release.number}版`);
      expect(body.description).toContain(release.reviewNumber);
      const rels = Object.fromEntries(body.links.map((l: any) => [l.rel, l]));
      expect(rels.self.href).toBe(ogc);
      expect(rels.conformance.href).toBe(`${ogc}/conformance`);
      expect(rels.data.href).toBe(`${ogc}/collections`);
      for (const l of body.links) expect((await fetch(l.href)).status, l.href).toBe(200);
      const doc = await (await fetch(`${ogc}/api`)).json();
      expect(doc.openapi).toMatch(/^3\.0/);
      expect(doc.paths['/releases/{release}/ogcapi/collections/{collectionId}/items']).toBeDefined();
      expect(doc.paths['/releases/{release}/tiles/{z}/{x}/{y}.mvt'].get.security).toEqual([]);
      expect((await getJson(`${ogc}/conformance`)).body.conformsTo).toEqual(
        expect.arrayContaining(['http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core', 'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs']),
      );
    });

    it('has one collection per pinned layer, at its pinned revision, with the pinned extent; another layer is 404 unknown_collection', async () => {
      const { body } = await getJson(`${ogc}/collections`);
      expect(body.collections.map((c: any) => c.id)).toEqual(pins.map((p) => p.layer_id));
      for (const c of body.collections) {
        const pin = pins.find((p) => p.layer_id === c.id)!;
        expect(c.description).toContain(`revision ${pin.revision}`);
        expect(c.extent.spatial.bbox[0]).toEqual(pin.bbox);
        expect(c.links.find((l: any) => l.rel === 'items').href).toBe(`${ogc}/collections/${c.id}/items`);
        expect(c.crs).toContain('http://www.opengis.net/def/crs/EPSG/0/4547');
      }
      expect((await getJson(`${ogc}/collections/landuse_plan`)).body.title).toBe('土地用途区');
      // The derived conflicts layer is never pinned (a release keeps the situation as figures).
      expect(pins.some((p) => p.layer_id === 'conflicts')).toBe(false);
      await expectError(`${ogc}/collections/conflicts`, 404, 'unknown_collection');
      await expectError(`${ogc}/collections/conflicts/items`, 404, 'unknown_collection');
      await expectError(`${ogc}/collections/no_such_layer/items/1`, 404, 'unknown_collection');
    });

    it('serves every pinned feature, numberMatched as the pin’s count, properties typed as the registry says', async () => {
      for (const pin of pins) {
        const { body } = await getJson(`${ogc}/collections/${pin.layer_id}/items?limit=1`);
        expect(body.numberMatched, pin.layer_id).toBe(pin.feature_count);
      }
      const pv = (await getJson(`${ogc}/collections/pv_sites/items?limit=100`)).body.features;
      expect(pv.length).toBeGreaterThan(0);
      for (const f of pv) {
        expect(typeof f.properties.capacity_mw).toBe('number');
        expect(typeof f.properties.name).toBe('string');
        if (f.properties.grid_date !== null) expect(f.properties.grid_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        if (f.properties.on_subsidence !== null) expect(typeof f.properties.on_subsidence).toBe('boolean');
        expect(f.properties.area_m2).toBeGreaterThan(0);
      }
      const econ = (await getJson(`${ogc}/collections/econ_projects/items?limit=100`)).body.features;
      expect(econ.some((f: any) => Number.isInteger(f.properties.start_year))).toBe(true);
      // The same content as the working layer it was pinned from (no revision since).
      const working = (await getJson(`${srv.baseUrl}/ogcapi/collections/districts/items?limit=20`, { headers: await as(knex, 'admin') })).body.features;
      const ours = (await getJson(`${ogc}/collections/districts/items?limit=20`)).body.features;
      const props = (fs: any[]) => fs.map((f) => JSON.stringify(f.properties)).sort();
      expect(props(ours)).toEqual(props(working));
      expect(ours.map((f: any) => f.geometry)).toEqual(expect.arrayContaining(working.map((f: any) => f.geometry)));
    });

    it('filters with CQL2 as the working service does, anonymously: what PostGIS selects from the release’s copy; its queryables', async () => {
      const wkt = 'POLYGON((113.25 40.05, 113.34 40.06, 113.33 40.12, 113.26 40.11, 113.25 40.05))';
      const pinned = `release_features WHERE release = ? AND layer_id = 'landuse_plan' AND ST_Intersects(geom, ST_GeomFromText(?, 4490))`;
      // The class most found there.
      const code: string = (await knex.raw(`SELECT code FROM ${pinned} GROUP BY code ORDER BY count(*) DESC, code LIMIT 1`, [release.number, wkt])).rows[0].code;
      const url = `${ogc}/collections/landuse_plan/items?${new URLSearchParams({ limit: '10000', filter: `S_INTERSECTS(geometry, ${wkt}) AND code = '${code}'` })}`;
      const { status, body } = await getJson(url);
      expect(status, JSON.stringify(body)).toBe(200);
      const want = (await knex.raw(`SELECT fid FROM ${pinned} AND code = ? ORDER BY fid`, [release.number, wkt, code])).rows.map((r: { fid: string }) => Number(r.fid));
      expect(want.length).toBeGreaterThan(0);
      expect(body.features.map((f: { id: number }) => f.id)).toEqual(want);
      const dated = (await getJson(`${ogc}/collections/pv_sites/items?${new URLSearchParams({ limit: '1000', filter: "grid_date >= DATE('2016-01-01') AND capacity_mw > 10", sortby: '-capacity_mw' })}`)).body;
      const wantPv = (
        await knex.raw(
          `SELECT fid FROM release_features WHERE release = ? AND layer_id = 'pv_sites' AND (attrs->>'grid_date')::date >= '2016-01-01' AND (attrs->>'capacity_mw')::float8 > 10 ORDER BY (attrs->>'capacity_mw')::float8 DESC, fid`,
          [release.number],
        )
      ).rows.map((r: { fid: string }) => Number(r.fid));
      expect(wantPv.length).toBeGreaterThan(0);
      expect(dated.features.map((f: { id: number }) => f.id)).toEqual(wantPv);
      const q = (await getJson(`${ogc}/collections/pv_sites/queryables`)).body;
      expect(q.properties.grid_date).toMatchObject({ type: 'string', format: 'date' });
      await expectError(`${ogc}/collections/pv_sites/items?filter=${encodeURIComponent('colour = 1')}`, 400, 'unknown_queryable');
    });

    it('pages with next links, filters by bbox and by typed attributes, and refuses what the working service refuses', async () => {
      const seen = new Set<number>();
      let url: string | undefined = `${ogc}/collections/econ_projects/items?limit=7`;
      while (url) {
        const { body }: any = await getJson(url);
        for (const f of body.features) seen.add(f.id);
        url = body.links.find((l: any) => l.rel === 'next')?.href;
      }
      expect(seen.size).toBe(pins.find((p) => p.layer_id === 'econ_projects')!.feature_count);
      const farmland = (await getJson(`${ogc}/collections/landuse_plan/items?code=010&limit=50`)).body;
      expect(farmland.numberMatched).toBeGreaterThan(0);
      for (const f of farmland.features) expect(f.properties.code).toBe('010');
      const named = await getJson(`${ogc}/collections/districts/items?name=${encodeURIComponent('城区')}`);
      expect(named.body.numberMatched).toBe(1);
      expect(named.body.features[0].properties.adcode).toBe('140202');
      const boxed = (await getJson(`${ogc}/collections/landuse_plan/items?limit=1&bbox=113.25,40.05,113.35,40.12`)).body.numberMatched;
      expect(boxed).toBeGreaterThan(0);
      expect(boxed).toBeLessThan(pins.find((p) => p.layer_id === 'landuse_plan')!.feature_count);
      expect((await getJson(`${ogc}/collections/pv_sites/items?grid_date=2024-02-29`)).status).toBe(200);
      await expectError(`${ogc}/collections/pv_sites/items?grid_date=2024-02-30`, 400, 'invalid_parameter');
      await expectError(`${ogc}/collections/pv_sites/items?capacity_mw=lots`, 400, 'invalid_parameter');
      await expectError(`${ogc}/collections/districts/items?grid_date=2024-02-29`, 400, 'unknown_parameter');
      await expectError(`${ogc}/collections/districts/items?crs=EPSG:3857`, 400, 'unsupported_crs');
      const quoted = await getJson(`${ogc}/collections/districts/items?name=${encodeURIComponent("城区' OR '1'='1")}`);
      expect(quoted.body.numberMatched).toBe(0);
    });

    it('returns one feature by its fid, the same as in the items, and 404 for an unknown one', async () => {
      const first = (await getJson(`${ogc}/collections/districts/items?limit=1`)).body.features[0];
      const { status, body } = await getJson(`${ogc}/collections/districts/items/${first.id}`);
      expect(status).toBe(200);
      expect({ ...body, links: undefined }).toEqual({ ...first, links: undefined });
      expect(body.links.find((l: any) => l.rel === 'self').href).toBe(`${ogc}/collections/districts/items/${first.id}`);
      await expectError(`${ogc}/collections/districts/items/999999999`, 404, 'unknown_feature');
      await expectError(`${ogc}/collections/districts/items/abc`, 404, 'unknown_feature');
    });

    it('Part 2: crs=EPSG:4547 coordinates agree with PROJ cs2cs within 1 mm; EPSG:4490 is lat, lon', async () => {
      const ring = (f: any) => f.geometry.coordinates[0][0] as number[][];
      const lonlat = (await getJson(`${ogc}/collections/districts/items?limit=3`)).body.features;
      const res = await fetch(`${ogc}/collections/districts/items?limit=3&crs=${encodeURIComponent('http://www.opengis.net/def/crs/EPSG/0/4547')}`);
      expect(res.headers.get('content-crs')).toBe('<http://www.opengis.net/def/crs/EPSG/0/4547>');
      const gk = (await res.json()).features;
      for (let i = 0; i < 3; i++) {
        const ll = ring(lonlat[i]).slice(0, 30);
        const ref = cs2cs('EPSG:4547', ll.map(([lon, lat]) => [lat, lon]));
        ring(gk[i])
          .slice(0, 30)
          .forEach(([n, e], k) => {
            expect(Math.abs(n - ref[k][0])).toBeLessThan(0.001);
            expect(Math.abs(e - ref[k][1])).toBeLessThan(0.001);
          });
      }
      const b = (await getJson(`${ogc}/collections/districts/items?limit=1&crs=EPSG:4490`)).body.features[0];
      const [lon, lat] = ring(lonlat[0])[0];
      expect(ring(b)[0]).toEqual([lat, lon]);
      // A Gauss-Krüger bbox that contains a degree box selects at least its features.
      const box = [113.25, 40.05, 113.35, 40.12];
      const corners = cs2cs('EPSG:4547', [[box[1], box[0]], [box[3], box[0]], [box[1], box[2]], [box[3], box[2]]]);
      const gkBox = [Math.min(...corners.map((c) => c[0])), Math.min(...corners.map((c) => c[1])), Math.max(...corners.map((c) => c[0])), Math.max(...corners.map((c) => c[1]))];
      const deg = (await getJson(`${ogc}/collections/landuse_plan/items?limit=2000&bbox=${box.join(',')}`)).body;
      const inGk = new Set((await getJson(`${ogc}/collections/landuse_plan/items?limit=2000&bbox-crs=EPSG:4547&bbox=${gkBox.join(',')}`)).body.features.map((f: any) => f.id));
      for (const f of deg.features) expect(inGk.has(f.id)).toBe(true);
    });

    it('GDAL’s OAPIF driver reads the release: the feature count of the pin, and every feature through the pages', async () => {
      const listing = await gdal('ogrinfo', ['-ro', '-q', `OAPIF:${ogc}`]);
      for (const p of pins) expect(listing).toContain(`${p.layer_id} (title: `);
      expect(listing).not.toContain('conflicts (title');
      const plan = pins.find((p) => p.layer_id === 'landuse_plan')!;
      const info = await gdal('ogrinfo', ['-ro', '-so', `OAPIF:${ogc}`, 'landuse_plan']);
      expect(info).toContain(`Feature Count: ${plan.feature_count}`);
      for (const id of ['landuse_plan', 'districts', 'pv_sites']) {
        const out = await gdal('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', `OAPIF:${ogc}`, id, '-oo', 'PAGE_SIZE=1000']);
        expect(JSON.parse(out).features.length, id).toBe(pins.find((p) => p.layer_id === id)!.feature_count);
      }
    });
  });

  describe('TileJSON, tiles and style', () => {
    it('TileJSON 3.0: one tile template, one vector layer per pinned layer (and one layer’s own)', async () => {
      const { body } = await getJson(`${base}/tiles.json`);
      expect(body.tilejson).toBe('3.0.0');
      expect(body.tiles).toEqual([`${base}/tiles/{z}/{x}/{y}.mvt`]);
      expect(body.vector_layers.map((l: any) => l.id)).toEqual(pins.map((p) => p.layer_id));
      expect(body.vector_layers.find((l: any) => l.id === 'landuse_plan').fields).toMatchObject({ fid: 'Number', code: 'String', zone_no: 'String', area_m2: 'Number' });
      expect(body.bounds[0]).toBeGreaterThan(112.4);
      const one = (await getJson(`${base}/tiles/landuse_plan.json`)).body;
      expect(one.vector_layers.map((l: any) => l.id)).toEqual(['landuse_plan']);
      expect(one.tiles).toEqual([`${base}/tiles/landuse_plan/{z}/{x}/{y}.mvt`]);
      await expectError(`${base}/tiles/conflicts.json`, 404, 'unknown_layer');
    });

    it('the style: the working look from the release’s registry, one source `release`, source-layer = layer id, glyphs from /fonts', async () => {
      const { body } = await getJson(`${base}/style.json`);
      expect(validateStyleMin(body)).toEqual([]);
      expect(body.sources).toEqual({ release: { type: 'vector', url: `${base}/tiles.json` } });
      expect(body.glyphs).toBe(`${srv.baseUrl}/fonts/{fontstack}/{range}.pbf`);
      expect(body.metadata['onemap:release']).toMatchObject({ number: release.number, reviewNumber: release.reviewNumber, status: 'published', department: { id: 'planning' } });
      const drawn = body.layers.filter((l: any) => l.type !== 'background');
      for (const l of drawn) {
        expect(l.source).toBe('release');
        expect(l['source-layer']).toBe(l.metadata['onemap:layer']);
      }
      expect(new Set(drawn.map((l: any) => l['source-layer']))).toEqual(new Set(pins.map((p) => p.layer_id)));
      // The same look as the working style, layer for layer, but the source.
      const working = (await getJson(`${srv.baseUrl}/style.json`, { headers: await as(knex, 'admin') })).body;
      const look = (ls: any[]) => ls.filter((l) => l.type === 'background' || pins.some((p) => p.layer_id === l.metadata['onemap:layer'])).map(({ source, ...l }) => l);
      expect(look(drawn)).toEqual(look(working.layers.filter((l: any) => l.type !== 'background')));
      const glyphs = await fetch(body.glyphs.replace('{fontstack}', encodeURIComponent('Noto Sans Regular')).replace('{range}', '0-255'));
      expect(glyphs.status).toBe(200);
    });

    it('a z10 tile over the city holds the pinned layers (all of them over the city’s z10 tiles), as the working tiles have them', async () => {
      const [cx, cy] = tileContaining(...CITY, 10);
      const centre = await fetchTile(`${base}/tiles/10/${cx}/${cy}.mvt`);
      expect(centre.res.status).toBe(200);
      expect(centre.res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
      expect(centre.res.headers.get('content-encoding')).toBe('gzip');
      for (const id of ['landuse_plan', 'urban_plan', 'landuse_status', 'central_city', 'districts']) expect(Object.keys(centre.tile.layers), id).toContain(id);
      // Each layer once (concatenated ST_AsMVT layers, one per pinned layer).
      const names = layerNames(centre.raw);
      expect(names.length).toBe(new Set(names).size);
      // Over the city's z10 tiles, every pinned layer is somewhere.
      const [w, s, e, n] = [112.9, 39.6, 113.9, 40.5];
      const [x0, y0] = tileContaining(w, n, 10);
      const [x1, y1] = tileContaining(e, s, 10);
      const present = new Set<string>();
      for (let x = x0; x <= x1; x++) {
        for (let y = y0; y <= y1; y++) {
          const t = await fetchTile(`${base}/tiles/10/${x}/${y}.mvt`);
          if (t.res.status === 200) for (const id of Object.keys(t.tile.layers)) present.add(id);
        }
      }
      expect([...present].sort()).toEqual(pins.map((p) => p.layer_id).sort());
      // A layer of the release tile has the features of the working layer's own tile (same rules).
      const admin = await as(knex, 'admin');
      for (const id of ['landuse_plan', 'landuse_status', 'districts']) {
        const working = await fetchTile(`${srv.baseUrl}/tiles/${id}/10/${cx}/${cy}.mvt`, { headers: admin });
        expect(centre.tile.layers[id].length, id).toBe(working.tile.layers[id].length);
      }
    });

    it('tiles are immutable (a year, strong ETag, 304), kept in release_tiles, and an empty one is 204', async () => {
      const [x, y] = tileContaining(...CITY, 12);
      const url = `${base}/tiles/12/${x}/${y}.mvt`;
      const first = await fetchTile(url);
      expect(first.res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const etag = first.res.headers.get('etag')!;
      expect(etag).toMatch(/^"[^"]+"$/); // strong
      expect((await fetch(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);
      const { rows } = await knex.raw('SELECT tile FROM release_tiles WHERE release = ? AND z = 12 AND x = ? AND y = ?', [release.number, x, y]);
      expect(rows).toHaveLength(1);
      expect(zlib.gunzipSync(rows[0].tile).equals(first.raw)).toBe(true);
      // The same bytes without gzip, for a client that does not take it (its own ETag).
      const plain = await fetch(url, { headers: { 'Accept-Encoding': 'identity' } });
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(Buffer.from(await plain.arrayBuffer()).equals(first.raw)).toBe(true);
      expect(plain.headers.get('etag')).not.toBe(etag);
      // Far from Datong: no feature, 204 No Content (MapLibre takes it as an empty tile), kept as empty.
      const empty = await fetch(`${base}/tiles/10/0/0.mvt`);
      expect(empty.status).toBe(204);
      expect(empty.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const kept = await knex.raw('SELECT length(tile) AS n FROM release_tiles WHERE release = ? AND z = 10 AND x = 0 AND y = 0', [release.number]);
      expect(kept.rows[0].n).toBe(0);
      await expectError(`${base}/tiles/3/8/0.mvt`, 400, 'tile_out_of_range');
    });
  });

  describe('one layer’s tiles', () => {
    it('hold that layer of the release tile, byte for byte, cached alike; a layer not in the tile is 204, one not pinned 404', async () => {
      const [x, y] = tileContaining(...CITY, 11);
      const whole = await fetchTile(`${base}/tiles/11/${x}/${y}.mvt`);
      const names = layerNames(whole.raw);
      expect(names.length).toBeGreaterThan(3);
      let bytes = 0;
      for (const id of names) {
        const one = await fetchTile(`${base}/tiles/${id}/11/${x}/${y}.mvt`);
        expect(one.res.status, id).toBe(200);
        expect(layerNames(one.raw), id).toEqual([id]);
        expect(one.tile.layers[id].length, id).toBe(whole.tile.layers[id].length);
        expect(one.res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        const etag = one.res.headers.get('etag')!;
        expect(etag).not.toBe(whole.res.headers.get('etag'));
        expect((await fetch(`${base}/tiles/${id}/11/${x}/${y}.mvt`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
        // Asked again, it comes from memory (the hot path before the contract): the same answer.
        const again = await fetchTile(`${base}/tiles/${id}/11/${x}/${y}.mvt`);
        for (const h of ['etag', 'cache-control', 'content-type', 'content-encoding', 'vary']) expect([id, h, again.res.headers.get(h)]).toEqual([id, h, one.res.headers.get(h)]);
        expect(again.raw.equals(one.raw), id).toBe(true);
        bytes += one.raw.length;
      }
      // The layers are the tile's messages, nothing added or lost: together they are the tile.
      expect(bytes).toBe(whole.raw.length);
      const missing = pins.map((p) => p.layer_id).find((id) => !names.includes(id));
      if (missing) expect((await fetch(`${base}/tiles/${missing}/11/${x}/${y}.mvt`)).status).toBe(204);
      expect((await fetch(`${base}/tiles/districts/10/0/0.mvt`)).status).toBe(204);
      await expectError(`${base}/tiles/conflicts/11/${x}/${y}.mvt`, 404, 'unknown_layer');
      await expectError(`${base}/tiles/landuse_plan/3/8/0.mvt`, 400, 'tile_out_of_range');
    });
  });

  describe('latest', () => {
    it('redirects (302) to the same path of the current release, the query kept', async () => {
      for (const rest of ['/ogcapi/collections/districts/items?limit=2&crs=EPSG:4490', '/style.json', '/tiles.json', '/ogcapi']) {
        const res = await fetch(`${srv.baseUrl}/releases/latest${rest}`, { redirect: 'manual' });
        expect(res.status, rest).toBe(302);
        expect(res.headers.get('location')).toBe(`${base}${rest}`);
      }
      const followed = await getJson(`${srv.baseUrl}/releases/latest/ogcapi/collections/districts/items?limit=2`);
      expect(followed.body.numberReturned).toBe(2);
    });
  });

  describe('a new revision of a working layer', () => {
    it('changes the working service, and not the release by a byte: items, features and tiles', async () => {
      const admin = await as(knex, 'admin');
      const [x, y] = tileContaining(...CITY, 12);
      const [x10, y10] = tileContaining(...CITY, 10);
      const plan = pins.find((p) => p.layer_id === 'landuse_plan')!;
      const items = `${ogc}/collections/landuse_plan/items?limit=10000`;
      const farmland = `${ogc}/collections/landuse_plan/items?code=010&limit=10000`;
      const firstFid = (await getJson(`${ogc}/collections/landuse_plan/items?limit=1`)).body.features[0].id;
      const stored = await new Releases(knex, registry, loadRules(registry)).read(release.number, undefined);
      const before = {
        items: await itemsText(items),
        farmland: await itemsText(farmland),
        feature: await (await fetch(`${ogc}/collections/landuse_plan/items/${firstFid}?crs=EPSG:4547`)).text(),
        tile: (await fetchTile(`${base}/tiles/12/${x}/${y}.mvt`)).raw,
        rendered: [await renderReleaseTile(knex, stored, 12, x, y), await renderReleaseTile(knex, stored, 10, x10, y10)],
        working: (await getJson(`${srv.baseUrl}/ogcapi/collections/landuse_plan/items?code=010&limit=1`, { headers: admin })).body.numberMatched,
        workingAll: (await getJson(`${srv.baseUrl}/ogcapi/collections/landuse_plan/items?limit=1`, { headers: admin })).body.numberMatched,
      };
      expect(JSON.parse(before.items).numberMatched).toBe(plan.feature_count);

      const revised = await reviseLandusePlan(knex, 3);
      expect(revised.revision).toBeGreaterThan(plan.revision);

      // The working service shows the new revision…
      const working = (await getJson(`${srv.baseUrl}/ogcapi/collections/landuse_plan/items?code=010&limit=1`, { headers: admin })).body.numberMatched;
      expect(working).toBe(before.working - 3 - (revised.removedCode === '010' ? 1 : 0));
      expect((await getJson(`${srv.baseUrl}/ogcapi/collections/landuse_plan/items?limit=1`, { headers: admin })).body.numberMatched).toBe(before.workingAll - 1);
      // …the release does not change by a byte.
      expect(await itemsText(items)).toBe(before.items);
      expect(await itemsText(farmland)).toBe(before.farmland);
      expect(await (await fetch(`${ogc}/collections/landuse_plan/items/${firstFid}?crs=EPSG:4547`)).text()).toBe(before.feature);
      expect((await fetchTile(`${base}/tiles/12/${x}/${y}.mvt`)).raw.equals(before.tile)).toBe(true);
      // Made again from the database, not from a cache: the same bytes.
      expect((await renderReleaseTile(knex, stored, 12, x, y)).equals(before.rendered[0])).toBe(true);
      expect((await renderReleaseTile(knex, stored, 10, x10, y10)).equals(before.rendered[1])).toBe(true);
      expect((await getJson(`${ogc}/collections/landuse_plan`)).body.description).toContain(`revision ${plan.revision}`);
    });
  });

  describe('who may read which release', () => {
    it('a draft is staff-only: 404 unknown_release without an account, 200 with one', async () => {
      const draft = await prepareRelease(srv.baseUrl, knex, { title: '草稿（测试）', layers: [{ layerId: 'landuse_plan' }, { layerId: 'districts' }] });
      const d = `${srv.baseUrl}/releases/${draft.number}`;
      for (const p of ['/ogcapi', '/ogcapi/collections/landuse_plan/items', '/style.json', '/tiles.json', `/tiles/10/${tileContaining(...CITY, 10).join('/')}.mvt`]) {
        await expectError(`${d}${p}`, 404, 'unknown_release');
      }
      const editor = await as(knex, 'planning.editor');
      const collections = (await getJson(`${d}/ogcapi/collections`, { headers: editor })).body.collections.map((c: any) => c.id);
      expect(collections).toEqual(['districts', 'landuse_plan'].sort((a, b) => registry.layers.findIndex((l) => l.id === a) - registry.layers.findIndex((l) => l.id === b)));
      // The draft pins the new revision.
      expect((await getJson(`${d}/ogcapi/collections/landuse_plan/items?limit=1`, { headers: editor })).body.numberMatched).toBe(pins.find((p) => p.layer_id === 'landuse_plan')!.feature_count - 1);
      const tile = await fetch(`${d}/tiles/10/${tileContaining(...CITY, 10).join('/')}.mvt`, { headers: editor });
      expect(tile.status).toBe(200);
      expect(tile.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      // latest is the published one, not the draft.
      expect((await fetch(`${srv.baseUrl}/releases/latest/ogcapi`, { redirect: 'manual', headers: editor })).headers.get('location')).toBe(`${base}/ogcapi`);
    });

    it('a withdrawn release is 410 release_withdrawn without an account, still readable by staff; latest then names none', async () => {
      const r = await releaseCall(srv.baseUrl, knex, 'planning.reviewer', 'POST', `/api/releases/${release.number}/withdraw`, { reason: '发现底图错误' });
      expect(r.status).toBe(200);
      const gone = await expectError(`${ogc}`, 410, 'release_withdrawn');
      expect(gone.details.reason).toBe('发现底图错误');
      const z10 = `10/${tileContaining(...CITY, 10).join('/')}`;
      for (const p of ['/ogcapi/collections', '/ogcapi/collections/districts/items', '/style.json', '/tiles.json', `/tiles/${z10}.mvt`, `/tiles/districts/${z10}.mvt`]) {
        await expectError(`${base}${p}`, 410, 'release_withdrawn');
      }
      const staff = await as(knex, 'ndrc.reviewer');
      expect((await getJson(`${ogc}/collections/districts/items?limit=1`, { headers: staff })).status).toBe(200);
      const tile = await fetch(`${base}/tiles/10/${tileContaining(...CITY, 10).join('/')}.mvt`, { headers: staff });
      expect([tile.status, tile.headers.get('cache-control')]).toEqual([200, 'private, max-age=31536000, immutable']);
      await expectError(`${srv.baseUrl}/releases/latest/style.json`, 404, 'no_current_release');
    });

    it('an unknown release is 404 unknown_release', async () => {
      for (const n of ['999', '0', 'abc', '99999999999']) await expectError(`${srv.baseUrl}/releases/${n}/ogcapi/collections`, 404, 'unknown_release');
      await expectError(`${srv.baseUrl}/releases/999/tiles/10/1/1.mvt`, 404, 'unknown_release');
      await expectError(`${srv.baseUrl}/releases/999/style.json`, 404, 'unknown_release');
    });
  });
});

/** The names of an MVT's layers in the order they come, duplicates kept (field 3 of the tile, the name its field 1). */
function layerNames(raw: Buffer): string[] {
  return new Pbf(raw).readFields((tag, names: string[], p) => {
    if (tag === 3) names.push(p.readMessage((t, l: { name: string }, q) => void (t === 1 && (l.name = q.readString())), { name: '' }).name);
  }, []);
}
