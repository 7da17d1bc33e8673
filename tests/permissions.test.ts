// The permission matrix (issue 5, item 2; issue 12, item 2): every write endpoint of the service,
// the reads of the working data and the admin-only reads, and the public reads × every kind of
// caller — anonymous, a session cookie without its CSRF header, an expired session, a revoked
// token, a deactivated account, the window, each department's reviewer and plan editor, an admin
// by token and by session. Each cell expects what the table says: 401 for those without a valid
// account (the working data too: OGC API, tiles, style, layers, revisions, diff, exports, the
// ledger, reports, applications), 403 for an account without the role or department, and success
// where allowed (a real success: the write happens, as the account); a public read answers
// everyone. A refused request must have written nothing (every table's row count, the cases'
// versions, the accounts, the audit trail).
//
// The rows are a table so more can be added; every row runs.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount, issueCredential, revokeCredential, type Role } from '../server/accounts/accounts';
import { DEMO_PASSWORD } from '../server/accounts/demo';
import { PROJECT_ROOT } from '../server/platform/config';
import { tileContaining } from '../server/tiles/mvt';
import { tokenFor } from './helpers/auth';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();

// --- who calls ----------------------------------------------------------------------------------

interface Who {
  roles: Role[];
  department: string | null;
}

interface Identity {
  label: string;
  /** The account behind it; null: the request must be taken as anonymous (401). */
  account: (Who & { name: string }) | null;
  /** A session cookie without its CSRF token counts for reads (GET) only. */
  readsOnly?: boolean;
  headers(): Promise<Record<string, string>>;
}

const DEPARTMENTS = ['ndrc', 'land', 'planning', 'env', 'industry', 'coal'];
const identities: Identity[] = [];

async function login(name: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${srv.baseUrl}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password: DEMO_PASSWORD }) });
  expect(res.status).toBe(200);
  const cookie = /onemap_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  return { cookie, csrf: (await res.json()).csrf };
}

async function buildIdentities() {
  const accounts = new Map<string, Who & { name: string }>(
    (await knex('accounts').select('name', 'roles', 'department')).map((a: Who & { name: string }) => [a.name, a]),
  );
  const bearer = (name: string): Identity => ({ label: name, account: accounts.get(name)!, headers: async () => ({ Authorization: `Bearer ${await tokenFor(knex, name)}` }) });

  identities.push({ label: 'anonymous', account: null, headers: async () => ({}) });
  const noCsrf = await login('admin');
  identities.push({ label: 'admin session without X-CSRF-Token', account: accounts.get('admin')!, readsOnly: true, headers: async () => ({ Cookie: noCsrf.cookie }) });
  const expired = await login('admin');
  await knex('credentials').where('token_sha256', knex.raw("encode(sha256(convert_to(?, 'UTF8')), 'hex')", [decodeURIComponent(expired.cookie.split('=')[1])])).update({ expires_at: knex.raw("now() - interval '1 second'") });
  identities.push({ label: 'expired admin session', account: null, headers: async () => ({ Cookie: expired.cookie, 'X-CSRF-Token': expired.csrf }) });
  const adminId = (await knex('accounts').where({ name: 'admin' }).first('id')).id;
  const revoked = await issueCredential(knex, adminId, 'token', { label: 'revoked', ttlMs: 86_400_000 });
  await revokeCredential(knex, revoked.id);
  identities.push({ label: 'revoked admin token', account: null, headers: async () => ({ Authorization: `Bearer ${revoked.token}` }) });
  const gone = await createAccount(knex, { name: 'matrix.gone', display_name: '已停用', department: null, roles: ['admin'], password: 'matrix-gone-password' });
  const goneToken = await issueCredential(knex, gone.id, 'token', { label: 'gone', ttlMs: 86_400_000 });
  await knex('accounts').where({ id: gone.id }).update({ active: false });
  identities.push({ label: 'deactivated admin', account: null, headers: async () => ({ Authorization: `Bearer ${goneToken.token}` }) });

  identities.push(bearer('window'));
  for (const d of DEPARTMENTS) identities.push(bearer(`${d}.reviewer`), bearer(`${d}.editor`));
  identities.push(bearer('admin'));
  // An admin's browser session with its CSRF token (logged in again if a row logged it out).
  let session = await login('admin');
  identities.push({
    label: 'admin session',
    account: accounts.get('admin')!,
    headers: async () => {
      const me = await (await fetch(`${srv.baseUrl}/api/auth/me`, { headers: { Cookie: session.cookie } })).json();
      if (!me.account) session = await login('admin');
      return { Cookie: session.cookie, 'X-CSRF-Token': session.csrf };
    },
  });
}

