// Accounts against the real service: scrypt hashes, log in and out with an httpOnly SameSite
// cookie and a CSRF token, bearer tokens for scripts, expiry and revocation, failed logins limited,
// the account named as the actor of what it does (and in the audit trail), demo accounts refused in
// production.
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, refuseDemoAccounts } from '../server/accounts/demo';
import { verifyPassword } from '../server/accounts/passwords';
import { as } from './helpers/auth';
import { getJson } from './helpers/http';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();
let auth: string;

beforeAll(() => {
  auth = `${srv.baseUrl}/api/auth`;
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
const login = (name: string, password: string, headers: Record<string, string> = {}) => post(`${auth}/login`, { name, password }, headers);
const sessionOf = (res: Response) => /onemap_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

describe('accounts', () => {
  it('exist in demo mode for the admin, the window and each department, with scrypt hashes', async () => {
    const rows = await knex('accounts').orderBy('name');
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['admin', 'window', 'land.reviewer', 'land.editor', 'planning.reviewer', 'env.editor']));
    for (const r of rows) {
      expect(r.demo).toBe(true);
      expect(r.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(r.password_hash).not.toContain(DEMO_PASSWORD);
    }
    expect(await verifyPassword(DEMO_PASSWORD, rows[0].password_hash)).toBe(true);
    expect(await verifyPassword('datong-demo-2016', rows[0].password_hash)).toBe(false);
    // and a production start refuses to run with them
    await expect(refuseDemoAccounts(knex)).rejects.toThrow(/demo accounts exist.*admin/);
  });

  it('log in with a session cookie (httpOnly, SameSite=Strict) and need the CSRF token to write', async () => {
    const bad = await login('land.reviewer', 'wrong password!');
    expect(bad.status).toBe(401);
    expect((await bad.json()).code).toBe('invalid_credentials');
    const nobody = await login('nobody', 'wrong password!');
    expect(nobody.status).toBe(401);
    expect((await nobody.json()).message).toBe('the account name or the password is wrong');
    // Both failures are in the audit trail, with the name tried and the address.
    const failed = await knex('audit_log').where({ action: 'auth.login_failed' }).orderBy('id').select('actor', 'object', 'details');
    expect(failed.map((f) => [f.actor, f.object, f.details.known_account])).toEqual([['anonymous', 'land.reviewer', true], ['anonymous', 'nobody', false]]);
    expect(failed[0].details.address).toMatch(/127\.0\.0\.1/);

    const ok = await login('land.reviewer', DEMO_PASSWORD);
    expect(ok.status).toBe(200);
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    const { account, csrf } = await ok.json();
    expect(account).toMatchObject({ name: 'land.reviewer', department: 'land', roles: ['reviewer'] });
    const cookie = `onemap_session=${sessionOf(ok)}`;

    expect((await getJson(`${auth}/me`, { headers: { Cookie: cookie } })).body).toMatchObject({ account: { name: 'land.reviewer' }, via: 'session', csrf });
    // A write with the cookie but without the CSRF token is not taken as the user's.
    expect((await post(`${auth}/tokens`, { label: 'x' }, { Cookie: cookie })).status).toBe(401);
    expect((await post(`${auth}/tokens`, { label: 'x' }, { Cookie: cookie, 'X-CSRF-Token': 'forged' })).status).toBe(401);
    const tok = await post(`${auth}/tokens`, { label: '月度统计脚本', days: 30 }, { Cookie: cookie, 'X-CSRF-Token': csrf });
    expect(tok.status).toBe(201);
    const { token, id } = await tok.json();
    expect(token.length).toBeGreaterThan(30);
    // Only its hash is kept.
    const stored = await knex('credentials').where({ id }).first();
    expect(JSON.stringify(stored)).not.toContain(token);

    // Bearer token: who, and named as the actor of a ledger action (and in the audit trail).
    const me = (await getJson(`${auth}/me`, { headers: { Authorization: `Bearer ${token}` } })).body;
    expect(me).toMatchObject({ account: { name: 'land.reviewer' }, via: 'token' });
    const listed = (await getJson(`${auth}/tokens`, { headers: { Authorization: `Bearer ${token}` } })).body.tokens;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id, label: '月度统计脚本' });
    expect(listed[0].last_used_at).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(token);
    // (the ledger is working data: read with the token too)
    const c = (await getJson(`${srv.baseUrl}/api/conflicts/cases?rule=urban_construction_on_basic_farmland&limit=1`, { headers: { Authorization: `Bearer ${token}` } })).body.cases[0];
    const t = await post(`${srv.baseUrl}/api/conflicts/cases/${c.id}/comments`, { text: '国土局已复核', by: 'someone else' }, { Authorization: `Bearer ${token}` });
    expect(t.status).toBe(201);
    expect((await t.json()).actor).toBe('land.reviewer');
    const audit = (await getJson(`${srv.baseUrl}/api/audit?actor=land.reviewer`, { headers: await as(knex, 'admin') })).body.entries.map((e: any) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['auth.login', 'auth.token.issued', 'conflict.case.comment']));

    // Revoked: the token no longer works, for the data reads either (their short cache of
    // credentials is emptied by the revocation), at once.
    const layers = `${srv.baseUrl}/api/layers`;
    expect((await getJson(layers, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const del = await fetch(`${auth}/tokens/${id}`, { method: 'DELETE', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } });
    expect(del.status).toBe(204);
    expect((await getJson(`${auth}/me`, { headers: { Authorization: `Bearer ${token}` } })).body).toEqual({ account: null });
    expect((await getJson(layers, { headers: { Authorization: `Bearer ${token}` } })).body).toMatchObject({ code: 'unauthenticated', details: { problem: 'credential' } });

    // Logged out: the session no longer works.
    expect((await getJson(layers, { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await fetch(`${auth}/logout`, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } })).status).toBe(204);
    expect((await getJson(`${auth}/me`, { headers: { Cookie: cookie } })).body).toEqual({ account: null });
    expect((await getJson(layers, { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it('end sessions that expired', async () => {
    const ok = await login('env.editor', DEMO_PASSWORD);
    const cookie = `onemap_session=${sessionOf(ok)}`;
    expect((await getJson(`${auth}/me`, { headers: { Cookie: cookie } })).body.account.name).toBe('env.editor');
    await knex('credentials').where({ account_id: knex('accounts').where({ name: 'env.editor' }).select('id') }).update({ expires_at: knex.raw("now() - interval '1 second'") });
    expect((await getJson(`${auth}/me`, { headers: { Cookie: cookie } })).body).toEqual({ account: null });
  });

  it('limit failed logins (429 with Retry-After), per address and account', async () => {
    for (let i = 0; i < 5; i++) expect((await login('coal.editor', `guess number ${i}`)).status).toBe(401);
    const limited = await login('coal.editor', DEMO_PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await limited.json()).code).toBe('too_many_attempts');
    // another account from the same address is not held up by it
    expect((await login('coal.reviewer', DEMO_PASSWORD)).status).toBe(200);
  });

  it('are described, with their security schemes, in the OpenAPI document', async () => {
    const doc = (await getJson(`${srv.baseUrl}/api/openapi.json`)).body;
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['session', 'bearer']);
    for (const p of ['/api/auth/login', '/api/auth/logout', '/api/auth/me', '/api/auth/tokens', '/api/auth/tokens/{id}']) expect(doc.paths[p], p).toBeDefined();
  });

  it('refuse bad input with 400 naming the field', async () => {
    const r = await post(`${auth}/login`, { name: 'admin' });
    expect(r.status).toBe(400);
    expect((await r.json()).details.field).toBe('password');
  });

  it('list every problem of a body, each with its field', async () => {
    const r = await post(`${auth}/login`, { name: '', password: 7 });
    expect(r.status).toBe(400);
    const body = await r.json();
    expect(body.code).toBe('invalid_body');
    expect(body.details.field).toBe('name');
    expect(body.details.problems.map((p: { path: string }) => p.path)).toEqual(['name', 'password']);
    const admin = await as(knex, 'admin', { 'Content-Type': 'application/json' });
    const bad = await post(`${srv.baseUrl}/api/accounts`, { name: 'X', display_name: '', department: 'nowhere', roles: ['reviewer', 'boss'], password: 'long enough password' }, admin);
    expect(bad.status).toBe(400);
    const problems = (await bad.json()).details.problems.map((p: { path: string }) => p.path);
    expect(problems).toEqual(expect.arrayContaining(['name', 'display_name', 'department', 'roles.1']));
    // The password's strength has a code of its own, once the rest is right.
    const weak = await post(`${srv.baseUrl}/api/accounts`, { name: 'env.short', display_name: '短密码', department: 'env', roles: ['reviewer'], password: 'short' }, admin);
    expect(weak.status).toBe(400);
    expect(await weak.json()).toMatchObject({ code: 'weak_password', details: { field: 'password' } });
  });

  it.each(['%zz', '%E0%A4%A'])('take a session cookie with a malformed escape (%s) as no credential, not a failure', async (value) => {
    const headers = { Cookie: `onemap_session=${value}` };
    expect((await getJson(`${auth}/me`, { headers })).body).toEqual({ account: null });
    const layers = await getJson(`${srv.baseUrl}/api/layers`, { headers });
    expect(layers.status).toBe(401);
    expect(layers.body).toMatchObject({ code: 'unauthenticated', details: { problem: 'credential' } });
    const write = await post(`${auth}/tokens`, { label: 'x' }, headers);
    expect(write.status).toBe(401);
    expect((await write.json()).details).toEqual({ problem: 'credential' });
  });
});
