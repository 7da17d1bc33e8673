// End-to-end: the 导入 (import) panel of the built viewer (web/dist, so `npm run build` first) on the
// real server, in Debian's headless Chromium, on a database of its own (the shared demo database
// stays untouched): a reviewer → validate and commit disabled with the reason; logged out, the
// public viewer has no 导入 at all (the working layers are staff's); 市国土局's plan editor logs in
// from there: validate → report and preview, commit → new revision (recorded under land.editor)
// and fresh tiles, and a refused file → every problem listed with its feature index, commit disabled.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { Feature, FeatureCollection, Polygon } from 'geojson';
import { tileUrl, waitForIdleMap } from '../helpers/browser';
import { as } from '../helpers/auth';
import { getJson } from '../helpers/http';
import { useDemoCopy, useViewer } from '../helpers/setup';

const ARTIFACTS = new URL('../.artifacts/', import.meta.url);
const LAYER = 'landuse_plan';
const PASSWORD = 'datong-demo-2015';

type MapHandle = {
  getSource(id: string): { serialize(): { data?: { features: unknown[] }; tiles?: string[] }; tiles?: string[] } | undefined;
  getLayer(id: string): unknown;
  getBounds(): { getWest(): number; getEast(): number; getSouth(): number; getNorth(): number };
  getStyle(): { layers: { id: string }[] };
};
type TestWindow = { __onemap?: { map: MapHandle } };

/** A 0.002° square with its south-west corner at lon/lat, as a land-use zone. */
function zone(lon: number, lat: number, properties: Record<string, unknown>, id?: string): Feature<Polygon> {
  const d = 0.002;
  return {
    type: 'Feature',
    ...(id ? { id } : {}),
    properties,
    geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] },
  };
}

/** Two valid zones near 113.30, 40.08 (城区), in EPSG:4490 (stated in the 2008 `crs` member GDAL writes). */
const GOOD: FeatureCollection = {
  type: 'FeatureCollection',
  crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4490' } },
  features: [
    zone(113.300, 40.080, { code: '010', zone_no: 'E2E-001' }, 'z1'),
    zone(113.303, 40.081, { code: '010', zone_no: 'E2E-002' }, 'z2'),
  ],
} as FeatureCollection;

/** Feature 0 has a class code the standard does not have, feature 1 lacks its required zone_no. */
const BAD: FeatureCollection = {
  type: 'FeatureCollection',
  crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4490' } },
  features: [
    zone(113.300, 40.080, { code: '999', zone_no: 'E2E-101' }, 'b1'),
    zone(113.303, 40.081, { code: '010' }, 'b2'),
  ],
} as FeatureCollection;

const { knex, srv: server } = useDemoCopy();
let page: Page;
let dir: string;
let goodFile: string;
let badFile: string;
let revisionBefore: number;
let committedRevision: number;


/** Features the import preview shows on the map (0 when there is none). */
function previewSize(p: Page): Promise<number> {
  return p.evaluate(() => (window as unknown as TestWindow).__onemap!.map.getSource('import-preview')?.serialize().data?.features.length ?? 0);
}

/**
 * Logs in through the header's dialog (opening it unless it is open) from the public viewer: the
 * page reloads into the working viewer; waits for its map and the account to show.
 */
async function logIn(p: Page, name: string): Promise<void> {
  if (await p.getByTestId('login-dialog').isHidden()) await p.getByTestId('login-open').click();
  await p.getByTestId('login-dialog').waitFor({ state: 'visible' });
  await p.getByTestId('login-name').fill(name);
  await p.getByTestId('login-password').fill(PASSWORD);
  const loaded = p.waitForEvent('load', { timeout: 60_000 });
  await p.getByTestId('login-submit').click();
  await loaded;
  await waitForIdleMap(p);
  await p.waitForFunction((n) => document.querySelector('[data-testid="auth-area"]')?.getAttribute('data-account') === n, name, { timeout: 30_000 });
}

async function layerInfo(layerId: string): Promise<{ revision: number; featureCount: number }> {
  const r = await getJson<{ layers: { id: string; revision: number; featureCount: number }[] }>(`${server.baseUrl}/api/layers`, { headers: await as(knex, 'admin') });
  expect(r.status).toBe(200);
  return r.body.layers.find((l) => l.id === layerId)!;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'onemap-import-e2e-'));
  goodFile = path.join(dir, '土地用途区-两块.geojson');
  badFile = path.join(dir, 'landuse-bad.geojson');
  writeFileSync(goodFile, JSON.stringify(GOOD));
  writeFileSync(badFile, JSON.stringify(BAD));
  revisionBefore = (await layerInfo(LAYER)).revision;
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
// (opened after the revision before was read, as the panel's tests expect), as 市国土局's reviewer
const viewer = useViewer(server, { as: 'land.reviewer' });
beforeAll(() => {
  page = viewer.page;
});

