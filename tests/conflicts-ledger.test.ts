// The coordination ledger and the conflicts API through the real service: filters, the status
// workflow with optimistic concurrency (412 on a stale version, 409 on an illegal transition),
// comments, the conflicts layer (OGC API collection, vector tiles, style), exports and the report,
// and the planner's path end to end: a decision recorded, a new revision of the source layer
// imported, the patch closed as resolved by data by the automatic incremental run.
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader as Pbf } from 'pbf';
import { beforeAll, describe, expect, it } from 'vitest';
import { liveRunningRun, RUN_LOCKS, startRun } from '../server/conflicts/run';
import { tileContaining } from '../server/tiles/mvt';
import { as } from './helpers/auth';
import { expectError, getJson, requestsAs } from './helpers/http';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();
/** The ledger is working data: reads are a staff account's (any role; anonymous: 401, below). */
const staff = requestsAs(() => as(knex, 'window'));
let api: string;

beforeAll(() => {
  api = `${srv.baseUrl}/api/conflicts`;
});

/** POSTs JSON as the named account (default: a reviewer of 市规划局, which verifies and runs detection). */
const post = async (url: string, body: unknown, headers: Record<string, string> = {}, who = 'planning.reviewer') =>
  getJson(url, { method: 'POST', headers: await as(knex, who, { 'Content-Type': 'application/json', ...headers }), body: JSON.stringify(body) });

/** The largest open case of the gravest rule in 南郊区 (basic farmland). */
async function farmlandCase(offset = 0) {
  const { status, body } = await staff.getJson(`${api}/cases?rule=urban_construction_on_basic_farmland&adcode=140211&status=pending&limit=1&offset=${offset}`);
  expect(status).toBe(200);
  return body.cases[0];
}

