// Releases in tests: one prepared by 市规划局's plan editor and published by its reviewer through
// the API (four eyes, as the service requires), and a new revision of the land-use plan made the
// way a planner's edit would (some basic farmland becomes construction land, one zone removed).
import type { Knex } from 'knex';
import { expect } from 'vitest';
import { loadRegistry } from '../../server/layers/registry';
import { commitRevision, type RevisionFeature } from '../../server/revisions/commit';
import { as } from './auth';

const registry = loadRegistry();

async function call(baseUrl: string, knex: Knex, who: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: await as(knex, who, body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Prepares a draft as planning.editor; returns the release JSON (201 expected). */
export async function prepareRelease(baseUrl: string, knex: Knex, body: Record<string, unknown> = {}) {
  const r = await call(baseUrl, knex, 'planning.editor', 'POST', '/api/releases', { title: '大同市五规合一一张图', approvalNumber: '晋政函〔2015〕88号', ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

/** Publishes a release as planning.reviewer with a 审图号; returns the release JSON. */
export async function publish(baseUrl: string, knex: Knex, number: number, reviewNumber = `晋S(2015)00${number}号`) {
  const r = await call(baseUrl, knex, 'planning.reviewer', 'POST', `/api/releases/${number}/publish`, { reviewNumber });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Prepares and publishes a release; returns the published release JSON. */
export async function publishRelease(baseUrl: string, knex: Knex, body: Record<string, unknown> = {}) {
  const draft = await prepareRelease(baseUrl, knex, body);
  return publish(baseUrl, knex, draft.number);
}

/** A request as a named account (or anonymous with who = null). */
export const releaseCall = (baseUrl: string, knex: Knex, who: string | null, method: string, path: string, body?: unknown) =>
  who === null
    ? fetch(`${baseUrl}${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => {
        const t = await r.text();
        return { status: r.status, body: t ? JSON.parse(t) : undefined };
      })
    : call(baseUrl, knex, who, method, path, body);

/**
 * A new revision of the land-use plan: the first `n` basic-farmland zones (010, by fid) become
 * town construction land (030), and the last zone is removed. Returns the revision and what moved.
 */
export async function reviseLandusePlan(knex: Knex, n = 3) {
  const layer = registry.byId.get('landuse_plan')!;
  const { rows } = await knex.raw<{ rows: { fid: number; code: string; area_m2: number; f: RevisionFeature }[] }>(
    `SELECT fid, code, area_m2, json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 15)::json,
            'properties', to_jsonb(t) - 'geom' - 'fid' - 'area_m2' - 'updated_at') AS f
       FROM plan.landuse_plan t ORDER BY fid`,
  );
  const farmland = rows.filter((r) => r.code === '010').slice(0, n);
  const removed = rows.at(-1)!;
  const features = rows
    .filter((r) => r !== removed)
    .map((r) => (farmland.includes(r) ? { ...r.f, properties: { ...r.f.properties, code: '030' } } : r.f));
  const commit = await commitRevision(knex, layer, features, { kind: 'edit', createdBy: 'planning.editor', reason: '基本农田调整为建设用地（测试）' });
  return {
    revision: commit.revision,
    changed: farmland.length,
    changedArea_m2: farmland.reduce((s, r) => s + r.area_m2, 0),
    removedCode: removed.code,
    removedArea_m2: removed.area_m2,
  };
}
