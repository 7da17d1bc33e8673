// End-to-end: the public viewer of the published releases and the staff's 成果发布 panel, on the
// real server (its own demo database: two releases are published, the land-use plan revised between
// them) in Debian's headless Chromium. An anonymous visitor sees the current release with the 审图号
// and the release date on the map, the list of both releases, and switches between them, with no
// request to a working-data route; compares them: the table, the change layer (added/removed/
// changed) and the swipe (卷帘) with its two synchronised maps and a divider that moves; opens the
// second release's 成果包 (the service's archive, its PMTiles file) from disk and the map draws it with no tile request to the
// server (also on the offline page /?pmtiles, which calls no server at all). Staff log in to the
// working viewer: the editor prepares a draft, the reviewer publishes it with its 审图号 and
// withdraws it with a reason. Every console error, failed request or HTTP error fails a test.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { DEMO_PASSWORD } from '../../server/accounts/demo';
import { as } from '../helpers/auth';
import { CHROMIUM_ARGS, waitForIdleMap } from '../helpers/browser';
import { publishRelease, reviseLandusePlan } from '../helpers/releases';
import { useFileDatabase, useFileServer } from '../helpers/setup';

/** Screenshots go here (outside the tree): look at them. */
const SHOTS = '/tmp/onemap-releases-e2e';

type Feature = { layer: { id: string }; properties: Record<string, unknown> };
type MapHandle = {
  loaded(): boolean;
  areTilesLoaded(): boolean;
  once(type: string, fn: () => void): void;
  getStyle(): { metadata?: Record<string, unknown>; sources: Record<string, { url?: string }>; layers: { id: string; metadata?: Record<string, unknown> }[] };
  getCenter(): { lng: number; lat: number };
  getZoom(): number;
  queryRenderedFeatures(options?: { layers?: string[] }): Feature[];
  querySourceFeatures(source: string): Feature[];
  getSource(id: string): unknown;
};
type TestWindow = { __onemap?: { map: MapHandle; swipe?: { left: MapHandle; right: MapHandle } } };

// The archive's tiles at zooms 8–10 only: built in seconds.
const db = useFileDatabase({ demo: true });
const { knex } = db;
const srv = useFileServer(db, { ONEMAP_ARCHIVE_MINZOOM: '8', ONEMAP_ARCHIVE_MAXZOOM: '10' });
let browser: Browser;
/** What went wrong on any page so far. */
const problems: string[] = [];

let first: { number: number; publishedAt: string; reviewNumber: string };
let second: { number: number; publishedAt: string; reviewNumber: string; title: string };
let revised: Awaited<ReturnType<typeof reviseLandusePlan>>;

/** A page in a context of its own (its own cookies), every request it makes recorded. */
async function newPage(): Promise<{ context: BrowserContext; page: Page; requests: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r: Request) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return { context, page, requests };
}

/** The server paths of the working data, which an anonymous visitor is refused. */
function workingRequests(urls: string[]): string[] {
  return urls.filter((u) => {
    const url = new URL(u);
    if (url.origin !== srv.baseUrl) return false;
    const p = url.pathname;
    return p === '/style.json' || p.startsWith('/tiles/') || p.startsWith('/ogcapi') || (p.startsWith('/api/') && !p.startsWith('/api/releases') && !p.startsWith('/api/auth/'));
  });
}

