// The words of the joint review (联动审批), once: what an application and a version may be
// (statuses, outcomes), what a department decides (decisions), what the timeline records (event
// kinds), what a check concludes (verdicts, with their rank), where a site comes from, and the
// project types, read from layers/project-types.json (the one place they are written; changing it
// needs no code). Pure data (no Node, no database, no zod), so the schemas, the commands, the SQL,
// the printable report and the viewer all read the same lists.
import projectTypesFile from '../../layers/project-types.json';

/** A word with its names in both languages. */
export interface Term<C extends string = string> {
  code: C;
  zh: string;
  en: string;
}

/** A vocabulary from its table, code → [Chinese, English], in the table's order. */
const terms = <T extends Record<string, readonly [zh: string, en: string]>>(table: T) =>
  Object.entries(table).map(([code, [zh, en]]) => ({ code, zh, en })) as Term<Extract<keyof T, string>>[];
/** The codes of a vocabulary, as z.enum takes them. */
export const codes = <C extends string>(vocabulary: readonly Term<C>[]) => vocabulary.map((t) => t.code) as [C, ...C[]];
/** The Chinese name of a code of a vocabulary (the code itself when it is not one). */
export const zhOf = (vocabulary: readonly Term[], code: string): string => vocabulary.find((t) => t.code === code)?.zh ?? code;
type CodeOf<V extends readonly Term[]> = V[number]['code'];

/**
 * The statuses of an application: under review from submission; rejected as soon as one effective
 * opinion rejects, approved when every required department approves; withdrawn by the window.
 * An amendment puts a rejected (or still open) application under review again. A version's
 * outcome is its application's status while it is current, superseded once amended.
 */
export const STATUSES = terms({ under_review: ['审查中', 'Under review'], approved: ['已批准', 'Approved'], rejected: ['未通过', 'Rejected'], withdrawn: ['已撤回', 'Withdrawn'] });
export const OUTCOMES = [...STATUSES, ...terms({ superseded: ['已被新版本取代', 'Superseded'] })];
export type Status = CodeOf<typeof STATUSES>;
export type Outcome = CodeOf<typeof OUTCOMES>;

/** A department's opinion: 同意, 有条件同意 (conditions required), 不同意 (a reason required). */
export const DECISIONS = terms({ approve: ['同意', 'Approve'], conditional: ['有条件同意', 'Approve with conditions'], reject: ['不同意', 'Reject'] });
export type Decision = CodeOf<typeof DECISIONS>;

/** What the timeline records; each event also goes to the audit trail as `application.<kind>`. */
export const EVENT_KINDS = terms({
  submitted: ['受理提交', 'Submitted'], resubmitted: ['修改后重新提交', 'Resubmitted'], opinion: ['签署意见', 'Opinion'], correction: ['更正意见', 'Correction'],
  approved: ['审批通过', 'Approved'], rejected: ['审批未通过', 'Rejected'], withdrawn: ['撤回', 'Withdrawn'],
});
export type EventKind = CodeOf<typeof EVENT_KINDS>;

/** What the compliance check concludes, per layer, per plan and overall: mildest first, a verdict's rank is its index. */
export const VERDICTS = terms({ compliant: ['符合', 'Compliant'], needs_review: ['需审查', 'Needs review'], conflicting: ['不符合', 'Conflicting'] });
export type Verdict = CodeOf<typeof VERDICTS>;
/** The gravest of some verdicts (compliant for none). */
export const worstVerdict = (vs: readonly Verdict[]): Verdict => {
  const rank = (v: Verdict) => VERDICTS.findIndex((t) => t.code === v);
  return vs.reduce<Verdict>((w, v) => (rank(v) > rank(w) ? v : w), 'compliant');
};

/** Where a site comes from: drawn on the map, uploaded as a file, typed as boundary points (界址点). */
export const SITE_SOURCES = terms({ drawn: ['地图绘制', 'drawn'], upload: ['文件上传', 'uploaded'], points: ['界址点', 'boundary points'] });
export type SiteSource = CodeOf<typeof SITE_SOURCES>;

/** What the check found on a site that the map shows: an overlap breaking a rule, or a sensitive zone touched. */
export const FINDING_KINDS = ['rule', 'alert'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** A check run again: against the plan revisions it recorded, or against today's plans. */
export const RECHECK_AGAINST = ['recorded', 'current'] as const;
export type RecheckAgainst = (typeof RECHECK_AGAINST)[number];

/** What two checks of one site can differ in. */
export const DIFFERENCE_KINDS = ['verdict', 'rule', 'zone', 'class', 'departments'] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

/** The project types as layers/project-types.json lists them (code and names; server/applications/types.ts validates the rest). */
export const PROJECT_TYPES: readonly Term[] = projectTypesFile.types.map((t) => ({ code: t.code, zh: t.zh, en: t.en }));
/** The raw file, for the loader that validates it against the registry and the rules. */
export const PROJECT_TYPES_FILE: unknown = projectTypesFile;

/** The registry layer approved sites are published to (owned by the service centre). */
export const APPROVALS_LAYER = 'approved_projects';
/** The service centre itself: it takes applications at its window and never reviews them. */
export const WINDOW_DEPARTMENT = 'service';
