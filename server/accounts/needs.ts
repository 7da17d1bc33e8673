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
//   the audit trail (it names people) and account management: admins only;
//   the joint review (联动审批): preparing a site and withdrawing an application, a window clerk or
//     an admin; submitting and amending, a window clerk only; signing an opinion, a reviewer of one
//     of the departments the version goes to, and correcting one, a reviewer of its department,
//     never on an application the account submitted (admins neither: the opinion is a department's).

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

/** What an action needs: any of `roles`, within one of `departments` (absent: any department); an admin may too unless `admin` is false. */
export interface Need {
  /** What is being done, for the message ("import into layer 'landuse_plan'"). */
  action: string;
  roles: Role[];
  departments?: string[];
  /** false: the role is the point (the window submits, a department's reviewer signs), an admin without it may not. */
  admin?: boolean;
  /** Accounts that may not, whatever they hold (e.g. the submitters of an application), and why, for the message. */
  notBy?: { names: string[]; why: string };
}

export const isAdmin = (a: Holder): boolean => (a.roles as readonly string[]).includes('admin');

/** Whether `need` rules the account out by name (`notBy`). */
export const excluded = (a: Holder, need: Need): boolean => need.notBy?.names.includes(a.name) ?? false;

/** Whether the account may do what `need` describes. */
export function allows(a: Holder, need: Need): boolean {
  if (excluded(a, need)) return false;
  if (isAdmin(a) && need.admin !== false) return true;
  if (!need.roles.some((r) => (a.roles as readonly string[]).includes(r))) return false;
  return !need.departments || (a.department !== null && need.departments.includes(a.department));
}

/** A need in words, for the document: "a reviewer or plan_editor of planning, or an admin". */
export function describeNeed(need: Need): string {
  return `a ${need.roles.join(' or ')}${need.departments ? ` of ${need.departments.join(' or ')}` : ''}${need.admin === false ? '' : ', or an admin'}`;
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

// --- the joint review (server/applications/) ---------------------------------------------------------

/** Preparing a site (POST …/sites, nothing written): a window clerk, or an admin. */
export const prepareSite: Need = { action: 'preparing a site', roles: ['window_clerk'] };

/** Submitting an application: a window clerk (市政务服务中心窗口) only. */
export const submitApplication: Need = { action: 'submitting an application (the window of 市政务服务中心)', roles: ['window_clerk'], admin: false };

/** Amending and resubmitting an application: a window clerk only. */
export const amendApplication: Need = { action: 'amending an application', roles: ['window_clerk'], admin: false };

/** Withdrawing an application: a window clerk, or an admin. */
export const withdrawApplication: Need = { action: 'withdrawing an application', roles: ['window_clerk'] };

/** A department's inbox: its reviewers'. */
export const reviewInbox: Need = { action: "a department's inbox", roles: ['reviewer'], admin: false };

/** Any opinion (before the application is read): a department's reviewer, never an admin as such. */
export const reviewing: Need = { action: 'signing or correcting an opinion', roles: ['reviewer'], admin: false };

/** An application as its reviews see it: its number, and who submitted its versions (nobody reviews what they submitted). */
export interface UnderReview {
  number: string;
  submitters: string[];
}

const notOwn = (app: UnderReview): Need['notBy'] => ({
  names: app.submitters,
  why: `nobody reviews an application they submitted, and ${app.submitters.join(', ')} submitted ${app.number}`,
});

/** A department, with its name for the message. */
type Department = { id: string; zh: string };

/** Signing an opinion: a reviewer of one of the departments the version goes to, never its submitter. */
export const signOpinion = (app: UnderReview, goesTo: Department[]): Need => ({
  ...reviewing,
  action: `an opinion on ${app.number} (it goes to ${goesTo.map((d) => d.zh).join('、')})`,
  departments: goesTo.map((d) => d.id),
  notBy: notOwn(app),
});

/** Correcting an opinion: a reviewer of the opinion's department, never the application's submitter. */
export const correctOpinion = (app: UnderReview, opinion: { id: number; department: Department }): Need => ({
  ...reviewing,
  action: `correcting opinion ${opinion.id} on ${app.number} (it is ${opinion.department.zh}'s; only its reviewers correct it)`,
  departments: [opinion.department.id],
  notBy: notOwn(app),
});

// --- releases of the one map (server/releases/) ---------------------------------------------------------

/** Preparing a release (成果版本): a plan_editor of planning (市规划局 issues the one map), or an admin. */
export const prepareRelease: Need = { action: 'preparing a release of the one map', roles: ['plan_editor'], departments: [LEAD_DEPARTMENT] };

/** Publishing a release: a reviewer of planning, or an admin; never the account that prepared it (four eyes). */
export const publishRelease = (release: { number: number; preparedBy: string }): Need => ({
  action: `publishing release ${release.number}`,
  roles: ['reviewer'],
  departments: [LEAD_DEPARTMENT],
  notBy: { names: [release.preparedBy], why: `a release is published by another account than the one that prepared it (four eyes), and ${release.preparedBy} prepared release ${release.number}` },
});

/** Building a release's archive (成果包): planning staff (a reviewer or a plan editor), or an admin. */
export const buildArchive: Need = { action: 'building a release archive', roles: ['reviewer', 'plan_editor'], departments: [LEAD_DEPARTMENT] };

/** Withdrawing a release (with a reason): a reviewer of planning, or an admin. */
export const withdrawRelease = (release: { number: number }): Need => ({
  action: `withdrawing release ${release.number}`,
  roles: ['reviewer'],
  departments: [LEAD_DEPARTMENT],
});
