// Acting as an account in tests: an API token issued straight into the database (no scrypt per
// test), for the demo accounts (admin, window, <department>.reviewer, <department>.editor), which
// are created when missing.
import type { Knex } from 'knex';
import { issueCredential } from '../../server/accounts/accounts';
import { ensureDemoAccounts } from '../../server/accounts/demo';
import { loadRegistry } from '../../server/layers/registry';

const cache = new WeakMap<Knex, Map<string, string>>();

/** A bearer token of the named account (demo accounts are created when missing). */
export async function tokenFor(knex: Knex, name: string): Promise<string> {
  let byName = cache.get(knex);
  if (!byName) cache.set(knex, (byName = new Map()));
  const known = byName.get(name);
  if (known) return known;
  let row = await knex('accounts').where({ name }).first('id');
  if (!row) {
    await ensureDemoAccounts(knex, loadRegistry());
    row = await knex('accounts').where({ name }).first('id');
  }
  if (!row) throw new Error(`no account ${name}`);
  const t = await issueCredential(knex, row.id, 'token', { label: 'test', ttlMs: 86_400_000 });
  byName.set(name, t.token);
  return t.token;
}

/** Headers that make a request come from the named account. */
export async function as(knex: Knex, name: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  return { ...headers, Authorization: `Bearer ${await tokenFor(knex, name)}` };
}
