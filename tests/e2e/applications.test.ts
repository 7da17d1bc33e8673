// End-to-end: the joint review (联动审批, issue 5) in the built viewer (web/dist, so `npm run build`
// first) on the real server, in Debian's headless Chromium, on a database of its own (it writes).
// The issue's "done when" path, each account in its own browser context: the window draws a PV
// site that overlaps basic farmland with mouse clicks on the map (the area shown live while
// drawing) and submits it; the report shows the overlap in 公顷 (the API's figure) and routes it
// to 国土局, 发改委 and 规划局; the three reviewers find it in their inboxes and review in parallel;
// 国土局 rejects it (reason required) and the application is rejected; the window amends the site,
// typed as boundary points (界址点) in zone 38, and resubmits; the new check is clean and the three
// departments approve; the timeline shows it all. On the way: a site outside Datong uploaded as
// GeoJSON is refused with the server's code and message, and a correction of a signed opinion.
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, clickPoints, logInBrowser, pagePoints, waitForIdleMap } from '../helpers/browser';
import { useDemoCopy } from '../helpers/setup';

/** Screenshots go here (outside the tree): look at them. */
const SHOTS = '/tmp/shots';
/** Screenshot file names start with this. */
const P = 'applications-';
const REVIEWERS = ['land', 'ndrc', 'planning'] as const;

type MapHandle = {
  fitBounds(b: [[number, number], [number, number]], o: { padding: Record<string, number>; animate: boolean }): void;
  project(ll: [number, number]): { x: number; y: number };
  getSource(id: string): { serialize(): { data: unknown } } | undefined;
  getLayer(id: string): unknown;
  getLayoutProperty(id: string, p: string): unknown;
  getStyle(): { layers: { id: string; metadata?: Record<string, unknown>; layout?: { visibility?: string } }[] };
};
type TestWindow = { __onemap?: { map: MapHandle } };

interface Actor {
  name: string;
  page: Page;
  problems: string[];
}

interface AppJson {
  id: string;
  number: string;
  status: string;
  version: number;
  current: {
    version: number;
    site_area_m2: number;
    check: { verdict: string; rules: { rule: string; area_m2: number; area_ha: number; departments: string[] }[]; alerts: { id: string }[] };
    required: { department: string; opinion: { id: string; decision: string } | null }[];
  };
  opinions: { id: string; department: string; decision: string; corrects: string | null; corrected_by: string | null }[];
  timeline: { kind: string; version: number; department?: string }[];
}

const { db, srv: server } = useDemoCopy();
let browser: Browser;
const actors = new Map<string, Actor>();
/** The PV site: a 220 m square half on basic farmland (lon/lat corners, counter-clockwise, not closed). */
let pvSite: [number, number][];
/** The amended site, clear of basic farmland and every sensitive zone, as zone-38 GK points (X northing, Y easting with the zone number). */
let cleanPoints: { x: number; y: number }[];
let cleanAreaM2: number;
let pvAreaM2: number;
let appId: string;
let appNumber: string;

