import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../server/layers/registry';
import { asStaff } from './helpers/auth';
import { expectError, getJson } from './helpers/http';
import { useFileServer } from './helpers/setup';

const srv = useFileServer();

describe('/api/layers', () => {
  it('returns the registry grouped by plan, with each layer’s revision, count and extent', async () => {
    const { body } = await getJson(`${srv.baseUrl}/api/layers`, asStaff());
    expect(body.groups.map((g: any) => g.id)).toEqual(expect.arrayContaining(['econ', 'landuse', 'urban', 'env', 'industry']));
    expect(body.layers).toHaveLength(loadRegistry().layers.length);
    for (const l of body.layers) {
      expect(l.featureCount, l.id).toBeGreaterThan(0);
      expect(l.revision, l.id).toBeGreaterThanOrEqual(1);
      expect(l.classification.classes.length).toBeGreaterThan(0);
      expect(typeof l.visible).toBe('boolean');
    }
  });
});

describe('/api/identify', () => {
  it('finds the district, the plan zones and the urban block at a point in the central city, with areas in 公顷 and 亩', async () => {
    const { status, body } = await getJson(`${srv.baseUrl}/api/identify?lon=113.30&lat=40.08&zoom=13&layers=districts,landuse_plan,urban_plan`, asStaff());
    expect(status).toBe(200);
    const byLayer: Record<string, any[]> = {};
    for (const f of body.features) (byLayer[f.layer] ??= []).push(f);
    expect(byLayer.districts?.[0].properties.name).toBe('城区');
    expect(byLayer.landuse_plan?.length).toBe(1); // the zones tile the land: exactly one at a point
    for (const f of body.features) {
      expect(f.area_m2).toBeGreaterThan(0);
      expect(f.area_ha).toBeCloseTo(f.area_m2 / 10_000, 3);
      expect(f.area_mu).toBeCloseTo((f.area_m2 * 15) / 10_000, 1);
      expect(f.class.zh.length).toBeGreaterThan(0);
    }
  });

  it('answers in the order of the layers parameter and finds nothing outside Datong', async () => {
    const { body } = await getJson(`${srv.baseUrl}/api/identify?lon=100&lat=30&layers=districts`, asStaff());
    expect(body.features).toEqual([]);
  });

  it.each([
    ['lat=40', 400, 'missing_parameter'],
    ['lon=200&lat=40', 400, 'invalid_parameter'],
    ['lon=113&lat=40&zoom=99', 400, 'invalid_parameter'],
    ['lon=113&lat=40&layers=districts,nope', 400, 'unknown_layer'],
  ])('refuses %s', async (q, status, code) => {
    await expectError(`${srv.baseUrl}/api/identify?${q}`, status, code, asStaff());
  });
});

describe('without an account', () => {
  it.each(['/api/layers', '/api/identify?lon=113.30&lat=40.08&layers=districts'])('%s answers 401 unauthenticated (working data)', async (path) => {
    await expectError(`${srv.baseUrl}${path}`, 401, 'unauthenticated');
  });
});

describe('operations', () => {
  it('/healthz reports the database reachable and the PostGIS version', async () => {
    const { status, body } = await getJson(`${srv.baseUrl}/healthz`);
    expect(status).toBe(200);
    expect(body.database).toBe('reachable');
    expect(body.postgis).toMatch(/^3\./);
  });

  it('an unknown API path is a JSON 404', async () => {
    await expectError(`${srv.baseUrl}/api/nothing-here`, 404, 'not_found');
  });
});
