// End-to-end: the 量测 (measure) tool of the built viewer (web/dist, so `npm run build` first) on the
// real server, in Debian's headless Chromium: areas and distances against turf, identify kept quiet.
import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { area, length } from '@turf/turf';
import { clickPoints, pagePoints, waitForIdleMap } from '../helpers/browser';
import { useFileServer, useViewer } from '../helpers/setup';

const ARTIFACTS = new URL('../.artifacts/', import.meta.url);
/** A 0.01° square in 城区 (Chengqu), where every default demo polygon layer has features. */
const SQUARE: [number, number][] = [[113.30, 40.08], [113.31, 40.08], [113.31, 40.09], [113.30, 40.09]];
/** Two points 0.01° of longitude apart at 40.08°N. */
const SEGMENT: [number, number][] = [[113.30, 40.08], [113.31, 40.08]];

type MapHandle = {
  loaded(): boolean;
  areTilesLoaded(): boolean;
  once(type: string, fn: () => void): void;
  fitBounds(bounds: [[number, number], [number, number]], options: { padding: Record<string, number>; animate: boolean }): void;
  project(lngLat: [number, number]): { x: number; y: number };
  getZoom(): number;
  getSource(id: string): { serialize(): { data: { features: unknown[] } } } | undefined;
};
type TestWindow = { __onemap?: { map: MapHandle } };

const server = useFileServer();
const viewer = useViewer(server);
let page: Page;
let problems: string[] = [];

/** The number in a result text such as "≈ 1,234.5678 公顷". */
async function readNumber(p: Page, testid: string, unit: string): Promise<number> {
  const text = (await p.getByTestId(testid).textContent())!;
  expect(text).toMatch(new RegExp(`^≈ [\\d,.]+ ${unit}$`));
  return Number(text.replace(/^≈ /, '').replace(` ${unit}`, '').replaceAll(',', ''));
}

/** Number of features the measure sketch has on the map. */
function sketchSize(p: Page): Promise<number> {
  return p.evaluate(() => (window as unknown as TestWindow).__onemap!.map.getSource('measure')!.serialize().data.features.length);
}

beforeAll(async () => {
  page = viewer.page;
  problems = viewer.problems;
  // Zoom in so that the 0.01° square spans hundreds of pixels (whole-pixel clicks then err by < 0.2 %),
  // clear of the measure control and its result panel in the top-left corner.
  await page.evaluate((sq) => (window as unknown as TestWindow).__onemap!.map.fitBounds([sq[0]!, sq[2]!],
    { padding: { top: 260, left: 300, right: 40, bottom: 40 }, animate: false }), SQUARE);
  await waitForIdleMap(page);
}, 180_000);

