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

const codes = <C extends string>(terms: readonly Term<C>[]) => terms.map((t) => t.code) as [C, ...C[]];
/** The Chinese name of a code of a vocabulary (the code itself when it is not one). */
export const zhOf = (terms: readonly Term[], code: string): string => terms.find((t) => t.code === code)?.zh ?? code;

/**
 * The statuses of an application: under review from submission; rejected as soon as one effective
 * opinion rejects, approved when every required department approves; withdrawn by the window.
 * An amendment puts a rejected (or still open) application under review again.
 */
export const STATUSES = [
  { code: 'under_review', zh: '审查中', en: 'Under review' },
  { code: 'approved', zh: '已批准', en: 'Approved' },
  { code: 'rejected', zh: '未通过', en: 'Rejected' },
  { code: 'withdrawn', zh: '已撤回', en: 'Withdrawn' },
] as const satisfies readonly Term[];
export type Status = (typeof STATUSES)[number]['code'];
export const STATUS_CODES = codes(STATUSES);

/** What became of a version: its application's status while current, superseded once amended. */
export const OUTCOMES = [...STATUSES, { code: 'superseded', zh: '已被新版本取代', en: 'Superseded' }] as const satisfies readonly Term[];
export type Outcome = (typeof OUTCOMES)[number]['code'];
export const OUTCOME_CODES = codes(OUTCOMES);

/** A department's opinion: 同意, 有条件同意 (conditions required), 不同意 (a reason required). */
export const DECISIONS = [
  { code: 'approve', zh: '同意', en: 'Approve' },
  { code: 'conditional', zh: '有条件同意', en: 'Approve with conditions' },
  { code: 'reject', zh: '不同意', en: 'Reject' },
] as const satisfies readonly Term[];
export type Decision = (typeof DECISIONS)[number]['code'];
export const DECISION_CODES = codes(DECISIONS);

/** What the timeline records; each event also goes to the audit trail as `application.<kind>`. */
export const EVENT_KINDS = [
  { code: 'submitted', zh: '受理提交', en: 'Submitted' },
  { code: 'resubmitted', zh: '修改后重新提交', en: 'Resubmitted' },
  { code: 'opinion', zh: '签署意见', en: 'Opinion' },
  { code: 'correction', zh: '更正意见', en: 'Correction' },
  { code: 'approved', zh: '审批通过', en: 'Approved' },
  { code: 'rejected', zh: '审批未通过', en: 'Rejected' },
  { code: 'withdrawn', zh: '撤回', en: 'Withdrawn' },
] as const satisfies readonly Term[];
export type EventKind = (typeof EVENT_KINDS)[number]['code'];

/** What the compliance check concludes, per layer, per plan and overall: mildest first, a verdict's rank is its index. */
export const VERDICTS = [
  { code: 'compliant', zh: '符合', en: 'Compliant' },
  { code: 'needs_review', zh: '需审查', en: 'Needs review' },
  { code: 'conflicting', zh: '不符合', en: 'Conflicting' },
] as const satisfies readonly Term[];
export type Verdict = (typeof VERDICTS)[number]['code'];
export const VERDICT_CODES = codes(VERDICTS);
/** The gravest of some verdicts (compliant for none). */
export const worstVerdict = (vs: readonly Verdict[]): Verdict =>
  vs.reduce<Verdict>((w, v) => (VERDICT_CODES.indexOf(v) > VERDICT_CODES.indexOf(w) ? v : w), 'compliant');

/** Where a site comes from: drawn on the map, uploaded as a file, typed as boundary points (界址点). */
export const SITE_SOURCES = [
  { code: 'drawn', zh: '地图绘制', en: 'drawn' },
  { code: 'upload', zh: '文件上传', en: 'uploaded' },
  { code: 'points', zh: '界址点', en: 'boundary points' },
] as const satisfies readonly Term[];
export type SiteSource = (typeof SITE_SOURCES)[number]['code'];
export const SITE_SOURCE_CODES = codes(SITE_SOURCES);

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
export const PROJECT_TYPE_CODES = codes(PROJECT_TYPES);
/** The raw file, for the loader that validates it against the registry and the rules. */
export const PROJECT_TYPES_FILE: unknown = projectTypesFile;

/** The registry layer approved sites are published to (owned by the service centre). */
export const APPROVALS_LAYER = 'approved_projects';
/** The service centre itself: it takes applications at its window and never reviews them. */
export const WINDOW_DEPARTMENT = 'service';
