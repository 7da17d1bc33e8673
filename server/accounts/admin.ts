// Account management: the admin API at /api/accounts (admins only) and the functions it shares with
// the CLI (server/accounts/cli.ts). Every change runs in a transaction that names its actor in the
// transaction-local setting onemap.actor, which the audit triggers read
// (migrations/…_accounts_audit.ts): account.created / account.updated / account.password_changed,
// and the credentials revoked by it as auth.session.revoked / auth.token.revoked under the actor.
// Password hashes never leave the database.
//
//   GET    /api/accounts                  the accounts (no hashes), with their live sessions and tokens
//   POST   /api/accounts                  create { name, display_name, department, roles, password }
//   PATCH  /api/accounts/:name            { display_name?, department?, roles?, active? }; deactivating revokes its credentials
//   POST   /api/accounts/:name/password   { password }: a new password; revokes its sessions
//   POST   /api/accounts/:name/revoke     revokes all its sessions and tokens
//
// An admin cannot deactivate or demote themselves (409 self_lockout), so there is always one left.
import express, { Router } from 'express';
import type { Knex } from 'knex';
import type { Registry } from '../layers/registry';
import { AppError, badRequest, notFound } from '../platform/errors';
import { type Account, type Credential, createAccount, ROLES, type Role } from './accounts';
import { requireAdmin } from './authorize';
import { hashPassword } from './passwords';

export const NAME_PATTERN = /^[a-z][a-z0-9_.-]{1,39}$/;
export const MIN_PASSWORD = 10;

/** An account as the admin API shows it. */
export interface AccountView {
  name: string;
  display_name: string;
  department: string | null;
  roles: Role[];
  active: boolean;
  demo: boolean;
  created_at: Date;
  /** Current (not expired, not revoked) sessions and API tokens. */
  sessions: number;
  tokens: number;
}

export interface AccountChanges {
  display_name?: string;
  department?: string | null;
  roles?: Role[];
  active?: boolean;
}

/** Runs fn in a transaction whose audit entries name `actor` (see migrations/…_accounts_audit.ts). */
export async function asActor<T>(knex: Knex, actor: string, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw(`SELECT set_config('onemap.actor', ?, true)`, [actor]);
    return fn(trx);
  });
}

export async function listAccounts(knex: Knex, name?: string): Promise<AccountView[]> {
  const live = (kind: string) =>
    knex('credentials as c').whereRaw('c.account_id = a.id').where('c.kind', kind).whereNull('c.revoked_at').where('c.expires_at', '>', knex.fn.now()).count('*');
  const q = knex('accounts as a')
    .orderBy('a.name')
    .select('a.name', 'a.display_name', 'a.department', 'a.roles', 'a.active', 'a.demo', 'a.created_at', live('session').as('sessions'), live('token').as('tokens'));
  if (name !== undefined) q.where('a.name', name);
  return (await q).map((r: Record<string, unknown>) => ({ ...(r as unknown as AccountView), sessions: Number(r.sessions), tokens: Number(r.tokens) }));
}

async function accountRow(knex: Knex, name: string): Promise<{ id: number; name: string; roles: Role[]; department: string | null; active: boolean }> {
  const row = await knex('accounts').where({ name }).forUpdate().first('id', 'name', 'roles', 'department', 'active');
  if (!row) throw notFound('unknown_account', `account '${name}' does not exist; see GET /api/accounts`, { account: name });
  return row;
}

/** Revokes an account's current credentials (sessions, tokens or both), except `keep`; returns how many. */
export async function revokeAll(knex: Knex, accountId: number, kinds: Credential['kind'][] = ['session', 'token'], keep?: string): Promise<number> {
  const q = knex('credentials').where('account_id', accountId).whereIn('kind', kinds).whereNull('revoked_at').where('expires_at', '>', knex.fn.now());
  if (keep) q.whereNot('id', keep);
  return q.update({ revoked_at: knex.fn.now() });
}