describe('measure tool', () => {
  test('shows the 量测 toolbar in Chinese, with no result before a mode is chosen', async () => {
    await expect(page.getByTestId('measure-distance').textContent()).resolves.toBe('距离');
    await expect(page.getByTestId('measure-area').textContent()).resolves.toBe('面积');
    await expect(page.getByTestId('measure-clear').textContent()).resolves.toBe('清除');
    expect(await page.getByTestId('measure-result').isHidden()).toBe(true);
  });

  test('area mode: clicked square, finished by a double-click, matches turf within 0.5 % and identifies nothing', async () => {
    await page.getByTestId('measure-area').click();
    await expect(page.getByTestId('measure-area').getAttribute('aria-pressed')).resolves.toBe('true');
    const pts = await pagePoints(page, SQUARE);
    await clickPoints(page, pts.slice(0, 3));
    const last = pts[3]!;
    await page.mouse.move(last.x, last.y);
    await page.mouse.dblclick(last.x, last.y);

    await expect(page.getByTestId('measure-result').getAttribute('data-state')).resolves.toBe('done');
    const expectedM2 = area({ type: 'Polygon', coordinates: [[...SQUARE, SQUARE[0]!]] });
    const ha = await readNumber(page, 'measure-result-ha', '公顷');
    expect(Math.abs(ha - expectedM2 / 10_000) / (expectedM2 / 10_000)).toBeLessThan(0.005);
    const m2 = await readNumber(page, 'measure-result-m2', '平方米');
    expect(Math.abs(m2 - expectedM2) / expectedM2).toBeLessThan(0.005);
    const mu = await readNumber(page, 'measure-result-mu', '亩');
    expect(mu).toBeCloseTo(m2 * 15 / 10_000, 0);
    // Fill, closed outline and the four vertices (the double-click added no fifth one).
    expect(await sketchSize(page)).toBe(6);

    // The map never saw the clicks: the identify panel still shows its hint, no marker, no feature.
    await expect(page.getByTestId('identify-panel').getAttribute('data-state')).resolves.toBe('hint');
    expect(await page.getByTestId('identify-feature').count()).toBe(0);
    expect(await page.getByTestId('identify-marker').count()).toBe(0);

    await waitForIdleMap(page);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('measure.png', ARTIFACTS).pathname });
  });

  test('distance mode: 0.01° of longitude at 40.08°N matches turf within 0.5 %', async () => {
    await page.getByTestId('measure-distance').click();
    await expect(page.getByTestId('measure-area').getAttribute('aria-pressed')).resolves.toBe('false');
    const zoom = await page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.getZoom());
    const [a, b] = await pagePoints(page, SEGMENT);
    await page.mouse.move(a!.x, a!.y);
    await page.mouse.click(a!.x, a!.y);
    await page.mouse.move(b!.x, b!.y);
    await page.mouse.dblclick(b!.x, b!.y);

    await expect(page.getByTestId('measure-result').getAttribute('data-state')).resolves.toBe('done');
    const expectedKm = length({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: SEGMENT } }, { units: 'kilometers' });
    const km = await readNumber(page, 'measure-result-km', '公里');
    expect(Math.abs(km - expectedKm) / expectedKm).toBeLessThan(0.005);
    const m = await readNumber(page, 'measure-result-m', '米');
    expect(Math.abs(m - expectedKm * 1000) / (expectedKm * 1000)).toBeLessThan(0.005);
    expect(await sketchSize(page)).toBe(3); // the line and its two vertices
    // The double-click finished the line and did not zoom the map.
    await expect(page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.getZoom())).resolves.toBe(zoom);
    expect(await page.getByTestId('identify-feature').count()).toBe(0);
  });

  test('clear removes the drawing and the result, and map clicks identify again', async () => {
    await page.getByTestId('measure-clear').click();
    expect(await sketchSize(page)).toBe(0);
    expect(await page.getByTestId('measure-result').isHidden()).toBe(true);
    await expect(page.getByTestId('measure-distance').getAttribute('aria-pressed')).resolves.toBe('false');

    const [pt] = await pagePoints(page, [[113.305, 40.085]]);
    await page.mouse.move(pt!.x, pt!.y);
    await page.mouse.click(pt!.x, pt!.y);
    await page.getByTestId('identify-feature').first().waitFor({ timeout: 30_000 });
  });

  test('Esc cancels an unfinished measurement', async () => {
    await page.getByTestId('measure-area').click();
    const pts = await pagePoints(page, SQUARE.slice(0, 2));
    for (const pt of pts) {
      await page.mouse.move(pt.x, pt.y);
      await page.mouse.click(pt.x, pt.y);
    }
    expect(await sketchSize(page)).toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    expect(await sketchSize(page)).toBe(0);
    await expect(page.getByTestId('measure-area').getAttribute('aria-pressed')).resolves.toBe('false');
  });

  test('clicking the first vertex closes an area', async () => {
    await page.getByTestId('measure-area').click();
    const pts = await pagePoints(page, [...SQUARE.slice(0, 3), SQUARE[0]!]);
    for (const pt of pts) {
      await page.mouse.move(pt.x, pt.y);
      await page.mouse.click(pt.x, pt.y);
    }
    await expect(page.getByTestId('measure-result').getAttribute('data-state')).resolves.toBe('done');
    expect(await sketchSize(page)).toBe(5); // fill, outline, three vertices
    const expectedHa = area({ type: 'Polygon', coordinates: [[...SQUARE.slice(0, 3), SQUARE[0]!]] }) / 10_000;
    const ha = await readNumber(page, 'measure-result-ha', '公顷');
    expect(Math.abs(ha - expectedHa) / expectedHa).toBeLessThan(0.005);
    await page.getByTestId('measure-clear').click();
    expect(await sketchSize(page)).toBe(0);
  });

  test('the toolbar follows the language switch', async () => {
    await page.getByTestId('lang-switch').click();
    await expect(page.getByTestId('measure-distance').textContent()).resolves.toBe('Distance');
    await expect(page.getByTestId('measure-area').textContent()).resolves.toBe('Area');
    await expect(page.getByTestId('measure-clear').textContent()).resolves.toBe('Clear');
    await page.getByTestId('lang-switch').click(); // back to Chinese for whoever looks next
    await expect(page.getByTestId('measure-distance').textContent()).resolves.toBe('距离');
  });

  test('no console error, failed request or HTTP error happened on the way', () => {
    expect(problems).toEqual([]);
  });
});
