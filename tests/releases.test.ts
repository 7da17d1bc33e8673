// Releases (成果版本) against real PostGIS: preparing (the pins and their content copied, the
// conflict situation recorded), publishing (four eyes, 审图号, the previous one superseded),
// withdrawing, who sees what, the audit trail, and that a release does not change by a byte when
// the working layers do. The HTTP refusals each with their code.
import { describe, expect, it } from 'vitest';
import { layerTable } from '../server/platform/sql';
import { as } from './helpers/auth';
import { getJson } from './helpers/http';
import { prepareRelease, publish, releaseCall, reviseLandusePlan } from './helpers/releases';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();
const api = (p = '') => `/api/releases${p}`;
const call = (who: string | null, method: string, path: string, body?: unknown) => releaseCall(srv.baseUrl, knex, who, method, path, body);

/** The release's content as stored: every feature's layer, id and hash, in order, and its pins. */
async function stored(number: number) {
  const features = await knex.raw(`SELECT layer_id, fid, hash::text, code, attrs::text, ST_AsEWKB(geom) AS g, area_m2 FROM release_features WHERE release = ? ORDER BY layer_id, fid`, [number]);
  const layers = await knex.raw('SELECT * FROM release_layers WHERE release = ? ORDER BY position', [number]);
  const row = await knex.raw('SELECT content_sha256, registry::text, conflicts::text FROM releases WHERE number = ?', [number]);
  return { features: features.rows, layers: layers.rows, row: row.rows[0] };
}

