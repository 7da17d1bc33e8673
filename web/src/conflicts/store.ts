// What the 差异图斑 panel knows, without DOM: the vocabularies (rules, districts), the filters, the
// case list page by page, the summary for the filters, the recent detection runs and the selected
// case with what the user has typed for it. Loading goes through api.ts; every change is told to
// the panel by part (`changed`), which renders that part. The writes are in actions.ts.
import { refusalText } from '../auth/permissions';
import type { Registry } from '../layers/registry';
import {
  fetchCase, fetchCases, fetchDistricts, fetchRules, fetchRuns, fetchSummary,
  type CaseDetail, type CaseFilter, type CaseView, type RunRecord, type RunResult, type Status, type Summary,
} from './api';
import { Vocab } from './vocab';

/** Cases fetched per page. */
export const PAGE_SIZE = 50;

/** The panel's tabs: the case list (and one case), the summary, the detection runs. */
export type Tab = 'list' | 'summary' | 'runs';

/** What changed: the vocabularies (everything), the list, the summary, the selected case's data (loaded anew), its form, the runs. */
export type Part = 'meta' | 'list' | 'summary' | 'case' | 'detail' | 'runs';

export interface ListState {
  cases: CaseView[];
  total: number;
  loading: boolean;
  error?: string;
}

export interface SummaryState {
  data?: Summary;
  loading: boolean;
  error?: string;
}

/** What the user has typed for a status change (kept across reloads and a stale-version refusal). */
export interface Draft {
  decision: string;
  reason: string;
  district_opinion: string;
  city_opinion: string;
  effective_date: string;
  comment: string;
}

export const emptyDraft = (): Draft => ({ decision: '', reason: '', district_opinion: '', city_opinion: '', effective_date: '', comment: '' });

export interface Notice {
  kind: 'ok' | 'error' | 'stale';
  text: string;
  /** Shown where the user acted: by the status change or by the comment box. */
  where: 'change' | 'comment';
}

/** The selected case. */
export interface DetailModel {
  /** The case as the list showed it (until the detail has loaded). */
  item: CaseView;
  detail?: CaseDetail;
  loading: boolean;
  loadError?: string;
  /** The transition whose form is open. */
  action?: Status;
  draft: Draft;
  /** The comment box. */
  comment: string;
  /** The logged-in account's display name: the actor the server records (none: anonymous, whose writes are refused). */
  account?: string;
  /** What the logged-in account may do with this case (web/src/auth/permissions.ts); absent when anonymous. */
  may?: { transition(to: Status): boolean; comment: boolean };
  busy?: 'transition' | 'comment';
  notice?: Notice;
  /** Scroll the notice into view at the next rendering (it is new). */
  revealNotice?: boolean;
  /** Draft fields the server or the check refused. */
  invalid: Set<string>;
}

/** The detection tab. */
export interface RunsModel {
  mode: 'incremental' | 'full';
  running: boolean;
  result?: RunResult;
  error?: string;
  records?: RunRecord[];
  /** An automatic run is in progress on the server. */
  busy: boolean;
  /** false: the logged-in account may not start a run (planning's reviewers and editors and admins may). */
  allowed?: boolean;
  recordsError?: string;
}

/** A filter changed by `change`, without the members set back to "any". */
export function withFilter(filter: CaseFilter, change: Partial<CaseFilter>): CaseFilter {
  const next: CaseFilter = { ...filter, ...change };
  for (const k of Object.keys(next) as (keyof CaseFilter)[]) if (next[k] === undefined) delete next[k];
  return next;
}

/** A case without its detail-only members (what the list keeps). */
export function stripDetail(c: CaseView | CaseDetail): CaseView {
  const { geometry: _g, events: _e, ...rest } = c as CaseDetail;
  void _g;
  void _e;
  return rest;
}

/** The current patches of one severity in a summary (undefined while there is none). */
export function severityCount(summary: Summary | undefined, severity: string): number | undefined {
  return summary?.rows.filter((r) => r.severity === severity).reduce((sum, r) => sum + r.count, 0);
}

export class ConflictsStore {
  vocab?: Vocab;
  metaError?: string;
  private metaLoading?: Promise<void>;
  filter: CaseFilter = { status: 'open' };
  list: ListState = { cases: [], total: 0, loading: false };
  summary: SummaryState = { loading: false };
  runs: RunsModel = { mode: 'incremental', running: false, busy: false };
  selected?: DetailModel;
  // Answers to an older request than the latest are dropped (a filter changed meanwhile).
  private listRequest = 0;
  private summaryRequest = 0;

  constructor(private readonly registry: Registry, readonly changed: (part: Part) => void) {}

