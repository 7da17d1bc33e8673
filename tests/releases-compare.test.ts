// Comparing releases (对比分析) against real PostGIS: two releases with a new land-use plan revision
// between them (three basic-farmland zones became construction land, one zone removed); the
// comparison names exactly those changes with their areas in 公顷, per class and in the key totals,
// says nothing changed elsewhere, lists the conflict cases gained and lost as the recorded sets
// differ, and serves the changed features for the viewer's change layer.
import { beforeAll, describe, expect, it } from 'vitest';
import { publishRelease, releaseCall, reviseLandusePlan } from './helpers/releases';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();
const call = (who: string | null, path: string) => releaseCall(srv.baseUrl, knex, who, 'GET', path);

let first: { number: number };
let second: { number: number };
let revised: Awaited<ReturnType<typeof reviseLandusePlan>>;

beforeAll(async () => {
  first = await publishRelease(srv.baseUrl, knex, { title: '第一版' });
  revised = await reviseLandusePlan(knex, 3);
  second = await publishRelease(srv.baseUrl, knex, { title: '第二版' });
}, 120_000);

describe('release against release', () => {
  it('the land-use plan: three zones changed (farmland → construction land), one removed, areas in 公顷', async () => {
    const r = await call(null, `/api/releases/${first.number}/compare?with=${second.number}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.from).toEqual({ release: first.number, title: '第一版' });
    expect(r.body.to).toEqual({ release: second.number, title: '第二版' });
    const lu = r.body.layers.find((l: { layerId: string }) => l.layerId === 'landuse_plan');
    expect(lu.toRevision).toBe(revised.revision);
    expect(lu.changed.count).toBe(3);
    expect(lu.removed.count).toBe(1);
    expect(lu.added.count).toBe(0);
    expect(lu.changed.area_before_ha).toBeCloseTo(revised.changedArea_m2 / 10_000, 3);
    expect(lu.changed.area_after_ha).toBeCloseTo(revised.changedArea_m2 / 10_000, 3);
    expect(lu.removed.area_ha).toBeCloseTo(revised.removedArea_m2 / 10_000, 3);
    // Per class: 010 lost the three zones (and the removed one if it was 010), 030 gained them.
    const cls = (code: string) => lu.byClass.find((c: { code: string }) => c.code === code);
    const removedFrom = (code: string) => (revised.removedCode === code ? revised.removedArea_m2 : 0);
    expect(cls('010').change_ha).toBeCloseTo((-revised.changedArea_m2 - removedFrom('010')) / 10_000, 3);
    expect(cls('030').change_ha).toBeCloseTo((revised.changedArea_m2 - removedFrom('030')) / 10_000, 3);
    expect(cls('010').zh).toBe('基本农田保护区');
    // The per-class areas on each side agree with the releases' own stored features.
    for (const [n, side] of [[first.number, 'from_ha'], [second.number, 'to_ha']] as const) {
      const { rows } = await knex.raw(`SELECT code, sum(area_m2) / 10000 AS ha FROM release_features WHERE release = ? AND layer_id = 'landuse_plan' GROUP BY code`, [n]);
      for (const row of rows) expect(cls(row.code)[side], `${row.code} ${side}`).toBeCloseTo(row.ha, 3);
    }
    // Every other layer: nothing changed.
    for (const l of r.body.layers.filter((x: { layerId: string }) => x.layerId !== 'landuse_plan')) {
      expect([l.layerId, l.added.count, l.removed.count, l.changed.count]).toEqual([l.layerId, 0, 0, 0]);
      expect(l.byClass.every((c: { change_ha: number }) => c.change_ha === 0)).toBe(true);
    }
  });

  it('the key totals: basic farmland down and construction land up by the same 公顷', async () => {
    const r = (await call(null, `/api/releases/${first.number}/compare?with=${second.number}`)).body;
    const total = (id: string) => r.totals.find((t: { id: string }) => t.id === id);
    const removedFarmland = revised.removedCode === '010' ? revised.removedArea_m2 : 0;
    expect(total('basic_farmland').change_ha).toBeCloseTo((-revised.changedArea_m2 - removedFarmland) / 10_000, 3);
    const removedBuilt = ['030', '040'].includes(revised.removedCode) ? revised.removedArea_m2 : 0;
    expect(total('construction_land_plan').change_ha).toBeCloseTo((revised.changedArea_m2 - removedBuilt) / 10_000, 3);
    expect(total('eco_redline').change_ha).toBe(0);
    expect(total('industrial_parks').change_ha).toBe(0);
    expect(total('eco_redline').from_ha).toBeGreaterThan(0);
    expect(total('basic_farmland').from_ha - total('basic_farmland').to_ha).toBeGreaterThan(0);
  });

  it('the open conflict cases gained and lost are exactly the difference of the recorded sets', async () => {
    const r = (await call(null, `/api/releases/${first.number}/compare?with=${second.number}`)).body;
    const ids = async (n: number) => new Set((await knex.raw('SELECT case_id::text FROM release_conflicts WHERE release = ?', [n])).rows.map((x: { case_id: string }) => x.case_id));
    const [a, b] = [await ids(first.number), await ids(second.number)];
    expect(r.conflicts.gained.map((c: { caseId: string }) => c.caseId).sort()).toEqual([...b].filter((x) => !a.has(x)).sort());
    expect(r.conflicts.lost.map((c: { caseId: string }) => c.caseId).sort()).toEqual([...a].filter((x) => !b.has(x)).sort());
    expect(r.conflicts.gainedCount).toBe(r.conflicts.gained.length);
    // The reverse direction swaps them.
    const back = (await call(null, `/api/releases/${second.number}/compare?with=${first.number}`)).body;
    expect(back.conflicts.gainedCount).toBe(r.conflicts.lostCount);
    expect(back.layers.find((l: { layerId: string }) => l.layerId === 'landuse_plan').added.count).toBe(1);
  });

  it('the change layer: the four changed features as GeoJSON, tagged', async () => {
    const r = await fetch(`${srv.baseUrl}/api/releases/${first.number}/compare/features?with=${second.number}&layer=landuse_plan`);
    expect(r.headers.get('content-type')).toContain('application/geo+json');
    const fc = await r.json();
    expect(fc.numberMatched).toBe(4);
    const tags = fc.features.map((f: { properties: { _change: string } }) => f.properties._change).sort();
    expect(tags).toEqual(['changed', 'changed', 'changed', 'removed']);
    for (const f of fc.features.filter((x: { properties: { _change: string } }) => x.properties._change === 'changed')) expect(f.properties.code).toBe('030');
    expect(fc.features.every((f: { geometry: { type: string } }) => f.geometry.type === 'MultiPolygon')).toBe(true);
    const none = await (await fetch(`${srv.baseUrl}/api/releases/${first.number}/compare/features?with=${second.number}&layer=roads`)).json();
    expect(none.numberMatched).toBe(0);
  });
});

describe('release against the working data (staff)', () => {
  it('right after the release: nothing differs; after another revision: it does', async () => {
    const same = await call('ndrc.reviewer', `/api/releases/${second.number}/compare?with=working`);
    expect(same.status).toBe(200);
    expect(same.body.to).toEqual({ working: true });
    expect(same.body.layers.every((l: { added: { count: number }; removed: { count: number }; changed: { count: number } }) => l.added.count + l.removed.count + l.changed.count === 0)).toBe(true);
    await reviseLandusePlan(knex, 1);
    const after = (await call('ndrc.reviewer', `/api/releases/${second.number}/compare?with=working`)).body;
    const lu = after.layers.find((l: { layerId: string }) => l.layerId === 'landuse_plan');
    expect([lu.changed.count, lu.removed.count]).toEqual([1, 1]);
  });

  it('anonymous visitors may not compare with the working data (401)', async () => {
    const r = await call(null, `/api/releases/${second.number}/compare?with=working`);
    expect([r.status, r.body.code]).toEqual([401, 'unauthenticated']);
  });
});

describe('refusals', () => {
  it.each([
    ['itself', (a: number) => `/api/releases/${a}/compare?with=${a}`, 400, 'same_release'],
    ['an unknown release', (a: number) => `/api/releases/${a}/compare?with=99`, 404, 'unknown_release'],
    ['a bad with', (a: number) => `/api/releases/${a}/compare?with=latest`, 400, 'invalid_parameter'],
    ['no with', (a: number) => `/api/releases/${a}/compare`, 400, 'missing_parameter'],
    ['an unknown layer', (a: number) => `/api/releases/${a}/compare/features?with=${a + 1}&layer=nope`, 404, 'unknown_collection'],
  ])('a comparison with %s', async (_what, path, status, code) => {
    const r = await call(null, path(first.number));
    expect([r.status, r.body.code]).toEqual([status, code]);
  });
});