// --- who may (the rules of README "Roles and permissions", written out independently of the server) ---

const isAdmin = (a: Who) => a.roles.includes('admin');
const has = (a: Who, roles: Role[], departments?: string[]) => roles.some((r) => a.roles.includes(r)) && (!departments || (a.department !== null && departments.includes(a.department)));
const layerDepartment = (layerId: string): string => JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'layers/registry', `${layerId}.json`), 'utf8')).department;
const ruleDepartments = (ruleId: string): string[] => JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'layers/conflict-rules.json'), 'utf8')).rules.find((r: { id: string }) => r.id === ruleId).departments;

const mayWriteLayer = (layerId: string) => (a: Who) => isAdmin(a) || has(a, ['plan_editor'], [layerDepartment(layerId)]);
const mayRun = (a: Who) => isAdmin(a) || has(a, ['reviewer', 'plan_editor'], ['planning']);
const mayComment = (ruleId: string) => (a: Who) => isAdmin(a) || has(a, ['reviewer', 'plan_editor'], ruleDepartments(ruleId));
const mayCoordinate = (ruleId: string) => (a: Who) => isAdmin(a) || has(a, ['reviewer'], ruleDepartments(ruleId));
const mayVerify = (a: Who) => isAdmin(a) || has(a, ['reviewer'], ['planning']);
const adminOnly = (a: Who) => isAdmin(a);
const anyAccount = () => true;
/** Staff of any role: the working data (README "Roles and permissions"). */
const anyStaff = () => true;

// --- the rows -------------------------------------------------------------------------------------

interface Request {
  path: string;
  json?: unknown;
  form?: () => FormData;
  headers?: Record<string, string>;
  /** What the row's `may` needs to know about the prepared object (e.g. an application's required departments). */
  context?: unknown;
}

interface Row {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The endpoint as the OpenAPI document names it, and what the row does. */
  label: string;
  may: (a: Who, context: unknown) => boolean;
  /** Statuses that count as success. */
  ok: number[];
  /** Makes the request for this caller (may write as someone else first: done before the "nothing written" snapshot). */
  prepare: (who: Identity) => Promise<Request>;
  /** Called after a success (e.g. to use a fresh object next time). */
  succeeded?: (body: any) => void;
  /** Applications rows: their refusals name the department the action needs rather than the account. */
  applications?: boolean;
  /** Public: everyone may, without an account (or with a credential that is not valid). */
  public?: boolean;
}

/** The layer's current content as a GeoJSON delivery (a re-delivery of what it holds). */
async function delivery(layerId: string): Promise<string> {
  const { rows } = await knex.raw(
    `SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 15)::json,
              'properties', to_jsonb(t) - '{fid,geom,updated_at,area_m2}'::text[]) ORDER BY fid)) AS fc
       FROM plan.${layerId} t`,
  );
  return JSON.stringify(rows[0].fc);
}

const adminHeaders = async () => ({ Authorization: `Bearer ${await tokenFor(knex, 'admin')}`, 'Content-Type': 'application/json' });

async function caseOf(ruleId: string, status: string): Promise<{ id: string; version: number } | undefined> {
  return knex('conflict_cases').where({ rule_id: ruleId, status }).orderBy('fid').first('id', 'version');
}

/** A coordinated case of the rule (one pending case coordinated by the admin when there is none). */
async function coordinatedCase(ruleId: string) {
  const c = await caseOf(ruleId, 'coordinated');
  if (c) return c;
  const p = (await caseOf(ruleId, 'pending'))!;
  const res = await fetch(`${srv.baseUrl}/api/conflicts/cases/${p.id}/transitions`, {
    method: 'POST',
    headers: { ...(await adminHeaders()), 'If-Match': `"${p.version}"` },
    body: JSON.stringify({ to: 'coordinated', decision: 'follow_b', reason: '矩阵测试：准备一个已协调的案件' }),
  });
  expect(res.status).toBe(200);
  return (await caseOf(ruleId, 'coordinated'))!;
}

let counter = 0;
const TARGET = 'matrix.target';

