// CQL2 filters (OGC API – Features Part 3), queryables, sortby and properties, on the run's shared
// demo database (read only): the parser against the examples of the CQL2 standard (OGC 21-065r2),
// every answer against PostGIS's own query of the same thing, the bad filters' 400s.
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../server/layers/registry';
import { parseCql2Text } from '../server/ogcapi/filter';
import { staffHeaders } from './helpers/auth';
import { requestsAs } from './helpers/http';
import { useFileServer, useSharedDemoDatabase } from './helpers/setup';

const registry = loadRegistry();
const srv = useFileServer();
const staff = requestsAs(staffHeaders);
const { knex } = useSharedDemoDatabase();

const items = (layer: string, params: Record<string, string>) => `${srv.baseUrl}/ogcapi/collections/${layer}/items?${new URLSearchParams({ limit: '10000', ...params })}`;
/** The fids an items request answers (every page's, in order). */
async function fidsOf(layer: string, params: Record<string, string>): Promise<number[]> {
  const { status, body } = await staff.getJson(items(layer, params));
  expect(status, JSON.stringify(body)).toBe(200);
  expect(body.numberMatched).toBe(body.numberReturned);
  return body.features.map((f: { id: number }) => f.id);
}
/** The fids PostGIS's own query selects, in fid order. */
const fidsWhere = async (layer: string, where: string, bindings: unknown[] = []) =>
  (await knex.raw(`SELECT fid FROM plan.${layer} WHERE ${where} ORDER BY fid`, bindings as never)).rows.map((r: { fid: string | number }) => Number(r.fid));