/** Finds the two sites in the demo data (deterministic, seed 2015). */
async function findSites(): Promise<void> {
  const { rows } = await db.knex.raw(`
    WITH pairs AS (
      SELECT a.fid AS afid, b.fid AS bfid, ST_PointOnSurface(ST_Intersection(ST_Boundary(a.geom), b.geom)) AS c
      FROM plan.landuse_plan a JOIN plan.landuse_plan b ON a.code = '010' AND b.code <> '010' AND ST_Intersects(a.geom, b.geom)
      ORDER BY a.fid, b.fid
    ), sq AS (
      SELECT afid, bfid, ST_Transform(ST_Buffer(ST_Transform(c, 4547), 110, 'endcap=square'), 4490) AS site
      FROM pairs WHERE GeometryType(c) = 'POINT'
    ), moved AS (
      SELECT s.*, ST_Transform(ST_Translate(ST_Transform(s.site, 4547), d.dx, d.dy), 4490) AS clean
      FROM sq s CROSS JOIN (VALUES (400, 0), (-400, 0), (0, 400), (0, -400), (600, 0), (-600, 0), (0, 600), (0, -600)) d(dx, dy)
    ), sensitive AS (
      SELECT geom FROM plan.eco_redline UNION ALL SELECT geom FROM plan.water_source UNION ALL SELECT geom FROM plan.nature_reserve
      UNION ALL SELECT geom FROM plan.subsidence UNION ALL SELECT geom FROM plan.econ_zones WHERE code = 'prohibited'
    )
    SELECT ST_AsGeoJSON(m.site, 9) AS site, ST_AsGeoJSON(ST_Transform(m.clean, 4526), 3) AS clean_gk,
           ST_Area(m.site::geography) AS site_m2, ST_Area(m.clean::geography) AS clean_m2,
           (SELECT sum(ST_Area(ST_Intersection(m.site, l.geom)::geography)) FROM plan.landuse_plan l WHERE l.code = '010' AND ST_Intersects(l.geom, m.site)) AS farmland_m2
    FROM moved m
    WHERE NOT EXISTS (SELECT 1 FROM sensitive x WHERE ST_Intersects(x.geom, ST_Buffer(m.site, 0.003)))
      AND NOT EXISTS (SELECT 1 FROM sensitive x WHERE ST_Intersects(x.geom, ST_Buffer(m.clean, 0.003)))
      AND NOT EXISTS (SELECT 1 FROM plan.landuse_plan x WHERE x.code = '010' AND ST_Intersects(x.geom, ST_Buffer(m.clean, 0.0005)))
      AND ST_CoveredBy(m.clean, (SELECT ST_Union(geom) FROM plan.districts))
    LIMIT 1`);
  expect(rows.length, 'a PV site on the edge of basic farmland with a clean site nearby').toBe(1);
  const r = rows[0];
  const ring = (JSON.parse(r.site).coordinates[0] as [number, number][]).slice(0, -1);
  pvSite = ring;
  pvAreaM2 = Number(r.site_m2);
  expect(Number(r.farmland_m2) / pvAreaM2).toBeGreaterThan(0.1);
  expect(Number(r.farmland_m2) / pvAreaM2).toBeLessThan(0.9);
  cleanAreaM2 = Number(r.clean_m2);
  cleanPoints = (JSON.parse(r.clean_gk).coordinates[0] as [number, number][]).slice(0, -1).map(([e, n]) => ({ x: n, y: e }));
}

async function newActor(name: string): Promise<Actor> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  // Logged in before the page opens: the working viewer is staff's (without an account, the public one).
  await logInBrowser(page, server.baseUrl, name);
  await page.goto(server.baseUrl);
  await waitForIdleMap(page);
  await page.getByTestId('auth-account').waitFor({ state: 'visible', timeout: 30_000 });
  const actor = { name, page, problems };
  actors.set(name, actor);
  return actor;
}

function actor(name: string): Actor {
  const a = actors.get(name);
  if (!a) throw new Error(`no actor ${name}`);
  return a;
}

/** The application as the API gives it to the page's account. */
function apiApplication(p: Page, id: string): Promise<AppJson> {
  return p.evaluate(async (i) => (await fetch(`/api/applications/${i}`, { cache: 'no-store' })).json(), id);
}

async function openPanel(p: Page): Promise<void> {
  if (await p.getByTestId('ap-panel').isHidden()) await p.getByTestId('ap-open').click();
  await p.getByTestId('ap-panel').waitFor({ state: 'visible' });
}

/** Waits until the detail shows the application in the given status (and version). */
async function waitForDetail(p: Page, status: string, version?: number): Promise<void> {
  const sel = `[data-testid="ap-detail"][data-status="${status}"]${version ? `[data-version="${version}"]` : ''}`;
  await p.locator(sel).waitFor({ timeout: 60_000 });
}

/** A reviewer opens its inbox and the application from it. */
async function openFromInbox(p: Page): Promise<void> {
  await openPanel(p);
  await p.getByTestId('ap-tab-inbox').click();
  const item = p.locator(`[data-testid="ap-inbox-item"][data-id="${appId}"]`);
  await item.waitFor({ timeout: 30_000 });
  await item.locator('button').click();
  await p.locator(`[data-testid="ap-detail"][data-id="${appId}"]`).waitFor({ timeout: 30_000 });
}