/** The checks of a new or changed account that the database's own CHECKs would only answer with a 500. */
export function checkAccountFields(registry: Registry, b: Record<string, unknown>, creating: boolean): AccountChanges & { name?: string; password?: string } {
  const bad = (field: string, expected: string) => badRequest('invalid_body', `'${field}': expected ${expected}, got ${JSON.stringify(b[field]) ?? 'nothing'}`, { field });
  const allowed = creating ? ['name', 'display_name', 'department', 'roles', 'password'] : ['display_name', 'department', 'roles', 'active'];
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw badRequest('invalid_body', `unknown field '${k}'; allowed: ${allowed.join(', ')}`, { field: k });
  const out: AccountChanges & { name?: string; password?: string } = {};
  if (creating || b.name !== undefined) {
    if (typeof b.name !== 'string' || !NAME_PATTERN.test(b.name)) throw bad('name', 'an account name of 2–40 characters: a–z first, then a–z, 0–9, _ . -');
    out.name = b.name;
  }
  if (creating || b.display_name !== undefined) {
    if (typeof b.display_name !== 'string' || !b.display_name.trim() || b.display_name.length > 100) throw bad('display_name', 'a name to show of 1–100 characters');
    out.display_name = b.display_name.trim();
  }
  if (creating || b.department !== undefined) {
    const ids = registry.departments.map((d) => d.id);
    if (b.department !== null && (typeof b.department !== 'string' || !ids.includes(b.department))) throw bad('department', `null or one of ${ids.join(', ')} (layers/departments.json)`);
    out.department = b.department as string | null;
  }
  if (creating || b.roles !== undefined) {
    const r = b.roles;
    if (!Array.isArray(r) || !r.length || r.some((x) => !ROLES.includes(x)) || new Set(r).size !== r.length) throw bad('roles', `a non-empty list of distinct roles from ${ROLES.join(', ')}`);
    out.roles = r as Role[];
  }
  if (!creating && b.active !== undefined) {
    if (typeof b.active !== 'boolean') throw bad('active', 'true or false');
    out.active = b.active;
  }
  if (creating) {
    if (typeof b.password !== 'string' || b.password.length < MIN_PASSWORD || b.password.length > 200) {
      throw badRequest('weak_password', `'password': a password has ${MIN_PASSWORD} to 200 characters`, { field: 'password' });
    }
    out.password = b.password;
  }
  return out;
}

/** Only an admin may be without a department; everyone else acts for one. */
function checkDepartment(department: string | null, roles: Role[]) {
  if (department === null && roles.some((r) => r !== 'admin')) {
    throw badRequest('invalid_body', `'department': the roles ${roles.filter((r) => r !== 'admin').join(', ')} act for a department; only an admin may have none`, { field: 'department' });
  }
}

/** Creates an account (409 account_exists when the name is taken). */
export async function addAccount(knex: Knex, actor: string, a: { name: string; display_name: string; department: string | null; roles: Role[]; password: string }): Promise<AccountView> {
  checkDepartment(a.department, a.roles);
  const hash = await hashPassword(a.password); // before the transaction: ~100 ms of scrypt
  try {
    await asActor(knex, actor, (trx) => createAccount(trx, { ...a, password: undefined, password_hash: hash }));
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new AppError(409, 'account_exists', `account '${a.name}' already exists`, { account: a.name });
    throw err;
  }
  return (await listAccounts(knex, a.name))[0];
}

