// What the logged-in account may do, so the viewer can disable what would be refused: the server's
// own rules (server/accounts/needs.ts, the needs its routes declare), asked here of the account the
// viewer holds; the server's check is the one that counts. And the text of a refusal for people:
// 401 asks to log in, 403 gives the server's own message.
import { allows, conflictRun, layerWrite, ledgerComment, ledgerTransition, prepareRelease, publishRelease, withdrawRelease } from '../../../server/accounts/needs';
import { t } from '../i18n/i18n';
import { ApiError } from '../platform/http';
import type { Account } from './session';

// The needs name the layer or rule for the server's messages; here only who may counts, so the
// builders get the departments that decide and no name.

/** Imports and restores of a layer: a plan_editor of its department, or an admin. */
export const mayWriteLayer = (a: Account, layerDepartment: string): boolean => allows(a, layerWrite({ id: '', department: layerDepartment }, 'import into'));

/** Detection runs: a reviewer or plan_editor of planning, or an admin. */
export const mayRunDetection = (a: Account): boolean => allows(a, conflictRun);

/** Ledger comments: a reviewer or plan_editor of one of the rule's departments, or an admin. */
export const mayComment = (a: Account, ruleDepartments: string[]): boolean => allows(a, ledgerComment({ id: '', departments: ruleDepartments }));

/** Ledger transitions: to verified a reviewer of planning; otherwise a reviewer of the rule's departments; or an admin. */
export const mayTransition = (a: Account, ruleDepartments: string[], to: string): boolean => allows(a, ledgerTransition({ id: '', departments: ruleDepartments }, to));

/** Preparing a release (成果版本): a plan_editor of planning, or an admin. */
export const mayPrepareRelease = (a: Account): boolean => allows(a, prepareRelease);

/** Publishing a release: a reviewer of planning, or an admin, never the account that prepared it. */
export const mayPublishRelease = (a: Account, release: { number: number; preparedBy: string }): boolean => allows(a, publishRelease(release));

/** Withdrawing a release: a reviewer of planning, or an admin. */
export const mayWithdrawRelease = (a: Account, release: { number: number }): boolean => allows(a, withdrawRelease(release));

/** A failure for people: log in (401), the server's reason (403 and the rest). */
export function refusalText(err: unknown): string {
  if (err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated') return t('loginRequired');
  return err instanceof Error ? err.message : String(err);
}
