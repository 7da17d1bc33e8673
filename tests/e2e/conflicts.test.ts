// End-to-end: the 差异图斑 (conflicts) panel of the built viewer (web/dist, so `npm run build`
// first) on the real server, in Debian's headless Chromium, on a database of its own (it writes
// to the ledger and imports a revision). The "done when" path: the demo's conflicts by
// severity, filtered to 基本农田 in 南郊区, one case opened (map zoomed, patch and both source
// features highlighted), a coordination decision recorded (已协调, in the history), a change
// made against a stale version (someone else changed the case: a clear message, nothing lost),
// the summary, a re-run, and a new revision of the source layer without the conflict: the case
// closes as resolved by data. The planner is 市规划局's reviewer (the rule's department, and the one
// that runs detection), logged in before the working viewer opens (it is staff's); the colleagues
// act through the API as 市国土局's reviewer and an admin; every action is recorded under its account.
import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { as } from '../helpers/auth';
import { tileUrl, waitForIdleMap } from '../helpers/browser';
import { getJson, requestsAs } from '../helpers/http';
import { useDemoCopy, useViewer } from '../helpers/setup';

/** Screenshots go here (outside the tree): look at them. */
const SHOTS = '/tmp/onemap-conflicts-e2e';
const RULE = 'urban_construction_on_basic_farmland';
const NANJIAO = '140211';
const SEVERITY_RANK: Record<string, number> = { critical: 0, major: 1, minor: 2 };

type Side = { layer: string; layer_zh: string; fid: number | null; code: string; class_zh: string | null };
type Case = {
  id: string; fid: number; rule_id: string; severity: string; status: string; decision: string | null; reason: string | null;
  district: string; adcode: string; version: number; bbox: [number, number, number, number]; area_m2: number; area_ha: number; area_mu: number;
  a: Side; b: Side; allowed: string[]; resolved_layer: string | null; resolved_revision: number | null;
};
type CaseEvent = { action: string; actor: string; from_status: string | null; to_status: string | null; decision: string | null; reason: string | null; comment: string | null };
type CaseDetail = Case & { events: CaseEvent[] };

type MapHandle = {
  getLayer(id: string): { source?: string; sourceLayer?: string } | undefined;
  getFilter(id: string): unknown;
  getSource(id: string): { serialize(): { tiles?: string[] }; tiles?: string[] } | undefined;
  getBounds(): { getWest(): number; getEast(): number; getSouth(): number; getNorth(): number };
  getZoom(): number;
  queryRenderedFeatures(options: { layers: string[] }): { id?: number | string }[];
};
type TestWindow = { __onemap?: { map: MapHandle } };

const { db, srv: server } = useDemoCopy();
const viewer = useViewer(server, { as: 'planning.reviewer' });
let page: Page;
/** The case the planner coordinates (the first of 基本农田 in 南郊区). */
let first: Case;
/** The case someone else changes behind the panel's back (another source feature on side b). */
let other: Case;

const api = (path: string) => `${server.baseUrl}${path}`;
/** The ledger is working data: the API is read as an admin (the page is 市规划局's reviewer). */
const staff = requestsAs(() => as(db.knex, 'admin'));

async function getCase(id: string): Promise<CaseDetail> {
  const r = await staff.getJson<CaseDetail>(api(`/api/conflicts/cases/${id}`));
  expect(r.status).toBe(200);
  expect(r.headers.get('etag')).toBe(`"${r.body.version}"`);
  return r.body;
}