const rows: Row[] = [
  {
    method: 'POST',
    label: '/api/layers/{layerId}/imports: nature_reserve (市环保局), committed',
    may: mayWriteLayer('nature_reserve'),
    ok: [201],
    prepare: async () => {
      const text = await delivery('nature_reserve');
      return { path: '/api/layers/nature_reserve/imports', form: () => withFile(new FormData(), text, '自然保护区.geojson') };
    },
  },
  {
    method: 'POST',
    label: '/api/layers/{layerId}/imports: approved_projects (市政务服务中心: no plan editor, so admins only), committed',
    may: mayWriteLayer('approved_projects'),
    ok: [201],
    prepare: async () => {
      const text = await delivery('approved_projects');
      return { path: '/api/layers/approved_projects/imports', form: () => withFile(new FormData(), text, '已审批项目.geojson') };
    },
  },
  {
    method: 'POST',
    label: '/api/layers/{layerId}/imports: econ_projects (市发改委), dry run',
    may: mayWriteLayer('econ_projects'),
    ok: [200],
    prepare: async () => {
      const text = await delivery('econ_projects');
      return { path: '/api/layers/econ_projects/imports', form: () => withFile(fields({ dryRun: 'true' }), text, '重大项目.geojson') };
    },
  },
  {
    method: 'POST',
    label: '/api/layers/{layerId}/revisions/{revision}/restore: roads (市规划局)',
    may: mayWriteLayer('roads'),
    ok: [201],
    prepare: async () => ({ path: '/api/layers/roads/revisions/1/restore', json: { reason: '矩阵测试' } }),
  },
  {
    method: 'POST',
    label: '/api/conflicts/runs',
    may: mayRun,
    ok: [201],
    prepare: async () => {
      // Never while a run goes on (that would be 409, not the answer the caller's rights give).
      for (let i = 0; i < 100 && (await knex('conflict_runs').where('status', 'running').first('id')); i++) await new Promise((r) => setTimeout(r, 100));
      return { path: '/api/conflicts/runs', json: { mode: 'incremental' } };
    },
  },
  {
    method: 'POST',
    label: '/api/conflicts/cases/{id}/comments: park_in_redline (市经信委, 市环保局)',
    may: mayComment('park_in_redline'),
    ok: [201],
    prepare: async () => ({ path: `/api/conflicts/cases/${(await caseOf('park_in_redline', 'pending'))!.id}/comments`, json: { text: '矩阵测试意见' } }),
  },
  {
    method: 'POST',
    label: '/api/conflicts/cases/{id}/transitions: pending → coordinated, pv_on_basic_farmland (市发改委, 市国土局)',
    may: mayCoordinate('pv_on_basic_farmland'),
    ok: [200],
    prepare: async () => {
      const c = (await caseOf('pv_on_basic_farmland', 'pending'))!;
      return { path: `/api/conflicts/cases/${c.id}/transitions`, json: { to: 'coordinated', decision: 'adjust_both', reason: '矩阵测试' }, headers: { 'If-Match': `"${c.version}"` } };
    },
  },
  {
    method: 'POST',
    label: '/api/conflicts/cases/{id}/transitions: coordinated → pending, urban_construction_on_basic_farmland (市规划局, 市国土局)',
    may: mayCoordinate('urban_construction_on_basic_farmland'),
    ok: [200],
    prepare: async () => {
      const c = await coordinatedCase('urban_construction_on_basic_farmland');
      return { path: `/api/conflicts/cases/${c.id}/transitions`, json: { to: 'pending', reason: '矩阵测试：重新协调' }, headers: { 'If-Match': `"${c.version}"` } };
    },
  },
  {
    method: 'POST',
    label: '/api/conflicts/cases/{id}/transitions: coordinated → verified (已核验), urban_construction_on_basic_farmland',
    may: mayVerify,
    ok: [200],
    prepare: async () => {
      const c = await coordinatedCase('urban_construction_on_basic_farmland');
      return { path: `/api/conflicts/cases/${c.id}/transitions`, json: { to: 'verified', comment: '矩阵测试：核验' }, headers: { 'If-Match': `"${c.version}"` } };
    },
  },
  { method: 'GET', label: '/api/audit', may: adminOnly, ok: [200], prepare: async () => ({ path: '/api/audit?limit=5' }) },
  { method: 'GET', label: '/api/audit/verify', may: adminOnly, ok: [200], prepare: async () => ({ path: '/api/audit/verify' }) },
  { method: 'GET', label: '/api/accounts', may: adminOnly, ok: [200], prepare: async () => ({ path: '/api/accounts' }) },
  {
    method: 'POST',
    label: '/api/accounts',
    may: adminOnly,
    ok: [201],
    prepare: async () => ({ path: '/api/accounts', json: { name: `matrix.new${++counter}`, display_name: '矩阵测试', department: 'env', roles: ['reviewer'], password: 'matrix-password-1' } }),
  },
  { method: 'PATCH', label: '/api/accounts/{name}', may: adminOnly, ok: [200], prepare: async () => ({ path: `/api/accounts/${TARGET}`, json: { display_name: `矩阵测试 ${++counter}` } }) },
  { method: 'POST', label: '/api/accounts/{name}/password', may: adminOnly, ok: [200], prepare: async () => ({ path: `/api/accounts/${TARGET}/password`, json: { password: `matrix-password-${++counter}` } }) },
  { method: 'POST', label: '/api/accounts/{name}/revoke', may: adminOnly, ok: [200], prepare: async () => ({ path: `/api/accounts/${TARGET}/revoke` }) },
  { method: 'POST', label: '/api/auth/tokens', may: anyAccount, ok: [201], prepare: async () => ({ path: '/api/auth/tokens', json: { label: '矩阵测试' } }) },
  {
    method: 'DELETE',
    label: '/api/auth/tokens/{id}: one’s own',
    may: anyAccount,
    ok: [204],
    prepare: async (who) => {
      const id = (await knex('accounts').where({ name: who.account?.name ?? 'admin' }).first('id')).id;
      const t = await issueCredential(knex, id, 'token', { label: 'to be revoked', ttlMs: 86_400_000 });
      return { path: `/api/auth/tokens/${t.id}` };
    },
  },
  // A token is not a session (400 not_a_session); the admin's session logs out (204, and logs in again next time).
  { method: 'POST', label: '/api/auth/logout', may: anyAccount, ok: [204, 400], prepare: async () => ({ path: '/api/auth/logout' }) },
];

