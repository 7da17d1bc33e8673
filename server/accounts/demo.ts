// The demo accounts (demo mode only; listed in the README): an admin, the window of the
// government service centre, and for every other department a reviewer and a plan editor. They
// share one password, hashed once. A production start refuses to run while any of them exists.
import type { Knex } from 'knex';
import type { Registry } from '../layers/registry';
import { createAccount, type NewAccount } from './accounts';
import { hashPassword } from './passwords';

export const DEMO_PASSWORD = 'datong-demo-2015';

export function demoAccounts(registry: Registry): Omit<NewAccount, 'password_hash'>[] {
  const list: Omit<NewAccount, 'password_hash'>[] = [
    { name: 'admin', display_name: '系统管理员', department: null, roles: ['admin'] },
    { name: 'window', display_name: '市政务服务中心窗口', department: 'service', roles: ['window_clerk'] },
  ];
  for (const d of registry.departments.filter((x) => x.id !== 'service')) {
    list.push({ name: `${d.id}.reviewer`, display_name: `${d.zh}审查员`, department: d.id, roles: ['reviewer'] });
    list.push({ name: `${d.id}.editor`, display_name: `${d.zh}规划编辑`, department: d.id, roles: ['plan_editor'] });
  }
  return list;
}

/** Creates the demo accounts that do not exist yet. */
export async function ensureDemoAccounts(knex: Knex, registry: Registry): Promise<number> {
  const existing = new Set(await knex('accounts').pluck('name'));
  const missing = demoAccounts(registry).filter((a) => !existing.has(a.name));
  if (!missing.length) return 0;
  const password_hash = await hashPassword(DEMO_PASSWORD);
  for (const a of missing) await createAccount(knex, { ...a, password_hash, demo: true });
  return missing.length;
}

/** A production start (not demo mode) refuses to run while a demo account exists: their password is public. */
export async function refuseDemoAccounts(knex: Knex): Promise<void> {
  const demo = await knex('accounts').where('demo', true).orderBy('name').pluck('name');
  if (demo.length) {
    throw new Error(`demo accounts exist in this database (${demo.join(', ')}); a start with ONEMAP_DEMO=false refuses them, since their password is public: remove them (their credentials first) or start in demo mode`);
  }
}
