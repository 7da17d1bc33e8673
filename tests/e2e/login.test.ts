// End-to-end: logging in from the viewer's header (web/dist, so `npm run build` first) on the real
// server, in Debian's headless Chromium, on a database of its own (it writes to the ledger). The
// page opens anonymously: the public viewer, which calls no working-data route. A wrong password
// shows the server's message; land.reviewer logged in gets the working viewer (the page reloads)
// with its name and 国土局 in the header, which survives a reload (GET /api/auth/me); in the
// conflicts panel it may not comment on a case of another department's rule (the button is
// disabled), and a comment on one of its own is recorded under the account (the write carries the
// session's X-CSRF-Token); 退出 returns to the public viewer, anonymous, the working data refused
// (401); a session an admin revokes while the working viewer is open: the comment is refused by the
// server (401), nothing recorded, and the page goes back to the public viewer.
import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { as } from '../helpers/auth';
import { waitForIdleMap } from '../helpers/browser';
import { getJson } from '../helpers/http';
import { useDemoCopy, useViewer } from '../helpers/setup';

/** Screenshots go here (outside the tree): look at them. */
const SHOTS = '/tmp/onemap-login-e2e';
const PASSWORD = 'datong-demo-2015';

type CaseEvent = { action: string; actor: string; comment: string | null };
type CaseDetail = { id: string; events: CaseEvent[] };

const { db, srv: server } = useDemoCopy();
// Anonymous: the public viewer (no release published here: it says so).
const viewer = useViewer(server, { as: null });
let page: Page;
/** The case commented on. */
let caseId: string;

const api = (path: string) => `${server.baseUrl}${path}`;

async function events(id: string): Promise<CaseEvent[]> {
  const r = await getJson<CaseDetail>(api(`/api/conflicts/cases/${id}`), { headers: await as(db.knex, 'admin') });
  expect(r.status).toBe(200);
  return r.body.events;
}

/** /api/auth/me as the page's browser (its cookie) sees it. */
function me(p: Page): Promise<{ account: { name: string } | null; via?: string }> {
  return p.evaluate(async () => (await fetch('/api/auth/me', { cache: 'no-store' })).json());
}

async function logIn(p: Page, name: string, password: string): Promise<void> {
  await p.getByTestId('login-open').click();
  await p.getByTestId('login-dialog').waitFor({ state: 'visible' });
  await p.getByTestId('login-name').fill(name);
  await p.getByTestId('login-password').fill(password);
  await p.getByTestId('login-submit').click();
}

/** Runs `act` (a login or a logout), which reloads the page into the other viewer, and waits for it to load. */
async function reloadedBy(p: Page, act: () => Promise<void>): Promise<void> {
  const loaded = p.waitForEvent('load', { timeout: 60_000 });
  await act();
  await loaded;
}

/** Whether the page shows the public (release) viewer. */
const publicViewer = (p: Page) => p.evaluate(() => document.body.classList.contains('release-viewer'));

/** The status of a GET the page's browser (its cookie) makes. */
const statusOf = (p: Page, path: string) => p.evaluate(async (u) => (await fetch(u, { cache: 'no-store' })).status, path);

/** Opens the conflicts panel (if closed) and the first listed case, and waits for its detail. */
async function openFirstCase(p: Page): Promise<string> {
  if (await p.getByTestId('conflicts-panel').isHidden()) await p.getByTestId('conflicts-open').click();
  const first = p.getByTestId('cf-case').first();
  await first.waitFor({ timeout: 30_000 });
  const id = (await first.getAttribute('data-id'))!;
  await first.click();
  await p.locator(`[data-testid="cf-detail"][data-loaded="true"]`).waitFor({ timeout: 30_000 });
  return id;
}

async function addComment(p: Page, text: string): Promise<void> {
  const before = await p.locator('[data-testid="cf-event"][data-action="comment"]').count();
  await p.getByTestId('cf-comment').fill(text);
  await p.getByTestId('cf-comment-add').click();
  await p.waitForFunction((n) => document.querySelectorAll('[data-testid="cf-event"][data-action="comment"]').length > n, before, { timeout: 30_000 });
}