describe('CQL2 text as the standard writes it', () => {
  // The examples of OGC 21-065r2 (Annex B) in the part the service answers, with their CQL2 JSON.
  const examples: [string, unknown][] = [
    ["landsat:scene_id = 'LC82030282019133LGN00'", { op: '=', args: [{ property: 'landsat:scene_id' }, 'LC82030282019133LGN00'] }],
    ["eo:instrument LIKE 'OLI%'", { op: 'like', args: [{ property: 'eo:instrument' }, 'OLI%'] }],
    ["landsat:wrs_path IN ('153','154','15X')", { op: 'in', args: [{ property: 'landsat:wrs_path' }, ['153', '154', '15X']] }],
    [
      'eo:cloud_cover < 0.1 AND landsat:wrs_row=28 AND landsat:wrs_path=203',
      { op: 'and', args: [{ op: '<', args: [{ property: 'eo:cloud_cover' }, 0.1] }, { op: '=', args: [{ property: 'landsat:wrs_row' }, 28] }, { op: '=', args: [{ property: 'landsat:wrs_path' }, 203] }] },
    ],
    [
      'eo:cloud_cover BETWEEN 0.1 AND 0.2 AND landsat:wrs_row=28 AND landsat:wrs_path=203',
      { op: 'and', args: [{ op: 'between', args: [{ property: 'eo:cloud_cover' }, 0.1, 0.2] }, { op: '=', args: [{ property: 'landsat:wrs_row' }, 28] }, { op: '=', args: [{ property: 'landsat:wrs_path' }, 203] }] },
    ],
    ['S_INTERSECTS(geometry,POINT(36.319836 32.288087))', { op: 's_intersects', args: [{ property: 'geometry' }, { type: 'Point', coordinates: [36.319836, 32.288087] }] }],
    [
      'S_INTERSECTS(geometry,POLYGON((43.5845 -79.5442,43.6079 -79.4893,43.5677 -79.4632,43.5845 -79.5442)))',
      { op: 's_intersects', args: [{ property: 'geometry' }, { type: 'Polygon', coordinates: [[[43.5845, -79.5442], [43.6079, -79.4893], [43.5677, -79.4632], [43.5845, -79.5442]]] }] },
    ],
    [
      'S_CROSSES(road,LINESTRING(43.72992 -79.2998, 43.73005 -79.2991, 43.73006 -79.2984))',
      { op: 's_crosses', args: [{ property: 'road' }, { type: 'LineString', coordinates: [[43.72992, -79.2998], [43.73005, -79.2991], [43.73006, -79.2984]] }] }],
    ['S_WITHIN(location,BBOX(-118,33.8,-117.9,34))', { op: 's_within', args: [{ property: 'location' }, { bbox: [-118, 33.8, -117.9, 34] }] }],
    ["owner NOT LIKE '%Mike%'", { op: 'not', args: [{ op: 'like', args: [{ property: 'owner' }, '%Mike%'] }] }],
    [
      "swimming_pool = true AND (floors > 5 OR material LIKE 'brick%' OR material LIKE '%brick')",
      {
        op: 'and',
        args: [
          { op: '=', args: [{ property: 'swimming_pool' }, true] },
          { op: 'or', args: [{ op: '>', args: [{ property: 'floors' }, 5] }, { op: 'like', args: [{ property: 'material' }, 'brick%'] }, { op: 'like', args: [{ property: 'material' }, '%brick'] }] },
        ],
      },
    ],
    ['NOT (floors > 5)', { op: 'not', args: [{ op: '>', args: [{ property: 'floors' }, 5] }] }],
    ['"value" IS NULL', { op: 'isNull', args: [{ property: 'value' }] }],
    ['value IS NOT NULL', { op: 'not', args: [{ op: 'isNull', args: [{ property: 'value' }] }] }],
    ["name NOT IN ('a','b')", { op: 'not', args: [{ op: 'in', args: [{ property: 'name' }, ['a', 'b']] }] }],
    ['depth BETWEEN 100.0 and 150.0', { op: 'between', args: [{ property: 'depth' }, 100, 150] }],
    ["updated >= DATE('1970-01-01')", { op: '>=', args: [{ property: 'updated' }, { date: '1970-01-01' }] }],
    ["built > TIMESTAMP('2012-06-05T00:00:00Z')", { op: '>', args: [{ property: 'built' }, { timestamp: '2012-06-05T00:00:00Z' }] }],
    ["CASEI(road_class) IN (CASEI('Οδος'),CASEI('Straße'))", { op: 'in', args: [{ op: 'casei', args: [{ property: 'road_class' }] }, [{ op: 'casei', args: ['Οδος'] }, { op: 'casei', args: ['Straße'] }]] }],
    ["name LIKE '大同%' AND area_m2 BETWEEN 10 AND 20", { op: 'and', args: [{ op: 'like', args: [{ property: 'name' }, '大同%'] }, { op: 'between', args: [{ property: 'area_m2' }, 10, 20] }] }],
    [
      'S_INTERSECTS(geometry, MULTIPOLYGON(((1 1, 2 1, 2 2, 1 1)), ((3 3, 4 3, 4 4, 3 3), (3.2 3.1, 3.8 3.1, 3.8 3.7, 3.2 3.1))))',
      {
        op: 's_intersects',
        args: [{ property: 'geometry' }, { type: 'MultiPolygon', coordinates: [[[[1, 1], [2, 1], [2, 2], [1, 1]]], [[[3, 3], [4, 3], [4, 4], [3, 3]], [[3.2, 3.1], [3.8, 3.1], [3.8, 3.7], [3.2, 3.1]]]] }],
      },
    ],
    ["name = 'it''s'", { op: '=', args: [{ property: 'name' }, "it's"] }],
  ];
  it.each(examples)('%s', (text, json) => {
    expect(parseCql2Text(text)).toEqual(json);
  });
});

