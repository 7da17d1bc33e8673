// /api/auth: log in and out (browser sessions in an httpOnly, SameSite=Strict cookie, with a CSRF
// token for writes), who am I, and API tokens (Authorization: Bearer) for scripts. The middleware
// `identify` recognises either on every request; a session cookie on a write without the matching
// X-CSRF-Token header is not taken (the request is anonymous), so another site cannot act as the user.
// Failed logins are limited per address and account name (429 with Retry-After).
import express, { Router, type Request, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import { AppError, badRequest, notFound } from '../platform/errors';
import { type Account, type Credential, issueCredential, recognise, revokeCredential, SESSION_TTL_MS, TOKEN_TTL_DAYS } from './accounts';
import { accountOf, requireAccount } from './authorize';
import { DUMMY_HASH, verifyPassword } from './passwords';

export const SESSION_COOKIE = 'onemap_session';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who the request is from (res.locals.account / res.locals.credential), or nobody. */
export function identify(knex: Knex): RequestHandler {
  return async (req, res, next) => {
    try {
      const auth = req.get('Authorization');
      // res.locals.authProblem says why a request that carried a credential is anonymous, for the
      // 401's message (server/accounts/authorize.ts): 'credential' (expired, revoked, unknown) or 'csrf'.
      if (auth?.startsWith('Bearer ')) {
        const r = await recognise(knex, auth.slice(7).trim());
        if (r && r.credential.kind === 'token') Object.assign(res.locals, r);
        else res.locals.authProblem = 'credential';
      } else {
        const token = cookie(req, SESSION_COOKIE);
        if (token) {
          const r = await recognise(knex, token);
          if (!r || r.credential.kind !== 'session') res.locals.authProblem = 'credential';
          else if (SAFE.has(req.method) || req.get('X-CSRF-Token') === r.credential.csrf) Object.assign(res.locals, r);
          else res.locals.authProblem = 'csrf';
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** The account behind a request (undefined: anonymous); defined with the permission checks. */
export { accountOf };

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('Cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** Failed logins per address and per address + name, in a sliding window. */
class LoginLimiter {
  private failures = new Map<string, number[]>();
  constructor(
    private readonly perName = 5,
    private readonly perAddress = 20,
    private readonly windowMs = 15 * 60 * 1000,
  ) {}

  private recent(key: string, now: number) {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    this.failures.set(key, list);
    return list;
  }

  /** Seconds to wait, or 0 when a try is allowed. */
  wait(ip: string, name: string, now = Date.now()): number {
    const byName = this.recent(`${ip}|${name}`, now);
    const byIp = this.recent(ip, now);
    const full = byName.length >= this.perName ? byName : byIp.length >= this.perAddress ? byIp : null;
    return full ? Math.ceil((full[0] + this.windowMs - now) / 1000) : 0;
  }

  fail(ip: string, name: string, now = Date.now()) {
    this.recent(`${ip}|${name}`, now).push(now);
    this.recent(ip, now).push(now);
  }

  succeed(ip: string, name: string) {
    this.failures.delete(`${ip}|${name}`);
  }
}

export function authRouter(knex: Knex): Router {
  const r = Router();
  r.use(express.json({ limit: '16kb' }));
  const limiter = new LoginLimiter();
  const needAccount = requireAccount;
  const show = (a: Account) => ({ name: a.name, display_name: a.display_name, department: a.department, roles: a.roles });

  r.post('/login', async (req, res) => {
    const { name, password } = (req.body ?? {}) as { name?: unknown; password?: unknown };
    if (typeof name !== 'string' || !name || name.length > 40) throw badRequest('invalid_body', "'name': expected the account name", { field: 'name' });
    if (typeof password !== 'string' || !password || password.length > 200) throw badRequest('invalid_body', "'password': expected the password", { field: 'password' });
    const ip = req.ip ?? 'unknown';
    const wait = limiter.wait(ip, name);
    if (wait > 0) {
      res.set('Retry-After', String(wait));
      throw new AppError(429, 'too_many_attempts', `too many failed logins; try again in ${wait} s`, { retryAfterSeconds: wait });
    }
    const row = await knex('accounts').where({ name, active: true }).first('id', 'name', 'display_name', 'department', 'roles', 'password_hash');
    // The same work and the same answer whether the account exists or not.
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
    if (!row || !ok) {
      limiter.fail(ip, name);
      // Failed logins go to the audit trail too (the limiter bounds how many one address can add).
      await knex.raw('SELECT audit_append(?, ?, ?, ?::jsonb)', ['anonymous', 'auth.login_failed', name, JSON.stringify({ address: ip, known_account: Boolean(row) })]);
      throw new AppError(401, 'invalid_credentials', 'the account name or the password is wrong');
    }
    limiter.succeed(ip, name);
    const s = await issueCredential(knex, row.id, 'session', { ttlMs: SESSION_TTL_MS });
    res.cookie(SESSION_COOKIE, s.token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: SESSION_TTL_MS });
    res.set('Cache-Control', 'no-store').json({ account: show(row), csrf: s.csrf, expires_at: s.expires_at });
  });

  r.post('/logout', async (_req, res) => {
    needAccount(res);
    const c = res.locals.credential as Credential;
    if (c.kind !== 'session') throw badRequest('not_a_session', 'logout ends a browser session; revoke a token with DELETE /api/auth/tokens/{id}');
    await revokeCredential(knex, c.id);
    res.clearCookie(SESSION_COOKIE, { path: '/' }).status(204).end();
  });

  r.get('/me', (_req, res) => {
    const a = accountOf(res);
    const c = res.locals.credential as Credential | undefined;
    res.set('Cache-Control', 'no-store').json(a ? { account: show(a), via: c!.kind, csrf: c!.kind === 'session' ? c!.csrf : undefined, expires_at: c!.expires_at } : { account: null });
  });

  r.post('/tokens', async (req, res) => {
    const a = needAccount(res);
    const { label, days } = (req.body ?? {}) as { label?: unknown; days?: unknown };
    if (typeof label !== 'string' || !label.trim() || label.length > 100) throw badRequest('invalid_body', "'label': expected what the token is for (1–100 characters)", { field: 'label' });
    const d = days === undefined ? TOKEN_TTL_DAYS.default : Number(days);
    if (!Number.isInteger(d) || d < 1 || d > TOKEN_TTL_DAYS.max) throw badRequest('invalid_body', `'days': expected 1 to ${TOKEN_TTL_DAYS.max}`, { field: 'days' });
    const t = await issueCredential(knex, a.id, 'token', { label: label.trim(), ttlMs: d * 86_400_000 });
    res.status(201).set('Cache-Control', 'no-store').json({ id: t.id, token: t.token, label: label.trim(), expires_at: t.expires_at });
  });

  r.get('/tokens', async (_req, res) => {
    const a = needAccount(res);
    const rows = await knex('credentials').where({ account_id: a.id, kind: 'token' }).orderBy('created_at').select('id', 'label', 'created_at', 'expires_at', 'revoked_at', 'last_used_at');
    res.json({ tokens: rows });
  });

  r.delete('/tokens/:id', async (req, res) => {
    const a = needAccount(res);
    const id = req.params.id;
    if (!/^[0-9a-f-]{36}$/.test(id)) throw badRequest('invalid_parameter', `'id': expected a token id, got ${JSON.stringify(id)}`, { parameter: 'id' });
    const row = await knex('credentials').where({ id, kind: 'token' }).first('account_id');
    if (!row || (row.account_id !== a.id && !a.roles.includes('admin'))) throw notFound('unknown_token', `token ${id} does not exist`, { tokenId: id });
    await revokeCredential(knex, id);
    res.status(204).end();
  });

  return r;
}
