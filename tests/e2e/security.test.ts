// End-to-end: the service's Content-Security-Policy (server/platform/security.ts) against the pages
// it serves, in Debian's headless Chromium with a `securitypolicyviolation` listener: the public
// viewer (anonymous, a published release), the working viewer (logged in) and the print page
// (web/print.html, as the service's printer opens it) load and draw with no violation at all.
// (Every viewer openViewer opens reports violations among its problems too: helpers/browser.ts.)
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadRules } from '../../server/conflicts/rules';
import { loadRegistry } from '../../server/layers/registry';
import { launchChromium } from '../../server/platform/chromium';
import { planPrint, PrintBody } from '../../server/releases/print';
import { Releases } from '../../server/releases/store';
import { logInBrowser, waitForIdleMap } from '../helpers/browser';
import { publishRelease } from '../helpers/releases';
import { useFileDatabase, useFileServer } from '../helpers/setup';

const db = useFileDatabase({ demo: true });
const srv = useFileServer(db);
let browser: Browser;
let release: number;

type PrintWindow = { __printJob?: unknown; __printReady?: boolean; __printError?: string };

/** A page in a context of its own, every CSP violation and every other problem it meets recorded. */
async function watchedPage(): Promise<{ page: Page; violations: string[]; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const violations: string[] = [];
  const problems: string[] = [];
  await page.exposeFunction('__cspViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __cspViolation(v: string): void }).__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return { page, violations, problems };
}

beforeAll(async () => {
  release = (await publishRelease(srv.baseUrl, db.knex, { title: '大同市五规合一一张图' })).number;
  browser = await launchChromium();
}, 300_000);

afterAll(() => browser?.close());

describe('the content security policy', () => {
  test('is on the viewer, and the public viewer loads and draws the release with no violation', async () => {
    const { page, violations, problems } = await watchedPage();
    const answer = await page.goto(srv.baseUrl);
    expect(answer!.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await waitForIdleMap(page);
    // The listener works: an inline script the policy must refuse is reported.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.head.append(s);
    });
    await expect.poll(() => violations.length).toBe(1);
    expect(violations[0]).toMatch(/^script-src-elem blocked inline/);
    expect(await page.evaluate(() => (window as unknown as { __inline?: number }).__inline)).toBeUndefined();
    violations.length = 0;
    problems.length = 0; // Chromium's own console line for it
    // Drawn again elsewhere (new tiles, glyphs, the worker at work): still none.
    await page.evaluate(() => (window as unknown as { __onemap: { map: { jumpTo(o: object): void } } }).__onemap.map.jumpTo({ center: [113.3, 40.08], zoom: 12 }));
    await waitForIdleMap(page);
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('the working viewer (logged in) loads and draws with no violation', async () => {
    const { page, violations, problems } = await watchedPage();
    await logInBrowser(page, srv.baseUrl, 'admin');
    await page.goto(srv.baseUrl);
    await waitForIdleMap(page);
    await page.evaluate(() => (window as unknown as { __onemap: { map: { jumpTo(o: object): void } } }).__onemap.map.jumpTo({ center: [113.3, 40.08], zoom: 13 }));
    await waitForIdleMap(page);
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('the OGC API’s HTML pages, working (logged in) and a release’s (anonymous), read well with no violation and no request elsewhere', async () => {
    for (const [who, pages] of [
      ['admin', ['/ogcapi', '/ogcapi/conformance', '/ogcapi/collections', '/ogcapi/collections/pv_sites', '/ogcapi/collections/pv_sites/queryables', '/ogcapi/collections/landuse_plan/items?limit=40', '/ogcapi/collections/pv_sites/items/1?lang=en']],
      [null, [`/releases/${release}/ogcapi`, `/releases/${release}/ogcapi/collections`, `/releases/${release}/ogcapi/collections/districts/items`, `/releases/${release}/ogcapi/collections/eco_redline?lang=en`]],
    ] as const) {
      const { page, violations, problems } = await watchedPage();
      const elsewhere: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(srv.baseUrl) && !r.url().startsWith('data:')) elsewhere.push(r.url());
      });
      if (who) await logInBrowser(page, srv.baseUrl, who);
      for (const path of pages) {
        // As a browser asks (Accept: text/html …), no f=html.
        const answer = await page.goto(`${srv.baseUrl}${path}`);
        expect(answer!.status(), path).toBe(200);
        expect(answer!.headers()['content-type'], path).toMatch(/^text\/html/);
        // The stylesheet is applied (the header band), and the page is in its language.
        expect(await page.evaluate(() => getComputedStyle(document.querySelector('header')!).backgroundColor), path).toBe('rgb(243, 245, 247)');
        expect(await page.evaluate(() => document.documentElement.lang), path).toBe(path.includes('lang=en') ? 'en' : 'zh-CN');
        // Its JSON alternate answers JSON.
        const alternate = await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel=alternate]')!.href);
        expect((await page.request.get(alternate)).headers()['content-type'], alternate).toMatch(/json/);
      }
      await page.screenshot({ path: `/tmp/shots/ogcapi-html-${who ?? 'public'}.png`, fullPage: true });
      // Items and one feature draw their map; the release's items page pages on.
      expect(await page.locator('figure.map svg path').count()).toBeGreaterThan(0);
      expect(violations, String(who)).toEqual([]);
      expect(problems, String(who)).toEqual([]);
      expect(elsewhere, String(who)).toEqual([]);
    }
  });

  test('the print page lays out and draws a sheet with no violation, its page size set', async () => {
    const registry = loadRegistry();
    const stored = await new Releases(db.knex, registry, loadRules(registry)).read(release, undefined);
    const plan = await planPrint(db.knex, registry, stored, PrintBody.parse({ paper: 'A4', orientation: 'landscape' }));
    const job = { ...plan, styleUrl: `/releases/${release}/style.json` };
    const { page, violations, problems } = await watchedPage();
    await page.addInitScript((j) => {
      (window as unknown as PrintWindow).__printJob = j;
    }, job);
    await page.goto(`${srv.baseUrl}/print.html?release=${release}`);
    await page.waitForFunction(() => {
      const w = window as unknown as PrintWindow;
      return w.__printReady === true || typeof w.__printError === 'string';
    }, null, { timeout: 120_000 });
    expect(await page.evaluate(() => (window as unknown as PrintWindow).__printError)).toBeUndefined();
    // The sheet's @page size, set through the CSSOM rather than an inline <style>.
    expect(await page.evaluate(() => document.adoptedStyleSheets.map((s) => [...s.cssRules].map((r) => r.cssText).join(' ')).join(' '))).toMatch(/@page \{ size: 297mm 210mm/);
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
  });
});