  /** Loads the vocabularies once, then what `tab` shows that is not loaded yet. */
  async ensureLoaded(tab: Tab): Promise<void> {
    if (!this.vocab) {
      this.metaLoading ??= this.loadMeta();
      this.changed('meta');
      await this.metaLoading;
      if (!this.vocab) {
        this.changed('meta');
        return;
      }
    }
    if (!this.list.cases.length && !this.list.loading && !this.list.error) void this.loadList(false);
    if (!this.summary.data && !this.summary.loading) void this.loadSummary();
    if (tab === 'runs' && !this.runs.records) void this.loadRuns();
    this.changed('meta');
  }

  private async loadMeta(): Promise<void> {
    try {
      const [rules, districts] = await Promise.all([fetchRules(), fetchDistricts().catch(() => [])]);
      this.vocab = new Vocab(rules, districts, this.registry);
      this.metaError = undefined;
    } catch (err) {
      this.metaError = refusalText(err);
    } finally {
      this.metaLoading = undefined;
    }
  }

  /** Loads the first page (more = false) or the next one. */
  async loadList(more: boolean): Promise<void> {
    const request = ++this.listRequest;
    const offset = more ? this.list.cases.length : 0;
    this.list = { ...this.list, loading: true, error: undefined, ...(more ? {} : { cases: [], total: 0 }) };
    this.changed('list');
    try {
      const page = await fetchCases(this.filter, PAGE_SIZE, offset);
      if (request !== this.listRequest) return;
      this.list = { cases: more ? [...this.list.cases, ...page.cases] : page.cases, total: page.total, loading: false };
    } catch (err) {
      if (request !== this.listRequest) return;
      this.list = { ...this.list, loading: false, error: refusalText(err) };
    }
    this.changed('list');
  }

  /** Changes the filters: the list and the summary load anew. */
  setFilter(change: Partial<CaseFilter>): void {
    this.filter = withFilter(this.filter, change);
    void this.loadList(false);
    this.summary = { ...this.summary, data: undefined };
    void this.loadSummary();
  }

  /** The summary for the current filters. */
  async loadSummary(): Promise<void> {
    const request = ++this.summaryRequest;
    this.summary = { ...this.summary, loading: true, error: undefined };
    this.changed('summary');
    try {
      const data = await fetchSummary(this.filter);
      if (request !== this.summaryRequest) return;
      this.summary = { data, loading: false };
    } catch (err) {
      if (request !== this.summaryRequest) return;
      this.summary = { ...this.summary, loading: false, error: refusalText(err) };
    }
    this.changed('summary');
  }

  /** The five most recent runs, and whether an automatic one is going on. */
  async loadRuns(): Promise<void> {
    try {
      const r = await fetchRuns(5);
      this.runs.records = r.runs;
      this.runs.busy = r.busy;
      this.runs.recordsError = undefined;
    } catch (err) {
      this.runs.recordsError = refusalText(err);
    }
    this.changed('runs');
  }

  // ---- one case ----------------------------------------------------------------------------------

  /** Selects a case (keeping what was typed when it is the one already selected); its detail loads with loadDetail(). */
  select(c: CaseView | CaseDetail): DetailModel {
    const same = this.selected?.item.id === c.id ? this.selected : undefined;
    const detail = 'events' in c ? c : same?.detail;
    this.selected = same
      ? { ...same, item: stripDetail(c), detail }
      : { item: stripDetail(c), detail, loading: !detail, draft: emptyDraft(), comment: '', invalid: new Set() };
    return this.selected;
  }

  /** Back to the list. */
  unselect(): void {
    this.selected = undefined;
  }

  /** A case by id: the list's copy, else the server's (undefined when it is no case). */
  async caseById(id: string): Promise<CaseView | CaseDetail | undefined> {
    return this.list.cases.find((c) => c.id === id) ?? fetchCase(id).catch(() => undefined);
  }

  /** Loads the selected case's detail (its history and geometry); undefined when it failed or the selection moved on. */
  async loadDetail(): Promise<CaseDetail | undefined> {
    const m = this.selected;
    if (!m) return undefined;
    const id = m.item.id;
    m.loading = true;
    m.loadError = undefined;
    try {
      const d = await fetchCase(id);
      if (this.selected?.item.id !== id) return undefined;
      m.detail = d;
      m.item = { ...m.item, ...stripDetail(d) };
      m.loading = false;
      this.updateListItem(d);
      this.changed('case');
      return d;
    } catch (err) {
      if (this.selected?.item.id !== id) return undefined;
      m.loading = false;
      m.loadError = refusalText(err);
      this.changed('detail');
      return undefined;
    }
  }

  /** Replaces the list's copy of a case after it changed (it stays where it is until the next load). */
  updateListItem(c: CaseView | CaseDetail): void {
    const i = this.list.cases.findIndex((x) => x.id === c.id);
    if (i >= 0) this.list.cases[i] = stripDetail(c);
  }
}