describe('rules, summary and the case list', () => {
  it('describes the rules with layers, classes, departments, severities, statuses and decisions', async () => {
    const { body } = await staff.getJson(`${api}/rules`);
    const r = body.rules.find((x: any) => x.id === 'urban_construction_on_basic_farmland');
    expect(r).toMatchObject({ kind: 'conflict', severity: 'critical', a: { layer: 'urban_plan' }, b: { layer: 'landuse_plan', classes: [{ code: '010', zh: '基本农田保护区' }] } });
    expect(r.departments.map((d: any) => d.zh)).toEqual(['市规划局', '市国土局']);
    expect(body.severities.map((s: any) => s.code)).toEqual(['critical', 'major', 'minor']);
    expect(body.decisions.map((d: any) => d.code)).toEqual(['follow_a', 'follow_b', 'adjust_both', 'exception']);
  });

  it('sums patches per rule × district, in m², 公顷 and 亩, consistent with the cases', async () => {
    const { body } = await staff.getJson(`${api}/summary?rule=urban_construction_on_basic_farmland`);
    const nanjiao = body.rows.find((r: any) => r.adcode === '140211');
    expect(nanjiao.district).toBe('南郊区');
    expect(nanjiao.area_ha).toBeCloseTo(nanjiao.area_m2 / 10_000, 3);
    expect(nanjiao.area_mu).toBeCloseTo((nanjiao.area_m2 * 15) / 10_000, 1);
    const list = await staff.getJson(`${api}/cases?rule=urban_construction_on_basic_farmland&adcode=140211&limit=1000`);
    expect(list.body.total).toBe(nanjiao.count);
    expect(list.body.cases.every((c: any) => c.district === '南郊区' && c.rule_id === 'urban_construction_on_basic_farmland' && c.b.class_zh === '基本农田保护区')).toBe(true);
    const sum = list.body.cases.reduce((s: number, c: any) => s + c.area_m2, 0);
    expect(Math.abs(sum - nanjiao.area_m2) / nanjiao.area_m2).toBeLessThan(1e-6);
    // Severity first, then the largest.
    const all = (await staff.getJson(`${api}/cases?limit=200`)).body.cases;
    const order = { critical: 0, major: 1, minor: 2 } as Record<string, number>;
    for (let i = 1; i < all.length; i++) {
      expect(order[all[i - 1].severity] <= order[all[i].severity]).toBe(true);
      if (all[i - 1].severity === all[i].severity) expect(all[i - 1].area_m2).toBeGreaterThanOrEqual(all[i].area_m2);
    }
  });

  it('is described in the service’s OpenAPI document', async () => {
    const doc = (await staff.getJson(`${srv.baseUrl}/ogcapi/api`)).body;
    for (const p of ['/api/conflicts/rules', '/api/conflicts/cases', '/api/conflicts/cases/{id}', '/api/conflicts/cases/{id}/transitions', '/api/conflicts/cases/{id}/comments', '/api/conflicts/summary', '/api/conflicts/runs', '/api/conflicts/ledger.csv', '/api/conflicts/ledger.geojson', '/api/conflicts/report']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(Object.keys(doc.paths['/api/conflicts/cases/{id}/transitions'].post.responses)).toEqual(expect.arrayContaining(['409', '412', '428']));
  });

  it('describes every conflicts route with its parameters, bodies and answers in the OpenAPI 3.1 document', async () => {
    const doc = (await staff.getJson(`${srv.baseUrl}/api/openapi.json`)).body;
    const json = (op: any, status: string) => op.responses[status].content['application/json'].schema;
    expect(json(doc.paths['/api/conflicts/cases'].get, '200').$ref).toBe('#/components/schemas/ConflictCaseList');
    expect(doc.components.schemas.ConflictCase.properties.severity.enum).toEqual(['critical', 'major', 'minor']);
    expect(doc.components.schemas.ConflictCase.properties.updated_at).toMatchObject({ type: 'string', format: 'date-time' });
    const params = Object.fromEntries(doc.paths['/api/conflicts/cases'].get.parameters.map((p: any) => [p.name, p]));
    expect(params.rule.schema.enum).toContain('urban_construction_on_basic_farmland');
    expect(params.status.schema.enum).toEqual(['pending', 'coordinated', 'verified', 'resolved_by_data']);
    expect(params.limit.schema).toMatchObject({ type: 'integer', minimum: 1 });
    const transition = doc.paths['/api/conflicts/cases/{id}/transitions'].post;
    expect(transition.requestBody.content['application/json'].schema.$ref).toMatch(/TransitionRequest/);
    expect(json(transition, '200').$ref).toBe('#/components/schemas/ConflictCaseDetail');
    expect(doc.paths['/api/conflicts/runs'].post.security).not.toEqual([]);
    expect(doc.paths['/api/conflicts/ledger.csv'].get.responses['200'].content).toHaveProperty('text/csv');
  });

  it('refuses bad filters with 400 naming the parameter', async () => {
    expect((await staff.expectError(`${api}/cases?rule=nope`, 400, 'invalid_parameter')).details.parameter).toBe('rule');
    expect((await staff.expectError(`${api}/cases?status=done`, 400, 'invalid_parameter')).details.parameter).toBe('status');
    expect((await staff.expectError(`${api}/cases?adcode=abc`, 400, 'invalid_parameter')).details.parameter).toBe('adcode');
    expect((await staff.expectError(`${api}/cases?colour=red`, 400, 'unknown_parameter')).details.parameter).toBe('colour');
    await staff.expectError(`${api}/cases/not-a-uuid`, 400, 'invalid_parameter');
    await staff.expectError(`${api}/cases?fid=x`, 400, 'invalid_parameter');
    await staff.expectError(`${api}/cases/00000000-0000-0000-0000-000000000000`, 404, 'unknown_case');
  });
});

describe('without an account', () => {
  it('every read of the ledger answers 401 unauthenticated (working data)', async () => {
    const c = await farmlandCase();
    for (const path of ['/rules', '/runs', '/runs/1', '/summary', '/cases', `/cases/${c.id}`, '/ledger.csv', '/ledger.geojson', '/report?adcode=140211']) {
      await expectError(`${api}${path}`, 401, 'unauthenticated');
    }
  });
});

describe('the status workflow', () => {
  it('records a coordination decision against the case version, with its history', async () => {
    const c = await farmlandCase();
    const one = await staff.getJson(`${api}/cases/${c.id}`);
    expect(one.headers.get('etag')).toBe(`"${one.body.version}"`);
    expect(one.headers.get('cache-control')).toBe('no-store');
    // The conflicts layer's feature id (what tiles carry) finds the case.
    expect((await staff.getJson(`${api}/cases?fid=${c.fid}`)).body.cases.map((x: any) => x.id)).toEqual([c.id]);
    expect(one.body.events.map((e: any) => e.action)).toEqual(['detected']);
    expect(one.body.geometry.type).toBe('MultiPolygon');

    // No version: 428. A decision without a reason: 400 naming the field.
    expect((await post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: 'follow_b', reason: 'x' })).status).toBe(428);
    const noReason = await post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: 'follow_b', version: 1 });
    expect(noReason.status).toBe(400);
    expect(noReason.body.details.field).toBe('reason');
    const badDecision = await post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: 'whatever', reason: 'x', version: 1 });
    expect(badDecision.body.details.field).toBe('decision');
    // Every problem of a body at once, the first one named.
    const many = await post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: 'whatever', effective_date: '2024-02-30', version: 1 });
    expect(many.status).toBe(400);
    expect(many.body.details.field).toBe('decision');
    expect(many.body.details.problems.map((p: any) => p.path).sort()).toEqual(['decision', 'effective_date', 'reason']);
    const noSuchDay = await post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: 'follow_b', reason: 'x', effective_date: '2024-02-30', version: 1 });
    expect(noSuchDay.status).toBe(400);
    expect(noSuchDay.body.details.field).toBe('effective_date');
    // pending → verified skips coordination: 409.
    const skip = await post(`${api}/cases/${c.id}/transitions`, { to: 'verified', version: 1 });
    expect(skip.status).toBe(409);
    expect(skip.body).toMatchObject({ code: 'illegal_transition', details: { from: 'pending', to: 'verified', allowed: ['coordinated'] } });

    const done = await post(
      `${api}/cases/${c.id}/transitions`,
      { to: 'coordinated', decision: 'follow_b', reason: '保护基本农田，城规调出该地块', district_opinion: '同意', city_opinion: '同意', effective_date: '2015-12-31', by: '规划局 李四' },
      { 'If-Match': `"${one.body.version}"` },
    );
    expect(done.status).toBe(200);
    expect(done.headers.get('etag')).toBe('"2"');
    expect(done.body).toMatchObject({ status: 'coordinated', decision: 'follow_b', reason: '保护基本农田，城规调出该地块', district_opinion: '同意', effective_date: '2015-12-31', version: 2, allowed: ['verified', 'pending'] });
    // The actor is the account, whatever name the body gives.
    expect(done.body.events.at(-1)).toMatchObject({ action: 'transition', actor: 'planning.reviewer', from_status: 'pending', to_status: 'coordinated', decision: 'follow_b' });

    // A change made against the old version is refused with the current state: nothing is lost.
    const stale = await post(`${api}/cases/${c.id}/transitions`, { to: 'pending', reason: '重新讨论' }, { 'If-Match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'version_conflict', details: { currentVersion: 2, currentStatus: 'coordinated' } });
    expect((await staff.getJson(`${api}/cases/${c.id}`)).body.decision).toBe('follow_b');

    // Reopening needs a reason; verified is final.
    expect((await post(`${api}/cases/${c.id}/transitions`, { to: 'pending', version: 2 })).body.details.field).toBe('reason');
    // 已核验 is the planning bureau's: a reviewer of 市国土局 (a department of the rule) may not verify.
    const notLand = await post(`${api}/cases/${c.id}/transitions`, { to: 'verified', version: 2 }, {}, 'land.reviewer');
    expect(notLand.status).toBe(403);
    expect(notLand.body.message).toMatch(/reviewer of the department planning.*land\.reviewer/);
    const verified = await post(`${api}/cases/${c.id}/transitions`, { to: 'verified', version: 2, comment: '现场核验无误' });
    expect(verified.body).toMatchObject({ status: 'verified', version: 3, decision: 'follow_b', allowed: [] });
    expect((await post(`${api}/cases/${c.id}/transitions`, { to: 'pending', reason: 'x', version: 3 })).status).toBe(409);
  });

  it('lets two people act at once without losing anything', async () => {
    const c = await farmlandCase();
    const change = (who: string) =>
      post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: who === 'planning.reviewer' ? 'follow_a' : 'follow_b', reason: `decided by ${who}` }, { 'If-Match': `"${c.version}"` }, who);
    const [a, b] = await Promise.all([change('planning.reviewer'), change('land.reviewer')]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    const winner = a.status === 200 ? a.body : b.body;
    const now = (await staff.getJson(`${api}/cases/${c.id}`)).body;
    expect(now.reason).toBe(winner.reason);
    expect(now.events.filter((e: any) => e.action === 'transition').map((e: any) => e.actor)).toEqual([winner.reason.slice('decided by '.length)]);
    // Comments need no version: both land.
    const [x, y] = await Promise.all([post(`${api}/cases/${c.id}/comments`, { text: '请国土局复核', by: '甲' }, {}, 'planning.editor'), post(`${api}/cases/${c.id}/comments`, { text: '已复核' }, {}, 'land.reviewer')]);
    expect([x.status, y.status]).toEqual([201, 201]);
    expect([x.body.actor, y.body.actor]).toEqual(['planning.editor', 'land.reviewer']);
    // A department the rule does not concern may not comment; nor may anyone anonymous.
    expect((await post(`${api}/cases/${c.id}/comments`, { text: '环保局意见' }, {}, 'env.reviewer')).status).toBe(403);
    expect((await getJson(`${api}/cases/${c.id}/comments`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: '匿名' }) })).status).toBe(401);
    const comments = (await staff.getJson(`${api}/cases/${c.id}`)).body.events.filter((e: any) => e.action === 'comment').map((e: any) => e.comment).sort();
    expect(comments).toEqual(['已复核', '请国土局复核']);
    expect((await post(`${api}/cases/${c.id}/comments`, { text: '' })).status).toBe(400);
  });
});