/** A status change through the API, as another planner (the named account) would make it. */
async function transition(id: string, version: number, body: Record<string, unknown>, who: string): Promise<CaseDetail> {
  const r = await getJson<CaseDetail>(api(`/api/conflicts/cases/${id}/transitions`), {
    method: 'POST',
    headers: await as(db.knex, who, { 'Content-Type': 'application/json', 'If-Match': `"${version}"` }),
    body: JSON.stringify(body),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Waits until the service's own incremental run has read the layer's revision and no run lives. */
async function caughtUp(layer: string, revision: number): Promise<void> {
  type Runs = { busy: boolean; runs: { status: string; layers: Record<string, { revision: number }> }[] };
  for (let i = 0; i < 600; i++) {
    const { body } = await staff.getJson<Runs>(api('/api/conflicts/runs?limit=5'));
    const done = body.runs.some((r) => r.status === 'succeeded' && r.layers[layer]?.revision === revision);
    if (done && !body.busy && body.runs.every((r) => r.status !== 'running')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no run read revision ${revision} of ${layer} within 2 minutes`);
}

/** Waits until the open detail shows the case in the given status (and has loaded). */
async function detailStatus(p: Page, status: string): Promise<void> {
  await p.locator(`[data-testid="cf-detail"][data-loaded="true"][data-status="${status}"]`).waitFor({ timeout: 30_000 });
}

/** The cases of the panel's list, in its order. */
function listed(p: Page): Promise<{ id: string; rule: string; adcode: string; severity: string; status: string }[]> {
  return p.getByTestId('cf-case').evaluateAll((lis) => lis.map((li) => ({
    id: li.getAttribute('data-id')!, rule: li.getAttribute('data-rule')!, adcode: li.getAttribute('data-adcode')!,
    severity: li.getAttribute('data-severity')!, status: li.getAttribute('data-status')!,
  })));
}

beforeAll(() => {
  page = viewer.page;
  mkdirSync(SHOTS, { recursive: true });
});

describe('conflicts panel', () => {
  test('the 差异图斑 button opens the panel: the open cases, gravest first, as the server orders them', async () => {
    await expect(page.getByTestId('conflicts-open').textContent()).resolves.toBe('差异图斑');
    expect(await page.getByTestId('conflicts-panel').isHidden()).toBe(true);
    await page.getByTestId('conflicts-open').click();
    await page.getByTestId('conflicts-panel').waitFor({ state: 'visible' });
    await page.getByTestId('cf-case').first().waitFor({ timeout: 30_000 });

    // Default filter: open cases (pending or coordinated), 50 at a time.
    await expect(page.getByTestId('cf-filter-status').inputValue()).resolves.toBe('open');
    const expected = await staff.getJson<{ total: number; cases: Case[] }>(api('/api/conflicts/cases?open=true&limit=50'));
    expect(expected.body.total).toBeGreaterThan(50);
    await expect(page.getByTestId('cf-count').getAttribute('data-total')).resolves.toBe(String(expected.body.total));
    const rows = await listed(page);
    expect(rows.map((r) => r.id)).toEqual(expected.body.cases.map((c) => c.id));
    const ranks = rows.map((r) => SEVERITY_RANK[r.severity]!);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(rows[0]!.severity).toBe('critical');
    // Each row: severity, rule name, district, area in 公顷 and 亩, status.
    const top = page.getByTestId('cf-case').first();
    await expect(top.locator('.cf-sev').textContent()).resolves.toBe('严重');
    await expect(top.locator('.cf-status').textContent()).resolves.toBe('待协调');
    const area = await top.getByTestId('cf-case-area').textContent();
    expect(area).toMatch(/^[\d,]+\.\d{4} 公顷 · [\d,]+\.\d{2} 亩$/);
    // The current patches by severity, as the summary counts them.
    const summary = await staff.getJson<{ rows: { severity: string; count: number }[] }>(api('/api/conflicts/summary?open=true'));
    for (const sev of ['critical', 'major', 'minor']) {
      const n = summary.body.rows.filter((r) => r.severity === sev).reduce((s, r) => s + r.count, 0);
      await expect(page.getByTestId(`cf-severity-${sev}`).getAttribute('data-count')).resolves.toBe(String(n));
    }
    await page.screenshot({ path: `${SHOTS}/conflicts-list.png` });
  });

  test('filtered to 基本农田 in 南郊区: only those cases, paged with "load more"; exports and the district report follow the filters', async () => {
    await page.getByTestId('cf-filter-rule').selectOption(RULE);
    await page.getByTestId('cf-filter-district').selectOption(NANJIAO);
    const expected = await staff.getJson<{ total: number; cases: Case[] }>(api(`/api/conflicts/cases?rule=${RULE}&adcode=${NANJIAO}&open=true&limit=100`));
    expect(expected.body.total).toBeGreaterThan(50);
    await page.waitForFunction((total) => document.querySelector('[data-testid="cf-count"]')?.getAttribute('data-total') === total
      && document.querySelectorAll('[data-testid="cf-case"]').length === 50, String(expected.body.total), { timeout: 30_000 });
    await expect(page.getByTestId('cf-count').textContent()).resolves.toBe(`共 ${expected.body.total} 个图斑`);
    let rows = await listed(page);
    expect(rows.every((r) => r.rule === RULE && r.adcode === NANJIAO)).toBe(true);
    await expect(page.getByTestId('cf-case').first().locator('.cf-case-rule').textContent()).resolves.toBe('城规建设用地占用基本农田保护区');
    await expect(page.getByTestId('cf-case').first().locator('.cf-case-district').textContent()).resolves.toBe('南郊区');

    await page.getByTestId('cf-more').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cf-case"]').length === 100, null, { timeout: 30_000 });
    rows = await listed(page);
    expect(rows.map((r) => r.id)).toEqual(expected.body.cases.map((c) => c.id));

    const csv = await page.getByTestId('cf-export-csv').getAttribute('href');
    expect(csv).toBe(`/api/conflicts/ledger.csv?rule=${RULE}&adcode=${NANJIAO}&open=true`);
    const geojson = await page.getByTestId('cf-export-geojson').getAttribute('href');
    expect(geojson).toBe(`/api/conflicts/ledger.geojson?rule=${RULE}&adcode=${NANJIAO}&open=true`);
    const ledger = await staff.getJson<{ features: unknown[] }>(api(geojson!));
    expect(ledger.status).toBe(200);
    expect(ledger.body.features).toHaveLength(expected.body.total);
    const report = page.getByTestId('cf-report');
    await expect(report.getAttribute('href')).resolves.toBe(`/api/conflicts/report?adcode=${NANJIAO}`);
    await expect(report.getAttribute('target')).resolves.toBe('_blank');
    const html = await staff.fetch(api(`/api/conflicts/report?adcode=${NANJIAO}`));
    expect(html.status).toBe(200);

    first = expected.body.cases[0]!;
    other = expected.body.cases.find((c) => c.b.fid !== first.b.fid && c.a.fid !== first.a.fid)!;
    expect(other).toBeDefined();
  });

  test('opening a case zooms the map to it and highlights the patch and both source features', async () => {
    await page.locator(`[data-testid="cf-case"][data-id="${first.id}"] button`).click();
    await detailStatus(page, 'pending');
    await waitForIdleMap(page);

    const view = await page.evaluate(() => {
      const map = (window as unknown as TestWindow).__onemap!.map;
      const b = map.getBounds();
      return { zoom: map.getZoom(), bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] };
    });
    const [w, s, e, n] = view.bounds as [number, number, number, number];
    const [bw, bs, be, bn] = first.bbox;
    expect(w).toBeLessThanOrEqual(bw);
    expect(s).toBeLessThanOrEqual(bs);
    expect(e).toBeGreaterThanOrEqual(be);
    expect(n).toBeGreaterThanOrEqual(bn);
    expect(view.zoom).toBeGreaterThan(11); // zoomed in on the case, not the whole city

    // One style layer per highlighted feature, on the layers' own vector-tile sources, filtered by fid.
    const layers = await page.evaluate((ids) => {
      const map = (window as unknown as TestWindow).__onemap!.map;
      return ids.map((id) => {
        const l = map.getLayer(id);
        return l ? { id, source: l.source, sourceLayer: l.sourceLayer, filter: map.getFilter(id), rendered: map.queryRenderedFeatures({ layers: [id] }).map((f) => f.id) } : null;
      });
    }, ['conflicts-hl-patch', 'conflicts-hl-a', 'conflicts-hl-b']);
    expect(layers[0]).toMatchObject({ source: 'conflicts', sourceLayer: 'conflicts', filter: ['==', ['id'], first.fid] });
    expect(layers[1]).toMatchObject({ source: first.a.layer, sourceLayer: first.a.layer, filter: ['==', ['id'], first.a.fid] });
    expect(layers[2]).toMatchObject({ source: first.b.layer, sourceLayer: first.b.layer, filter: ['==', ['id'], first.b.fid] });
    // And they draw: the tiles in view carry those features.
    expect(layers[0]!.rendered.length).toBeGreaterThan(0);
    expect(new Set(layers[0]!.rendered)).toEqual(new Set([first.fid]));
    expect(new Set(layers[1]!.rendered)).toEqual(new Set([first.a.fid]));
    expect(new Set(layers[2]!.rendered)).toEqual(new Set([first.b.fid]));

    // The detail: rule, both sides with layer and class, area in m², 公顷 and 亩, status, history.
    await expect(page.getByTestId('cf-detail-rule').textContent()).resolves.toBe('城规建设用地占用基本农田保护区');
    await expect(page.getByTestId('cf-detail-district').textContent()).resolves.toBe('南郊区');
    const a = await page.getByTestId('cf-detail-a').textContent();
    expect(a).toContain('城市总体规划用地');
    expect(a).toContain(first.a.class_zh!);
    expect(a).toContain(`要素 ${first.a.fid}`);
    const b = await page.getByTestId('cf-detail-b').textContent();
    expect(b).toContain('土地用途区');
    expect(b).toContain('基本农田保护区');
    const fmt = (x: number, d: number) => x.toLocaleString('zh-CN', { minimumFractionDigits: d, maximumFractionDigits: d });
    await expect(page.getByTestId('cf-detail-ha').textContent()).resolves.toBe(`${fmt(first.area_ha, 4)} 公顷`);
    await expect(page.getByTestId('cf-detail-mu').textContent()).resolves.toBe(`${fmt(first.area_mu, 2)} 亩`);
    await expect(page.getByTestId('cf-detail-status').textContent()).resolves.toBe('待协调');
    const events = await page.getByTestId('cf-event').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-action')));
    expect(events).toEqual(['detected']);
    // Pending cases may only become coordinated.
    expect(await page.locator('[data-testid^="cf-action-"]').evaluateAll((bs) => bs.map((x) => x.getAttribute('data-testid')))).toEqual(['cf-action-coordinated']);
  });

  test('recording a coordination decision: a decision and a reason are required; then 已协调, in the history and on the map', async () => {
    const tilesBefore = await tileUrl(page, 'conflicts');
    expect(tilesBefore).toMatch(/\?v=\d+$/);
    // The planner is logged in: the 经办人 is the account.
    await page.getByTestId('auth-account').waitFor({ state: 'visible', timeout: 30_000 });
    await expect(page.getByTestId('cf-actor').inputValue()).resolves.toBe('市规划局审查员');
    await page.getByTestId('cf-action-coordinated').click();
    await page.getByTestId('cf-action-form').waitFor();
    // Without a decision and a reason nothing is sent.
    await page.getByTestId('cf-submit').click();
    await expect(page.getByTestId('cf-notice').textContent()).resolves.toBe('请选择协调方式并填写协调理由');
    expect(await page.locator('#cf-draft-decision.invalid, #cf-draft-reason.invalid').count()).toBe(2);
    expect((await getCase(first.id)).version).toBe(first.version);

    // The decisions name the plan each side comes from.
    const options = await page.getByTestId('cf-draft-decision').locator('option').evaluateAll((os) => os.map((o) => o.textContent));
    expect(options).toEqual(['请选择协调方式…', '以规划A为准（城市总体规划用地）', '以规划B为准（土地用途区）', '两规共同调整', '保留为例外']);
    await page.getByTestId('cf-draft-decision').selectOption('follow_b');
    await page.getByTestId('cf-draft-reason').fill('基本农田不得占用，城市总体规划在下一轮修编中调出该地块');
    await page.getByTestId('cf-draft-district_opinion').fill('南郊区同意调出');
    await page.getByTestId('cf-draft-city_opinion').fill('同意');
    await page.getByTestId('cf-draft-effective_date').fill('2026-12-01');
    await page.getByTestId('cf-submit').click();
    await detailStatus(page, 'coordinated');

    await expect(page.getByTestId('cf-detail-status').textContent()).resolves.toBe('已协调');
    await expect(page.getByTestId('cf-detail-decision').textContent()).resolves.toBe('以规划B为准（土地用途区）');
    await expect(page.getByTestId('cf-detail-reason').textContent()).resolves.toBe('基本农田不得占用，城市总体规划在下一轮修编中调出该地块');
    await expect(page.getByTestId('cf-notice').textContent()).resolves.toBe('已保存：状态为「已协调」');
    await expect(page.getByTestId('cf-detail').getAttribute('data-version')).resolves.toBe(String(first.version + 1));
    // The newest entry of the history comes first: the transition, with who, the decision and the reason.
    const newest = page.getByTestId('cf-event').first();
    await expect(newest.getAttribute('data-action')).resolves.toBe('transition');
    await expect(newest.getAttribute('data-to')).resolves.toBe('coordinated');
    const text = await newest.textContent();
    expect(text).toContain('planning.reviewer');
    expect(text).toContain('以规划B为准');
    expect(text).toContain('基本农田不得占用');
    expect(text).toContain('南郊区同意调出');
    expect(text).toContain('2026-12-01');
    // Coordinated cases may be verified or reopened.
    expect(await page.locator('[data-testid^="cf-action-"]').evaluateAll((bs) => bs.map((x) => x.getAttribute('data-testid')))).toEqual(['cf-action-verified', 'cf-action-pending']);

    // The server has it, with the version moved on.
    const saved = await getCase(first.id);
    expect(saved).toMatchObject({ status: 'coordinated', decision: 'follow_b', version: first.version + 1, district_opinion: '南郊区同意调出', effective_date: '2026-12-01' });
    expect(saved.events.at(-1)).toMatchObject({ action: 'transition', actor: 'planning.reviewer', from_status: 'pending', to_status: 'coordinated', decision: 'follow_b' });
    // The list row follows; the map fetches the conflicts layer's new tiles (the status is in them).
    await expect(page.locator(`[data-testid="cf-case"][data-id="${first.id}"]`).getAttribute('data-status')).resolves.toBe('coordinated');
    await page.waitForFunction((before) => {
      const s = (window as unknown as TestWindow).__onemap!.map.getSource('conflicts');
      const url = s?.tiles?.[0] ?? s?.serialize().tiles?.[0];
      return !!url && url !== before;
    }, tilesBefore, { timeout: 30_000 });
    await waitForIdleMap(page);
    await page.screenshot({ path: `${SHOTS}/conflicts-coordinated.png` });
  });

  test('a stale version: someone else changed the case; the panel says so, reloads it, keeps what was typed, and the resubmit lands', async () => {
    await page.getByTestId('cf-back').click();
    await page.locator(`[data-testid="cf-case"][data-id="${other.id}"] button`).click();
    await detailStatus(page, 'pending');
    const shownVersion = Number(await page.getByTestId('cf-detail').getAttribute('data-version'));

    // The planner starts recording a decision…
    await page.getByTestId('cf-action-coordinated').click();
    await page.getByTestId('cf-draft-decision').selectOption('adjust_both');
    await page.getByTestId('cf-draft-reason').fill('两规共同调整：城规缩减，土规补划');
    await page.getByTestId('cf-draft-comment').fill('已与南郊区电话确认');
    // …while a colleague coordinates and a city reviewer reopens the same case.
    const v2 = await transition(other.id, shownVersion, { to: 'coordinated', decision: 'follow_a', reason: '区县先行意见' }, 'land.reviewer');
    const v3 = await transition(other.id, v2.version, { to: 'pending', reason: '市级复核未通过，重新协调' }, 'admin');
    expect(v3.version).toBe(shownVersion + 2);

    await page.getByTestId('cf-submit').click();
    const notice = page.locator('[data-testid="cf-notice"][data-kind="stale"]');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.textContent()).toContain('该图斑已被他人修改');
    expect(await notice.textContent()).toContain(`第 ${v3.version} 版`);
    await page.locator(`[data-testid="cf-detail"][data-version="${v3.version}"]`).waitFor({ timeout: 30_000 });
    // The message is where the planner acted, scrolled into view.
    const inView = await page.evaluate(() => {
      const body = document.querySelector('.cf-body')!.getBoundingClientRect();
      const box = document.querySelector('[data-testid="cf-notice"]')!.getBoundingClientRect();
      return box.top >= body.top && box.bottom <= body.bottom;
    });
    expect(inView).toBe(true);
    // The colleagues' changes are shown…
    const history = await page.getByTestId('cf-history').textContent();
    expect(history).toContain('land.reviewer');
    expect(history).toContain('admin');
    expect(history).toContain('市级复核未通过，重新协调');
    // …and nothing the planner typed is lost.
    await expect(page.getByTestId('cf-draft-decision').inputValue()).resolves.toBe('adjust_both');
    await expect(page.getByTestId('cf-draft-reason').inputValue()).resolves.toBe('两规共同调整：城规缩减，土规补划');
    await expect(page.getByTestId('cf-draft-comment').inputValue()).resolves.toBe('已与南郊区电话确认');
    expect((await getCase(other.id)).version).toBe(v3.version); // the stale change did not land
    await page.screenshot({ path: `${SHOTS}/conflicts-stale.png` });

    // Checked again, the planner submits against the current version.
    await page.getByTestId('cf-submit').click();
    await detailStatus(page, 'coordinated');
    const saved = await getCase(other.id);
    expect(saved).toMatchObject({ status: 'coordinated', decision: 'adjust_both', reason: '两规共同调整：城规缩减，土规补划', version: v3.version + 1 });
    expect(saved.events.filter((e) => e.action === 'transition').map((e) => `${e.actor}:${e.to_status}`))
      .toEqual(['land.reviewer:coordinated', 'admin:pending', 'planning.reviewer:coordinated']);
    expect(saved.events.at(-1)!.comment).toBe('已与南郊区电话确认');
  });

  test('a stale version whose change is no longer possible: the text is kept and can be saved as a comment', async () => {
    const shown = await getCase(other.id);
    await page.getByTestId('cf-action-verified').click();
    await page.getByTestId('cf-draft-comment').fill('现场核验：城规已缩减');
    const reopened = await transition(other.id, shown.version, { to: 'pending', reason: '数据复核发现仍有重叠' }, 'admin');

    await page.getByTestId('cf-submit').click();
    await page.locator('[data-testid="cf-notice"][data-kind="stale"]').waitFor({ timeout: 30_000 });
    await page.locator(`[data-testid="cf-detail"][data-version="${reopened.version}"][data-status="pending"]`).waitFor({ timeout: 30_000 });
    // A pending case cannot be verified: the form says so and keeps the text.
    await page.getByTestId('cf-not-allowed').waitFor();
    expect(await page.getByTestId('cf-submit').isDisabled()).toBe(true);
    await expect(page.getByTestId('cf-draft-comment').inputValue()).resolves.toBe('现场核验：城规已缩减');
    await page.getByTestId('cf-save-as-comment').click();
    await page.locator('[data-testid="cf-event"][data-action="comment"]').first().waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('cf-event').first().textContent()).resolves.toContain('现场核验：城规已缩减');
    const saved = await getCase(other.id);
    expect(saved).toMatchObject({ status: 'pending', version: reopened.version });
    expect(saved.events.at(-1)).toMatchObject({ action: 'comment', actor: 'planning.reviewer', comment: '现场核验：城规已缩减' });
  });

  test('a plain comment goes into the history', async () => {
    await page.getByTestId('cf-comment').fill('请南郊区在月底前提交调整方案');
    await page.getByTestId('cf-comment-add').click();
    await page.getByTestId('cf-event').first().filter({ hasText: '请南郊区在月底前提交调整方案' }).waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('cf-notice').textContent()).resolves.toBe('评论已添加');
    await expect(page.getByTestId('cf-comment').inputValue()).resolves.toBe('');
    expect((await getCase(other.id)).events.at(-1)).toMatchObject({ action: 'comment', actor: 'planning.reviewer', comment: '请南郊区在月底前提交调整方案' });
  });

  test('the summary by rule × district; a row lists its cases', async () => {
    await page.getByTestId('cf-tab-summary').click();
    await page.getByTestId('cf-summary-table').waitFor({ timeout: 30_000 });
    const expected = await staff.getJson<{ rows: { rule_id: string; adcode: string; count: number; area_ha: number }[]; totals: { count: number } }>(
      api(`/api/conflicts/summary?rule=${RULE}&adcode=${NANJIAO}&open=true`));
    const rows = await page.getByTestId('cf-summary-row').evaluateAll((trs) => trs.map((tr) => ({
      rule: tr.getAttribute('data-rule'), adcode: tr.getAttribute('data-adcode'),
      count: tr.querySelector('[data-col="count"]')!.textContent, ha: tr.querySelector('[data-col="ha"]')!.textContent,
    })));
    expect(rows).toEqual(expected.body.rows.map((r) => ({
      rule: r.rule_id, adcode: r.adcode, count: r.count.toLocaleString('zh-CN'),
      ha: r.area_ha.toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    })));
    await expect(page.getByTestId('cf-summary-total').locator('td').first().textContent()).resolves.toBe(expected.body.totals.count.toLocaleString('zh-CN'));

    // Without filters: every rule and district with patches.
    await page.getByTestId('cf-tab-list').click();
    await page.getByTestId('cf-back').click();
    await page.getByTestId('cf-filter-rule').selectOption('');
    await page.getByTestId('cf-filter-district').selectOption('*');
    await page.getByTestId('cf-tab-summary').click();
    const all = await staff.getJson<{ rows: unknown[] }>(api('/api/conflicts/summary?open=true'));
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="cf-summary-row"]').length === n, all.body.rows.length, { timeout: 30_000 });
    await page.screenshot({ path: `${SHOTS}/conflicts-summary.png` });
    // A row → the list of that rule in that district.
    await page.locator(`[data-testid="cf-summary-row"][data-rule="${RULE}"][data-adcode="${NANJIAO}"]`).click();
    await expect(page.getByTestId('cf-filter-rule').inputValue()).resolves.toBe(RULE);
    await expect(page.getByTestId('cf-filter-district').inputValue()).resolves.toBe(NANJIAO);
    await page.getByTestId('cf-case').first().waitFor();
  });

  test('a new revision of the source layer without the conflict: the coordinated case closes as resolved by data', async () => {
    // Layer b's content less the feature of the coordinated case, imported as a new revision.
    const items = await staff.getJson<{ type: string; features: { id: number }[] }>(api(`/ogcapi/collections/${first.b.layer}/items?limit=10000`));
    const before = items.body.features.length;
    const features = items.body.features.filter((f) => f.id !== first.b.fid);
    expect(features.length).toBe(before - 1);
    const form = new FormData();
    form.append('file', new Blob([JSON.stringify({ type: 'FeatureCollection', features })], { type: 'application/geo+json' }), 'landuse-without-one-zone.geojson');
    form.append('reason', '调出基本农田保护区（e2e）');
    // Delivered by 市国土局's plan editor (its layer).
    const imported = await fetch(api(`/api/layers/${first.b.layer}/imports`), { method: 'POST', body: form, headers: await as(db.knex, 'land.editor') });
    expect(imported.status, await imported.clone().text()).toBe(201);
    const revision = (await staff.getJson<{ layers: { id: string; revision: number }[] }>(api('/api/layers'))).body.layers.find((l) => l.id === first.b.layer)!.revision;

    // The service catches up on its own; the planner then re-runs the detection (one run at a
    // time: a run asked for while the service's own lives is refused with 409, at once).
    await caughtUp(first.b.layer, revision);
    await page.getByTestId('cf-tab-runs').click();
    await page.getByTestId('cf-run-mode-incremental').waitFor();
    expect(await page.getByTestId('cf-run-mode-incremental').isChecked()).toBe(true);
    await page.getByTestId('cf-run').click();
    const result = page.getByTestId('cf-run-result');
    await result.waitFor({ timeout: 120_000 });
    // The run the panel made is recorded (the server's own catch-up run may come after it).
    const runs = await staff.getJson<{ runs: { id: number; status: string; requested_by: string }[] }>(api('/api/conflicts/runs?limit=5'));
    const shown = Number(await result.getAttribute('data-run'));
    expect(runs.body.runs.find((r) => r.id === shown)).toMatchObject({ status: 'succeeded', requested_by: 'planning.reviewer' });
    expect(await result.textContent()).toMatch(/第 \d+ 次检测（增量）完成，用时/);

    const closed = await getCase(first.id);
    expect(closed).toMatchObject({ status: 'resolved_by_data', resolved_layer: first.b.layer, resolved_revision: revision });
    // The list of open cases no longer has it; among the cases resolved by data it is the largest.
    await page.getByTestId('cf-tab-list').click();
    await page.getByTestId('cf-case').first().waitFor({ timeout: 30_000 });
    expect((await listed(page)).map((r) => r.id)).not.toContain(first.id);
    await page.getByTestId('cf-filter-status').selectOption('resolved_by_data');
    await page.locator(`[data-testid="cf-case"][data-id="${first.id}"]`).waitFor({ timeout: 30_000 });
    expect((await listed(page)).every((r) => r.status === 'resolved_by_data')).toBe(true);
    // Its detail: closed by the new revision, no more status changes, the history says why.
    await page.locator(`[data-testid="cf-case"][data-id="${first.id}"] button`).click();
    await detailStatus(page, 'resolved_by_data');
    await expect(page.getByTestId('cf-detail-status').textContent()).resolves.toBe('已消除(数据更新)');
    expect(await page.locator('[data-testid^="cf-action-"]').count()).toBe(0);
    const newest = page.getByTestId('cf-event').first();
    await expect(newest.getAttribute('data-action')).resolves.toBe('resolved_by_data');
    expect(await newest.textContent()).toContain(`土地用途区 版本 ${revision}`);
    // The decision recorded before stays in the history.
    expect(await page.getByTestId('cf-history').textContent()).toContain('基本农田不得占用');
    // The gone patch is drawn from its last geometry.
    await page.waitForFunction(() => !!(window as unknown as TestWindow).__onemap!.map.getLayer('conflicts-hl-gone'), null, { timeout: 30_000 });
  });

  test('a full run on request', async () => {
    await page.getByTestId('cf-tab-runs').click();
    await page.getByTestId('cf-run-mode-full').check();
    await page.getByTestId('cf-run').click();
    await page.locator('[data-testid="cf-run-result"][data-mode="full"]').waitFor({ timeout: 120_000 });
    await expect(page.getByTestId('cf-run-result').textContent()).resolves.toMatch(/（全量）完成/);
    await page.getByTestId('cf-runs-table').locator('tbody tr').first().waitFor();
    // The ledger survives it: statuses and histories.
    expect((await getCase(first.id)).status).toBe('resolved_by_data');
    const history = (await getCase(other.id)).events.map((e) => e.actor);
    expect(history).toEqual(expect.arrayContaining(['land.reviewer', 'admin', 'planning.reviewer']));
  });

  test('the panel follows the language switch', async () => {
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('conflicts-open').textContent()).resolves.toBe('Conflicts');
    await expect(page.getByTestId('cf-tab-list').textContent()).resolves.toBe('Cases');
    await expect(page.getByTestId('cf-run').textContent()).resolves.toBe('Run detection');
    await page.getByTestId('cf-tab-list').click();
    await expect(page.getByTestId('cf-detail-status').textContent()).resolves.toBe('Resolved by data');
    await expect(page.getByTestId('cf-detail-rule').textContent()).resolves.toBe('Urban-plan construction land on basic farmland protection zones');
    await expect(page.getByTestId('cf-detail-district').textContent()).resolves.toBe('Nanjiao District');
    await page.screenshot({ path: `${SHOTS}/conflicts-en.png` });
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('cf-tab-list').textContent()).resolves.toBe('图斑列表');
  });

  test('closing the panel takes the highlight off the map', async () => {
    await page.getByTestId('conflicts-close').click();
    expect(await page.getByTestId('conflicts-panel').isHidden()).toBe(true);
    const left = await page.evaluate(() => ['conflicts-hl-patch', 'conflicts-hl-a', 'conflicts-hl-b', 'conflicts-hl-gone']
      .filter((id) => !!(window as unknown as TestWindow).__onemap!.map.getLayer(id)));
    expect(left).toEqual([]);
  });

  test('no console error, failed request or HTTP error but the two refused stale changes', () => {
    // Each 412 is logged by Chromium as an HTTP error and a "Failed to load resource" console error.
    const expected412 = (p: string) => p.startsWith('HTTP 412: ') && p.includes('/api/conflicts/cases/') && p.endsWith('/transitions');
    const console412 = (p: string) => p === 'console: Failed to load resource: the server responded with a status of 412 (Precondition Failed)';
    expect(viewer.problems.filter(expected412)).toHaveLength(2);
    expect(viewer.problems.filter((p) => !expected412(p) && !console412(p))).toEqual([]);
  });
});
