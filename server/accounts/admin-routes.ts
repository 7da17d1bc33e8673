// /api/accounts: account management, admins only (401 / 403 before any body is read). What each
// route does is in admin.ts, shared with the CLI; the bodies and answers are in schemas.ts.
//
//   GET    /api/accounts                  the accounts (no hashes), with their live sessions and tokens
//   POST   /api/accounts                  create { name, display_name, department, roles, password }
//   PATCH  /api/accounts/:name            { display_name?, department?, roles?, active? }; deactivating revokes its credentials
//   POST   /api/accounts/:name/password   { password }: a new password; revokes its sessions
//   POST   /api/accounts/:name/revoke     revokes all its sessions and tokens
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Registry } from '../layers/registry';
import { Routes, type RoutesOptions } from '../platform/contract';
import type { Credential } from './accounts';
import { addAccount, listAccounts, revokeAccount, setPassword, updateAccount } from './admin';
import { guard } from './authorize';
import { ROLES } from './needs';
import { accountBodies, AccountRevoked, AccountView } from './schemas';

/** Mounted at /api/accounts. */
export function accountRoutes(knex: Knex, registry: Registry, opts: RoutesOptions): Routes {
  const routes = new Routes('/api/accounts', ['Accounts'], opts);
  const access = guard.admin('managing accounts');
  const departments = registry.departments.map((d) => d.id);
  const bodies = accountBodies(departments);
  // Any text: a name that is no account's is a 404 (unknown_account), as for one that was never made.
  const params = z.object({ name: z.string().describe('account name') });

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'The accounts (never their password hashes) with their current sessions and tokens, the roles and departments',
      access,
      responses: {
        200: {
          description: 'the accounts by name, and what roles and departments may be given',
          schema: z.object({ accounts: z.array(AccountView), roles: z.array(z.enum(ROLES)), departments: z.array(z.string()) }),
        },
      },
    },
    async ({ res }) => {
      res.set('Cache-Control', 'no-store');
      return { accounts: await listAccounts(knex), roles: [...ROLES], departments };
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/',
      summary: 'Creates an account (audited as account.created)',
      access,
      body: bodies.create,
      bodyLimit: '16kb',
      responses: { 201: { description: 'the new account', schema: AccountView } },
      errors: [409],
    },
    ({ body, account }) => addAccount(knex, account.name, body),
  );

  routes.route(
    {
      method: 'patch',
      path: '/:name',
      summary: 'Changes an account’s display name, department, roles or active flag; deactivating revokes its sessions and tokens (audited as account.updated)',
      description: 'An admin cannot deactivate or demote themselves (409 self_lockout).',
      access,
      params,
      body: bodies.change,
      bodyLimit: '16kb',
      responses: { 200: { description: 'the account as it is now', schema: AccountView } },
      errors: [404, 409],
    },
    ({ params: { name }, body, account }) => updateAccount(knex, account.name, name, body, account),
  );

  routes.route(
    {
      method: 'post',
      path: '/:name/password',
      summary: 'Sets a new password and revokes the account’s sessions, the caller’s own kept (audited as account.password_changed, never the hash)',
      access,
      params,
      body: bodies.password,
      bodyLimit: '16kb',
      responses: { 200: { description: 'the account, and how many sessions were revoked', schema: AccountRevoked } },
      errors: [404],
    },
    async ({ res, params: { name }, body, account }) => {
      const r = await setPassword(knex, account.name, name, body.password, (res.locals.credential as Credential).id);
      return { ...r.account, revoked: r.revoked };
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/:name/revoke',
      summary: 'Revokes every current session and API token of the account',
      access,
      params,
      responses: { 200: { description: 'the account, and how many credentials were revoked', schema: AccountRevoked } },
      errors: [404],
    },
    async ({ params: { name }, account }) => {
      const r = await revokeAccount(knex, account.name, name);
      return { ...r.account, revoked: r.revoked };
    },
  );

  return routes;
}