describe('the conflicts layer', () => {
  it('is an OGC API collection, filterable by status and district', async () => {
    const { body } = await staff.getJson(`${srv.baseUrl}/ogcapi/collections/conflicts/items?status=verified&district=${encodeURIComponent('南郊区')}`);
    expect(body.numberMatched).toBe(1);
    const f = body.features[0];
    expect(f.properties).toMatchObject({ code: 'critical', rule_id: 'urban_construction_on_basic_farmland', status: 'verified', decision: 'follow_b', district: '南郊区', a_layer: 'urban_plan', b_code: '010' });
    expect(f.properties.area_m2).toBeGreaterThan(400);
    // The severity and both names of the rule, as the rule list has them.
    const rule = (await knex('conflict_rules').where({ id: f.properties.rule_id }).first('zh', 'en', 'severity'))!;
    expect(f.properties).toMatchObject({ severity: rule.severity, rule_zh: rule.zh, rule_en: rule.en });
    expect(f.properties.severity).toBe(f.properties.code);
    expect(rule.en.length).toBeGreaterThan(5);
  });

  it('is drawn from vector tiles above every plan layer, coloured by severity', async () => {
    const { body: style } = await staff.getJson(`${srv.baseUrl}/style.json`);
    const ids = style.layers.map((l: any) => l.id);
    expect(ids.indexOf('conflicts:fill')).toBeGreaterThan(ids.indexOf('urban_plan:fill'));
    expect(ids.indexOf('conflicts:fill')).toBeGreaterThan(ids.indexOf('landuse_plan:fill'));
    expect(JSON.stringify(style.layers[ids.indexOf('conflicts:fill')].paint['fill-color'])).toContain('#d7191c');
    const { rows } = await knex.raw(`SELECT c.fid, ST_X(ST_PointOnSurface(p.geom)) AS x, ST_Y(ST_PointOnSurface(p.geom)) AS y FROM conflict_pieces p JOIN conflict_cases c ON c.id = p.id WHERE p.geom IS NOT NULL ORDER BY p.area_m2 DESC LIMIT 1`);
    const [x, y] = tileContaining(rows[0].x, rows[0].y, 13);
    const res = await staff.fetch(`${srv.baseUrl}/tiles/conflicts/13/${x}/${y}.mvt`);
    expect(res.status).toBe(200);
    const layer = new VectorTile(new Pbf(Buffer.from(await res.arrayBuffer()))).layers.conflicts;
    const fids = Array.from({ length: layer.length }, (_, i) => layer.feature(i).id);
    expect(fids).toContain(Number(rows[0].fid));
  });

  it('is read-only: no imports, revisions or restores', async () => {
    const form = new FormData();
    form.append('file', new Blob(['{"type":"FeatureCollection","features":[]}']), 'x.geojson');
    const imp = await getJson(`${srv.baseUrl}/api/layers/conflicts/imports`, { method: 'POST', body: form, headers: await as(knex, 'admin') });
    expect(imp.status).toBe(409);
    expect(imp.body.code).toBe('derived_layer');
    await staff.expectError(`${srv.baseUrl}/api/layers/conflicts/revisions`, 409, 'derived_layer');
  });
});

