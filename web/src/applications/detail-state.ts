// What the view of one application knows, without DOM: the application as loaded, the version
// on the map, the drafts of the forms (opinion, correction, withdrawal, amendment), the re-check's
// answer, what is being sent and the last notice; and what the logged-in account may do with it,
// by the same needs the server checks (server/accounts/needs.ts). Loading goes through api.ts and
// every change is told to the view (`changed`). The writes are in detail-actions.ts.
import {
  allows, amendApplication, correctOpinion, excluded, reviewing, signOpinion, withdrawApplication, type Holder,
} from '../../../server/accounts/needs';
import { DECISIONS } from '../../../server/applications/vocabulary';
import { pick, type StringKey } from '../i18n/i18n';
import { fetchApplication, type Amendment, type Application, type Decision, type Id, type Opinion, type ProjectTypeCode, type ProjectTypes, type Recheck, type Required, type SiteInput } from './api';
import { parseArea } from './format';

/** The decisions a department may sign, in their order. */
export const DECISION_CODES: Decision[] = DECISIONS.map((d) => d.code);

export type OpinionField = 'decision' | 'conditions' | 'reason' | 'note';

/** An opinion or a correction being written. */
export interface OpinionDraft {
  decision: Decision | '';
  conditions: string;
  reason: string;
  note: string;
  invalid: Set<OpinionField>;
}

export const emptyOpinion = (): OpinionDraft => ({ decision: '', conditions: '', reason: '', note: '', invalid: new Set() });

/** Where a notice is shown: at the top, or by the form it is about. */
export type NoticeWhere = 'top' | 'opinion' | 'correction' | 'withdraw' | 'amend';
export interface Notice {
  kind: 'ok' | 'error';
  text: string;
  where: NoticeWhere;
}

/** The amendment being prepared: the texts as typed (area in 公顷), and whether the site changes. */
export interface AmendDraft {
  note: string;
  name: string;
  type: ProjectTypeCode | '';
  investor: string;
  area: string;
  newSite: boolean;
  invalid: Set<string>;
}

/** The check run again against today's plans. */
export interface RecheckState {
  busy: boolean;
  result?: Recheck;
  error?: string;
}

/** The fields an opinion (withNote: a correction) lacks. */
export function opinionProblems(d: OpinionDraft, withNote: boolean): Set<OpinionField> {
  const invalid = new Set<OpinionField>();
  if (!d.decision) invalid.add('decision');
  if (d.decision === 'conditional' && !d.conditions.trim()) invalid.add('conditions');
  if (d.decision === 'reject' && !d.reason.trim()) invalid.add('reason');
  if (withNote && !d.note.trim()) invalid.add('note');
  return invalid;
}

/** What to say about an opinion's first problem. */
export function opinionProblemKey(invalid: ReadonlySet<OpinionField>): StringKey {
  if (invalid.has('decision')) return 'apNeedDecision';
  if (invalid.has('conditions')) return 'apNeedConditions';
  if (invalid.has('reason')) return 'apNeedReason';
  return 'apNeedNote';
}

/** What an opinion sends: the decision, with its conditions or its reason. */
export function opinionBody(d: OpinionDraft): { decision: Decision; conditions?: string; reason?: string } {
  const decision = d.decision as Decision;
  return {
    decision,
    ...(decision === 'conditional' ? { conditions: d.conditions.trim() } : {}),
    ...(decision === 'reject' ? { reason: d.reason.trim() } : {}),
  };
}

/** The amendment form filled in from the current version (the site to be drawn anew). */
export function amendDraftOf(cur: Application['current']): AmendDraft {
  return {
    note: '', name: cur.name, type: cur.project_type, investor: cur.investor,
    area: cur.requested_area_m2 ? String(Math.round(cur.requested_area_m2) / 10_000) : '', newSite: true, invalid: new Set(),
  };
}

/** The amendment's problems ('site': a new site is wanted and none is checked yet). */
export function amendProblems(d: AmendDraft, site: SiteInput | undefined): Set<string> {
  const invalid = new Set<string>();
  const area = parseArea(d.area, 'ha');
  if (!d.note.trim()) invalid.add('note');
  if (!d.name.trim()) invalid.add('name');
  if (!d.investor.trim()) invalid.add('investor');
  if (area !== undefined && Number.isNaN(area)) invalid.add('area');
  if (d.newSite && !site) invalid.add('site');
  return invalid;
}

