// Who may write what, on the server: every route declares its guard (below) and every permission is
// a Need (needs.ts, shared with the viewer) checked here. The working data (OGC API, tiles, the
// style, layers, revisions, exports, conflicts, ledger, reports, applications) is read by staff of
// any role (`guard.staff`); without an account only the published releases, the login, the health
// check, the OpenAPI document and the viewer's static files answer.
//
//   401 unauthenticated: no account behind the request (anonymous, a session cookie without its
//       X-CSRF-Token header, an expired or revoked credential, a deactivated account);
//   403 forbidden: an account without the role or department the action needs; the message names
//       what is needed and what the account has.
import type { Response } from 'express';
import type { Guard } from '../platform/contract';
import { AppError } from '../platform/errors';
import type { Account } from './accounts';
import { allows, describeNeed, excluded, isAdmin, type Need } from './needs';

export { allows, conflictRun, describeNeed, isAdmin, LEAD_DEPARTMENT, layerWrite, ledgerComment, ledgerTransition, type Need } from './needs';

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

const describeAccount = (a: Account) => `${a.name} (${a.roles.join(', ')}${a.department ? ` of ${a.department}` : ''})`;

/** 403 forbidden naming what the action needs and what the account has (or why the account may not). */
export function forbidden(a: Account, need: Need): AppError {
  const roles = need.roles.join(' or ');
  const where = need.departments ? ` of ${need.departments.length > 1 ? 'one of the departments ' : 'the department '}${need.departments.join(', ')}` : '';
  const message = excluded(a, need) ? `${need.action}: ${need.notBy!.why}` : `${need.action} needs a ${roles}${where}${need.admin === false ? '' : ', or an admin'}`;
  return new AppError(403, 'forbidden', `${message}; you are ${describeAccount(a)}`, {
    need: { roles: need.roles, ...(need.departments ? { departments: need.departments } : {}), ...(need.admin === false ? {} : { or: 'admin' }) },
    account: { name: a.name, roles: a.roles, department: a.department },
  });
}

/** 403 when the account may not (for needs known once the object is read); otherwise the account. */
export function ensureAllowed(a: Account, need: Need): Account {
  if (!allows(a, need)) throw forbidden(a, need);
  return a;
}

/** 401 without an account, 403 when the account may not; otherwise the account. */
export function requireAllowed(res: Response, need: Need): Account {
  return ensureAllowed(requireAccount(res), need);
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

/** Who may call a route, as its contract declares it (platform/contract.ts): checked before the body is read. */
export const guard = {
  /** Anyone, without an account. */
  public: { security: 'public', check: () => undefined } as Guard<undefined>,
  /** Any signed-in account (staff of any role). */
  account: (who = 'any account'): Guard<Account> => ({ security: 'account', who, check: (res) => requireAccount(res) }),
  /** Reads of the working data: any staff account, of any role or department (anonymous: 401). */
  staff: { security: 'account', who: 'any staff account (working data)', check: (res) => requireAccount(res) } as Guard<Account>,
  /** An account that `need` allows; `need` may depend on the validated path parameters. */
  need: <P = Record<string, unknown>>(need: Need | ((params: P) => Need), who?: string): Guard<Account> => ({
    security: 'account',
    who: who ?? (typeof need === 'function' ? undefined : describeNeed(need)),
    check: (res, params) => requireAllowed(res, typeof need === 'function' ? need(params as P) : need),
  }),
  /** Admins only. */
  admin: (action: string): Guard<Account> => ({ security: 'account', who: 'an admin', check: (res) => requireAdmin(res, action) }),
};
