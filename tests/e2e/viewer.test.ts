// End-to-end: the real server (in-process, fresh test database with the demo data) serving the
// built viewer (web/dist, so `npm run build` first), driven in Debian's headless Chromium: the
// working viewer, logged in as the admin (tests/helpers/browser.ts openViewer).
import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { asStaff } from '../helpers/auth';
import { waitForIdleMap } from '../helpers/browser';
import { useFileServer, useViewer } from '../helpers/setup';

/** Centre of 城区 (Chengqu), Datong's old city: every default demo polygon layer covers it. */
const CHENGQU: [number, number] = [113.30, 40.08];
const ARTIFACTS = new URL('../.artifacts/', import.meta.url);

type RegistryLayer = { id: string; geometry: string; visible: boolean };
type MapHandle = {
  loaded(): boolean;
  areTilesLoaded(): boolean;
  once(type: string, fn: () => void): void;
  getStyle(): { layers: { id: string; metadata?: Record<string, unknown>; layout?: { visibility?: string } }[] };
  getLayoutProperty(layerId: string, name: string): unknown;
  project(lngLat: [number, number]): { x: number; y: number };
};
/** The page's window as the viewer exposes it to tests (types only: evaluated code is serialised). */
type TestWindow = { __onemap?: { map: MapHandle } };

const server = useFileServer();
const viewer = useViewer(server);
let page: Page;
/** Console errors, page errors, failed requests and HTTP errors seen by the page. */
let problems: string[] = [];

/** Visibility of the style layers that belong to registry layer id, as the map has them. */
function styleVisibility(p: Page, id: string): Promise<string[]> {
  return p.evaluate((layerId) => {
    const map = (window as unknown as TestWindow).__onemap!.map;
    return map.getStyle().layers
      .filter((l) => l.metadata?.['onemap:layer'] === layerId)
      .map((l) => String(map.getLayoutProperty(l.id, 'visibility') ?? 'visible'));
  }, id);
}

beforeAll(() => {
  page = viewer.page;
  problems = viewer.problems;
});

describe('viewer', () => {
  test('shows the Chinese title and the plan groups from the API in the layer tree', async () => {
    await expect(page.getByTestId('app-title').textContent()).resolves.toBe('大同市五规合一一张图');
    const res = await fetch(`${server.baseUrl}/api/layers`, asStaff());
    const { groups, layers } = await res.json() as { groups: { id: string; zh: string }[]; layers: RegistryLayer[] };
    for (const g of groups.filter((g) => layers.some((l) => (l as { group?: string }).group === g.id))) {
      await expect(page.getByTestId(`layer-group-${g.id}`).locator('h3').textContent()).resolves.toBe(g.zh);
    }
  });

  test('toggling a layer in the tree hides and shows its style layers', async () => {
    const { layers } = await (await fetch(`${server.baseUrl}/api/layers`, asStaff())).json() as { layers: RegistryLayer[] };
    const layer = layers.find((l) => l.visible);
    expect(layer, 'a layer visible by default').toBeDefined();
    const id = layer!.id;
    const toggle = page.getByTestId(`layer-toggle-${id}`);
    expect(await styleVisibility(page, id)).not.toContain('none');

    await toggle.uncheck();
    const hidden = await styleVisibility(page, id);
    expect(hidden.length).toBeGreaterThan(0);
    expect(hidden.every((v) => v === 'none')).toBe(true);

    await toggle.check();
    expect((await styleVisibility(page, id)).every((v) => v === 'visible')).toBe(true);
    await waitForIdleMap(page);
  });

  test('clicking the map identifies the polygon features there with their area in 公顷 and 亩', async () => {
    const point = await page.evaluate((lngLat) => (window as unknown as TestWindow).__onemap!.map.project(lngLat), CHENGQU);
    const box = (await page.getByTestId('map').boundingBox())!;
    await page.mouse.move(box.x + point.x, box.y + point.y);
    await page.mouse.click(box.x + point.x, box.y + point.y);

    const panel = page.getByTestId('identify-panel');
    await panel.getByTestId('identify-feature').first().waitFor({ timeout: 30_000 });
    expect(await panel.getByTestId('identify-feature').count()).toBeGreaterThan(0);
    await expect(panel.getByTestId('identify-area-ha').first().textContent()).resolves.toMatch(/^[\d,.]+ 公顷$/);
    await expect(panel.getByTestId('identify-area-mu').first().textContent()).resolves.toMatch(/^[\d,.]+ 亩$/);
    // The cursor read-out follows the mouse: CGCS2000 degrees and EPSG:4547 metres.
    await expect(page.getByTestId('coords-lonlat').textContent()).resolves.toMatch(/^113\.\d{6}°E, 40\.\d{6}°N$/);
    await expect(page.getByTestId('coords-gk').textContent()).resolves.toMatch(/^X 44\d{5}\.\d{3} m, Y 4\d{5}\.\d{3} m$/);

    await waitForIdleMap(page);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('viewer.png', ARTIFACTS).pathname });
  });

  test('the language switch turns the interface to English and remembers it', async () => {
    // MapLibre's own controls speak the interface language too.
    const zoomTitles = () => page.locator('.maplibregl-ctrl-zoom-in, .maplibregl-ctrl-zoom-out').evaluateAll((bs) => bs.map((b) => b.getAttribute('title')));
    await expect(zoomTitles()).resolves.toEqual(['放大', '缩小']);
    await expect(page.locator('.maplibregl-ctrl-scale').textContent()).resolves.toMatch(/^\d+\s(米|公里)$/);
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('app-title').textContent()).resolves.toBe('Datong One Map — Five Plans in One');
    await expect(zoomTitles()).resolves.toEqual(['Zoom in', 'Zoom out']);
    await expect(page.locator('.maplibregl-ctrl-scale').textContent()).resolves.toMatch(/^\d+\s(m|km)$/);
    expect(await page.locator('.maplibregl-ctrl-zoom-in').count()).toBe(1); // made again, not added twice
    await expect(page.evaluate(() => localStorage.getItem('onemap.lang'))).resolves.toBe('en');
    await page.reload();
    await waitForIdleMap(page);
    await expect(page.getByTestId('app-title').textContent()).resolves.toBe('Datong One Map — Five Plans in One');
    await page.getByTestId('lang-switch').click(); // back to Chinese for whoever looks next
  });

  test('no console error, failed request or HTTP error happened on the way', () => {
    expect(problems).toEqual([]);
  });
});
