// Accounts and their credentials (migrations/…_accounts.ts): creating accounts, issuing browser
// sessions and API tokens, recognising them on a request, revoking them. A credential is 32
// random bytes (base64url) given to the client once; the database keeps its sha256 only.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Role } from './needs';
import { checkPassword, hashPassword } from './passwords';
import type { Account as Shown } from './schemas';

export { ROLES, type Role } from './needs';

/** An account as the server holds it: what the API shows, and its row id. */
export interface Account extends Shown {
  id: number;
}

export interface Credential {
  id: string;
  kind: 'session' | 'token';
  csrf: string | null;
  expires_at: Date;
}

export const SESSION_TTL_MS = 12 * 3600 * 1000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secret = () => randomBytes(32).toString('base64url');

export interface NewAccount {
  name: string;
  display_name: string;
  department: string | null;
  roles: Role[];
  password?: string;
  /** A hash made beforehand (the demo accounts share one). */
  password_hash?: string;
  demo?: boolean;
}

export async function createAccount(knex: Knex, a: NewAccount): Promise<Account> {
  if (!a.password && !a.password_hash) throw new Error('an account needs a password');
  if (a.password !== undefined) checkPassword(a.password);
  const [row] = await knex('accounts')
    .insert({
      name: a.name,
      display_name: a.display_name,
      department: a.department,
      roles: a.roles,
      password_hash: a.password_hash ?? (await hashPassword(a.password!)),
      demo: a.demo ?? false,
    })
    .returning(['id', 'name', 'display_name', 'department', 'roles']);
  return row;
}

/** Issues a session (with its CSRF token) or an API token; returns the secret, shown this once. */
export async function issueCredential(knex: Knex, accountId: number, kind: 'session' | 'token', opts: { label?: string; ttlMs: number }) {
  const token = secret();
  const csrf = kind === 'session' ? secret() : null;
  const id = randomUUID();
  const expires_at = new Date(Date.now() + opts.ttlMs);
  await knex('credentials').insert({ id, account_id: accountId, kind, token_sha256: sha256(token), label: opts.label ?? null, csrf, expires_at });
  return { id, token, csrf, expires_at };
}

/** The account and credential a secret stands for, if it is current (not expired, not revoked, account active). */
export async function recognise(knex: Knex, token: string): Promise<{ account: Account; credential: Credential } | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const row = await knex('credentials as c')
    .join('accounts as a', 'a.id', 'c.account_id')
    .where('c.token_sha256', sha256(token))
    .whereNull('c.revoked_at')
    .where('c.expires_at', '>', knex.fn.now())
    .where('a.active', true)
    .first('a.id', 'a.name', 'a.display_name', 'a.department', 'a.roles', 'c.id as credential_id', 'c.kind', 'c.csrf', 'c.expires_at');
  if (!row) return null;
  // When it was last used (at most once a minute, so reading does not turn every request into a write).
  await knex('credentials')
    .where('id', row.credential_id)
    .where((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', knex.raw("now() - interval '1 minute'")))
    .update({ last_used_at: knex.fn.now() });
  return {
    account: { id: row.id, name: row.name, display_name: row.display_name, department: row.department, roles: row.roles },
    credential: { id: row.credential_id, kind: row.kind, csrf: row.csrf, expires_at: row.expires_at },
  };
}

export async function revokeCredential(knex: Knex, id: string): Promise<boolean> {
  const n = await knex('credentials').where({ id }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
  return n > 0;
}