/** Changes an account; deactivating it revokes its credentials. `self`: the acting account, which may not lock itself out. */
export async function updateAccount(knex: Knex, actor: string, name: string, changes: AccountChanges, self?: Account): Promise<AccountView> {
  await asActor(knex, actor, async (trx) => {
    const cur = await accountRow(trx, name);
    const roles = changes.roles ?? cur.roles;
    checkDepartment(changes.department !== undefined ? changes.department : cur.department, roles);
    if (self && self.id === cur.id) {
      if (changes.active === false) throw new AppError(409, 'self_lockout', 'an admin cannot deactivate their own account; another admin can', { account: name });
      if (!roles.includes('admin')) throw new AppError(409, 'self_lockout', 'an admin cannot take the admin role from their own account; another admin can', { account: name });
    }
    const update: Record<string, unknown> = {};
    for (const k of ['display_name', 'department', 'roles', 'active'] as const) if (changes[k] !== undefined) update[k] = changes[k];
    if (Object.keys(update).length) await trx('accounts').where('id', cur.id).update(update);
    if (changes.active === false) await revokeAll(trx, cur.id);
  });
  return (await listAccounts(knex, name))[0];
}

/** Sets a new password; the account's sessions are revoked (except `keep`, the caller's own). */
export async function setPassword(knex: Knex, actor: string, name: string, password: string, keep?: string): Promise<{ account: AccountView; revoked: number }> {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > 200) {
    throw badRequest('weak_password', `'password': a password has ${MIN_PASSWORD} to 200 characters`, { field: 'password' });
  }
  const hash = await hashPassword(password);
  const revoked = await asActor(knex, actor, async (trx) => {
    const cur = await accountRow(trx, name);
    await trx('accounts').where('id', cur.id).update({ password_hash: hash });
    return revokeAll(trx, cur.id, ['session'], keep);
  });
  return { account: (await listAccounts(knex, name))[0], revoked };
}

/** Revokes every current session and token of the account. */
export async function revokeAccount(knex: Knex, actor: string, name: string): Promise<{ account: AccountView; revoked: number }> {
  const revoked = await asActor(knex, actor, async (trx) => revokeAll(trx, (await accountRow(trx, name)).id));
  return { account: (await listAccounts(knex, name))[0], revoked };
}

/** Mounted at /api/accounts. */
export function accountsAdminRouter(knex: Knex, registry: Registry): Router {
  const r = Router();
  // Admins only, before the body is read.
  r.use((_req, res, next) => {
    requireAdmin(res, 'managing accounts');
    next();
  });
  r.use(express.json({ limit: '16kb' }));
  const body = (b: unknown): Record<string, unknown> => {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest('invalid_body', 'expected a JSON object');
    return b as Record<string, unknown>;
  };
  const nameOf = (raw: string) => {
    if (!NAME_PATTERN.test(raw)) throw notFound('unknown_account', `account '${raw}' does not exist; see GET /api/accounts`, { account: raw });
    return raw;
  };
  const me = (res: express.Response) => res.locals.account as Account;

  r.get('/', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ accounts: await listAccounts(knex), roles: ROLES, departments: registry.departments.map((d) => d.id) });
  });

  r.post('/', async (req, res) => {
    const f = checkAccountFields(registry, body(req.body), true);
    const a = await addAccount(knex, me(res).name, { name: f.name!, display_name: f.display_name!, department: f.department ?? null, roles: f.roles!, password: f.password! });
    res.status(201).json(a);
  });

  r.patch('/:name', async (req, res) => {
    const name = nameOf(req.params.name);
    const changes = checkAccountFields(registry, body(req.body), false);
    res.json(await updateAccount(knex, me(res).name, name, changes, me(res)));
  });

  r.post('/:name/password', async (req, res) => {
    const name = nameOf(req.params.name);
    const b = body(req.body ?? {});
    for (const k of Object.keys(b)) if (k !== 'password') throw badRequest('invalid_body', `unknown field '${k}'; allowed: password`, { field: k });
    const { account, revoked } = await setPassword(knex, me(res).name, name, b.password as string, (res.locals.credential as Credential).id);
    res.json({ ...account, revoked });
  });

  r.post('/:name/revoke', async (req, res) => {
    const name = nameOf(req.params.name);
    const { account, revoked } = await revokeAccount(knex, me(res).name, name);
    res.json({ ...account, revoked });
  });

  return r;
}