// --- applications (the lead's server/applications; see /api/applications in the OpenAPI document) ---

const SITE = { source: 'drawn', geometry: { type: 'Polygon', coordinates: [[[113.28, 40.06], [113.29, 40.06], [113.29, 40.07], [113.28, 40.07], [113.28, 40.06]]] } };

/** A new application submitted by the window: its id, current version and required departments. */
async function submitted(): Promise<{ id: number; version: number; required: string[] }> {
  const res = await fetch(`${srv.baseUrl}/api/applications`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await tokenFor(knex, 'window')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `矩阵测试项目 ${++counter}`, project_type: 'industrial', investor: '大同市测试投资有限公司', site: SITE }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body).slice(0, 400)).toBe(201);
  return { id: body.id, version: body.version, required: body.current.required.map((r: { department: string }) => r.department) };
}

/** Keeps one prepared object per row until a success uses it up. */
function reused<T>(make: () => Promise<T>) {
  let current: T | undefined;
  return { get: async () => (current ??= await make()), spent: () => (current = undefined) };
}

const forOpinion = reused(submitted);
const forCorrection = reused(async () => {
  const app = await submitted();
  const department = app.required[0];
  const res = await fetch(`${srv.baseUrl}/api/applications/${app.id}/opinions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await tokenFor(knex, `${department}.reviewer`)}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ version: app.version, decision: 'approve' }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body).slice(0, 400)).toBe(201);
  return { ...app, department, opinion: body.opinion.id as number };
});
const forWithdrawal = reused(submitted);
const forAmendment = reused(submitted);

rows.push(
  { applications: true, method: 'POST', label: '/api/applications/sites', may: (a) => has(a, ['window_clerk', 'admin']), ok: [200], prepare: async () => ({ path: '/api/applications/sites', json: SITE }) },
  {
    applications: true,
    method: 'POST',
    label: '/api/applications',
    may: (a) => has(a, ['window_clerk']),
    ok: [201],
    prepare: async () => ({ path: '/api/applications', json: { name: `矩阵测试项目 ${++counter}`, project_type: 'residential', investor: '大同市测试置业有限公司', site: SITE } }),
  },
  {
    applications: true,
    method: 'POST',
    label: '/api/applications/{id}/opinions: reviewers of the required departments, never the window',
    may: (a, c) => has(a, ['reviewer'], (c as { required: string[] }).required),
    ok: [201],
    prepare: async () => {
      const app = await forOpinion.get();
      return { path: `/api/applications/${app.id}/opinions`, json: { version: app.version, decision: 'conditional', conditions: '矩阵测试条件' }, context: app };
    },
    // Each department signs once; a fresh application once the first one has every opinion it needs.
    succeeded: (body) => body.application.status !== 'under_review' && forOpinion.spent(),
  },
  {
    applications: true,
    method: 'POST',
    label: '/api/applications/{id}/opinions/{opinionId}/corrections: the opinion’s department',
    may: (a, c) => has(a, ['reviewer'], [(c as { department: string }).department]),
    ok: [201],
    prepare: async () => {
      const app = await forCorrection.get();
      return { path: `/api/applications/${app.id}/opinions/${app.opinion}/corrections`, json: { decision: 'conditional', conditions: '补充条件', note: '矩阵测试更正' }, context: app };
    },
    succeeded: () => forCorrection.spent(),
  },
  {
    applications: true,
    method: 'POST',
    label: '/api/applications/{id}/withdraw',
    may: (a) => has(a, ['window_clerk', 'admin']),
    ok: [200],
    prepare: async () => ({ path: `/api/applications/${(await forWithdrawal.get()).id}/withdraw`, json: { reason: '矩阵测试撤回' } }),
    succeeded: () => forWithdrawal.spent(),
  },
  {
    applications: true,
    method: 'POST',
    label: '/api/applications/{id}/versions',
    may: (a) => has(a, ['window_clerk']),
    ok: [201],
    prepare: async () => ({ path: `/api/applications/${(await forAmendment.get()).id}/versions`, json: { note: '矩阵测试：补正材料' } }),
  },
);

// --- reads: the working data needs an account of any role; the public reads need none ---------------

const [TILE_X, TILE_Y] = tileContaining(113.3, 40.08, 12);
const read = (label: string, path: string, may: Row['may'] = anyStaff): Row => ({ method: 'GET', label, may, ok: [200], prepare: async () => ({ path }) });
const publicRead = (label: string, path: string): Row => ({ ...read(label, path), public: true });
rows.push(
  read('/ogcapi/collections', '/ogcapi/collections'),
  read('/ogcapi/collections/{collectionId}/items', '/ogcapi/collections/landuse_plan/items?limit=5'),
  read('/tiles/{layerId}.json', '/tiles/landuse_plan.json'),
  read('/tiles/{layerId}/{z}/{x}/{y}.mvt', `/tiles/landuse_plan/12/${TILE_X}/${TILE_Y}.mvt`),
  read('/style.json: the working style', '/style.json'),
  read('/api/layers', '/api/layers'),
  read('/api/layers/{layerId}/revisions', '/api/layers/landuse_plan/revisions'),
  read('/api/layers/{layerId}/revisions/{revision}/diff', '/api/layers/landuse_plan/revisions/1/diff?from=1&limit=1'),
  read('/api/layers/{layerId}/export', '/api/layers/districts/export?format=geojson'),
  read('/api/conflicts/cases: the ledger', '/api/conflicts/cases?limit=5'),
  read('/api/conflicts/ledger.csv', '/api/conflicts/ledger.csv'),
  read('/api/conflicts/report: a district report', '/api/conflicts/report?adcode=140211'),
  read('/api/applications', '/api/applications'),
  publicRead('/: the viewer’s page', '/'),
  publicRead('/api/openapi.json', '/api/openapi.json'),
  publicRead('/healthz', '/healthz'),
  publicRead('/api/auth/me', '/api/auth/me'),
  publicRead('/api/releases: the published releases', '/api/releases'),
);

function fields(f: Record<string, string>): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(f)) form.append(k, v);
  return form;
}
function withFile(form: FormData, text: string, name: string): FormData {
  form.append('file', new Blob([text], { type: 'application/geo+json' }), name);
  return form;
}

// --- what a refused request must leave alone --------------------------------------------------------

/** Row counts of every table of the service (plus the cases' versions, the accounts' content and the revoked credentials). */
async function snapshot(): Promise<Record<string, string>> {
  const tables: string[] = (
    await knex.raw(`SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('spatial_ref_sys') ORDER BY 1`)
  ).rows.map((r: { t: string }) => r.t);
  const parts = tables.map((t) => `SELECT '${t}' AS k, count(*)::text AS v FROM ${t}`);
  parts.push(
    `SELECT 'conflict_cases.version', sum(version)::text FROM conflict_cases`,
    `SELECT 'accounts.content', md5(string_agg(concat_ws('|', name, display_name, department, roles::text, active, password_hash), ',' ORDER BY id)) FROM accounts`,
    `SELECT 'credentials.revoked', count(revoked_at)::text FROM credentials`,
    `SELECT 'audit_log.last', max(id)::text FROM audit_log`,
  );
  const { rows } = await knex.raw(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r: { k: string; v: string }) => [r.k, r.v]));
}

// --- the matrix -----------------------------------------------------------------------------------

beforeAll(async () => {
  await createAccount(knex, { name: TARGET, display_name: '矩阵测试对象', department: 'coal', roles: ['reviewer'], password: 'matrix-target-password' });
  await buildIdentities();
});

describe('the permission matrix: every write endpoint, the reads of the working data and the public reads × every caller', () => {
  it('has the callers it promises', () => {
    expect(identities.map((i) => i.label)).toEqual([
      'anonymous',
      'admin session without X-CSRF-Token',
      'expired admin session',
      'revoked admin token',
      'deactivated admin',
      'window',
      ...DEPARTMENTS.flatMap((d) => [`${d}.reviewer`, `${d}.editor`]),
      'admin',
      'admin session',
    ]);
  });

  for (const row of rows) {
    it(`${row.method} ${row.label}`, async () => {
      const wrong: string[] = [];
      let successes = 0;
      for (const who of identities) {
        const req = await row.prepare(who);
        // (The caller's token is issued on first use: before the snapshot.)
        const headers: Record<string, string> = { ...(await who.headers()), ...(req.headers ?? {}) };
        const before = await snapshot();
        let body: BodyInit | undefined;
        if (req.form) body = req.form();
        else if (req.json !== undefined) {
          body = JSON.stringify(req.json);
          headers['Content-Type'] = 'application/json';
        }
        const res = await fetch(`${srv.baseUrl}${req.path}`, { method: row.method, headers, body });
        const text = await res.text();
        const answer = text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
        const account = who.readsOnly && row.method !== 'GET' ? null : who.account;
        const expected = row.public ? 'ok' : account === null ? 401 : row.may(account, req.context) ? 'ok' : 403;
        const cell = `${who.label}: expected ${expected}, got ${res.status} ${text.slice(0, 300)}`;
        if (expected === 'ok') {
          if (!row.ok.includes(res.status)) wrong.push(cell);
          else {
            successes++;
            row.succeeded?.(answer);
          }
          continue;
        }
        if (res.status !== expected) {
          wrong.push(cell);
          continue;
        }
        // Refused: the right code, a message that helps, and nothing written.
        if (answer?.code !== (expected === 401 ? 'unauthenticated' : 'forbidden') || !(answer?.message?.length > 20)) wrong.push(`${cell} (code or message)`);
        // (The applications API words its own refusals: by department rather than by account.)
        if (expected === 403 && !row.applications && !String(answer.message).includes(account!.name)) wrong.push(`${cell} (the message should name the account)`);
        const after = await snapshot();
        if (JSON.stringify(after) !== JSON.stringify(before)) {
          const changed = Object.keys(after).filter((k) => after[k] !== before[k]).map((k) => `${k} ${before[k]} → ${after[k]}`);
          wrong.push(`${who.label}: refused but wrote ${changed.join(', ')}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(successes, 'someone may do it').toBeGreaterThan(0);
    });
  }
});