describe('filter on a working collection: what PostGIS selects', () => {
  // A quadrilateral over the central city (lon lat), and the same in Gauss-Krüger zone 38 (northing, easting) by PostGIS.
  const ring = [[113.25, 40.05], [113.34, 40.06], [113.33, 40.12], [113.26, 40.11], [113.25, 40.05]];
  const wkt = `POLYGON((${ring.map((p) => p.join(' ')).join(', ')}))`;

  it('S_INTERSECTS with a WKT polygon and an IN list: the fids ST_Intersects selects', async () => {
    // Three of the classes found there (the demo's), in the list.
    const codes: string[] = (
      await knex.raw(`SELECT code FROM plan.landuse_status WHERE ST_Intersects(geom, ST_GeomFromText(?, 4490)) GROUP BY code ORDER BY count(*) DESC, code LIMIT 3`, [wkt])
    ).rows.map((r: { code: string }) => r.code);
    expect(codes.length).toBe(3);
    const list = codes.map((c) => `'${c}'`).join(', ');
    const got = await fidsOf('landuse_status', { filter: `S_INTERSECTS(geometry, ${wkt}) AND code IN (${list})` });
    const want = await fidsWhere('landuse_status', `ST_Intersects(geom, ST_GeomFromText(?, 4490)) AND code = ANY(?)`, [wkt, codes]);
    expect(want.length).toBeGreaterThan(5);
    expect(got).toEqual(want);
  });

  it('S_WITHIN, S_CONTAINS and S_DISJOINT, in cql2-json with a GeoJSON polygon: ST_Within, ST_Contains, ST_Disjoint', async () => {
    const polygon = { type: 'Polygon', coordinates: [ring] };
    for (const [fn, st] of [['s_within', 'ST_Within'], ['s_contains', 'ST_Contains'], ['s_disjoint', 'ST_Disjoint']]) {
      const filter = JSON.stringify({ op: fn, args: [{ property: 'geometry' }, polygon] });
      const got = await fidsOf('urban_plan', { filter, 'filter-lang': 'cql2-json' });
      const want = await fidsWhere('urban_plan', `${st}(geom, ST_GeomFromText(?, 4490))`, [wkt]);
      expect(got, fn).toEqual(want);
      if (fn !== 's_contains') expect(want.length, fn).toBeGreaterThan(0);
    }
  });

  it('a geometry in filter-crs EPSG:4526 (northing, easting) selects what PostGIS selects with the polygon transformed', async () => {
    const { rows } = await knex.raw(`SELECT ST_AsText(ST_FlipCoordinates(ST_Transform(ST_GeomFromText(?, 4490), 4526))) AS t`, [wkt]);
    const projected: string = rows[0].t;
    const got = await fidsOf('eco_redline', { filter: `S_INTERSECTS(geometry, ${projected})`, 'filter-crs': 'http://www.opengis.net/def/crs/EPSG/0/4526' });
    const want = await fidsWhere('eco_redline', `ST_Intersects(geom, ST_Transform(ST_FlipCoordinates(ST_GeomFromText(?, 4526)), 4490))`, [projected]);
    expect(got).toEqual(want);
    // The same polygon in CRS84 selects the same features here (its edges are nearly the same lines).
    expect(await fidsOf('eco_redline', { filter: `S_INTERSECTS(geometry, ${wkt})` })).toEqual(await fidsWhere('eco_redline', `ST_Intersects(geom, ST_GeomFromText(?, 4490))`, [wkt]));
  });

  it('comparisons, LIKE on Chinese names, BETWEEN, dates, IS NULL, NOT and OR on the PV sites', async () => {
    const cases: [string, string][] = [
      ["name LIKE '%光伏%' AND capacity_mw >= 50", "name LIKE '%光伏%' AND capacity_mw >= 50"],
      ['capacity_mw BETWEEN 20 AND 100 OR on_subsidence = false', 'capacity_mw BETWEEN 20 AND 100 OR on_subsidence = false'],
      ["grid_date >= DATE('2016-01-01') AND NOT (grid_status = 'planned')", "grid_date >= '2016-01-01' AND NOT (grid_status = 'planned')"],
      ["grid_date < '2016-06-30'", "grid_date < '2016-06-30'"],
      ['grid_date IS NULL', 'grid_date IS NULL'],
      ["CASEI(grid_status) = casei('CONNECTED')", "lower(grid_status) = 'connected'"],
      ['area_m2 > 1000000', 'area_m2 > 1000000'],
    ];
    let some = 0;
    for (const [filter, sql] of cases) {
      const want = await fidsWhere('pv_sites', sql);
      some += want.length ? 1 : 0;
      expect(await fidsOf('pv_sites', { filter }), filter).toEqual(want);
    }
    expect(some).toBeGreaterThanOrEqual(5);
  });

  it('combines with bbox and the exact-match parameters; a value that would be SQL is a value', async () => {
    const got = await fidsOf('landuse_status', { filter: "code LIKE '01%'", bbox: '113.25,40.05,113.34,40.12' });
    const want = await fidsWhere('landuse_status', "code LIKE '01%' AND geom && ST_MakeEnvelope(113.25, 40.05, 113.34, 40.12, 4490) AND ST_Intersects(geom, ST_MakeEnvelope(113.25, 40.05, 113.34, 40.12, 4490))");
    expect(got).toEqual(want);
    expect(await fidsOf('pv_sites', { filter: "name = 'x''; DROP TABLE plan.pv_sites; --'" })).toEqual([]);
    expect((await fidsWhere('pv_sites', 'true')).length).toBeGreaterThan(0);
  });
});

