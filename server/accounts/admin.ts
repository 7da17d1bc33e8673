// Account management, as the admin API (accounts/admin-routes.ts) and the CLI (accounts/cli.ts)
// both do it. Every change runs in a transaction that names its actor in the transaction-local
// setting onemap.actor, which the audit triggers read (migrations/…_accounts_audit.ts):
// account.created / account.updated / account.password_changed, and the credentials revoked by it
// as auth.session.revoked / auth.token.revoked under the actor. Password hashes never leave the
// database. An admin cannot deactivate or demote themselves (409 self_lockout), so there is always
// one left; only an admin may be without a department.
import type { Knex } from 'knex';
import { AppError, badRequest, notFound } from '../platform/errors';
import { type Account, type Credential, createAccount, type Role } from './accounts';
import { checkPassword, hashPassword } from './passwords';
import type { AccountChanges, AccountView, NewAccountBody } from './schemas';

/** Runs fn in a transaction whose audit entries name `actor` (see migrations/…_accounts_audit.ts). */
export async function asActor<T>(knex: Knex, actor: string, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw(`SELECT set_config('onemap.actor', ?, true)`, [actor]);
    return fn(trx);
  });
}

/** The accounts (or the one named) with their current sessions and tokens, by name. */
export async function listAccounts(knex: Knex, name?: string): Promise<AccountView[]> {
  const live = (kind: string) =>
    knex('credentials as c').whereRaw('c.account_id = a.id').where('c.kind', kind).whereNull('c.revoked_at').where('c.expires_at', '>', knex.fn.now()).count('*');
  const q = knex('accounts as a')
    .orderBy('a.name')
    .select('a.name', 'a.display_name', 'a.department', 'a.roles', 'a.active', 'a.demo', 'a.created_at', live('session').as('sessions'), live('token').as('tokens'));
  if (name !== undefined) q.where('a.name', name);
  return (await q).map((r: Record<string, unknown>) => ({
    ...(r as unknown as AccountView),
    created_at: (r.created_at as Date).toISOString(),
    sessions: Number(r.sessions),
    tokens: Number(r.tokens),
  }));
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

/** Only an admin may be without a department; everyone else acts for one. */
function checkDepartment(department: string | null, roles: Role[]) {
  if (department === null && roles.some((r) => r !== 'admin')) {
    throw badRequest('invalid_body', `'department': the roles ${roles.filter((r) => r !== 'admin').join(', ')} act for a department; only an admin may have none`, { field: 'department' });
  }
}

/** Creates an account (409 account_exists when the name is taken). */
export async function addAccount(knex: Knex, actor: string, a: NewAccountBody): Promise<AccountView> {
  checkPassword(a.password);
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
  checkPassword(password);
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
