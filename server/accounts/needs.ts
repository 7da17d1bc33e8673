// What each action needs, as data: the roles and departments that may do it. Pure (no Node, no
// Express), so the server's checks (authorize.ts) and the viewer's disabled buttons
// (web/src/auth/permissions.ts) read the same rules. The rules (README, "Roles and permissions"):
//   layer writes (imports, dry runs included, and restores): a plan_editor of the layer's owning
//     department (registry `department`), or an admin;
//   conflict detection runs: a reviewer or plan_editor of the planning department (市规划局 leads
//     五规合一), or an admin;
//   ledger comments: a reviewer or plan_editor of one of the rule's departments, or an admin;
//   ledger transitions to coordinated or back to pending: a reviewer of one of the rule's
//     departments, or an admin; to verified (已核验): a reviewer of planning, or an admin;
//   the audit trail (it names people) and account management: admins only.

/** The roles an account can hold. */
export const ROLES = ['window_clerk', 'reviewer', 'plan_editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a rule looks at of an account. */
export interface Holder {
  name: string;
  roles: readonly Role[] | readonly string[];
  department: string | null;
}

/** 规划局 leads 五规合一: it runs detection and verifies the ledger's decisions. */
export const LEAD_DEPARTMENT = 'planning';

/** What an action needs: any of `roles`, within one of `departments` (absent: any department); an admin always may. */
export interface Need {
  /** What is being done, for the message ("import into layer 'landuse_plan'"). */
  action: string;
  roles: Role[];
  departments?: string[];
}

export const isAdmin = (a: Holder): boolean => (a.roles as readonly string[]).includes('admin');

/** Whether the account may do what `need` describes. */
export function allows(a: Holder, need: Need): boolean {
  if (isAdmin(a)) return true;
  if (!need.roles.some((r) => (a.roles as readonly string[]).includes(r))) return false;
  return !need.departments || (a.department !== null && need.departments.includes(a.department));
}

/** A need in words, for the document: "a reviewer or plan_editor of planning, or an admin". */
export function describeNeed(need: Need): string {
  return `a ${need.roles.join(' or ')}${need.departments ? ` of ${need.departments.join(' or ')}` : ''}, or an admin`;
}

/** Imports (dry runs too) and restores: a plan_editor of the layer's department, or an admin. */
export const layerWrite = (layer: { id: string; department: string }, what: 'import into' | 'restore a revision of'): Need => ({
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