describe('preparing, publishing, superseding', () => {
  it('a plan editor of 市规划局 prepares a draft of every delivered layer at its current revision, with the conflict situation', async () => {
    const draft = await prepareRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图（2015年版）', notes: '首次发布' });
    expect(draft).toMatchObject({ number: 1, status: 'draft', preparedBy: 'planning.editor', reviewNumber: null, approvalNumber: '晋政函〔2015〕88号', current: false, department: 'planning' });
    // Every delivered layer, at its current revision, with its count and area as the working layer has them now.
    const { rows: current } = await knex.raw(`SELECT layer_id, max(revision) AS revision FROM layer_revisions GROUP BY layer_id`);
    const delivered = current.filter((r: { layer_id: string }) => r.layer_id !== 'conflicts');
    expect(draft.layers.map((l: { layerId: string }) => l.layerId).sort()).toEqual(delivered.map((r: { layer_id: string }) => r.layer_id).sort());
    for (const l of draft.layers) {
      expect(l.revision).toBe(delivered.find((r: { layer_id: string }) => r.layer_id === l.layerId).revision);
      const { rows } = await knex.raw(`SELECT count(*)::int AS n, ${l.area_m2 === null ? 'NULL' : 'sum(area_m2)'} AS a FROM ${layerTable(l.layerId)}`);
      expect(l.featureCount, l.layerId).toBe(rows[0].n);
      if (l.area_m2 !== null) expect(l.area_m2).toBeCloseTo(rows[0].a, 1);
    }
    // The conflict situation: the ledger's open cases, per rule and per district, as figures that add up.
    const { rows: open } = await knex.raw(`SELECT rule_id, count(*)::int AS n FROM conflict_cases WHERE status IN ('pending', 'coordinated') GROUP BY rule_id`);
    expect(draft.conflicts.open).toBe(open.reduce((s: number, r: { n: number }) => s + r.n, 0));
    expect(draft.conflicts.open).toBeGreaterThan(0);
    expect(draft.conflicts.byRule.reduce((s: number, r: { open: number }) => s + r.open, 0)).toBe(draft.conflicts.open);
    expect(draft.conflicts.byDistrict.reduce((s: number, r: { open: number }) => s + r.open, 0)).toBe(draft.conflicts.open);
    expect(draft.conflicts.byRule.every((r: { zh: string }) => /[\u4e00-\u9fff]/.test(r.zh))).toBe(true);
    expect(draft.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(draft.skipped).toEqual([]);
  });

  it('a draft is staff-only: anonymous visitors get 404 and do not see it listed', async () => {
    expect((await call(null, 'GET', api('/1'))).body.code).toBe('unknown_release');
    expect((await call(null, 'GET', api())).body).toEqual({ current: null, releases: [] });
    const staff = await call('ndrc.reviewer', 'GET', api());
    expect(staff.body.releases.map((r: { number: number; status: string }) => [r.number, r.status])).toEqual([[1, 'draft']]);
  });

  it('publishing: four eyes, a planning reviewer or an admin, and a 审图号', async () => {
    // The editor may not publish (role), an admin who prepared a release may not publish it (four eyes).
    const byEditor = await call('planning.editor', 'POST', api('/1/publish'), { reviewNumber: '晋S(2015)001号' });
    expect([byEditor.status, byEditor.body.code]).toEqual([403, 'forbidden']);
    const otherDept = await call('land.reviewer', 'POST', api('/1/publish'), { reviewNumber: '晋S(2015)001号' });
    expect([otherDept.status, otherDept.body.code]).toEqual([403, 'forbidden']);
    const adminDraft = await call('admin', 'POST', api(), { title: '管理员准备的版本', layers: [{ layerId: 'districts' }] });
    expect(adminDraft.status).toBe(201);
    const own = await call('admin', 'POST', api(`/${adminDraft.body.number}/publish`), { reviewNumber: '晋S(2015)009号' });
    expect([own.status, own.body.code]).toEqual([403, 'forbidden']);
    expect(own.body.message).toContain('four eyes');
    await call('planning.reviewer', 'POST', api(`/${adminDraft.body.number}/withdraw`), { reason: '仅用于测试四眼原则' });
    // No 审图号 on the draft and none given: 409 review_number_required, nothing published.
    const without = await call('planning.reviewer', 'POST', api('/1/publish'), {});
    expect([without.status, without.body.code, without.body.details.field]).toEqual([409, 'review_number_required', 'reviewNumber']);
    expect((await call(null, 'GET', api())).body.current).toBe(null);

    const published = await publish(srv.baseUrl, knex, 1, '晋S(2015)001号');
    expect(published).toMatchObject({ number: 1, status: 'published', reviewNumber: '晋S(2015)001号', publishedBy: 'planning.reviewer', current: true });
    // Now public.
    const pub = await call(null, 'GET', api('/1'));
    expect(pub.status).toBe(200);
    expect(pub.body.contentSha256).toBe(published.contentSha256);
    expect((await call(null, 'GET', api())).body).toMatchObject({ current: 1, releases: [{ number: 1, status: 'published' }] });
  });

  it('a second publish of the same release is 409 release_not_draft, and the release is unchanged', async () => {
    const before = await stored(1);
    const again = await call('planning.reviewer', 'POST', api('/1/publish'), { reviewNumber: '晋S(2015)999号' });
    expect([again.status, again.body.code]).toEqual([409, 'release_not_draft']);
    expect((await call(null, 'GET', api('/1'))).body.reviewNumber).toBe('晋S(2015)001号');
    expect(await stored(1)).toEqual(before);
  });

  it('the database refuses to change a published release, its pins or its features, whoever asks', async () => {
    for (const sql of [
      `UPDATE releases SET title = 'x' WHERE number = 1`,
      `UPDATE releases SET review_number = 'x' WHERE number = 1`,
      `UPDATE releases SET status = 'draft' WHERE number = 1`,
      `DELETE FROM releases WHERE number = 1`,
      `UPDATE release_features SET code = 'x' WHERE release = 1`,
      `DELETE FROM release_features WHERE release = 1`,
      `UPDATE release_layers SET revision = 1 WHERE release = 1`,
      `DELETE FROM release_conflicts WHERE release = 1`,
    ]) {
      await expect(knex.raw(sql), sql).rejects.toThrow(/immutable|never change|cannot be deleted|not a lifecycle step/);
    }
  });

  it('a release does not change by a byte when the working layers do: an import of a new land-use plan revision, and a restore', async () => {
    const before = await stored(1);
    const feature = (await getJson(`${srv.baseUrl}/api/releases/1`)).body;
    const revised = await reviseLandusePlan(knex);
    expect(revised.changed).toBe(3);
    // The working layer moved on…
    const { rows } = await knex.raw(`SELECT max(revision) AS r FROM layer_revisions WHERE layer_id = 'landuse_plan'`);
    expect(rows[0].r).toBe(revised.revision);
    // …and a restore of the old revision makes yet another one.
    const restore = await fetch(`${srv.baseUrl}/api/layers/landuse_plan/revisions/${revised.revision - 1}/restore`, { method: 'POST', headers: await as(knex, 'land.editor', { 'Content-Type': 'application/json' }), body: '{}' });
    expect(restore.status).toBe(201);
    expect(await stored(1)).toEqual(before);
    expect((await getJson(`${srv.baseUrl}/api/releases/1`)).body).toEqual(feature);
  });

  it('a second release pins the new revisions; publishing it supersedes the first, which stays public', async () => {
    await reviseLandusePlan(knex, 2);
    const second = await prepareRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图（2015年修订）' });
    const landuse = (r: { layers: { layerId: string; revision: number }[] }) => r.layers.find((l) => l.layerId === 'landuse_plan')!.revision;
    const first = (await call(null, 'GET', api('/1'))).body;
    expect(landuse(second)).toBeGreaterThan(landuse(first));
    expect(second.contentSha256).not.toBe(first.contentSha256);
    await publish(srv.baseUrl, knex, second.number);
    const list = (await call(null, 'GET', api())).body;
    expect(list.current).toBe(second.number);
    expect(list.releases.map((r: { number: number; status: string }) => [r.number, r.status])).toEqual([[second.number, 'published'], [1, 'superseded']]);
    const old = (await call(null, 'GET', api('/1'))).body;
    expect(old).toMatchObject({ status: 'superseded', supersededBy: second.number, current: false });
  });

  it('withdrawing: staff still read it, the public gets 410 with the reason; a second withdraw is 409', async () => {
    const r = await call('planning.reviewer', 'POST', api('/1/withdraw'), { reason: '发现底图错误' });
    expect(r.body).toMatchObject({ status: 'withdrawn', withdrawn: { by: 'planning.reviewer', reason: '发现底图错误' } });
    const gone = await call(null, 'GET', api('/1'));
    expect([gone.status, gone.body.code, gone.body.details.reason]).toEqual([410, 'release_withdrawn', '发现底图错误']);
    expect((await call('env.editor', 'GET', api('/1'))).status).toBe(200);
    expect((await call(null, 'GET', api())).body.releases.map((x: { number: number }) => x.number)).not.toContain(1);
    const twice = await call('planning.reviewer', 'POST', api('/1/withdraw'), { reason: '再次' });
    expect([twice.status, twice.body.code]).toEqual([409, 'release_withdrawn_already']);
    const noReason = await call('planning.reviewer', 'POST', api('/2/withdraw'), {});
    expect([noReason.status, noReason.body.code, noReason.body.details.field]).toEqual([400, 'invalid_body', 'reason']);
  });

  it('every step is in the audit trail, and the chain verifies', async () => {
    const { rows } = await knex.raw(`SELECT actor, action, object FROM audit_log WHERE action LIKE 'release.%' ORDER BY id`);
    expect(rows.map((r: { action: string; object: string }) => `${r.action} ${r.object}`)).toEqual([
      'release.prepared release 1',
      'release.prepared release 2',
      'release.withdrawn release 2',
      'release.published release 1',
      'release.prepared release 3',
      'release.superseded release 1',
      'release.published release 3',
      'release.withdrawn release 1',
    ]);
    expect(rows.find((r: { action: string }) => r.action === 'release.published').actor).toBe('planning.reviewer');
    const verify = await getJson(`${srv.baseUrl}/api/audit/verify`, { headers: await as(knex, 'admin') });
    expect(verify.body.ok).toBe(true);
  });
});

describe('bad input: each a 4xx with a code, nothing written', () => {
  const count = async () => (await knex.raw('SELECT (SELECT count(*) FROM releases)::int AS r, (SELECT count(*) FROM release_features)::int AS f')).rows[0];

  it.each([
    ['a layer the registry lacks', { title: 't', layers: [{ layerId: 'no_such_layer' }] }, 400, 'unknown_layer', 'layers.0.layerId'],
    ['the computed conflicts layer', { title: 't', layers: [{ layerId: 'conflicts' }] }, 400, 'layer_not_released', 'layers.0.layerId'],
    ['a layer named twice', { title: 't', layers: [{ layerId: 'districts' }, { layerId: 'districts' }] }, 400, 'invalid_body', 'layers.1.layerId'],
    ['a revision that does not exist', { title: 't', layers: [{ layerId: 'districts', revision: 999 }] }, 404, 'unknown_revision', 'layers.0'],
    ['no title', { layers: [{ layerId: 'districts' }] }, 400, 'invalid_body', 'title'],
    ['an unknown field', { title: 't', colour: 'red' }, 400, 'invalid_body', undefined],
  ])('prepare with %s', async (_what, body, status, code, field) => {
    const before = await count();
    const r = await call('planning.editor', 'POST', api(), body);
    expect([r.status, r.body.code]).toEqual([status, code]);
    if (field) expect(r.body.details.field).toBe(field);
    expect(await count()).toEqual(before);
  });

  it('anonymous and other departments may not prepare (401, 403)', async () => {
    expect((await call(null, 'POST', api(), { title: 't' })).status).toBe(401);
    expect((await call('land.editor', 'POST', api(), { title: 't' })).body.code).toBe('forbidden');
  });

  it('publishing a draft that pins a revision which no longer exists is 409 pinned_revision_missing', async () => {
    const draft = await prepareRelease(srv.baseUrl, knex, { title: '待发布', layers: [{ layerId: 'rivers' }] });
    const rev = draft.layers[0].revision;
    // Nothing of the service removes a revision; this is what the check guards against (a database restored from a backup, say).
    await knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL session_replication_role = replica');
      await trx.raw(`DELETE FROM layer_revisions WHERE layer_id = 'rivers' AND revision = ?`, [rev]);
    });
    const r = await call('planning.reviewer', 'POST', api(`/${draft.number}/publish`), { reviewNumber: '晋S(2015)010号' });
    expect([r.status, r.body.code]).toEqual([409, 'pinned_revision_missing']);
    expect(r.body.details.missing).toEqual([{ layerId: 'rivers', revision: rev }]);
    expect((await call(null, 'GET', api(`/${draft.number}`))).status).toBe(404);
  });

  it.each([
    ['GET', '/999', 404, 'unknown_release'],
    ['GET', '/abc', 400, 'invalid_parameter'],
    ['POST', '/999/publish', 404, 'unknown_release'],
  ])('%s %s → %i %s', async (method, path, status, code) => {
    const r = await call('planning.reviewer', method, api(path), method === 'POST' ? { reviewNumber: 'x' } : undefined);
    expect([r.status, r.body.code]).toEqual([status, code]);
  });
});