describe('sortby and properties', () => {
  it('sorts by queryables (descending with -), then by fid; carries only the properties asked for', async () => {
    const { body } = await staff.getJson(items('pv_sites', { sortby: '-capacity_mw,name', properties: 'name,capacity_mw' }));
    const want = (await knex.raw('SELECT fid FROM plan.pv_sites ORDER BY capacity_mw DESC, name, fid')).rows.map((r: { fid: string }) => Number(r.fid));
    expect(body.features.map((f: { id: number }) => f.id)).toEqual(want);
    for (const f of body.features) expect(Object.keys(f.properties).sort()).toEqual(['capacity_mw', 'name']);
    expect(body.features[0].geometry.type).toBe('MultiPolygon');
  });
});

describe('datetime on a collection’s temporal attribute', () => {
  it('an instant, a closed interval and open ones select what PostGIS selects on the date; a date-time counts by its UTC date', async () => {
    const cases: [string, string][] = [
      ['2016-06-30', "grid_date = '2016-06-30'"],
      ['2016-06-30T23:30:00+08:00', "grid_date = '2016-06-30'"],
      ['2015-12-01/2016-06-29', "grid_date BETWEEN '2015-12-01' AND '2016-06-29'"],
      ['../2015-12-31', "grid_date <= '2015-12-31'"],
      ['2016-01-01/..', "grid_date >= '2016-01-01'"],
      ['/2016-06-28', "grid_date <= '2016-06-28'"],
      ['../..', 'grid_date IS NOT NULL'],
    ];
    let some = 0;
    for (const [datetime, sql] of cases) {
      const want = await fidsWhere('pv_sites', sql);
      some += want.length ? 1 : 0;
      expect(await fidsOf('pv_sites', { datetime }), datetime).toEqual(want);
    }
    expect(some).toBeGreaterThanOrEqual(5);
    const { body } = await staff.getJson(`${srv.baseUrl}/ogcapi/collections/pv_sites/queryables`);
    expect(body.properties.grid_date['x-ogc-role']).toBe('primary-instant');
  });

  it('refuses datetime on a collection without a temporal attribute, a date that does not exist, an interval that ends first', async () => {
    for (const [layer, datetime] of [['districts', '2016-01-01'], ['pv_sites', '2016-02-30'], ['pv_sites', '2016-07-01/2016-06-01'], ['pv_sites', 'yesterday'], ['pv_sites', '2016-01-01T25:00:00Z'], ['pv_sites', 'a/b/c']]) {
      const e = await staff.expectError(items(layer, { datetime }), 400, 'invalid_parameter');
      expect(e.details.parameter, datetime).toBe('datetime');
    }
  });
});

describe('queryables and conformance', () => {
  it('a collection links its queryables: a JSON Schema of its class codes, attributes by type, area and geometry', async () => {
    const { body: collection } = await staff.getJson(`${srv.baseUrl}/ogcapi/collections/pv_sites`);
    const link = collection.links.find((l: { rel: string }) => l.rel === 'http://www.opengis.net/def/rel/ogc/1.0/queryables');
    const res = await staff.fetch(link.href);
    expect(res.headers.get('content-type')).toContain('application/schema+json');
    const q = await res.json();
    const layer = registry.byId.get('pv_sites')!;
    expect(q.type).toBe('object');
    expect(q.additionalProperties).toBe(false);
    expect(q.properties.code.enum).toEqual(layer.classification.classes.map((c) => c.code));
    expect(q.properties.capacity_mw.type).toBe('number');
    expect(q.properties.grid_date).toMatchObject({ type: 'string', format: 'date' });
    expect(q.properties.on_subsidence.type).toBe('boolean');
    expect(q.properties.geometry).toMatchObject({ format: 'geometry-multipolygon', 'x-ogc-role': 'primary-geometry' });
    expect(Object.keys(q.properties).sort()).toEqual(['area_m2', 'code', 'geometry', ...layer.attributes.map((a) => a.name)].sort());
  });

  it('declares the filter, queryables and CQL2 conformance classes', async () => {
    const { body } = await staff.getJson(`${srv.baseUrl}/ogcapi/conformance`);
    expect(body.conformsTo).toEqual(
      expect.arrayContaining([
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter',
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables',
        'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
        'http://www.opengis.net/spec/cql2/1.0/conf/cql2-json',
        'http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2',
        'http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions',
      ]),
    );
  });
});

