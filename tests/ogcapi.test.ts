import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { Express } from 'express';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../server/app';
import { loadRegistry } from '../server/layers/registry';
import { openDatabase } from '../server/platform/db';
import { testConfig } from './helpers/db';
import { staffHeaders } from './helpers/auth';
import { expectError, requestsAs } from './helpers/http';
import { useFileServer } from './helpers/setup';

const registry = loadRegistry();
const srv = useFileServer();
/** The working OGC API is staff's: every request is the run's staff account's (anonymous: 'without an account' below). */
const staff = requestsAs(staffHeaders);
let ogc: string;
beforeAll(() => {
  ogc = `${srv.baseUrl}/ogcapi`;
});

describe('OGC API – Features: landing, conformance, API definition', () => {
  it('the landing page links the API definition, the conformance classes and the collections', async () => {
    const { status, body } = await staff.getJson(ogc);
    expect(status).toBe(200);
    const rels = Object.fromEntries(body.links.map((l: any) => [l.rel, l]));
    expect(rels['service-desc'].type).toBe('application/vnd.oai.openapi+json;version=3.0');
    // …and the OpenAPI 3.1 rendering of the same document.
    const desc31 = body.links.find((l: any) => l.rel === 'service-desc' && l.type === 'application/vnd.oai.openapi+json;version=3.1');
    expect((await staff.getJson(desc31.href)).body.openapi).toMatch(/^3\.1/);
    expect(rels.conformance.href).toBe(`${ogc}/conformance`);
    expect(rels.data.href).toBe(`${ogc}/collections`);
    for (const l of body.links) expect((await staff.fetch(l.href)).status, l.href).toBe(200);
  });

  it('declares core, GeoJSON, OpenAPI 3.0 and CRS conformance', async () => {
    const { body } = await staff.getJson(`${ogc}/conformance`);
    expect(body.conformsTo).toEqual(
      expect.arrayContaining([
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
        'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
      ]),
    );
  });

  it('the OpenAPI document describes every OGC path, the tiles, the style and the viewer API', async () => {
    const res = await staff.fetch(`${ogc}/api`);
    expect(res.headers.get('content-type')).toContain('application/vnd.oai.openapi+json');
    const doc = await res.json();
    expect(doc.openapi).toMatch(/^3\.0/);
    for (const p of ['/ogcapi', '/ogcapi/conformance', '/ogcapi/collections', '/ogcapi/collections/{collectionId}', '/ogcapi/collections/{collectionId}/items', '/ogcapi/collections/{collectionId}/items/{featureId}', '/tiles/{layerId}.json', '/tiles/{layerId}/{z}/{x}/{y}.mvt', '/style.json', '/api/layers', '/api/identify', '/healthz']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(doc.paths['/ogcapi/collections/{collectionId}/items'].get.parameters[0].schema.enum).toEqual(registry.layers.map((l) => l.id));
  });

  it('describes every route the Express app has, and every write with its security scheme and 401/403', async () => {
    // The routes as the app itself registers them (walking its router stack), so a new route that
    // the document forgets fails here.
    const config = testConfig();
    const db = await openDatabase(config, { database: inject('demoDatabase') });
    const built = await createApp(config, db, registry);
    let routes: { method: string; path: string }[];
    try {
      routes = routesOf(built.app);
    } finally {
      await built.close();
      await db.close();
    }
    expect(routes.length).toBeGreaterThan(40);
    const doc = await (await staff.fetch(`${ogc}/api`)).json();
    const shape = (p: string) => p.replace(/\{[^}]+\}/g, '{}');
    const documented = new Map<string, Record<string, any>>(Object.entries(doc.paths as Record<string, Record<string, any>>).map(([p, ops]) => [shape(p), ops]));
    const missing = routes.filter((r) => !(r.method === 'static' ? [...documented.keys()].some((p) => p.startsWith(r.path)) : documented.get(r.path)?.[r.method]));
    expect(missing, 'routes of the app that the OpenAPI document does not describe').toEqual([]);
    // …and it describes nothing the app does not have (static files: under a static mount).
    const served = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const statics = routes.filter((r) => r.method === 'static').map((r) => r.path);
    const stale = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${shape(p)}`))
      .filter((op) => !served.has(op) && !(op.startsWith('get ') && statics.some((s) => op.slice(4).startsWith(s) && s !== '/')) && op !== 'get /');
    expect(stale, 'operations of the OpenAPI document that the app does not have').toEqual([]);
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Array.isArray(op.security), `${method} ${p}: security`).toBe(true);
        // Every write needs an account, but the login that gives one; a print of a published
        // release is a POST that writes nothing (a rendering of what anyone may read).
        if (method !== 'get' && p !== '/api/auth/login' && p !== '/api/releases/{number}/prints') expect(op.security.length, `${method} ${p}: a write needs an account`).toBeGreaterThan(0);
        for (const s of op.security) for (const scheme of Object.keys(s)) expect(doc.components.securitySchemes[scheme], scheme).toBeDefined();
        if (op.security.length) expect(Object.keys(op.responses), `${method} ${p}`).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
    // The working data needs an account (any staff role), as do the audit trail and account
    // management; the login, the health check, the document and the viewer's files do not.
    const account = [{ session: [] }, { bearer: [] }];
    for (const p of ['/ogcapi', '/ogcapi/conformance', '/ogcapi/api', '/ogcapi/collections', '/ogcapi/collections/{collectionId}/items', '/tiles/{layerId}.json', '/tiles/{layerId}/{z}/{x}/{y}.mvt', '/style.json',
      '/api/layers', '/api/identify', '/api/layers/{layerId}/revisions', '/api/layers/{layerId}/revisions/{revision}/diff', '/api/layers/{layerId}/export', '/api/conflicts/cases', '/api/conflicts/report', '/api/conflicts/ledger.csv',
      '/api/applications', '/api/audit', '/api/audit/verify', '/api/accounts']) expect(doc.paths[p].get.security, p).toEqual(account);
    for (const p of ['/', '/fonts/{fontstack}/{range}.pbf', '/api/openapi.json', '/healthz', '/api/auth/me']) expect(doc.paths[p].get.security, p).toEqual([]);
  });
});

/** Every route of an Express 5 app: method and path with its parameters as {} (static file mounts as 'static'). */
function routesOf(app: Express): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const join = (a: string, b: string) => (`${a}${b === '/' ? '' : b}` || '/').replace(/:([A-Za-z_]\w*)/g, '{}');
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push({ method: m, path: join(prefix, layer.route.path) });
      else if (Array.isArray(layer.handle?.stack)) walk(layer.handle.stack, join(prefix, String(layer.rawPath ?? '')));
      else if (layer.name === 'serveStatic') out.push({ method: 'static', path: join(prefix, String(layer.rawPath ?? '/')) });
    }
  };
  walk((app as any).router.stack, '');
  return out;
}

describe('OGC API – Features: collections', () => {
  it('lists one collection per registry layer, each with items link, extent and CRS list', async () => {
    const { body } = await staff.getJson(`${ogc}/collections`);
    expect(body.collections.map((c: any) => c.id).sort()).toEqual(registry.layers.map((l) => l.id).sort());
    for (const c of body.collections) {
      expect(c.links.find((l: any) => l.rel === 'items').href).toBe(`${ogc}/collections/${c.id}/items`);
      const [w, s, e, n] = c.extent.spatial.bbox[0];
      expect(w).toBeGreaterThan(112.4);
      expect(e).toBeLessThan(114.7);
      expect(s).toBeGreaterThan(38.9);
      expect(n).toBeLessThan(40.9);
      expect(c.storageCrs).toBe('http://www.opengis.net/def/crs/EPSG/0/4490');
      expect(c.crs).toContain('http://www.opengis.net/def/crs/EPSG/0/4547');
    }
  });

  it('describes one collection, and answers 404 with a code for an unknown one', async () => {
    const { body } = await staff.getJson(`${ogc}/collections/landuse_plan`);
    expect(body.id).toBe('landuse_plan');
    expect(body.title).toBe('土地用途区');
    await staff.expectError(`${ogc}/collections/no_such_layer`, 404, 'unknown_collection');
    await staff.expectError(`${ogc}/collections/no_such_layer/items`, 404, 'unknown_collection');
  });
});

describe('OGC API – Features: items', () => {
  it('pages with next/prev links until numberMatched features were returned, without repeats', async () => {
    const seen = new Set<number>();
    let url: string | undefined = `${ogc}/collections/econ_projects/items?limit=7`;
    let matched = -1;
    let pages = 0;
    while (url) {
      const { body, headers }: any = await staff.getJson(url);
      expect(headers.get('content-type')).toContain('application/geo+json');
      expect(body.type).toBe('FeatureCollection');
      expect(body.numberReturned).toBe(body.features.length);
      matched = body.numberMatched;
      for (const f of body.features) {
        expect(seen.has(f.id)).toBe(false);
        seen.add(f.id);
      }
      if (pages > 0) expect(body.links.some((l: any) => l.rel === 'prev')).toBe(true);
      url = body.links.find((l: any) => l.rel === 'next')?.href;
      pages++;
    }
    expect(matched).toBeGreaterThan(7);
    expect(seen.size).toBe(matched);
    expect(pages).toBe(Math.ceil(matched / 7));
  });

  it('uses the documented default page size of 100', async () => {
    const { body } = await staff.getJson(`${ogc}/collections/landuse_status/items`);
    expect(body.numberReturned).toBe(100);
    expect(body.numberMatched).toBeGreaterThan(100);
  });

  it('returns RFC 7946 GeoJSON with CRS84 coordinates, properties with area_m2 and the Content-Crs header', async () => {
    const res = await staff.fetch(`${ogc}/collections/districts/items?limit=20`);
    expect(res.headers.get('content-crs')).toBe('<http://www.opengis.net/def/crs/OGC/1.3/CRS84>');
    const body = await res.json();
    expect(body.features).toHaveLength(11);
    for (const f of body.features) {
      expect(f.type).toBe('Feature');
      expect(f.geometry.type).toBe('MultiPolygon');
      const [lon, lat] = f.geometry.coordinates[0][0][0];
      expect(lon).toBeGreaterThan(112.5);
      expect(lat).toBeLessThan(40.8);
      expect(f.properties.area_m2).toBeGreaterThan(1e7);
    }
    const names = body.features.map((f: any) => f.properties.name).sort();
    expect(names).toEqual(['城区', '大同县', '天镇县', '左云县', '广灵县', '新荣区', '浑源县', '灵丘县', '南郊区', '矿区', '阳高县'].sort());
  });

  it('filters by bbox: every feature returned intersects it and fewer match than without', async () => {
    const all = (await staff.getJson(`${ogc}/collections/landuse_plan/items?limit=1`)).body.numberMatched;
    const bbox = [113.25, 40.05, 113.35, 40.12];
    const { body } = await staff.getJson(`${ogc}/collections/landuse_plan/items?limit=1000&bbox=${bbox.join(',')}`);
    expect(body.numberMatched).toBeGreaterThan(0);
    expect(body.numberMatched).toBeLessThan(all);
    for (const f of body.features) {
      const pts = f.geometry.coordinates.flat(2) as number[][];
      const [minX, minY, maxX, maxY] = [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
      expect(minX <= bbox[2] && maxX >= bbox[0] && minY <= bbox[3] && maxY >= bbox[1]).toBe(true);
    }
  });

  it('filters by attribute values, parsed by type', async () => {
    const { body } = await staff.getJson(`${ogc}/collections/landuse_plan/items?code=010&limit=50`);
    expect(body.numberMatched).toBeGreaterThan(0);
    for (const f of body.features) expect(f.properties.code).toBe('010');
    const named = await staff.getJson(`${ogc}/collections/districts/items?name=${encodeURIComponent('城区')}`);
    expect(named.body.numberMatched).toBe(1);
    expect(named.body.features[0].properties.adcode).toBe('140202');
    await staff.expectError(`${ogc}/collections/pv_sites/items?capacity_mw=lots`, 400, 'invalid_parameter');
    await staff.expectError(`${ogc}/collections/pv_sites/items?on_subsidence=yes`, 400, 'invalid_parameter');
  });

  it('refuses a date that does not exist, an integer beyond the column and a filter the collection lacks, with 400 naming each', async () => {
    const day = await staff.expectError(`${ogc}/collections/pv_sites/items?grid_date=2024-02-30`, 400, 'invalid_parameter');
    expect(day.details.parameter).toBe('grid_date');
    const both = await staff.expectError(`${ogc}/collections/pv_sites/items?grid_date=2024-13-01&capacity_mw=lots`, 400, 'invalid_parameter');
    expect(both.details.problems.map((p: { path: string }) => p.path).sort()).toEqual(['capacity_mw', 'grid_date']);
    expect((await staff.getJson(`${ogc}/collections/pv_sites/items?grid_date=2024-02-29`)).status).toBe(200);
    // PostgreSQL's integer ends at 2^31 − 1: beyond it is a bad value, not the database's error.
    expect((await staff.expectError(`${ogc}/collections/econ_projects/items?start_year=99999999999`, 400, 'invalid_parameter')).details.parameter).toBe('start_year');
    expect((await staff.expectError(`${ogc}/collections/districts/items?grid_date=2024-02-29`, 400, 'unknown_parameter')).details.parameter).toBe('grid_date');
  });

  it('returns one feature by id, and 404 for an unknown or malformed id', async () => {
    const list = (await staff.getJson(`${ogc}/collections/districts/items?limit=1`)).body;
    const id = list.features[0].id;
    const { status, body } = await staff.getJson(`${ogc}/collections/districts/items/${id}`);
    expect(status).toBe(200);
    expect(body.id).toBe(id);
    expect(body.links.find((l: any) => l.rel === 'collection')).toBeDefined();
    await staff.expectError(`${ogc}/collections/districts/items/999999999`, 404, 'unknown_feature');
    await staff.expectError(`${ogc}/collections/districts/items/abc'--`, 404, 'unknown_feature');
  });

  it.each([
    ['bbox=1,2,3', 'invalid_parameter'],
    ['bbox=a,b,c,d', 'invalid_parameter'],
    ['bbox=114,40,113,41', 'invalid_parameter'],
    ['bbox=0,0,200,10', 'invalid_parameter'],
    ['bbox=1,2,3,4,5,6', 'invalid_parameter'],
    ['limit=0', 'invalid_parameter'],
    ['limit=100001', 'invalid_parameter'],
    ['limit=ten', 'invalid_parameter'],
    ['offset=-1', 'invalid_parameter'],
    ['crs=EPSG:3857', 'unsupported_crs'],
    ['bbox=113,40,114,41&bbox-crs=EPSG:9999', 'unsupported_crs'],
    ['bbox-crs=EPSG:4490', 'invalid_parameter'],
    ["name=x'%20OR%201=1--&nosuch=1", 'unknown_parameter'],
    ['f=xml', 'unsupported_format'],
    ['lang=fr', 'invalid_parameter'],
  ])('refuses %s with a 400 %s', async (query, code) => {
    await staff.expectError(`${ogc}/collections/districts/items?${query}`, 400, code);
  });

  it('treats a quote in a filter value as data, not SQL', async () => {
    const { status, body } = await staff.getJson(`${ogc}/collections/districts/items?name=${encodeURIComponent("城区' OR '1'='1")}`);
    expect(status).toBe(200);
    expect(body.numberMatched).toBe(0);
  });
});

