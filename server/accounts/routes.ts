// /api/auth: log in and out (browser sessions in an httpOnly, SameSite=Strict cookie, with a CSRF
// token for writes), who am I, and API tokens (Authorization: Bearer) for scripts. Who a request
// is from is recognised before (identify.ts); failed logins are limited per address and account
// name, in PostgreSQL for every instance (429 with Retry-After, limiter.ts). The schemas of every body and answer: schemas.ts.
import type { Knex } from 'knex';
import { z } from 'zod';
import { Routes, type RoutesOptions } from '../platform/contract';
import { AppError, badRequest, notFound } from '../platform/errors';
import { type Account, type Credential, issueCredential, revokeCredential, SESSION_TTL_MS } from './accounts';
import { accountOf, guard, isAdmin } from './authorize';
import { SESSION_COOKIE } from './identify';
import { DEFAULT_POLICY, LoginThrottle, type ThrottlePolicy } from './limiter';
import { DUMMY_HASH, verifyPassword } from './passwords';
import { Account as AccountSchema, LoginAnswer, LoginBody, Me, NewToken, NewTokenBody, TokenInfo } from './schemas';

export { identify } from './identify';

/** The account as the API shows it. */
const show = (a: Account): z.output<typeof AccountSchema> => ({ name: a.name, display_name: a.display_name, department: a.department, roles: a.roles });
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** Mounted at /api/auth. */
export function authRoutes(knex: Knex, opts: RoutesOptions & { throttle?: ThrottlePolicy }): Routes {
  const routes = new Routes('/api/auth', ['Accounts'], opts);
  const throttle = new LoginThrottle(knex, opts.throttle ?? DEFAULT_POLICY);
  const anyAccount = guard.account();
  const credentialOf = (res: { locals: Record<string, unknown> }) => res.locals.credential as Credential;

  routes.route(
    {
      method: 'post',
      path: '/login',
      summary: 'Logs in: sets the httpOnly, SameSite=Strict session cookie and returns the CSRF token that writes made with the cookie must send as X-CSRF-Token',
      access: guard.public,
      body: LoginBody,
      bodyLimit: '16kb',
      responses: { 200: { description: 'logged in: the account, the CSRF token and when the session expires (12 h)', schema: LoginAnswer, headers: { 'Set-Cookie': `${SESSION_COOKIE}=…; HttpOnly; SameSite=Strict; Path=/` } } },
      errors: [401, 429],
    },
    async ({ req, res, body: { name, password } }) => {
      const ip = req.ip ?? 'unknown';
      const row = await knex('accounts').where({ name, active: true }).first('id', 'name', 'display_name', 'department', 'roles', 'password_hash');
      const who = { address: ip, name, accountId: row?.id as number | undefined };
      const wait = await throttle.wait(who);
      if (wait > 0) {
        res.set('Retry-After', String(wait));
        throw new AppError(429, 'too_many_attempts', `too many failed logins; try again in ${wait} s`, { retryAfterSeconds: wait });
      }
      // The same work and the same answer whether the account exists or not.
      const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
      if (!row || !ok) {
        await throttle.fail(who);
        // Failed logins go to the audit trail too (the limiter bounds how many one address can add).
        await knex.raw('SELECT audit_append(?, ?, ?, ?::jsonb)', ['anonymous', 'auth.login_failed', name, JSON.stringify({ address: ip, known_account: Boolean(row) })]);
        throw new AppError(401, 'invalid_credentials', 'the account name or the password is wrong');
      }
      await throttle.succeed({ ...who, accountId: row.id });
      const s = await issueCredential(knex, row.id, 'session', { ttlMs: SESSION_TTL_MS });
      res.cookie(SESSION_COOKIE, s.token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: SESSION_TTL_MS });
      res.set('Cache-Control', 'no-store');
      return { account: show(row), csrf: s.csrf!, expires_at: s.expires_at.toISOString() };
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/logout',
      summary: 'Ends the browser session',
      access: guard.account('the session’s own account'),
      responses: { 204: { description: 'logged out; the cookie is cleared' } },
      errors: [400],
    },
    async ({ res }) => {
      const c = credentialOf(res);
      if (c.kind !== 'session') throw badRequest('not_a_session', 'logout ends a browser session; revoke a token with DELETE /api/auth/tokens/{id}');
      await revokeCredential(knex, c.id);
      res.clearCookie(SESSION_COOKIE, { path: '/' }).status(204).end();
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/me',
      summary: 'The account behind the request (null: anonymous), how it was recognised, the session’s CSRF token',
      access: guard.public,
      responses: { 200: { description: 'who is asking', schema: Me } },
    },
    ({ res }) => {
      res.set('Cache-Control', 'no-store');
      const a = accountOf(res);
      if (!a) return { account: null };
      const c = credentialOf(res);
      return { account: show(a), via: c.kind, csrf: c.kind === 'session' ? c.csrf! : undefined, expires_at: c.expires_at.toISOString() };
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/tokens',
      summary: 'Issues an API token for scripts (shown once; Authorization: Bearer <token>)',
      access: anyAccount,
      body: NewTokenBody,
      bodyLimit: '16kb',
      responses: { 201: { description: 'the token, with its secret shown this once', schema: NewToken } },
    },
    async ({ res, body, account }) => {
      const t = await issueCredential(knex, account.id, 'token', { label: body.label, ttlMs: body.days * 86_400_000 });
      res.set('Cache-Control', 'no-store');
      return { id: t.id, token: t.token, label: body.label, expires_at: t.expires_at.toISOString() };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/tokens',
      summary: 'The caller’s API tokens (never their secrets)',
      access: anyAccount,
      responses: { 200: { description: 'the tokens, oldest first', schema: z.object({ tokens: z.array(TokenInfo) }) } },
    },
    async ({ account }) => {
      const rows = await knex('credentials')
        .where({ account_id: account.id, kind: 'token' })
        .orderBy('created_at')
        .select<{ id: string; label: string | null; created_at: Date; expires_at: Date; revoked_at: Date | null; last_used_at: Date | null }[]>('id', 'label', 'created_at', 'expires_at', 'revoked_at', 'last_used_at');
      return {
        tokens: rows.map((r) => ({ ...r, created_at: r.created_at.toISOString(), expires_at: r.expires_at.toISOString(), revoked_at: iso(r.revoked_at), last_used_at: iso(r.last_used_at) })),
      };
    },
  );

  routes.route(
    {
      method: 'delete',
      path: '/tokens/:id',
      summary: 'Revokes a token (one’s own; an admin any)',
      access: anyAccount,
      params: z.object({ id: z.string().regex(/^[0-9a-f-]{36}$/, 'expected a token id').describe('token id') }),
      responses: { 204: { description: 'revoked' } },
      errors: [404],
    },
    async ({ res, params: { id }, account }) => {
      const row = await knex('credentials').where({ id, kind: 'token' }).first('account_id');
      if (!row || (row.account_id !== account.id && !isAdmin(account))) throw notFound('unknown_token', `token ${id} does not exist`, { tokenId: id });
      await revokeCredential(knex, id);
      res.status(204).end();
    },
  );

  return routes;
}
