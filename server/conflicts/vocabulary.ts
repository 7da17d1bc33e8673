// The words of the conflicts capability, once: what a rule may be (kind, severity), what a case of
// the coordination ledger may be (status, decision) and how it may move, what happens to it
// (events), and what a detection run may be. Pure data (no Node, no database, no zod), so the rule
// loader, the API's schemas, the SQL orderings (bound, e.g. array_position(?::text[], severity)),
// the district report and the viewer all read the same lists.
//
// The names of the severities and their colours are the classes of the registry layer
// `conflicts` (layers/registry/conflicts.json): the rule loader refuses a registry whose classes
// are not these codes.

/** What a rule is about: a conflict between plans, a hazard to what a plan puts there, or a notice. */
export const KINDS = ['conflict', 'hazard', 'notice'] as const;
export type Kind = (typeof KINDS)[number];

/** How grave a rule's patches are, gravest first: a severity's rank is its index here. */
export const SEVERITIES = ['critical', 'major', 'minor'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** 0 for the gravest; lists and reports sort by it (unknown codes last). */
export const severityRank = (s: string): number => {
  const i = (SEVERITIES as readonly string[]).indexOf(s);
  return i < 0 ? SEVERITIES.length : i;
};

/**
 * The statuses of a case, each with the statuses a person may move it to:
 *   pending 待协调 → coordinated 已协调 (a decision and its reason) → verified 已核验;
 *   coordinated → pending (reopened, with a reason);
 *   any open status → resolved_by_data 已消除: only a detection run does this, when the patch
 *   disappears because the data changed (a patch that comes back reopens as pending).
 */
export const STATUSES = [
  { code: 'pending', zh: '待协调', en: 'Pending', to: ['coordinated'] },
  { code: 'coordinated', zh: '已协调', en: 'Coordinated', to: ['verified', 'pending'] },
  { code: 'verified', zh: '已核验', en: 'Verified', to: [] },
  { code: 'resolved_by_data', zh: '已消除(数据更新)', en: 'Resolved by data', to: [] },
] as const;
export type Status = (typeof STATUSES)[number]['code'];
export const STATUS_CODES = STATUSES.map((s) => s.code) as [Status, ...Status[]];

/** The transitions a person may make, by status (resolved_by_data is the detection's own). */
export const TRANSITIONS = Object.fromEntries(STATUSES.map((s) => [s.code, s.to as readonly Status[]])) as Record<Status, readonly Status[]>;

/** Cases that still need work (the `open=true` filter); the others are closed. */
export const OPEN_STATUSES: readonly Status[] = ['pending', 'coordinated'];
export const CLOSED_STATUSES: readonly Status[] = STATUS_CODES.filter((s) => !OPEN_STATUSES.includes(s));

/** The status a detection run closes a vanished patch's case with (never a person's move). */
export const RESOLVED = 'resolved_by_data' satisfies Status;

/** The statuses a person may ask a case to move to. */
export const TARGETS = STATUS_CODES.filter((s) => s !== RESOLVED) as [Status, ...Status[]];

/** How a coordination was decided (协调方式), and which plan's side it follows, if one. */
export const DECISIONS = [
  { code: 'follow_a', zh: '以规划A为准', en: 'Follow plan A', follows: 'a' },
  { code: 'follow_b', zh: '以规划B为准', en: 'Follow plan B', follows: 'b' },
  { code: 'adjust_both', zh: '两规共同调整', en: 'Adjust both', follows: null },
  { code: 'exception', zh: '保留为例外', en: 'Keep as an exception', follows: null },
] as const;
export type Decision = (typeof DECISIONS)[number]['code'];
export const DECISION_CODES = DECISIONS.map((d) => d.code) as [Decision, ...Decision[]];

/** A status's or a decision's names, as the API lists them. */
export const term = <C extends string>({ code, zh, en }: { code: C; zh: string; en: string }) => ({ code, zh, en });

/** What an entry of a case's history records. */
export const CASE_ACTIONS = ['detected', 'transition', 'comment', 'resolved_by_data', 'reappeared'] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

/** A run recomputes every rule (full) or catches up with what changed since the last one (incremental). */
export const RUN_MODES = ['full', 'incremental'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** The states of a run's record. */
export const RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** How a run treated a rule: recomputed whole, around the changes, or not at all. */
export const RECOMPUTED = ['full', 'incremental', 'none'] as const;
export type Recomputed = (typeof RECOMPUTED)[number];

/** The district code of what lies in no district, and its name. */
export const OUTSIDE = '';
export const OUTSIDE_ZH = '区外';

/** Limits of the texts a person writes into the ledger (reasons, comments, opinions), in characters. */
export const MAX_TEXT = 4000;