/** Runs PROJ's cs2cs on "lat lon" lines (EPSG:4490 axis order) into the target CRS. */
function cs2cs(target: string, latLon: number[][]): number[][] {
  const out = execFileSync('cs2cs', ['-f', '%.6f', 'EPSG:4490', target], { input: latLon.map(([a, b]) => `${a} ${b}`).join('\n') + '\n' }).toString();
  return out.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).map(Number));
}

describe('OGC API – Features Part 2: CRS', () => {
  const firstRing = (f: any) => f.geometry.coordinates[0][0] as number[][];

  it.each([
    ['EPSG:4547', 'http://www.opengis.net/def/crs/EPSG/0/4547'],
    ['EPSG:4526', 'http://www.opengis.net/def/crs/EPSG/0/4526'],
  ])('Gauss-Krüger coordinates in %s agree with PROJ cs2cs within 1 mm', async (code, uri) => {
    const lonlat = (await staff.getJson(`${ogc}/collections/districts/items?limit=3`)).body.features;
    const res = await staff.fetch(`${ogc}/collections/districts/items?limit=3&crs=${encodeURIComponent(uri)}`);
    expect(res.headers.get('content-crs')).toBe(`<${uri}>`);
    const gk = (await res.json()).features;
    for (let i = 0; i < 3; i++) {
      const ll = firstRing(lonlat[i]).slice(0, 40);
      const ours = firstRing(gk[i]).slice(0, 40);
      const ref = cs2cs(code, ll.map(([lon, lat]) => [lat, lon]));
      ours.forEach(([n, e], k) => {
        expect(Math.abs(n - ref[k][0])).toBeLessThan(0.001);
        expect(Math.abs(e - ref[k][1])).toBeLessThan(0.001);
      });
    }
    if (code === 'EPSG:4526') expect(firstRing(gk[0])[0][1]).toBeGreaterThan(38_000_000);
    else expect(firstRing(gk[0])[0][1]).toBeLessThan(1_000_000);
  });

  it('EPSG:4490 is returned in its own axis order (lat, lon)', async () => {
    const a = (await staff.getJson(`${ogc}/collections/districts/items?limit=1`)).body.features[0];
    const b = (await staff.getJson(`${ogc}/collections/districts/items?limit=1&crs=EPSG:4490`)).body.features[0];
    const [lon, lat] = firstRing(a)[0];
    expect(firstRing(b)[0]).toEqual([lat, lon]);
  });

  it('bbox-crs in Gauss-Krüger metres selects the same features as the same box in degrees', async () => {
    const box = [113.25, 40.05, 113.35, 40.12];
    const deg = (await staff.getJson(`${ogc}/collections/landuse_plan/items?limit=2000&bbox=${box.join(',')}`)).body;
    // The box's corners in EPSG:4547 (northing, easting), from cs2cs; a projected box is not a lon/lat box,
    // so compare against a box that contains the degree box and expect a superset.
    const corners = cs2cs('EPSG:4547', [[box[1], box[0]], [box[3], box[0]], [box[1], box[2]], [box[3], box[2]]]);
    const gkBox = [Math.min(...corners.map((c) => c[0])), Math.min(...corners.map((c) => c[1])), Math.max(...corners.map((c) => c[0])), Math.max(...corners.map((c) => c[1]))];
    const gk = (await staff.getJson(`${ogc}/collections/landuse_plan/items?limit=2000&bbox-crs=EPSG:4547&bbox=${gkBox.join(',')}`)).body;
    const degIds = new Set(deg.features.map((f: any) => f.id));
    const gkIds = new Set(gk.features.map((f: any) => f.id));
    expect(deg.numberMatched).toBeGreaterThan(0);
    for (const id of degIds) expect(gkIds.has(id)).toBe(true);
    expect(gk.numberMatched).toBeLessThan(deg.numberMatched * 1.5 + 10);
  });
});