describe('bad filters: a 400 that names the problem', () => {
  const bad = async (layer: string, params: Record<string, string>, code: string) => {
    const body = await staff.expectError(items(layer, params), 400, code);
    return body as { message: string; details: Record<string, unknown> };
  };

  it('a filter that does not parse: invalid_filter with the position', async () => {
    let e = await bad('pv_sites', { filter: "name = 'a' AND" }, 'invalid_filter');
    expect(e.details).toMatchObject({ parameter: 'filter', position: 15 });
    e = await bad('pv_sites', { filter: 'capacity_mw >> 3' }, 'invalid_filter');
    expect(e.details.position).toBe(14);
    e = await bad('pv_sites', { filter: "S_INTERSECTS(geometry, POLYGON((113 40, 114 40)) " }, 'invalid_filter');
    expect(e.message).toContain('character');
    await bad('pv_sites', { filter: '{"op": "=", "args": [' , 'filter-lang': 'cql2-json' }, 'invalid_filter');
    e = await bad('pv_sites', { filter: '{"op": "near", "args": [1, 2]}', 'filter-lang': 'cql2-json' }, 'invalid_filter');
    expect(e.message).toContain("'near'");
  });

  it('an unknown property: unknown_queryable naming it; a value of another type: invalid_filter naming the property', async () => {
    let e = await bad('pv_sites', { filter: "colour = 'red'" }, 'unknown_queryable');
    expect(e.details.property).toBe('colour');
    expect(e.message).toContain('capacity_mw');
    e = await bad('pv_sites', { filter: "capacity_mw = 'fifty'" }, 'invalid_filter');
    expect(e.details.property).toBe('capacity_mw');
    e = await bad('pv_sites', { filter: "grid_date = '2024-02-30'" }, 'invalid_filter');
    expect(e.details.property).toBe('grid_date');
    await bad('pv_sites', { filter: "grid_date > DATE('2024-13-01')" }, 'invalid_filter');
    await bad('pv_sites', { filter: 'S_INTERSECTS(name, POINT(113 40))' }, 'invalid_filter');
    await bad('pv_sites', { filter: "capacity_mw LIKE '5%'" }, 'invalid_filter');
    await bad('pv_sites', { filter: 'S_INTERSECTS(geometry, POINT(200 40))' }, 'invalid_filter');
    // Rings that do not close, or are too short; a line of one position.
    for (const g of ['POLYGON((113 40, 114 40, 114 41))', 'POLYGON((113 40, 114 40, 113 40))', 'LINESTRING(113 40)']) {
      expect((await bad('pv_sites', { filter: `S_INTERSECTS(geometry, ${g})` }, 'invalid_filter')).message, g).toMatch(/ring|line/);
    }
  });

  it('filter-lang and filter-crs that are not supported, or given without a filter; sortby and properties naming what is not there', async () => {
    await bad('pv_sites', { filter: 'capacity_mw > 1', 'filter-lang': 'ecql' }, 'invalid_parameter');
    await bad('pv_sites', { filter: 'capacity_mw > 1', 'filter-crs': 'EPSG:3857' }, 'unsupported_crs');
    await bad('pv_sites', { 'filter-lang': 'cql2-text' }, 'invalid_parameter');
    expect((await bad('pv_sites', { sortby: '-height' }, 'unknown_queryable')).details.property).toBe('height');
    await bad('pv_sites', { sortby: 'geometry' }, 'unknown_queryable');
    expect((await bad('pv_sites', { properties: 'name,height' }, 'unknown_queryable')).details.property).toBe('height');
  });
});