describe('what the matrix cannot show in a cell', () => {
  it('records the account as the actor of what it does', async () => {
    const revisions = await knex('layer_revisions').whereIn('layer_id', ['nature_reserve', 'roads', 'approved_projects']).where('revision', '>', 1).orderBy(['layer_id', 'revision']).select('layer_id', 'created_by', 'reason')
      // (approved applications publish their site to approved_projects under the reviewer whose opinion approved them)
      .then((rows) => rows.filter((r) => !r.reason.startsWith('联动审批通过') || !/\.reviewer$/.test(r.created_by)));
    expect(new Set(revisions.map((r) => `${r.layer_id} ${r.created_by}`))).toEqual(
      new Set(['approved_projects admin', 'nature_reserve admin', 'nature_reserve env.editor', 'roads admin', 'roads planning.editor']),
    );
    const runs = await knex('conflict_runs').where('trigger', '@>', JSON.stringify({ via: 'api' })).pluck('requested_by');
    expect(new Set(runs)).toEqual(new Set(['planning.reviewer', 'planning.editor', 'admin']));
    const events = await knex('conflict_case_events').whereIn('action', ['transition', 'comment']).distinct('actor').pluck('actor');
    expect(new Set(events)).toEqual(new Set(['admin', 'industry.reviewer', 'industry.editor', 'env.reviewer', 'env.editor', 'ndrc.reviewer', 'land.reviewer', 'planning.reviewer']));
    const audit = await knex('audit_log').where('action', 'like', 'account.%').whereNot('actor', 'system').distinct('actor').pluck('actor');
    expect(audit).toEqual(['admin']);
  });

  it('answers who may write (401 / 403) before reading the body, so a malformed one does not answer first', async () => {
    const { rows } = await knex.raw("SELECT id FROM conflict_cases WHERE status = 'pending' LIMIT 1");
    const malformed = { 'Content-Type': 'application/json' };
    const reviewer = { ...malformed, Authorization: `Bearer ${await tokenFor(knex, 'env.reviewer')}` };
    const cases: [string, Record<string, string>, number, string][] = [
      ['/api/layers/roads/revisions/1/restore', malformed, 401, 'unauthenticated'],
      ['/api/layers/roads/revisions/1/restore', reviewer, 403, 'forbidden'],
      ['/api/conflicts/runs', malformed, 401, 'unauthenticated'],
      [`/api/conflicts/cases/${rows[0].id}/transitions`, malformed, 401, 'unauthenticated'],
      [`/api/conflicts/cases/${rows[0].id}/comments`, malformed, 401, 'unauthenticated'],
      // with the right to act, the body's fault is named
      ['/api/layers/roads/revisions/1/restore', { ...malformed, Authorization: `Bearer ${await tokenFor(knex, 'admin')}` }, 400, 'malformed_json'],
    ];
    for (const [url, headers, status, code] of cases) {
      const res = await fetch(`${srv.baseUrl}${url}`, { method: 'POST', headers, body: '{"reason": ' });
      expect(res.status, url).toBe(status);
      expect((await res.json()).code, url).toBe(code);
    }
  });

  it('lets no admin lock themselves out (409), and a deactivated account cannot log in', async () => {
    const headers = { Authorization: `Bearer ${await tokenFor(knex, 'admin')}`, 'Content-Type': 'application/json' };
    for (const change of [{ active: false }, { roles: ['reviewer'], department: 'planning' }]) {
      const res = await fetch(`${srv.baseUrl}/api/accounts/admin`, { method: 'PATCH', headers, body: JSON.stringify(change) });
      expect(res.status).toBe(409);
      expect((await res.json()).code).toBe('self_lockout');
    }
    const gone = await fetch(`${srv.baseUrl}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'matrix.gone', password: 'matrix-gone-password' }) });
    expect(gone.status).toBe(401);
  });

  it('nobody signs an application they submitted', async () => {
    // An account that is both a window clerk and 市国土局's reviewer submits, then tries to sign.
    const both = await createAccount(knex, { name: 'matrix.both', display_name: '窗口兼审查', department: 'land', roles: ['window_clerk', 'reviewer'], password: 'matrix-both-password' });
    const token = (await issueCredential(knex, both.id, 'token', { label: 'both', ttlMs: 86_400_000 })).token;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const sub = await fetch(`${srv.baseUrl}/api/applications`, { method: 'POST', headers, body: JSON.stringify({ name: '自审项目', project_type: 'residential', investor: '测试', site: SITE }) });
    const app = await sub.json();
    expect(sub.status, JSON.stringify(app).slice(0, 300)).toBe(201);
    expect(app.current.required.map((r: { department: string }) => r.department)).toContain('land');
    const before = await snapshot();
    const sign = await fetch(`${srv.baseUrl}/api/applications/${app.id}/opinions`, { method: 'POST', headers, body: JSON.stringify({ version: app.version, decision: 'approve' }) });
    expect(sign.status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });
});