describe('import panel', () => {
  test('the 导入 button opens the panel in Chinese; nothing can be validated or committed yet', async () => {
    await expect(page.getByTestId('import-open').textContent()).resolves.toBe('导入');
    expect(await page.getByTestId('import-panel').isHidden()).toBe(true);
    await page.getByTestId('import-open').click();
    await page.getByTestId('import-panel').waitFor({ state: 'visible' });
    await expect(page.getByTestId('import-validate').textContent()).resolves.toBe('校验');
    await expect(page.getByTestId('import-commit').textContent()).resolves.toBe('提交');
    expect(await page.getByTestId('import-validate').isDisabled()).toBe(true);
    expect(await page.getByTestId('import-commit').isDisabled()).toBe(true);
    // Layers grouped by plan, each with its owning department.
    const groups = await page.getByTestId('import-layer').locator('optgroup').evaluateAll((els) => els.map((e) => e.getAttribute('label')));
    expect(groups).toContain('土地利用总体规划');
    const option = await page.getByTestId('import-layer').locator(`option[value="${LAYER}"]`).textContent();
    expect(option).toBe('土地用途区 — 市国土局');
  });

  test('a reviewer of 市国土局 may not import: validate and commit disabled, with the reason', async () => {
    await page.getByTestId('import-layer').selectOption(LAYER);
    await page.getByTestId('import-file').setInputFiles(goodFile);
    await page.getByTestId('import-not-allowed').waitFor({ state: 'visible' });
    expect(await page.getByTestId('import-validate').isDisabled()).toBe(true);
    expect(await page.getByTestId('import-commit').isDisabled()).toBe(true);
    await expect(page.getByTestId('import-commit').getAttribute('title')).resolves.toContain('主管部门的规划编辑');
  });

  test('logged out: the public viewer, which has no 导入 (the working layers are staff\'s)', async () => {
    const loaded = page.waitForEvent('load', { timeout: 60_000 });
    await page.getByTestId('logout').click();
    await loaded;
    await page.getByTestId('login-open').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.evaluate(() => document.body.classList.contains('release-viewer'))).toBe(true);
    expect(await page.getByTestId('import-open').count()).toBe(0);
    expect((await layerInfo(LAYER)).revision).toBe(revisionBefore);
  });

  test('validate: a dry run reports 2 features and no problem, and previews them on the map', async () => {
    await logIn(page, 'land.editor'); // 市国土局's plan editor: its own layer
    await page.getByTestId('import-open').click();
    await page.getByTestId('import-panel').waitFor({ state: 'visible' });
    expect(await page.getByTestId('import-not-allowed').count()).toBe(0);
    await page.getByTestId('import-layer').selectOption(LAYER);
    await expect(page.getByTestId('import-layer-info').textContent()).resolves.toContain('市国土局');
    await expect(page.getByTestId('import-layer-revision').textContent()).resolves.toBe(String(revisionBefore));
    await page.getByTestId('import-file').setInputFiles(goodFile);
    expect(await page.getByTestId('import-validate').isDisabled()).toBe(false);
    await page.getByTestId('import-validate').click();

    const report = page.getByTestId('import-report');
    await report.waitFor({ timeout: 60_000 });
    await expect(report.getAttribute('data-ok')).resolves.toBe('true');
    await expect(page.getByTestId('import-feature-count').textContent()).resolves.toBe('2');
    await expect(page.getByTestId('import-format').textContent()).resolves.toBe('GeoJSON');
    await expect(page.getByTestId('import-crs').textContent()).resolves.toContain('EPSG:4490');
    expect(await page.getByTestId('import-problem').count()).toBe(0);
    await expect(page.getByTestId('import-verdict').textContent()).resolves.toContain('校验通过');
    expect(await page.getByTestId('import-commit').isDisabled()).toBe(false);

    // The preview: both features in a GeoJSON source above every other layer, fitted into view.
    expect(await previewSize(page)).toBe(2);
    await waitForIdleMap(page);
    const { top, bounds } = await page.evaluate(() => {
      const map = (window as unknown as TestWindow).__onemap!.map;
      const b = map.getBounds();
      return { top: map.getStyle().layers.at(-1)!.id, bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] };
    });
    expect(top.startsWith('import-preview')).toBe(true);
    const [w, s, e, n] = bounds as [number, number, number, number];
    expect(w).toBeLessThan(113.300);
    expect(e).toBeGreaterThan(113.305);
    expect(s).toBeLessThan(40.080);
    expect(n).toBeGreaterThan(40.083);
    expect(e - w).toBeLessThan(0.2); // zoomed in on the two zones, not the whole city

    // Nothing was written by the dry run.
    expect((await layerInfo(LAYER)).revision).toBe(revisionBefore);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('import.png', ARTIFACTS).pathname });
  });

  test('commit: writes a new revision, shows its number, removes the preview and refreshes the layer tiles', async () => {
    const tilesBefore = await tileUrl(page, LAYER);
    expect(tilesBefore).toMatch(/\?v=\d+$/);
    await page.getByTestId('import-commit').click();
    const revision = page.getByTestId('import-revision');
    await revision.waitFor({ timeout: 60_000 });
    committedRevision = Number(await revision.textContent());
    expect(committedRevision).toBe(revisionBefore + 1);
    // Recorded under the account that committed it.
    const revisions = (await getJson<{ revisions: { revision: number; createdBy: string }[] }>(`${server.baseUrl}/api/layers/${LAYER}/revisions`, { headers: await as(knex, 'admin') })).body.revisions;
    expect(revisions.at(-1)).toMatchObject({ revision: committedRevision, createdBy: 'land.editor' });

    const info = await layerInfo(LAYER);
    expect(info.revision).toBe(committedRevision);
    expect(info.featureCount).toBe(2);
    expect(await previewSize(page)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.getLayer('import-preview-fill') ?? null)).toBeNull();
    // The map asks for the layer's new tiles: their URL carries the new data version.
    await page.waitForFunction(([id, before]) => {
      const s = (window as unknown as TestWindow).__onemap!.map.getSource(id!);
      const url = s?.tiles?.[0] ?? s?.serialize().tiles?.[0];
      return !!url && url !== before;
    }, [LAYER, tilesBefore] as const, { timeout: 30_000 });
    expect(await tileUrl(page, LAYER)).toMatch(/\?v=\d+$/);
    await expect(page.getByTestId('import-layer-revision').textContent()).resolves.toBe(String(committedRevision));
    // A report is used once: committing again needs a new validation.
    expect(await page.getByTestId('import-commit').isDisabled()).toBe(true);
    await waitForIdleMap(page);
  });

  test('a file with a bad class code and a missing zone_no: both problems listed with their feature index, commit stays disabled', async () => {
    await page.getByTestId('import-file').setInputFiles(badFile);
    expect(await page.getByTestId('import-revision').count()).toBe(0);
    await page.getByTestId('import-validate').click();
    const report = page.getByTestId('import-report');
    await report.waitFor({ timeout: 60_000 });
    await expect(report.getAttribute('data-ok')).resolves.toBe('false');
    await expect(page.getByTestId('import-verdict').textContent()).resolves.toContain('发现问题');

    const rows = await page.getByTestId('import-problem').evaluateAll((trs) => trs.map((tr) => ({
      feature: tr.getAttribute('data-feature'),
      code: tr.getAttribute('data-code'),
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
    })));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const codeRow = rows.find((r) => r.feature === '0' && r.cells[3]!.includes('999'));
    const zoneRow = rows.find((r) => r.feature === '1' && r.cells[3]!.includes('zone_no'));
    expect(codeRow, JSON.stringify(rows)).toBeDefined();
    expect(zoneRow, JSON.stringify(rows)).toBeDefined();
    // The first column is the feature index, the third the problem's code with its Chinese name.
    expect(codeRow!.cells[0]).toBe('0');
    expect(zoneRow!.cells[0]).toBe('1');
    expect(codeRow!.code).toBe('code_unknown');
    expect(codeRow!.cells[2]).toBe('分类代码不在标准中code_unknown');
    expect(zoneRow!.code).toBe('attribute_missing');
    // Each problem feature is drawn in the preview (in red).
    expect(await previewSize(page)).toBe(2);
    expect(await page.getByTestId('import-commit').isDisabled()).toBe(true);
    // Nothing was written.
    expect((await layerInfo(LAYER)).revision).toBe(committedRevision);
    await page.screenshot({ path: new URL('import-problems.png', ARTIFACTS).pathname });
  });

  test('the panel follows the language switch', async () => {
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('import-open').textContent()).resolves.toBe('Import');
    await expect(page.getByTestId('import-validate').textContent()).resolves.toBe('Validate');
    await expect(page.getByTestId('import-commit').textContent()).resolves.toBe('Commit');
    await expect(page.getByTestId('import-verdict').textContent()).resolves.toContain('Problems found');
    await expect(page.getByTestId('import-layer').locator(`option[value="${LAYER}"]`).textContent()).resolves.toBe('Land-use zones — Land and Resources Bureau');
    await expect(page.getByTestId('import-layer').inputValue()).resolves.toBe(LAYER);
    await page.getByTestId('lang-switch').click(); // back to Chinese for whoever looks next
    await expect(page.getByTestId('import-validate').textContent()).resolves.toBe('校验');
  });

  test('closing the panel removes the preview', async () => {
    await page.getByTestId('import-close').click();
    expect(await page.getByTestId('import-panel').isHidden()).toBe(true);
    expect(await previewSize(page)).toBe(0);
  });

  test('no console error, failed request or HTTP error happened on the way but the refused dry run', () => {
    // The bad file's dry run answers 422 (the report is in its body): Chromium logs it as an HTTP
    // error and as a "Failed to load resource" console error. Exactly those, once, are expected.
    const refused = `${server.baseUrl}/api/layers/${LAYER}/imports`;
    const expected = [`HTTP 422: ${refused}`, 'console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)'];
    const rest = [...viewer.problems];
    for (const e of expected) {
      const i = rest.indexOf(e);
      if (i >= 0) rest.splice(i, 1);
    }
    expect(viewer.problems).toEqual(expect.arrayContaining([expected[0]]));
    expect(rest).toEqual([]);
  });
});
