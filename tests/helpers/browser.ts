// The viewer in Debian's headless Chromium (playwright-core, no browser download), logged in as a
// demo account (the working viewer is staff's), with every console error, page error, failed
// request, HTTP error and Content-Security-Policy violation the page meets collected for a test.
import type { Browser, Page } from 'playwright-core';
import { DEMO_PASSWORD } from '../../server/accounts/demo';
import { CHROMIUM_ARGS, launchChromium } from '../../server/platform/chromium';

/** Flags the sandbox and the closed network need (server/platform/chromium.ts, which the service prints with). */
export { CHROMIUM_ARGS };

/** The part of the MapLibre map the tests use, as the viewer exposes it on window.__onemap. */
type IdleMap = {
  loaded(): boolean;
  areTilesLoaded(): boolean;
  once(type: string, fn: () => void): void;
  project(lngLat: [number, number]): { x: number; y: number };
  getSource(id: string): { tiles?: string[]; serialize(): { tiles?: string[] } } | undefined;
};
type TestWindow = { __onemap?: { map: IdleMap } };

export interface Viewer {
  browser: Browser;
  page: Page;
  /** What went wrong on the page so far; a test expects it empty at the end. */
  problems: string[];
  close(): Promise<void>;
}

export interface ViewerOptions {
  /**
   * The demo account the browser logs in as before the viewer opens (its session cookie is the
   * context's): the working viewer is staff only. Default admin; null opens it anonymously, and
   * then does not wait for the map (the caller waits for what it expects).
   */
  as?: string | null;
}

/** Logs the page's browser context in as a demo account (POST /api/auth/login: the session cookie is the context's). */
export async function logInBrowser(page: Page, baseUrl: string, name: string): Promise<void> {
  const res = await page.request.post(`${baseUrl}/api/auth/login`, { data: { name, password: DEMO_PASSWORD } });
  if (res.status() !== 200) throw new Error(`logging in as ${name}: ${res.status()} ${await res.text()}`);
}

/**
 * Reports every Content-Security-Policy violation on the page's documents (the service's policy,
 * server/platform/security.ts) as a console error "CSP violation: …", so it lands in a viewer's problems.
 */
export async function watchCsp(page: Page): Promise<void> {
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
}

/** Opens the viewer at baseUrl, logged in as `as` (default admin), and waits until the map is idle. */
export async function openViewer(baseUrl: string, { as = 'admin' }: ViewerOptions = {}): Promise<Viewer> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // MapLibre cancels tile requests it no longer needs (net::ERR_ABORTED); those are not failures.
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  await watchCsp(page);
  if (as) await logInBrowser(page, baseUrl, as);
  await page.goto(baseUrl);
  if (as) await waitForIdleMap(page);
  return { browser, page, problems, close: () => browser.close() };
}

/** Resolves when the map has loaded its style and every tile in view. */
export async function waitForIdleMap(p: Page): Promise<void> {
  await p.waitForFunction(() => (window as unknown as TestWindow).__onemap?.map.loaded() === true, null, { timeout: 60_000 });
  await p.evaluate(() => new Promise<void>((resolve) => {
    const map = (window as unknown as TestWindow).__onemap!.map;
    if (map.loaded() && map.areTilesLoaded()) resolve();
    else map.once('idle', () => resolve());
  }));
}

/** Page coordinates of lon/lat points on the map as it is now. */
export async function pagePoints(p: Page, lngLats: [number, number][]): Promise<{ x: number; y: number }[]> {
  const box = (await p.getByTestId('map').boundingBox())!;
  const points = await p.evaluate((ll) => ll.map((c) => (window as unknown as TestWindow).__onemap!.map.project(c)), lngLats);
  return points.map((pt) => ({ x: box.x + pt.x, y: box.y + pt.y }));
}

/** Moves the mouse to each point and clicks there, as a person drawing a shape does. */
export async function clickPoints(p: Page, points: { x: number; y: number }[]): Promise<void> {
  for (const pt of points) {
    await p.mouse.move(pt.x, pt.y);
    await p.mouse.click(pt.x, pt.y);
  }
}

/** The tile URL template the map uses for a source now. */
export function tileUrl(p: Page, source: string): Promise<string | undefined> {
  return p.evaluate((id) => {
    const s = (window as unknown as TestWindow).__onemap!.map.getSource(id);
    return s?.tiles?.[0] ?? s?.serialize().tiles?.[0];
  }, source);
}