/** The day in China (UTC+8) as the caption writes it: 2026年12月4日. */
function chinaDay(iso: string): string {
  const d = new Date(new Date(iso).getTime() + 8 * 3600_000);
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日`;
}

const text = async (p: Page, testid: string) => (await p.getByTestId(testid).first().textContent())?.trim();

/** Waits until the swipe's two maps have loaded and are idle. */
async function waitForSwipe(p: Page): Promise<void> {
  await p.waitForFunction(() => {
    const s = (window as unknown as TestWindow).__onemap?.swipe;
    return !!s && s.left.loaded() && s.right.loaded() && s.left.areTilesLoaded() && s.right.areTilesLoaded();
  }, null, { timeout: 60_000 });
}

/**
 * The release's 成果包 as the service builds it (POST …/archive as planning's reviewer, zooms 8–10
 * on this server), its PMTiles file downloaded to disk: the release's tiles with the metadata the
 * viewer opens it with (the style on pmtiles://, the pinned registry entries, the release).
 */
async function archivePmtiles(n: number): Promise<string> {
  const built = await fetch(`${srv.baseUrl}/api/releases/${n}/archive`, { method: 'POST', headers: await as(knex, 'planning.reviewer') });
  expect([200, 201], await built.clone().text()).toContain(built.status);
  const name = `release-${n}.pmtiles`;
  const res = await fetch(`${srv.baseUrl}/api/releases/${n}/archive/${name}`);
  expect(res.status).toBe(200);
  const file = `${SHOTS}/${name}`;
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  first = await publishRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图' });
  revised = await reviseLandusePlan(knex, 3);
  second = await publishRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图（修订）' });
  browser = await chromium.launch({ headless: true, executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 300_000);

afterAll(() => browser?.close());

describe('the public viewer (anonymous)', () => {
  let page: Page;
  let requests: string[];
  beforeAll(async () => {
    ({ page, requests } = await newPage());
    await page.goto(srv.baseUrl);
    await waitForIdleMap(page);
  });

  test('shows the current release with the 审图号 and the release date on the map, and lists both releases', async () => {
    await expect(text(page, 'rl-caption-review')).resolves.toBe(`审图号：${second.reviewNumber}`);
    await expect(text(page, 'rl-caption-title')).resolves.toBe(`${second.title} 第${second.number}版 ${chinaDay(second.publishedAt)} 大同市规划局`);
    // Both captions sit over the map, inside it, and are shown.
    const mapBox = (await page.getByTestId('map').boundingBox())!;
    for (const id of ['rl-caption-review', 'rl-caption-title']) {
      const box = (await page.getByTestId(id).boundingBox())!;
      expect(box.width).toBeGreaterThan(50);
      expect(box.y + box.height).toBeLessThanOrEqual(mapBox.y + mapBox.height);
      expect(box.y).toBeGreaterThan(mapBox.y + mapBox.height / 2);
    }
    const items = page.getByTestId('rl-item');
    await expect(items.count()).resolves.toBe(2);
    await expect(items.evaluateAll((els) => els.map((e) => [e.getAttribute('data-number'), e.querySelector('[data-testid="rl-item-status"]')!.textContent]))).resolves.toEqual([
      [String(second.number), '已发布'],
      [String(first.number), '已替代'],
    ]);
    await expect(page.locator('.rl-item.selected').getAttribute('data-number')).resolves.toBe(String(second.number));
    // The tree is the release's: its layers with their legends (class names of the registry entries).
    await page.getByTestId('layer-expand-landuse_plan').click();
    await expect(page.getByTestId('layer-legend-landuse_plan').locator('.legend-name').first().textContent()).resolves.toBe('基本农田保护区');
    // The map draws the release's own tiles.
    const drawn = await page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.queryRenderedFeatures().length);
    expect(drawn).toBeGreaterThan(0);
    const sources = await page.evaluate(() => Object.values((window as unknown as TestWindow).__onemap!.map.getStyle().sources).map((s) => s.url));
    expect(sources).toEqual([`${srv.baseUrl}/releases/${second.number}/tiles.json`]);
    await page.screenshot({ path: `${SHOTS}/public.png` });
  });

  test('no working-data route was called (no /api/layers, /style.json, /tiles/, /ogcapi, conflicts …)', () => {
    expect(requests.some((u) => u.includes(`/releases/${second.number}/tiles/`))).toBe(true);
    expect(workingRequests(requests)).toEqual([]);
  });

  test('a click identifies what the release draws there, from its own tiles', async () => {
    const box = (await page.getByTestId('map').boundingBox())!;
    const pt = await page.evaluate(() => (window as unknown as { __onemap: { map: { project(c: [number, number]): { x: number; y: number } } } }).__onemap.map.project([113.30, 40.08]));
    await page.mouse.click(box.x + pt.x, box.y + pt.y);
    await page.getByTestId('identify-feature').first().waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('identify-feature').count()).toBeGreaterThan(0);
    expect(workingRequests(requests)).toEqual([]);
  });

  test('switching to the earlier release: its caption, its tiles, ?release=1 in the address', async () => {
    await page.locator(`[data-testid="rl-item"][data-number="${first.number}"] button`).click();
    await page.waitForFunction((n) => document.querySelector('[data-testid="rl-caption-title"]')?.getAttribute('data-release') === String(n), first.number);
    await waitForIdleMap(page);
    await expect(text(page, 'rl-caption-review')).resolves.toBe(`审图号：${first.reviewNumber}`);
    await expect(text(page, 'rl-caption-title')).resolves.toContain(`第${first.number}版 ${chinaDay(first.publishedAt)}`);
    expect(new URL(page.url()).searchParams.get('release')).toBe(String(first.number));
    expect(requests.some((u) => u.includes(`/releases/${first.number}/tiles/`))).toBe(true);
    // A reload opens the same release.
    await page.reload();
    await waitForIdleMap(page);
    await expect(page.locator('.rl-item.selected').getAttribute('data-number')).resolves.toBe(String(first.number));
    expect(workingRequests(requests)).toEqual([]);
  });

  test('in English the captions say the same (the date as YYYY-MM-DD), and back in Chinese', async () => {
    await page.getByTestId('lang-switch').click();
    await expect(text(page, 'rl-caption-review')).resolves.toBe(`Map review No.: ${first.reviewNumber}`);
    await expect(text(page, 'rl-caption-title')).resolves.toContain(`Release ${first.number}, `);
    await expect(text(page, 'rl-caption-title')).resolves.toContain('Datong Planning Bureau');
    await page.getByTestId('lang-switch').click();
    await expect(text(page, 'rl-caption-review')).resolves.toBe(`审图号：${first.reviewNumber}`);
  });

  test('comparison: the table lists the land-use plan’s changes in 公顷 and the key totals', async () => {
    await page.getByTestId('rl-compare-open').click();
    await page.getByTestId('rl-cmp-table').waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('rl-cmp-from').inputValue()).resolves.toBe(String(first.number));
    await expect(page.getByTestId('rl-cmp-to').inputValue()).resolves.toBe(String(second.number));
    const row = page.locator('[data-testid="rl-cmp-layer"][data-layer="landuse_plan"]');
    await expect(row.getByTestId('rl-cmp-changed').textContent()).resolves.toBe(String(revised.changed));
    await expect(row.getByTestId('rl-cmp-removed').textContent()).resolves.toBe('1');
    await expect(row.getByTestId('rl-cmp-added').textContent()).resolves.toBe('0');
    const farmland = await page.locator('[data-testid="rl-cmp-total"][data-id="basic_farmland"] [data-testid="rl-cmp-total-change"]').textContent();
    expect(farmland).toMatch(/^−[\d,]+\.\d{2}$/);
    const removedFarmland = revised.removedCode === '010' ? revised.removedArea_m2 : 0;
    expect(Number(farmland!.slice(1).replace(/,/g, ''))).toBeCloseTo((revised.changedArea_m2 + removedFarmland) / 10_000, 1);
  });

  test('comparison: the change layer draws the changed and removed zones over the map, with its legend', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid="rl-compare-panel"]')?.getAttribute('data-changes') !== null, null, { timeout: 60_000 });
    await expect(page.getByTestId('rl-change-layer').inputValue()).resolves.toBe('landuse_plan');
    await expect(page.getByTestId('rl-change-count-changed').textContent()).resolves.toBe(String(revised.changed));
    await expect(page.getByTestId('rl-change-count-removed').textContent()).resolves.toBe('1');
    await expect(page.getByTestId('rl-change-count-added').textContent()).resolves.toBe('0');
    await waitForIdleMap(page);
    const kinds = await page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.querySourceFeatures('onemap-changes').map((f) => f.properties._change));
    expect(new Set(kinds)).toEqual(new Set(['changed', 'removed']));
    const drawn = await page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.queryRenderedFeatures({ layers: ['onemap-changes:fill', 'onemap-changes:line'] }).length);
    expect(drawn).toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/changes.png` });
  });

  test('swipe (卷帘): two maps, release 1 left and release 2 right, moving together; the divider moves', async () => {
    await page.getByTestId('rl-swipe-toggle').click();
    await waitForSwipe(page);
    await expect(page.locator('.rl-swipe canvas.maplibregl-canvas').count()).resolves.toBe(2);
    const numbers = await page.evaluate(() => {
      const s = (window as unknown as TestWindow).__onemap!.swipe!;
      const n = (m: MapHandle) => (m.getStyle().metadata?.['onemap:release'] as { number: number } | undefined)?.number ?? Number(/releases\/(\d+)\//.exec(Object.values(m.getStyle().sources)[0]?.url ?? '')?.[1]);
      return [n(s.left), n(s.right)];
    });
    expect(numbers).toEqual([first.number, second.number]);
    await expect(text(page, 'rl-swipe-label-left')).resolves.toContain(`第${first.number}版`);
    await expect(text(page, 'rl-swipe-label-right')).resolves.toContain(`第${second.number}版`);

    const swipe = page.getByTestId('rl-swipe');
    const box = (await swipe.boundingBox())!;
    const before = Number(await swipe.getAttribute('data-position'));
    // It starts in the middle of what the comparison panel leaves of the map.
    const panel = (await page.getByTestId('rl-compare-panel').boundingBox())!;
    const covered = panel.x + panel.width - box.x;
    expect(before).toBeCloseTo(covered + (box.width - covered) / 2, -1);
    const handle = (await page.getByTestId('rl-swipe-divider').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(handle.x + handle.width / 2 + 120, handle.y + handle.height / 2, { steps: 6 });
    await page.mouse.up();
    const after = Number(await swipe.getAttribute('data-position'));
    expect(after - before).toBeGreaterThan(100);
    expect(after - before).toBeLessThan(140);
    await expect(page.getByTestId('rl-swipe-right').evaluate((el) => (el as HTMLElement).style.clipPath)).resolves.toBe(`inset(0px 0px 0px ${after}px)`);
    // Dragging the right map moves the left one with it.
    const c0 = await page.evaluate(() => (window as unknown as TestWindow).__onemap!.swipe!.left.getCenter());
    await page.mouse.move(box.x + box.width - 200, box.y + 300);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 320, box.y + 360, { steps: 8 });
    await page.mouse.up();
    const [l, r] = await page.evaluate(() => {
      const s = (window as unknown as TestWindow).__onemap!.swipe!;
      return [s.left.getCenter(), s.right.getCenter()];
    });
    expect(l.lng).not.toBeCloseTo(c0.lng, 4);
    expect(l.lng).toBeCloseTo(r.lng, 6);
    expect(l.lat).toBeCloseTo(r.lat, 6);
    await waitForSwipe(page);
    await page.screenshot({ path: `${SHOTS}/swipe.png` });
    await page.getByTestId('rl-swipe-toggle').click();
    await expect(page.getByTestId('rl-swipe').count()).resolves.toBe(0);
    await page.getByTestId('rl-compare-close').click();
    expect(workingRequests(requests)).toEqual([]);
  });

  test('opening the second release’s 成果包 (PMTiles) from disk: drawn from the file, no tile request to the server', async () => {
    const file = await archivePmtiles(second.number);
    const from = requests.length;
    await page.getByTestId('rl-pmtiles-input').setInputFiles(file);
    await page.getByTestId('rl-archive-info').waitFor({ timeout: 30_000 });
    await waitForIdleMap(page);
    const sources = await page.evaluate(() => Object.values((window as unknown as TestWindow).__onemap!.map.getStyle().sources).map((s) => s.url));
    expect(sources.every((u) => u?.startsWith('pmtiles://'))).toBe(true);
    const drawn = await page.evaluate(() => (window as unknown as TestWindow).__onemap!.map.queryRenderedFeatures().filter((f) => f.layer.id.startsWith('landuse_plan')).length);
    expect(drawn).toBeGreaterThan(0);
    await expect(text(page, 'rl-caption-review')).resolves.toBe(`审图号：${second.reviewNumber}`);
    await expect(text(page, 'rl-caption-title')).resolves.toContain(`第${second.number}版 ${chinaDay(second.publishedAt)}`);
    const after = requests.slice(from).filter((u) => u.startsWith(srv.baseUrl));
    expect(after.filter((u) => /\/tiles|\.mvt|\/releases\/|\/style\.json/.test(u))).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/archive.png` });
  });

  test('the offline page /?pmtiles opens the archive with no server call but the page’s own files', async () => {
    const { context, page: p, requests: reqs } = await newPage();
    await p.goto(`${srv.baseUrl}/?pmtiles`);
    await waitForIdleMap(p);
    await p.getByTestId('rl-pmtiles-input').setInputFiles(`${SHOTS}/release-${second.number}.pmtiles`);
    await p.getByTestId('rl-archive-info').waitFor({ timeout: 30_000 });
    await waitForIdleMap(p);
    const drawn = await p.evaluate(() => (window as unknown as TestWindow).__onemap!.map.queryRenderedFeatures().length);
    expect(drawn).toBeGreaterThan(0);
    const calls = reqs.filter((u) => u.startsWith(srv.baseUrl)).map((u) => new URL(u).pathname).filter((x) => !/^\/(assets|fonts)\//.test(x) && x !== '/');
    expect(calls).toEqual([]);
    await context.close();
  });
});

describe('printing from the public viewer (专题制图)', () => {
  test('the print dialog prints the current view of the release as a PDF whose text holds the 审图号', async () => {
    const { page, context } = await newPage();
    await page.goto(srv.baseUrl);
    await waitForIdleMap(page);
    await page.getByTestId('rl-print').click();
    await expect(page.getByTestId('print-title').inputValue()).resolves.toContain(second.title);
    const download = page.waitForEvent('download', { timeout: 120_000 });
    await page.getByTestId('print-submit').click();
    const file = `${SHOTS}/viewer-print.pdf`;
    await (await download).saveAs(file);
    const pdf = readFileSync(file);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const words = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    expect(words).toContain(second.reviewNumber);
    expect(words).toContain(second.title);
    await context.close();
  }, 180_000);
});

describe('staff: the 成果发布 panel', () => {
  let page: Page;
  let context: BrowserContext;

  async function logIn(name: string): Promise<void> {
    const res = await page.request.post(`${srv.baseUrl}/api/auth/login`, { data: { name, password: DEMO_PASSWORD } });
    expect(res.status()).toBe(200);
    await page.goto(srv.baseUrl);
    await waitForIdleMap(page);
    await page.getByTestId('releases-open').click();
    await page.getByTestId('rl-staff-item').first().waitFor({ timeout: 30_000 });
  }

  const item = (n: number) => page.locator(`[data-testid="rl-staff-item"][data-number="${n}"]`);

  beforeAll(async () => {
    ({ context, page } = await newPage());
  });
  afterAll(() => context?.close());

  test('the plan editor prepares a draft; it may not publish it (four eyes)', async () => {
    await logIn('planning.editor');
    // The working viewer: its own style.
    const sources = await page.evaluate(() => Object.keys((window as unknown as TestWindow).__onemap!.map.getStyle().sources));
    expect(sources).toContain('landuse_plan');
    await expect(page.getByTestId('rl-staff-item').count()).resolves.toBe(2);
    await page.getByTestId('rl-prepare-open').click();
    await page.getByTestId('rl-prepare-title').fill('大同市五规合一一张图（第三版）');
    await page.getByTestId('rl-prepare-approval').fill('晋政函〔2016〕12号');
    await page.getByTestId('rl-prepare-submit').click();
    await page.getByTestId('rl-notice').waitFor();
    await expect(text(page, 'rl-notice')).resolves.toBe('已生成草稿 第3版');
    await expect(item(3).getAttribute('data-status')).resolves.toBe('draft');
    await expect(item(3).getByTestId('rl-publish').isDisabled()).resolves.toBe(true);
    await page.screenshot({ path: `${SHOTS}/staff.png` });
  });

  test('the reviewer publishes it with its 审图号, then withdraws it with a reason', async () => {
    await context.clearCookies();
    await logIn('planning.reviewer');
    await item(3).getByTestId('rl-publish').click();
    await item(3).getByTestId('rl-publish-review').fill('晋S(2016)003号');
    await item(3).getByTestId('rl-publish-submit').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="rl-staff-item"][data-number="3"]')?.getAttribute('data-status') === 'published', null, { timeout: 30_000 });
    await expect(item(2).getAttribute('data-status')).resolves.toBe('superseded');
    const r3 = await (await fetch(`${srv.baseUrl}/api/releases/3`)).json() as { reviewNumber: string; approvalNumber: string; publishedBy: string };
    expect([r3.reviewNumber, r3.approvalNumber, r3.publishedBy]).toEqual(['晋S(2016)003号', '晋政函〔2016〕12号', 'planning.reviewer']);

    await item(3).getByTestId('rl-withdraw').click();
    await item(3).getByTestId('rl-withdraw-reason').fill('审图号登记有误，重新报审');
    await item(3).getByTestId('rl-withdraw-submit').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="rl-staff-item"][data-number="3"]')?.getAttribute('data-status') === 'withdrawn', null, { timeout: 30_000 });
    expect((await fetch(`${srv.baseUrl}/api/releases/3`)).status).toBe(410);
  });

  test('comparing a release with the working data', async () => {
    await item(2).getByTestId('rl-item-compare').click();
    await page.getByTestId('rl-cmp-table').waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('rl-cmp-to').inputValue()).resolves.toBe('working');
    // Release 2 pins the revised plan: nothing differs from the working data.
    await expect(page.locator('[data-testid="rl-cmp-layer"][data-layer="landuse_plan"] [data-testid="rl-cmp-changed"]').textContent()).resolves.toBe('0');
    await page.getByTestId('rl-swipe-toggle').click();
    await waitForSwipe(page);
    await expect(text(page, 'rl-swipe-label-right')).resolves.toBe('工作数据');
  });
});

test('no console error, failed request or HTTP error happened on any page', () => {
  writeFileSync(`${SHOTS}/problems.json`, JSON.stringify(problems, null, 2));
  expect(problems).toEqual([]);
});