/**
 * GDAL runs as a child process while this process serves it: never block the event loop on it. It
 * sends the staff account's bearer token with every request (GDAL_HTTP_HEADERS, GDAL ≥ 3.6; in the
 * environment rather than --config, so that the token is not in the process list).
 */
const gdal = async (tool: string, args: string[], timeout = 120_000, headers: Record<string, string> = staffHeaders()) =>
  (await promisify(execFile)(tool, args, {
    encoding: 'utf8', maxBuffer: 1 << 30, timeout,
    env: { ...process.env, GDAL_HTTP_HEADERS: Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n') },
  })).stdout;

describe('without an account', () => {
  it.each(['', '/conformance', '/api', '/collections', '/collections/districts', '/collections/districts/items', '/collections/districts/items/1', '/collections/no_such_layer'])(
    '/ogcapi%s answers 401 unauthenticated, saying how to log in (the working layers are staff only)',
    async (path) => {
      const body = await expectError(`${ogc}${path}`, 401, 'unauthenticated');
      expect(body.message).toContain('Authorization: Bearer');
    },
  );

  it('GDAL without the token is refused', async () => {
    await expect(gdal('ogrinfo', ['-ro', '-q', `OAPIF:${ogc}`], 60_000, {})).rejects.toThrow(/401/);
  });
});

describe('GDAL OAPIF driver as a client', () => {
  it('lists every collection and reads each with the right feature count', async () => {
    const listing = await gdal('ogrinfo', ['-ro', '-q', `OAPIF:${ogc}`]);
    for (const l of registry.layers) expect(listing).toContain(`${l.id} (title: ${l.title.zh})`);
    for (const l of registry.layers) {
      const expected = (await staff.getJson(`${ogc}/collections/${l.id}/items?limit=1`)).body.numberMatched;
      if (expected > 5000) continue; // the large status layer is read below through a bbox
      // Force a full read (-al without -so counts by iterating through every page).
      const out = await gdal('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', `OAPIF:${ogc}`, l.id, '-oo', 'PAGE_SIZE=1000']);
      expect(JSON.parse(out).features.length, l.id).toBe(expected);
    }
  });

  it('downloads the large land-use status collection page by page with the right count', async () => {
    const expected = (await staff.getJson(`${ogc}/collections/landuse_status/items?limit=1`)).body.numberMatched;
    const out = await gdal('ogrinfo', ['-ro', '-al', '-so', '-oo', 'PAGE_SIZE=5000', `OAPIF:${ogc}`, 'landuse_status']);
    expect(out).toContain(`Feature Count: ${expected}`);
    const full = await gdal('ogr2ogr', ['-f', 'CSV', '/vsistdout/', `OAPIF:${ogc}`, 'landuse_status', '-oo', 'PAGE_SIZE=5000', '-select', 'code'], 300_000);
    expect(full.trim().split('\n').length - 1).toBe(expected);
  });
});

