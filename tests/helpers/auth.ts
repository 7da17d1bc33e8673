// Acting as an account in tests: an API token issued straight into the database (no scrypt per
// test), for the demo accounts (admin, window, <department>.reviewer, <department>.editor), which
// are created when missing. The working data (OGC API, tiles, style, layers, revisions, exports,
// conflicts, applications) needs an account of any role: on a file's own database `as(knex, name)`,
// on the run's shared demo database (useFileServer()) `staffHeaders()`.
import type { Knex } from 'knex';
import { inject } from 'vitest';
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

/** Headers of the run's staff account (a reviewer of 市规划局) on the shared demo database: its token is issued once, by global-setup.ts. */
export function staffHeaders(headers: Record<string, string> = {}): Record<string, string> {
  return { ...headers, Authorization: `Bearer ${inject('staffToken')}` };
}

/** Request options with staffHeaders(), for fetch and getJson on the shared demo database's server. */
export const asStaff = (init: RequestInit = {}): RequestInit => ({ ...init, headers: staffHeaders((init.headers ?? {}) as Record<string, string>) });