beforeAll(() => {
  page = viewer.page;
  mkdirSync(SHOTS, { recursive: true });
});

describe('login', () => {
  test('anonymous at first: the public viewer, a 登录 button, no account; the working data is refused', async () => {
    await page.getByTestId('login-open').waitFor({ state: 'visible' });
    expect(await publicViewer(page)).toBe(true);
    expect(await statusOf(page, '/api/layers')).toBe(401);
    await expect(page.getByTestId('login-open').textContent()).resolves.toBe('登录');
    expect(await page.getByTestId('auth-account').isHidden()).toBe(true);
    expect(await page.getByTestId('logout').isHidden()).toBe(true);
    expect(await page.getByTestId('login-dialog').isHidden()).toBe(true);
    expect((await me(page)).account).toBeNull();
  });

  test('a wrong password: the server\'s message in the dialog, still anonymous', async () => {
    await logIn(page, 'land.reviewer', 'not-the-password');
    await page.getByTestId('login-error').waitFor({ state: 'visible', timeout: 30_000 });
    const text = await page.getByTestId('login-error').textContent();
    expect(text).toContain('the account name or the password is wrong');
    expect(await page.getByTestId('login-dialog').isVisible()).toBe(true);
    expect(await page.getByTestId('login-open').isVisible()).toBe(true);
    expect((await me(page)).account).toBeNull();
    await page.screenshot({ path: `${SHOTS}/login-wrong-password.png` });
  });

  test('land.reviewer logs in: the working viewer, its name and 国土局 in the header, the dialog closed', async () => {
    await page.getByTestId('login-password').fill(PASSWORD);
    await reloadedBy(page, () => page.getByTestId('login-submit').click());
    await waitForIdleMap(page);
    expect(await publicViewer(page)).toBe(false);
    await page.getByTestId('auth-account').waitFor({ state: 'visible', timeout: 30_000 });
    await expect(page.getByTestId('auth-display-name').textContent()).resolves.toBe('市国土局审查员');
    await expect(page.getByTestId('auth-department').textContent()).resolves.toContain('国土局');
    await expect(page.getByTestId('logout').textContent()).resolves.toBe('退出');
    expect(await page.getByTestId('login-open').isHidden()).toBe(true);
    expect(await page.getByTestId('login-dialog').isHidden()).toBe(true);
    expect(await me(page)).toMatchObject({ account: { name: 'land.reviewer' }, via: 'session' });
    await page.getByTestId('app-header').screenshot({ path: `${SHOTS}/header-logged-in.png` });
  });

  test('a reload restores the session from the cookie (GET /api/auth/me)', async () => {
    await page.reload();
    await waitForIdleMap(page);
    await page.getByTestId('auth-account').waitFor({ state: 'visible', timeout: 30_000 });
    await expect(page.getByTestId('auth-display-name').textContent()).resolves.toBe('市国土局审查员');
    await expect(page.getByTestId('auth-department').textContent()).resolves.toContain('国土局');
  });

  test('logged in: a case of other departments’ rule cannot be commented on; one of its own is, recorded under land.reviewer', async () => {
    // A case of an industrial park in the red line (市经信委, 市环保局).
    if (await page.getByTestId('conflicts-panel').isHidden()) await page.getByTestId('conflicts-open').click();
    await page.getByTestId('cf-filter-rule').selectOption('park_in_redline');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="cf-case"]')].every((el) => el.getAttribute('data-rule') === 'park_in_redline'), null, { timeout: 30_000 });
    await openFirstCase(page);
    await expect(page.getByTestId('cf-detail-rule').textContent()).resolves.toContain('产业园区');
    await page.getByTestId('cf-comment').fill('国土局意见');
    expect(await page.getByTestId('cf-comment-add').isDisabled()).toBe(true);
    await expect(page.getByTestId('cf-comment-add').getAttribute('title')).resolves.toBe('当前账号无此权限');
    await page.getByTestId('cf-comment').fill('');
    await page.getByTestId('cf-back').click();
    // A rule of 市国土局's: urban construction land on basic farmland.
    await page.getByTestId('cf-filter-rule').selectOption('urban_construction_on_basic_farmland');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="cf-case"]')].every((el) => el.getAttribute('data-rule') === 'urban_construction_on_basic_farmland'), null, { timeout: 30_000 });
    caseId = await openFirstCase(page);
    const actor = page.getByTestId('cf-actor');
    await expect(actor.inputValue()).resolves.toBe('市国土局审查员');
    expect(await actor.evaluate((el) => (el as HTMLInputElement).readOnly)).toBe(true);
    await addComment(page, '国土局已核实该图斑');
    const last = (await events(caseId)).at(-1)!;
    expect(last).toMatchObject({ action: 'comment', actor: 'land.reviewer', comment: '国土局已核实该图斑' });
    // The audit trail names the account too.
    const audit = await getJson<unknown>(api('/api/audit?actor=land.reviewer'), { headers: await as(db.knex, 'admin') });
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain('国土局已核实该图斑');
    await page.screenshot({ path: `${SHOTS}/conflicts-logged-in.png` });
  });

  test('退出: back to the public viewer, anonymous; the working data is refused (401)', async () => {
    await reloadedBy(page, () => page.getByTestId('logout').click());
    await page.getByTestId('login-open').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await publicViewer(page)).toBe(true);
    expect(await page.getByTestId('auth-account').isHidden()).toBe(true);
    expect(await page.getByTestId('logout').isHidden()).toBe(true);
    expect((await me(page)).account).toBeNull();
    expect(await statusOf(page, `/api/conflicts/cases/${caseId}`)).toBe(401);
    await page.getByTestId('app-header').screenshot({ path: `${SHOTS}/header-logged-out.png` });
  });

  test('a session an admin revokes while the working viewer is open: the comment is refused (401), nothing recorded, back to the public viewer', async () => {
    await reloadedBy(page, () => logIn(page, 'land.reviewer', PASSWORD));
    await waitForIdleMap(page);
    if (await page.getByTestId('conflicts-panel').isHidden()) await page.getByTestId('conflicts-open').click();
    await page.getByTestId('cf-filter-rule').selectOption('urban_construction_on_basic_farmland');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="cf-case"]')].every((el) => el.getAttribute('data-rule') === 'urban_construction_on_basic_farmland'), null, { timeout: 30_000 });
    await openFirstCase(page);
    // The admin revokes every session and token of the account (its own browser keeps the page).
    const revoked = await fetch(api('/api/accounts/land.reviewer/revoke'), { method: 'POST', headers: await as(db.knex, 'admin') });
    expect(revoked.status).toBe(200);
    await page.getByTestId('cf-comment').fill('会话已被撤销后的意见');
    await reloadedBy(page, () => page.getByTestId('cf-comment-add').click());
    await page.getByTestId('login-open').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await publicViewer(page)).toBe(true);
    expect((await me(page)).account).toBeNull();
    expect((await events(caseId)).some((e) => e.comment === '会话已被撤销后的意见')).toBe(false);
    await page.screenshot({ path: `${SHOTS}/session-revoked.png` });
  });

  test('no console error, failed request or HTTP error but the refused wrong password, the working data asked anonymously and the comment of the revoked session', () => {
    // Each 401 is logged by Chromium as an HTTP error and a "Failed to load resource" console error.
    const expected401 = (p: string) =>
      p === `HTTP 401: ${api('/api/auth/login')}` || p === `HTTP 401: ${api('/api/layers')}` || p === `HTTP 401: ${api(`/api/conflicts/cases/${caseId}`)}` ||
      (p.startsWith(`HTTP 401: ${api('/api/conflicts/cases/')}`) && p.endsWith('/comments'));
    const console401 = (p: string) => p === 'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)';
    expect(viewer.problems.filter(expected401)).toHaveLength(4);
    expect(viewer.problems.filter((p) => !expected401(p) && !console401(p))).toEqual([]);
  });
});
