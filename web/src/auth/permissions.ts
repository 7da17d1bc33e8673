// What the logged-in account may do, as the server decides it (server/accounts/authorize.ts), so
// the viewer can disable what would be refused; the server's check is the one that counts. And the
// text of a refusal for people: 401 asks to log in, 403 gives the server's own message.
import { t } from '../i18n/i18n';
import { ApiError } from '../platform/http';
import type { Account } from './session';

/** 规划局 leads 五规合一: it runs detection and verifies the ledger's decisions. */
const LEAD = 'planning';

const isAdmin = (a: Account) => a.roles.includes('admin');
const has = (a: Account, roles: string[], departments: string[]) => roles.some((r) => a.roles.includes(r)) && departments.includes(a.department);

/** Imports and restores of a layer: a plan_editor of its department, or an admin. */
export const mayWriteLayer = (a: Account, layerDepartment: string): boolean => isAdmin(a) || has(a, ['plan_editor'], [layerDepartment]);

/** Detection runs: a reviewer or plan_editor of planning, or an admin. */
export const mayRunDetection = (a: Account): boolean => isAdmin(a) || has(a, ['reviewer', 'plan_editor'], [LEAD]);

/** Ledger comments: a reviewer or plan_editor of one of the rule's departments, or an admin. */
export const mayComment = (a: Account, ruleDepartments: string[]): boolean => isAdmin(a) || has(a, ['reviewer', 'plan_editor'], ruleDepartments);

/** Ledger transitions: to verified a reviewer of planning; otherwise a reviewer of the rule's departments; or an admin. */
export const mayTransition = (a: Account, ruleDepartments: string[], to: string): boolean =>
  isAdmin(a) || has(a, ['reviewer'], to === 'verified' ? [LEAD] : ruleDepartments);

/** A failure for people: log in (401), the server's reason (403 and the rest). */
export function refusalText(err: unknown): string {
  if (err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated') return t('loginRequired');
  return err instanceof Error ? err.message : String(err);
}