describe('OGC API – Features: the HTML face', () => {
  const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
  it('a browser’s Accept gets a page, a client’s JSON; f= decides over Accept; Vary: Accept', async () => {
    for (const path of ['', '/conformance', '/collections', '/collections/pv_sites', '/collections/pv_sites/queryables', '/collections/pv_sites/items', '/collections/pv_sites/items/1']) {
      const page = await staff.fetch(`${ogc}${path}`, { headers: { accept: browserAccept } });
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(page.headers.get('vary'), path).toMatch(/Accept/);
      const html = await page.text();
      expect(html, path).toMatch(/^<!doctype html>/);
      expect(html, path).not.toMatch(/<script/i);
      for (const accept of ['*/*', 'application/json', 'application/geo+json']) {
        const json = await staff.fetch(`${ogc}${path}`, { headers: { accept } });
        expect(json.headers.get('content-type'), `${path} ${accept}`).toMatch(/json/);
      }
      const forced = await staff.fetch(`${ogc}${path}?f=json`, { headers: { accept: browserAccept } });
      expect(forced.headers.get('content-type'), path).toMatch(/json/);
      expect((await staff.fetch(`${ogc}${path}?f=html`)).headers.get('content-type'), path).toMatch(/^text\/html/);
    }
    await staff.expectError(`${ogc}/collections?f=xml`, 400, 'unsupported_format');
  });

  it('an items page: a table of the page’s features with their class names, a map, paging links that stay HTML, the JSON alternate', async () => {
    const res = await staff.fetch(`${ogc}/collections/landuse_plan/items?f=html&limit=5&offset=5`);
    const html = await res.text();
    const json = (await staff.getJson(`${ogc}/collections/landuse_plan/items?limit=5&offset=5`)).body;
    expect(html).toContain(`共 ${json.numberMatched} 个要素，本页 5 个（自第 6 个起）`);
    for (const f of json.features) expect(html).toContain(`/ogcapi/collections/landuse_plan/items/${f.id}?f=html`);
    const classes = registry.byId.get('landuse_plan')!.classification.classes;
    expect(classes.some((c) => html.includes(c.zh))).toBe(true);
    expect(html).toMatch(/<svg viewBox="0 0 560 400"[^>]*role="img"/);
    expect((html.match(/<path d="M/g) ?? []).length).toBeGreaterThanOrEqual(5);
    const link = (rel: string) => new URL(/rel="(?:next|prev)" href="([^"]*)"/g.exec(html.slice(html.indexOf(`rel="${rel}"`)))![1].replaceAll('&amp;', '&'));
    expect(Object.fromEntries(link('next').searchParams)).toMatchObject({ offset: '10', limit: '5', f: 'html' });
    expect(Object.fromEntries(link('prev').searchParams)).toMatchObject({ offset: '0', limit: '5', f: 'html' });
    expect(html).toMatch(/<link rel="alternate" type="application\/json" href="[^"]*f=json/);
    // In English with lang=en, the switch back to Chinese.
    const en = await (await staff.fetch(`${ogc}/collections/landuse_plan/items?f=html&limit=5&lang=en`)).text();
    expect(en).toContain('<html lang="en">');
    expect(en).toContain(`${json.numberMatched} features in all, 5 on this page`);
    expect(en).toContain(classes.find((c) => en.includes(c.en))!.en);
    expect(en).toMatch(/hreflang="zh">中文</);
  });
});