async function sign(p: Page, decision: 'approve' | 'conditional' | 'reject', text?: string): Promise<void> {
  const form = p.getByTestId('ap-opinion-form');
  await form.waitFor({ timeout: 30_000 });
  await p.getByTestId(`ap-opinion-${decision}`).check();
  if (decision === 'conditional') await p.getByTestId('ap-opinion-conditions').fill(text!);
  if (decision === 'reject') await p.getByTestId('ap-opinion-reason').fill(text!);
  await p.getByTestId('ap-opinion-submit').click();
  await p.getByTestId('ap-opinion-form').waitFor({ state: 'detached', timeout: 30_000 });
}

beforeAll(async () => {
  await findSites();
  browser = await chromium.launch({ headless: true, executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(() => browser?.close());

describe('joint review of a PV site (联动审批)', () => {
  test('anonymous: the public viewer has no 审批 (applications are staff\'s); the window\'s opens on the form', async () => {
    const w = await newActor('window');
    const anon = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await anon.goto(server.baseUrl);
    await anon.getByTestId('login-open').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await anon.evaluate(() => document.body.classList.contains('release-viewer'))).toBe(true);
    expect(await anon.getByTestId('ap-open').count()).toBe(0);
    expect(await anon.evaluate(async () => (await fetch('/api/applications')).status)).toBe(401);
    await anon.close();
    await expect(w.page.getByTestId('ap-open').textContent()).resolves.toBe('审批');
    // The window's panel opens on the application form.
    await openPanel(w.page);
    await w.page.getByTestId('ap-form').waitFor();
    await expect(w.page.getByTestId('ap-tab-new').getAttribute('aria-selected')).resolves.toBe('true');
    expect(await w.page.getByTestId('ap-tab-inbox').count()).toBe(0);
  });

  test('an uploaded site outside Datong is refused with the server\'s code and message', async () => {
    const p = actor('window').page;
    await p.getByTestId('ap-site-mode-upload').click();
    const file = `${SHOTS}/${P}outside-datong.geojson`;
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {},
      geometry: { type: 'Polygon', coordinates: [[[116.30, 39.90], [116.31, 39.90], [116.31, 39.91], [116.30, 39.91], [116.30, 39.90]]] } }] }));
    await p.getByTestId('ap-upload-file').setInputFiles(file);
    await p.getByTestId('ap-upload-send').click();
    const err = p.getByTestId('ap-site-error');
    await err.waitFor({ timeout: 30_000 });
    const code = await err.getAttribute('data-code');
    expect(code).toMatch(/outside|invalid_site/);
    await expect(p.getByTestId('ap-site-error-code').textContent()).resolves.toBe(code);
    expect((await p.getByTestId('ap-site-error-message').textContent())!.length).toBeGreaterThan(10);
    await p.getByTestId('ap-site').screenshot({ path: `${SHOTS}/${P}site-refused.png` });
  });

  test('the window draws the PV site with clicks on the map: the area live in 公顷 and 亩, then the server\'s', async () => {
    const p = actor('window').page;
    await p.getByTestId('ap-name').fill('云州区50兆瓦光伏发电项目');
    await p.getByTestId('ap-type').selectOption('energy');
    await expect(p.getByTestId('ap-type-info').textContent()).resolves.toMatch(/国土局.*发改委.*规划局|发改委|国土局/);
    await p.getByTestId('ap-investor').fill('大同新能源开发有限公司');
    await p.getByTestId('ap-requested-area').fill('4.8');
    await p.getByTestId('ap-site-mode-drawn').click();
    // The site fills the map beside the panel.
    const lons = pvSite.map((c) => c[0]), lats = pvSite.map((c) => c[1]);
    await p.evaluate(([b]) => (window as unknown as TestWindow).__onemap!.map.fitBounds(b, { padding: { top: 200, bottom: 200, left: 560, right: 40 }, animate: false }),
      [[[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]]] as [[number, number], [number, number]][]);
    await waitForIdleMap(p);
    await p.getByTestId('ap-draw-start').click();
    const pts = await pagePoints(p, pvSite);
    await clickPoints(p, pts.slice(0, 3));
    // Three corners and the cursor on the fourth: the live area is the whole square's.
    const last = pts[3]!;
    await p.mouse.move(last.x, last.y);
    const liveHa = Number((await p.getByTestId('ap-draw-ha').textContent())!.replace(/[^\d.]/g, ''));
    expect(Math.abs(liveHa - pvAreaM2 / 10_000) / (pvAreaM2 / 10_000)).toBeLessThan(0.02);
    await expect(p.getByTestId('ap-draw-mu').textContent()).resolves.toMatch(/^[\d,.]+ 亩$/);
    await p.screenshot({ path: `${SHOTS}/${P}form-drawing.png` });
    await p.mouse.dblclick(last.x, last.y);
    const ok = p.getByTestId('ap-site-ok');
    await ok.waitFor({ timeout: 30_000 });
    const serverM2 = Number(await ok.getAttribute('data-area-m2'));
    expect(Math.abs(serverM2 - pvAreaM2) / pvAreaM2).toBeLessThan(0.01);
    await expect(p.getByTestId('ap-site-area').textContent()).resolves.toMatch(/公顷.*亩/);
    await waitForIdleMap(p);
    await p.screenshot({ path: `${SHOTS}/${P}form.png` });
  });

  test('submitted: the report shows the overlap with basic farmland in 公顷 and routes it to 国土局, 发改委 and 规划局', async () => {
    const p = actor('window').page;
    await p.getByTestId('ap-submit').click();
    await waitForDetail(p, 'under_review', 1);
    appId = (await p.getByTestId('ap-detail').getAttribute('data-id'))!;
    appNumber = (await p.getByTestId('ap-number').textContent())!;
    expect(appNumber).toMatch(/^DT-\d{4}-\d{4,}$/);
    const app = await apiApplication(p, appId);
    expect(app.current.check.verdict).toBe('conflicting');
    const rule = app.current.check.rules.find((r) => r.rule === 'pv_on_basic_farmland')!;
    expect(rule).toBeTruthy();
    // The overlap in 公顷 as the API computed it, in the table.
    const row = p.locator('[data-testid="ap-rule"][data-rule="pv_on_basic_farmland"]');
    const shownHa = (await row.getByTestId('ap-rule-ha').textContent())!;
    expect(shownHa).toBe(rule.area_ha.toFixed(4));
    await expect(p.getByTestId('ap-report').textContent()).resolves.toContain('公顷');
    // Routed to the three departments, in the report and in the API.
    expect(app.current.required.map((r) => r.department).sort()).toEqual(['land', 'ndrc', 'planning']);
    const routed = await p.getByTestId('ap-required').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.department).sort());
    expect(routed).toEqual(['land', 'ndrc', 'planning']);
    const routing = (await p.getByTestId('ap-routing').textContent())!;
    for (const d of ['国土局', '发改委', '规划局']) expect(routing).toContain(d);
    // The map: the report's site and overlaps drawn, basic farmland's layer switched on in the tree.
    await p.locator('[data-testid="ap-detail"][data-map-version="1"]').waitFor({ timeout: 30_000 });
    const roles = await p.evaluate(() => {
      const src = (window as unknown as TestWindow).__onemap!.map.getSource('app-report')!.serialize().data as { features: { properties: { role: string } }[] };
      return src.features.map((f) => f.properties.role).sort();
    });
    expect(roles).toContain('site');
    expect(roles).toContain('rule');
    expect(await p.getByTestId('layer-toggle-landuse_plan').isChecked()).toBe(true);
    await waitForIdleMap(p);
    await p.screenshot({ path: `${SHOTS}/${P}report.png` });
    await p.getByTestId('ap-report').screenshot({ path: `${SHOTS}/${P}report-tables.png` });
    // The printable report answers.
    const href = (await p.getByTestId('ap-report-link').getAttribute('href'))!;
    const status = await p.evaluate(async (u) => (await fetch(u)).status, href);
    expect(status).toBe(200);
  });

  test('the three departments find it in their inboxes, with the deadline', async () => {
    for (const d of REVIEWERS) {
      const a = await newActor(`${d}.reviewer`);
      await openPanel(a.page);
      await expect(a.page.getByTestId('ap-tab-inbox').getAttribute('aria-selected')).resolves.toBe('true');
      const item = a.page.locator(`[data-testid="ap-inbox-item"][data-id="${appId}"]`);
      await item.waitFor({ timeout: 30_000 });
      const text = (await item.textContent())!;
      expect(text).toContain(appNumber);
      expect(text).toMatch(/办理时限 \d{4}-\d{2}-\d{2} · (剩 \d+ 个工作日|今日到期)/);
      expect(await item.getAttribute('data-overdue')).toBe('false');
      if (d === 'land') await a.page.screenshot({ path: `${SHOTS}/${P}inbox.png` });
    }
  });

  test('an overdue application is flagged red in the inbox', async () => {
    const p = actor('land.reviewer').page;
    // The deadline is ten working days away: it is moved into the past in the database for this look
    // (the server then counts the working days overdue itself), and put back afterwards.
    const before = await db.knex('application_versions').where({ application_id: Number(appId) }).first(db.knex.raw('deadline::text AS deadline'));
    await db.knex('application_versions').where({ application_id: Number(appId) }).update({ deadline: '2026-01-05' });
    await p.getByTestId('ap-tab-list').click();
    await p.getByTestId('ap-tab-inbox').click();
    const item = p.locator(`[data-testid="ap-inbox-item"][data-id="${appId}"][data-overdue="true"]`);
    await item.waitFor({ timeout: 30_000 });
    await expect(item.getByTestId('ap-item-deadline').textContent()).resolves.toMatch(/超期 \d+ 个工作日/);
    const color = await item.getByTestId('ap-item-deadline').evaluate((el) => getComputedStyle(el).color);
    expect(color).toBe('rgb(220, 38, 38)');
    await p.screenshot({ path: `${SHOTS}/${P}inbox-overdue.png` });
    await db.knex('application_versions').where({ application_id: Number(appId) }).update({ deadline: before.deadline });
    await p.getByTestId('ap-tab-list').click();
    await p.getByTestId('ap-tab-inbox').click();
    await p.locator(`[data-testid="ap-inbox-item"][data-id="${appId}"][data-overdue="false"]`).waitFor({ timeout: 30_000 });
  });

  test('in parallel: 发改委 approves, 规划局 approves with conditions, 国土局 rejects (reason required): rejected', async () => {
    const ndrc = actor('ndrc.reviewer').page, planning = actor('planning.reviewer').page, land = actor('land.reviewer').page;
    await Promise.all([openFromInbox(ndrc), openFromInbox(planning), openFromInbox(land)]);
    // Each sees that its department has to decide, and the form.
    for (const p of [ndrc, planning, land]) await p.getByTestId('ap-your-turn').waitFor();
    await expect(land.getByTestId('ap-your-turn').textContent()).resolves.toContain('待市国土局审查');
    await land.getByTestId('ap-your-turn-go').click();
    await land.getByTestId('ap-opinion-form').scrollIntoViewIfNeeded();
    await waitForIdleMap(land);
    await land.screenshot({ path: `${SHOTS}/${P}opinion-form.png` });
    await Promise.all([sign(ndrc, 'approve'), sign(planning, 'conditional', '光伏阵列须避让规划道路红线，并按规定办理临时用地手续。')]);
    // A rejection without its reason is not sent.
    await land.getByTestId('ap-opinion-reject').check();
    await land.getByTestId('ap-opinion-submit').click();
    await land.getByTestId('ap-notice-opinion').waitFor();
    await expect(land.getByTestId('ap-notice-opinion').textContent()).resolves.toContain('不同意须写明理由');
    await sign(land, 'reject', '项目选址占用基本农田保护区，不符合土地利用总体规划，请调整选址。');
    await waitForDetail(land, 'rejected', 1);
    await expect(land.getByTestId('ap-status').first().textContent()).resolves.toBe('未通过');
    const card = land.locator('[data-testid="ap-required"][data-department="land"]');
    await expect(card.getByTestId('ap-opinion-reason').textContent()).resolves.toContain('占用基本农田');
    await expect(card.getByTestId('ap-signature').textContent()).resolves.toMatch(/[0-9a-f]{8}…[0-9a-f]{8}/);
    await land.screenshot({ path: `${SHOTS}/${P}rejected.png` });
    const app = await apiApplication(land, appId);
    expect(app.status).toBe('rejected');
  });

  test('the window amends the site, typed as 界址点 in zone 38, and resubmits: the new check is clean', async () => {
    const p = actor('window').page;
    await p.reload();
    await waitForIdleMap(p);
    await openPanel(p);
    await p.getByTestId('ap-tab-list').click();
    const item = p.locator(`[data-testid="ap-list-item"][data-id="${appId}"]`);
    await item.waitFor({ timeout: 30_000 });
    expect(await item.getAttribute('data-status')).toBe('rejected');
    await item.locator('button').click();
    await waitForDetail(p, 'rejected', 1);
    await p.getByTestId('ap-amend-open').click();
    await p.getByTestId('ap-amend-note').fill('按国土局意见调整选址，避让基本农田保护区。');
    await p.getByTestId('ap-amend-form').getByTestId('ap-site-mode-points').click();
    const form = p.getByTestId('ap-amend-form');
    await form.getByTestId('ap-points-zone').selectOption('4526');
    // Typed point by point: X the northing, Y the easting with the zone number 38.
    for (const [i, pt] of cleanPoints.entries()) {
      await form.getByTestId('ap-point-x').nth(i).fill(pt.x.toFixed(3));
      await form.getByTestId('ap-point-y').nth(i).fill(pt.y.toFixed(3));
    }
    expect(cleanPoints[0]!.y).toBeGreaterThan(38_000_000);
    // The browser's own conversion (proj4) previews the area before the server sees the points.
    const previewHa = Number((await form.getByTestId('ap-points-ha').textContent())!.replace(/[^\d.]/g, ''));
    expect(Math.abs(previewHa - cleanAreaM2 / 10_000) / (cleanAreaM2 / 10_000)).toBeLessThan(0.01);
    await expect(form.getByTestId('ap-points-problems').textContent()).resolves.toBe('');
    await form.getByTestId('ap-points-send').click();
    const ok = form.getByTestId('ap-site-ok');
    await ok.waitFor({ timeout: 30_000 });
    expect(Math.abs(Number(await ok.getAttribute('data-area-m2')) - cleanAreaM2) / cleanAreaM2).toBeLessThan(0.001);
    await waitForIdleMap(p);
    await p.screenshot({ path: `${SHOTS}/${P}amend-points.png` });
    await form.getByTestId('ap-amend-submit').click();
    await waitForDetail(p, 'under_review', 2);
    await p.getByTestId('ap-rules-none').waitFor();
    await expect(p.getByTestId('ap-report').getByTestId('ap-verdict').first().getAttribute('data-verdict')).resolves.toBe('compliant');
    const app = await apiApplication(p, appId);
    expect(app.version).toBe(2);
    expect(app.current.check.verdict).toBe('compliant');
    expect(app.current.check.rules).toEqual([]);
    expect(app.current.check.alerts).toEqual([]);
    expect(app.current.required.map((r) => r.department).sort()).toEqual(['land', 'ndrc', 'planning']);
    await p.locator('[data-testid="ap-detail"][data-map-version="2"]').waitFor({ timeout: 30_000 });
    await waitForIdleMap(p);
    await p.screenshot({ path: `${SHOTS}/${P}report-clean.png` });
  });

  test('the departments approve the new version (one corrects its opinion on the way): approved', async () => {
    const ndrc = actor('ndrc.reviewer').page, planning = actor('planning.reviewer').page, land = actor('land.reviewer').page;
    for (const p of [ndrc, planning, land]) {
      await p.getByTestId('ap-back').click();
      await p.getByTestId('ap-tab-inbox').click();
    }
    await Promise.all([openFromInbox(ndrc), openFromInbox(land), openFromInbox(planning)]);
    await Promise.all([sign(ndrc, 'approve'), sign(land, 'conditional', '按规定办理用地手续')]);
    // 国土局 corrects its conditional consent to a plain one: a linked new entry, the first kept.
    await land.getByTestId('ap-correct-open').click();
    await land.getByTestId('ap-correction-approve').check();
    await land.getByTestId('ap-correction-submit').click();
    await land.getByTestId('ap-notice-correction').waitFor();
    await expect(land.getByTestId('ap-notice-correction').textContent()).resolves.toContain('更正须写明说明');
    await land.getByTestId('ap-correction-note').fill('用地手续已在预审阶段办结，附加条件不再需要。');
    await land.getByTestId('ap-correction-submit').click();
    await land.getByTestId('ap-correction-form').waitFor({ state: 'detached', timeout: 30_000 });
    const landCard = land.locator('[data-testid="ap-required"][data-department="land"]');
    await expect(landCard.getAttribute('data-decision')).resolves.toBe('approve');
    expect(await landCard.getByTestId('ap-opinion').count()).toBe(2);
    await sign(planning, 'approve');
    await waitForDetail(planning, 'approved', 2);
    const app = await apiApplication(planning, appId);
    expect(app.status).toBe('approved');
    const v2 = app.opinions.filter((o) => o.department === 'land');
    expect(v2.some((o) => o.corrects !== null)).toBe(true);
  });

  test('the window sees it approved, with the whole timeline', async () => {
    const p = actor('window').page;
    await p.getByTestId('ap-back').click();
    await p.getByTestId('ap-filter-status').selectOption('approved');
    const item = p.locator(`[data-testid="ap-list-item"][data-id="${appId}"]`);
    await item.waitFor({ timeout: 30_000 });
    await item.locator('button').click();
    await waitForDetail(p, 'approved', 2);
    expect(await p.getByTestId('ap-amend-open').count()).toBe(0);
    expect(await p.getByTestId('ap-withdraw-open').count()).toBe(0);
    const kinds = await p.getByTestId('ap-event').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.kind}@${(e as HTMLElement).dataset.version}`));
    expect(kinds[0]).toBe('submitted@1');
    expect(kinds.filter((k) => k === 'opinion@1')).toHaveLength(3);
    expect(kinds).toContain('rejected@1');
    expect(kinds).toContain('resubmitted@2');
    expect(kinds.filter((k) => k === 'opinion@2')).toHaveLength(3);
    expect(kinds).toContain('correction@2');
    expect(kinds.at(-1)).toBe('approved@2');
    const versions = await p.getByTestId('ap-version-row').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.version}:${(e as HTMLElement).dataset.outcome}`));
    expect(versions).toContain('2:approved');
    expect(versions.find((v) => v.startsWith('1:'))).toMatch(/^1:(superseded|rejected)$/);
    const timeline = (await p.getByTestId('ap-timeline').textContent())!;
    expect(timeline).toContain('不同意：市国土局');
    expect(timeline).toContain('按国土局意见调整选址');
    expect(timeline).not.toContain('[object');
    await p.getByTestId('ap-timeline').scrollIntoViewIfNeeded();
    await p.screenshot({ path: `${SHOTS}/${P}timeline.png` });
    // Re-checked against today's plans: the approval data now hold this very project (published on approval).
    await p.getByTestId('ap-recheck').click();
    const result = p.locator('[data-testid="ap-recheck-result"] [data-reproduced]');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.getAttribute('data-reproduced')).toBe('false');
    expect(await result.textContent()).toMatch(/已审批项目·能源\/光伏：无 → [\d.]+ 公顷/);
  });

  test('a second application, its site pasted as a 界址点 table, is withdrawn by the window', async () => {
    const p = actor('window').page;
    await p.getByTestId('ap-tab-new').click();
    await p.getByTestId('ap-name').fill('云州区储能电站项目');
    await p.getByTestId('ap-type').selectOption('energy');
    await p.getByTestId('ap-investor').fill('大同储能科技有限公司');
    const form = p.getByTestId('ap-form');
    await form.getByTestId('ap-site-mode-points').click();
    await form.getByTestId('ap-points-zone').selectOption('4526');
    await form.getByTestId('ap-points-paste-open').click();
    // As copied from a spreadsheet: a header, tab-separated, the first point repeated at the end.
    const table = ['点号\tX\tY', ...cleanPoints.map((pt, i) => `J${i + 1}\t${pt.x.toFixed(3)}\t${pt.y.toFixed(3)}`),
      `J1\t${cleanPoints[0]!.x.toFixed(3)}\t${cleanPoints[0]!.y.toFixed(3)}`].join('\n');
    await form.getByTestId('ap-points-paste').fill(table);
    await form.getByTestId('ap-points-paste-apply').click();
    expect(await form.getByTestId('ap-point-x').count()).toBe(cleanPoints.length + 1);
    await expect(form.getByTestId('ap-points-problems').textContent()).resolves.toBe('');
    // The wrong zone: the easting carries the zone number 38, EPSG:4547 has none.
    await form.getByTestId('ap-points-zone').selectOption('4547');
    await expect(form.getByTestId('ap-points-problems').textContent()).resolves.toContain('Y 含带号');
    await form.getByTestId('ap-points-zone').selectOption('4526');
    await form.getByTestId('ap-points-send').click();
    await form.getByTestId('ap-site-ok').waitFor({ timeout: 30_000 });
    await p.getByTestId('ap-submit').click();
    await waitForDetail(p, 'under_review', 1);
    const id = (await p.getByTestId('ap-detail').getAttribute('data-id'))!;
    expect(id).not.toBe(appId);
    await p.getByTestId('ap-rules-none').waitFor();
    await p.getByTestId('ap-withdraw-open').click();
    await p.getByTestId('ap-withdraw-submit').click();
    await expect(p.getByTestId('ap-notice-withdraw').textContent()).resolves.toContain('请写明撤回原因');
    await p.getByTestId('ap-withdraw-reason').fill('建设单位申请撤回，另行选址。');
    await p.getByTestId('ap-withdraw-submit').click();
    await waitForDetail(p, 'withdrawn', 1);
    const kinds = await p.getByTestId('ap-event').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind));
    expect(kinds).toEqual(['submitted', 'withdrawn']);
    expect((await apiApplication(p, id)).status).toBe('withdrawn');
    // The list, filtered by status.
    await p.getByTestId('ap-back').click();
    await p.getByTestId('ap-tab-list').click();
    await p.getByTestId('ap-filter-status').selectOption('withdrawn');
    await p.locator(`[data-testid="ap-list-item"][data-id="${id}"]`).waitFor({ timeout: 30_000 });
    expect(await p.locator(`[data-testid="ap-list-item"][data-id="${appId}"]`).count()).toBe(0);
    await p.getByTestId('ap-filter-status').selectOption('');
    await p.locator(`[data-testid="ap-list-item"][data-id="${appId}"]`).waitFor({ timeout: 30_000 });
    // By department: 环保局 reviews neither, 国土局 both.
    await p.getByTestId('ap-filter-department').selectOption('env');
    await p.locator('[data-testid="ap-list-count"][data-total="0"]').waitFor({ timeout: 30_000 });
    await p.getByTestId('ap-filter-department').selectOption('land');
    await p.locator('[data-testid="ap-list-count"][data-total="2"]').waitFor({ timeout: 30_000 });
    await p.screenshot({ path: `${SHOTS}/${P}list.png` });
    await p.locator(`[data-testid="ap-list-item"][data-id="${appId}"]`).locator('button').click();
    await waitForDetail(p, 'approved', 2);
  });

  test('English second: the panel follows the language switch', async () => {
    const p = actor('window').page;
    await p.getByTestId('lang-switch').click();
    await expect(p.locator('#ap-title').textContent()).resolves.toBe('Joint review of project sites');
    await expect(p.getByTestId('ap-status').first().textContent()).resolves.toBe('Approved');
    await expect(p.getByTestId('ap-open').textContent()).resolves.toBe('Review');
    await p.getByTestId('ap-detail').locator('.ap-head').scrollIntoViewIfNeeded();
    await p.screenshot({ path: `${SHOTS}/${P}english.png` });
    await p.getByTestId('lang-switch').click();
    await expect(p.locator('#ap-title').textContent()).resolves.toBe('项目选址联动审批');
  });

  test('no console error, failed request or HTTP error on any page but the refusal provoked on purpose', () => {
    const provoked = (s: string) => s.startsWith('HTTP 4') && s.includes('/api/applications/sites')
      || /^console: Failed to load resource: the server responded with a status of 4\d\d/.test(s);
    for (const a of actors.values()) expect(a.problems.filter((s) => !provoked(s)), a.name).toEqual([]);
    expect(actor('window').problems.filter((s) => s.startsWith('HTTP 4'))).toHaveLength(1);
  });
});