/** What an amendment sends: the note, the version it was made against, and only what differs from the current version. */
export function amendBody(d: AmendDraft, app: Application, site: SiteInput | undefined): Amendment {
  const cur = app.current;
  const area = parseArea(d.area, 'ha');
  return {
    note: d.note.trim(),
    expected_version: app.version,
    ...(d.name.trim() !== cur.name ? { name: d.name.trim() } : {}),
    ...(d.type && d.type !== cur.project_type ? { project_type: d.type } : {}),
    ...(d.investor.trim() !== cur.investor ? { investor: d.investor.trim() } : {}),
    ...(area !== undefined && Math.abs(area - (cur.requested_area_m2 ?? 0)) > 0.5 ? { requested_area_m2: area } : {}),
    ...(site ? { site } : {}),
  };
}

/** What the account may do with the application (the server's needs; its own check is the one that counts). */
export interface Permissions {
  withdraw: boolean;
  amend: boolean;
  /** The department entry the account may sign an opinion for, or why not (only said to reviewers). */
  sign: { req?: Required; why?: StringKey };
  correct(o: Opinion): boolean;
}

/** What `a` may do with `app` (nothing for anonymous or before it has loaded). */
export function permissionsOf(a: Holder | null, app: Application | undefined): Permissions {
  const none: Permissions = { withdraw: false, amend: false, sign: {}, correct: () => false };
  if (!a || !app) return none;
  const open = app.status === 'under_review';
  const review = { number: app.number, submitters: [app.submitted_by, app.current.submitted_by] };
  const sign = (): Permissions['sign'] => {
    if (!open || !allows(a, reviewing)) return {};
    const goesTo = app.current.required.map((r) => ({ id: r.department, zh: r.zh }));
    const req = app.current.required.find((r) => r.department === a.department);
    if (!req) return { why: 'apNotRequired' };
    const need = signOpinion(review, goesTo);
    if (excluded(a, need)) return { why: 'apOwnApplication' };
    return allows(a, need) ? { req } : {};
  };
  return {
    withdraw: allows(a, withdrawApplication) && (open || app.status === 'rejected'),
    amend: allows(a, amendApplication) && app.status !== 'approved',
    sign: sign(),
    correct: (o) => open && !o.corrected_by && o.version === app.version
      && allows(a, correctOpinion(review, { id: Number(o.id), department: { id: o.department, zh: o.department } })),
  };
}

export class ApplicationState {
  app: Application | undefined;
  loading = true;
  loadError: string | undefined;
  /** The version whose report is on the map. */
  mapVersion: number | undefined;
  /** The plan layers the report switched on (named to the reader). */
  layersTurnedOn: string[] = [];
  opinion = emptyOpinion();
  correction: (OpinionDraft & { opinionId: Id }) | undefined;
  withdrawOpen = false;
  withdrawReason = '';
  amendOpen = false;
  amendDraft: AmendDraft = { note: '', name: '', type: '', investor: '', area: '', newSite: false, invalid: new Set() };
  recheck: RecheckState = { busy: false };
  busy: '' | 'opinion' | 'correction' | 'withdraw' | 'amend' = '';
  notice: Notice | undefined;
  /** The view went away: a late answer changes nothing. */
  disposed = false;

  constructor(readonly id: Id, private readonly types: () => ProjectTypes | undefined,
    readonly changed: () => void, private readonly onApp: (app: Application) => void) {}

  /** Loads the application; answers it (undefined when that failed). */
  async load(): Promise<Application | undefined> {
    this.loading = true;
    this.changed();
    try {
      const app = await fetchApplication(this.id);
      if (this.disposed) return undefined;
      this.setApp(app);
      return app;
    } catch (err) {
      this.loadError = (err as Error).message;
      return undefined;
    } finally {
      this.loading = false;
      this.changed();
    }
  }

  /** Takes a new state of the application; a new version drops the opinion drafts (they were for the old one). */
  setApp(app: Application): void {
    const versionChanged = this.app && this.app.version !== app.version;
    this.app = app;
    this.loadError = undefined;
    if (versionChanged) {
      this.opinion = emptyOpinion();
      this.correction = undefined;
      this.recheck = { busy: false };
    }
    this.onApp(app);
  }

  /** A department's name: the application's own, else the registry's. */
  departmentName(id: string): string {
    const fromApp = this.app?.current.required.find((r) => r.department === id);
    if (fromApp) return pick(fromApp);
    const d = this.types()?.departments.find((x) => x.id === id);
    return d ? pick(d) : id;
  }

  /** A project type's name. */
  typeName(code: string): string {
    const type = this.types()?.types.find((x) => x.code === code);
    return type ? pick(type) : code;
  }

  /** The project types the amendment form offers. */
  get projectTypes(): ProjectTypes['types'] {
    return this.types()?.types ?? [];
  }
}
