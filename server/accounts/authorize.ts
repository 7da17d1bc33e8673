// Who may write what (issue 5: "every write endpoint checks who may do it on the server"). Every
// write route calls one of the checks below before it reads its body into the database; reads of
// public data (the map, OGC API, tiles, the conflicts list and reports) stay anonymous.
//
//   401 unauthenticated: no account behind the request (anonymous, a session cookie without its
//       X-CSRF-Token header, an expired or revoked credential, a deactivated account);
//   403 forbidden: an account without the role or department the action needs; the message names
//       what is needed and what the account has.
//
// The rules (README, "Roles and permissions"):
//   layer writes (imports, dry runs included, and restores): a plan_editor of the layer's owning
//     department (registry `department`), or an admin;
//   conflict detection runs: a reviewer or plan_editor of the planning department (市规划局 leads
//     五规合一), or an admin;
//   ledger comments: a reviewer or plan_editor of one of the rule's departments, or an admin;
//   ledger transitions to coordinated or back to pending: a reviewer of one of the rule's
//     departments, or an admin; to verified (已核验): a reviewer of planning, or an admin;
//   the audit trail (it names people) and account management: admins only.
import type { Response } from 'express';
import type { Layer } from '../layers/registry';
import type { Guard } from '../platform/contract';
import { AppError } from '../platform/errors';
import type { Account, Role } from './accounts';

/** 规划局 leads 五规合一: it runs detection and verifies the ledger's decisions. */
export const LEAD_DEPARTMENT = 'planning';

/** What an action needs: any of `roles`, within one of `departments` (absent: any department); an admin always may. */
export interface Need {
  /** What is being done, for the message ("import into layer 'landuse_plan'"). */
  action: string;
  roles: Role[];
  departments?: string[];
}

/** The account behind a request (undefined: anonymous), as the middleware `identify` recognised it. */
export const accountOf = (res: Response): Account | undefined => res.locals.account as Account | undefined;

const LOGIN_HELP =
  'log in first: POST /api/auth/login for a browser session (writes then send its CSRF token as X-CSRF-Token), or send Authorization: Bearer <token> with an API token from POST /api/auth/tokens';

/** The account behind the request, or 401 unauthenticated saying how to log in. */
export function requireAccount(res: Response): Account {
  const a = accountOf(res);
  if (a) return a;
  const why = res.locals.authProblem as string | undefined;
  const prefix =
    why === 'csrf'
      ? 'the session cookie came without its X-CSRF-Token header (a write counts as the account’s only with it); '
      : why === 'credential'
        ? 'the session or token is expired, revoked or unknown; '
        : '';
  throw new AppError(401, 'unauthenticated', `${prefix}${LOGIN_HELP}`, why ? { problem: why } : undefined);
}

export const isAdmin = (a: Account): boolean => a.roles.includes('admin');

/** Whether the account may do what `need` describes. */
export function allows(a: Account, need: Need): boolean {
  if (isAdmin(a)) return true;
  if (!need.roles.some((r) => a.roles.includes(r))) return false;
  return !need.departments || (a.department !== null && need.departments.includes(a.department));
}

const describeAccount = (a: Account) => `${a.name} (${a.roles.join(', ')}${a.department ? ` of ${a.department}` : ''})`;

/** 403 forbidden naming what the action needs and what the account has. */
export function forbidden(a: Account, need: Need): AppError {
  const roles = need.roles.join(' or ');
  const where = need.departments ? ` of ${need.departments.length > 1 ? 'one of the departments ' : 'the department '}${need.departments.join(', ')}` : '';
  return new AppError(403, 'forbidden', `${need.action} needs a ${roles}${where}, or an admin; you are ${describeAccount(a)}`, {
    need: { roles: need.roles, ...(need.departments ? { departments: need.departments } : {}), or: 'admin' },
    account: { name: a.name, roles: a.roles, department: a.department },
  });
}

/** 401 without an account, 403 when the account may not; otherwise the account. */
export function requireAllowed(res: Response, need: Need): Account {
  const a = requireAccount(res);
  if (!allows(a, need)) throw forbidden(a, need);
  return a;
}

/** 401 without an account, 403 unless an admin. */
export function requireAdmin(res: Response, action: string): Account {
  const a = requireAccount(res);
  if (!isAdmin(a)) {
    throw new AppError(403, 'forbidden', `${action} needs an admin; you are ${describeAccount(a)}`, {
      need: { roles: ['admin'] },
      account: { name: a.name, roles: a.roles, department: a.department },
    });
  }
  return a;
}

/** Imports (dry runs too) and restores: a plan_editor of the layer's department, or an admin. */
export const layerWrite = (layer: Layer, what: 'import into' | 'restore a revision of'): Need => ({
  action: `${what === 'import into' ? 'an import into' : 'restoring a revision of'} layer '${layer.id}'`,
  roles: ['plan_editor'],
  departments: [layer.department],
});

/** Detection runs: a reviewer or plan_editor of planning, or an admin. */
export const conflictRun: Need = { action: 'a conflict detection run', roles: ['reviewer', 'plan_editor'], departments: [LEAD_DEPARTMENT] };

/** Ledger comments: a reviewer or plan_editor of one of the rule's departments, or an admin. */
export const ledgerComment = (rule: { id: string; departments: string[] }): Need => ({
  action: `a comment on a case of rule '${rule.id}'`,
  roles: ['reviewer', 'plan_editor'],
  departments: rule.departments,
});

/** Ledger transitions: to verified a reviewer of planning; otherwise a reviewer of the rule's departments; or an admin. */
export const ledgerTransition = (rule: { id: string; departments: string[] }, to: string): Need =>
  to === 'verified'
    ? { action: `verifying (已核验) a case of rule '${rule.id}'`, roles: ['reviewer'], departments: [LEAD_DEPARTMENT] }
    : { action: `changing a case of rule '${rule.id}' to ${to}`, roles: ['reviewer'], departments: rule.departments };

/** Who may call a route, as its contract declares it (platform/contract.ts): checked before the body is read. */
export const guard = {
  /** Anyone, without an account. */
  public: { security: 'public', check: () => undefined } as Guard<undefined>,
  /** Any signed-in account (staff of any role). */
  account: (who = 'any account'): Guard<Account> => ({ security: 'account', who, check: (res) => requireAccount(res) }),
  /** An account that `need` allows; `need` may depend on the validated path parameters. */
  need: <P = Record<string, unknown>>(need: Need | ((params: P) => Need), who?: string): Guard<Account> => ({
    security: 'account',
    who: who ?? (typeof need === 'function' ? undefined : describeNeed(need)),
    check: (res, params) => requireAllowed(res, typeof need === 'function' ? need(params as P) : need),
  }),
  /** Admins only. */
  admin: (action: string): Guard<Account> => ({ security: 'account', who: 'an admin', check: (res) => requireAdmin(res, action) }),
};

/** A need in words, for the document: "a reviewer or plan_editor of planning, or an admin". */
export function describeNeed(need: Need): string {
  return `a ${need.roles.join(' or ')}${need.departments ? ` of ${need.departments.join(' or ')}` : ''}, or an admin`;
}