describe('exports and the report', () => {
  it('exports the whole ledger as CSV (UTF-8 with BOM) and GeoJSON', async () => {
    const total = (await staff.getJson(`${api}/cases?limit=1`)).body.total;
    const csv = await staff.fetch(`${api}/ledger.csv`);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const text = Buffer.from(await csv.arrayBuffer()).toString('utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,rule_id,rule_zh,severity/); // (trim() took the BOM)
    expect(lines.length - 1).toBe(total);
    expect(text).toContain('城规建设用地占用基本农田保护区');
    expect(text).toContain('保护基本农田，城规调出该地块');
    const gj = (await staff.getJson(`${api}/ledger.geojson?rule=park_in_redline`)).body;
    expect(gj.type).toBe('FeatureCollection');
    expect(gj.features.length).toBe((await staff.getJson(`${api}/cases?rule=park_in_redline`)).body.total);
    expect(gj.features[0].geometry.type).toBe('MultiPolygon');
  });

  it('prints a per-district report with a map and the tables', async () => {
    const res = await staff.fetch(`${api}/report?adcode=140211`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('南郊区差异图斑协调报告');
    expect(html).toMatch(/<svg [^>]*viewBox=/);
    expect((html.match(/<path /g) ?? []).length).toBeGreaterThan(10);
    const open = (await staff.getJson(`${api}/cases?adcode=140211&limit=1`)).body.total - (await staff.getJson(`${api}/cases?adcode=140211&status=resolved_by_data&limit=1`)).body.total;
    const table2 = html.slice(html.indexOf('表2'));
    expect((table2.match(/<tr><td class="n">/g) ?? []).length).toBe(open);
    await staff.expectError(`${api}/report?adcode=999999`, 404, 'unknown_district');
    await staff.expectError(`${api}/report`, 400, 'missing_parameter');
  });
});

describe('the planner’s path: a new revision of the source layer resolves the conflict', () => {
  it('closes the patch as resolved by data, pointing at the revision, without anyone asking for a run', async () => {
    const c = await farmlandCase(0);
    await post(`${api}/cases/${c.id}/transitions`, { to: 'coordinated', decision: 'follow_b', reason: '城规调整' }, { 'If-Match': `"${c.version}"` });
    // The planning bureau delivers the urban plan again, with that block re-planned as E2.
    const { rows } = await knex.raw(
      `SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object('type', 'Feature',
                'geometry', ST_AsGeoJSON(geom, 15)::json,
                'properties', json_build_object('code', CASE WHEN fid = ? THEN 'E2' ELSE code END, 'block_no', block_no, 'far', far)) ORDER BY fid)) AS fc
         FROM plan.urban_plan`,
      [c.a.fid],
    );
    const form = new FormData();
    form.append('reason', '城规修编：地块调整为农林用地');
    form.append('file', new Blob([JSON.stringify(rows[0].fc)]), '城规用地2016.geojson');
    const imp = await getJson(`${srv.baseUrl}/api/layers/urban_plan/imports`, { method: 'POST', body: form, headers: await as(knex, 'planning.editor') });
    expect(imp.status, JSON.stringify(imp.body).slice(0, 500)).toBeLessThan(300);
    const revision = (await knex('layer_revisions').where({ layer_id: 'urban_plan' }).max('revision as r').first())!.r;

    // The service notices the new revision and re-runs the rules of the urban plan by itself.
    let now: any;
    for (let i = 0; i < 100; i++) {
      now = (await staff.getJson(`${api}/cases/${c.id}`)).body;
      if (now.status === 'resolved_by_data') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(now).toMatchObject({ status: 'resolved_by_data', resolved_layer: 'urban_plan', resolved_revision: revision, decision: 'follow_b' });
    expect(now.events.map((e: any) => e.action)).toEqual(['detected', 'transition', 'resolved_by_data']);
    expect(now.geometry.type).toBe('MultiPolygon'); // where it was
    expect(now.a.fid).toBe(c.a.fid); // and what it was between
    expect(now.b.fid).toBe(c.b.fid);
    const { runs } = (await staff.getJson(`${api}/runs?limit=1`)).body;
    expect(runs[0]).toMatchObject({ mode: 'incremental', status: 'succeeded', trigger: { via: 'layer change' } });
    expect(runs[0].stats.changedLayers).toEqual(['urban_plan']);
    expect((await knex('layer_revisions').where({ layer_id: 'urban_plan', revision }).first('created_by')).created_by).toBe('planning.editor');
    // And the patch is gone from the map's layer.
    const items = (await staff.getJson(`${srv.baseUrl}/ogcapi/collections/conflicts/items?patch_id=${c.id}`)).body;
    expect(items.numberMatched).toBe(0);
  });

  it('runs on request: an incremental run with nothing new changes nothing', async () => {
    const r = await post(`${api}/runs`, { mode: 'incremental' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ mode: 'incremental', status: 'succeeded', changedLayers: [], totals: { opened: 0, closed: 0 } });
    expect((await knex('conflict_runs').where({ id: r.body.id }).first('requested_by')).requested_by).toBe('planning.reviewer');
    // Runs are the planning bureau's (or an admin's): another department's reviewer is refused.
    expect((await post(`${api}/runs`, { mode: 'incremental' }, {}, 'land.reviewer')).status).toBe(403);
    expect((await post(`${api}/runs`, { mode: 'sometimes' })).body.details.field).toBe('mode');
    await staff.expectError(`${api}/runs/999999`, 404, 'unknown_run');
    // open=false: the closed cases (verified, or resolved by data).
    const closed = (await staff.getJson(`${api}/cases?open=false&limit=1000`)).body.cases;
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.every((c: any) => ['verified', 'resolved_by_data'].includes(c.status))).toBe(true);
  });

  it('tells a live run from one whose process died: 409 while it lives, then a new run goes and marks the dead one interrupted', async () => {
    // A run as a process leaves it: started a minute ago, still 'running'.
    const row = async () => (await knex('conflict_runs').insert({ mode: 'full', status: 'running', requested_by: 'test', trigger: '{}', rules: [], started_at: knex.raw("now() - interval '1 minute'") }).returning('id'))[0].id as number;
    const alive = await row();
    // Its process is alive: a connection holds its liveness lock (as ConflictEngine.run does).
    const holder = await knex.client.acquireConnection();
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', [RUN_LOCKS, alive]);
      const busy = await post(`${api}/runs`, { mode: 'incremental' });
      expect(busy.status).toBe(409);
      expect(busy.body).toMatchObject({ code: 'run_in_progress', details: { runId: alive } });
      await holder.query('SELECT pg_advisory_unlock($1, $2)', [RUN_LOCKS, alive]);
    } finally {
      await knex.client.releaseConnection(holder);
    }
    // Its process is gone (nobody holds the lock): shown as interrupted, not an obstacle, and the next run records it so.
    expect((await staff.getJson(`${api}/runs/${alive}`)).body).toMatchObject({ id: alive, status: 'failed', error: 'interrupted' });
    expect((await staff.getJson(`${api}/runs`)).body.runs.find((x: { id: number }) => x.id === alive)).toMatchObject({ status: 'failed', error: 'interrupted' });
    expect(await knex('conflict_runs').where({ id: alive }).first('status')).toEqual({ status: 'running' });
    const r = await post(`${api}/runs`, { mode: 'incremental' });
    expect(r.status).toBe(201);
    expect(await knex('conflict_runs').where({ id: alive }).first('status', 'error')).toEqual({ status: 'failed', error: 'interrupted' });
    // A run's row is written with its lock, in one statement: never seen without it, so a row
    // without its lock is dead at once, however young (a supervisor restarts a killed service at once).
    const started = await startRun(knex, { mode: 'incremental', requestedBy: 'test' }, []);
    expect(await liveRunningRun(knex)).toBe(started.id);
    await started.release();
    expect(await liveRunningRun(knex)).toBeUndefined();
    expect((await staff.getJson(`${api}/runs/${started.id}`)).body).toMatchObject({ status: 'failed', error: 'interrupted' });
    await knex('conflict_runs').where({ id: started.id }).update({ status: 'failed', error: 'test', finished_at: knex.fn.now() });
  });
});
