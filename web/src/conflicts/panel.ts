// The 差异图斑 (conflicts) panel: a header button opens it over the left of the map. Three tabs:
//   图斑列表 — the cases, filtered by rule, district, severity and status (default: still open),
//     in the server's order (severity, then area), 50 at a time with "load more"; the ledger
//     exports and the district report for the filters; a click zooms the map to the case,
//     highlights the patch and both source features and opens its detail (see detail.ts):
//     status changes against the case's version (If-Match), comments, the history;
//   分类汇总 — current patches per rule × district;
//   冲突检测 — re-run the detection and see what it found.
// After a status change or a run the conflicts layer's tiles are fetched anew (their URLs carry
// the layer's data version), so the map shows the new state.
import type { Map as MlMap, MapMouseEvent } from 'maplibre-gl';
import { onLangChange, pick, t } from '../i18n/i18n';
import { refreshLayerTiles } from '../imports/panel';
import type { Registry } from '../layers/registry';
import { mayComment, mayRunDetection, mayTransition, refusalText } from '../auth/permissions';
import { currentAccount, onAccountChange } from '../auth/session';
import { ApiError } from '../platform/http';
import { h, replaceChildren } from '../ui/dom';
import {
  fetchCase, fetchCases, fetchDistricts, fetchRules, fetchRuns, fetchSummary, ledgerUrl, postComment, postRun, postTransition, reportUrl,
  type CaseDetail, type CaseFilter, type CaseView, type Summary, type SummaryRow,
} from './api';
import { emptyDraft, renderDetail, severityBadge, statusBadge, type DetailModel } from './detail';
import { clearHighlight, CONFLICTS_SOURCE, showGoneGeometry, showHighlight } from './highlight';
import { renderRuns, type RunsModel } from './runs';
import { renderSummary } from './summary';
import { areaTexts, formatInt, Vocab } from './vocab';

/** Cases fetched per page. */
export const PAGE_SIZE = 50;
/** The style layer of the patches (the server's style) that a map click picks cases from. */
const PATCH_FILL = 'conflicts:fill';

type Tab = 'list' | 'summary' | 'runs';

interface ListState {
  cases: CaseView[];
  total: number;
  loading: boolean;
  error?: string;
}

/** Message of an error for people: log in for a 401, else the server's own message when it sent one. */
function messageOf(err: unknown): string {
  return refusalText(err);
}

export class ConflictsPanel {
  private vocab?: Vocab;
  private metaError?: string;
  private metaLoading?: Promise<void>;
  private tab: Tab = 'list';
  private filter: CaseFilter = { status: 'open' };
  private list: ListState = { cases: [], total: 0, loading: false };
  private listRequest = 0;
  private listScroll = 0;
  private selected?: DetailModel;
  private summary?: Summary;
  private summaryError?: string;
  private summaryLoading = false;
  private summaryRequest = 0;
  private runs: RunsModel = { mode: 'incremental', running: false, busy: false };

  private readonly openButton = h('button', { type: 'button', class: 'cf-open', 'data-testid': 'conflicts-open', 'aria-expanded': 'false' });
  private readonly title = h('h2', { class: 'panel-title', id: 'cf-title' });
  private readonly closeButton = h('button', { type: 'button', class: 'close', 'data-testid': 'conflicts-close' }, '×');
  private readonly tabs: Record<Tab, HTMLButtonElement> = {
    list: h('button', { type: 'button', role: 'tab', class: 'cf-tab', 'data-testid': 'cf-tab-list' }),
    summary: h('button', { type: 'button', role: 'tab', class: 'cf-tab', 'data-testid': 'cf-tab-summary' }),
    runs: h('button', { type: 'button', role: 'tab', class: 'cf-tab', 'data-testid': 'cf-tab-runs' }),
  };
  private readonly filtersEl = h('div', { class: 'cf-filters', 'data-testid': 'cf-filters' });
  private readonly toolsEl = h('div', { class: 'cf-tools', 'data-testid': 'cf-tools' });
  private readonly listEl = h('div', { class: 'cf-list-wrap' });
  private readonly listView = h('div', { class: 'cf-list-view' }, this.filtersEl, this.toolsEl, this.listEl);
  private readonly detailView = h('div', { class: 'cf-detail-view' });
  private readonly summaryView = h('div', { class: 'cf-summary-view', 'data-testid': 'cf-summary' });
  private readonly runsView = h('div', { class: 'cf-runs-view', 'data-testid': 'cf-runs' });
  private readonly body = h('div', { class: 'cf-body', role: 'tabpanel' }, this.listView, this.detailView, this.summaryView, this.runsView);
  private readonly root = h('section', { class: 'cf-panel', 'data-testid': 'conflicts-panel', role: 'dialog', 'aria-labelledby': 'cf-title' },
    h('div', { class: 'panel-head' }, this.title, this.closeButton),
    h('div', { class: 'cf-tabs', role: 'tablist' }, this.tabs.list, this.tabs.summary, this.tabs.runs),
    this.body);

  constructor(private readonly map: MlMap, private readonly registry: Registry, header: HTMLElement, private readonly host: HTMLElement) {
    this.root.hidden = true;
    host.append(this.root);
    header.insertBefore(this.openButton, header.querySelector('[data-testid="lang-switch"]'));
    this.openButton.addEventListener('click', () => (this.root.hidden ? this.open() : this.close()));
    this.closeButton.addEventListener('click', () => this.close());
    for (const tab of Object.keys(this.tabs) as Tab[]) this.tabs[tab].addEventListener('click', () => this.showTab(tab));
    this.root.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !(e.target instanceof HTMLTextAreaElement)) this.close(); });
    this.map.on('click', (e) => this.mapClicked(e));
    onLangChange(() => this.render());
    // The 经办人 field shows the account; what it may do decides which buttons are enabled.
    onAccountChange(() => {
      this.renderDetailView();
      this.renderRunsView();
    });
    this.render();
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  open(): void {
    this.root.hidden = false;
    this.host.classList.add('cf-panel-open');
    this.openButton.setAttribute('aria-expanded', 'true');
    this.render();
    if (this.selected) this.highlight(this.selected.detail ?? this.selected.item);
    void this.ensureLoaded();
  }

  /** Closes the panel and takes the highlight off the map (the selection stays for the next open). */
  close(): void {
    this.root.hidden = true;
    this.host.classList.remove('cf-panel-open');
    this.openButton.setAttribute('aria-expanded', 'false');
    clearHighlight(this.map);
  }

  private async ensureLoaded(): Promise<void> {
    if (!this.vocab) {
      this.metaLoading ??= (async () => {
        try {
          const [rules, districts] = await Promise.all([fetchRules(), fetchDistricts().catch(() => [])]);
          this.vocab = new Vocab(rules, districts, this.registry);
          this.metaError = undefined;
        } catch (err) {
          this.metaError = messageOf(err);
        } finally {
          this.metaLoading = undefined;
        }
      })();
      this.render();
      await this.metaLoading;
      if (!this.vocab) {
        this.render();
        return;
      }
    }
    if (!this.list.cases.length && !this.list.loading && !this.list.error) void this.loadList(false);
    if (!this.summary && !this.summaryLoading) void this.loadSummary();
    if (this.tab === 'runs' && !this.runs.records) void this.loadRuns();
    this.render();
  }

  private showTab(tab: Tab): void {
    if (tab === this.tab && tab === 'list' && this.selected) {
      this.back();
      return;
    }
    if (this.tab === 'list' && !this.selected) this.listScroll = this.body.scrollTop;
    this.tab = tab;
    if (tab === 'summary' && this.vocab && !this.summaryLoading && !this.summary) void this.loadSummary();
    if (tab === 'runs' && this.vocab) void this.loadRuns();
    this.render();
    this.body.scrollTop = tab === 'list' && !this.selected ? this.listScroll : 0;
  }

  // ---- the list -------------------------------------------------------------------------------

  /** Loads the first page (more = false) or the next one. */
  private async loadList(more: boolean): Promise<void> {
    const request = ++this.listRequest;
    const offset = more ? this.list.cases.length : 0;
    this.list = { ...this.list, loading: true, error: undefined, ...(more ? {} : { cases: [], total: 0 }) };
    this.renderList();
    try {
      const page = await fetchCases(this.filter, PAGE_SIZE, offset);
      if (request !== this.listRequest) return;
      this.list = { cases: more ? [...this.list.cases, ...page.cases] : page.cases, total: page.total, loading: false };
    } catch (err) {
      if (request !== this.listRequest) return;
      this.list = { ...this.list, loading: false, error: messageOf(err) };
    }
    this.renderList();
  }

  private setFilter(change: Partial<CaseFilter>): void {
    this.filter = { ...this.filter, ...change };
    for (const k of Object.keys(this.filter) as (keyof CaseFilter)[]) if (this.filter[k] === undefined) delete this.filter[k];
    this.listScroll = 0;
    void this.loadList(false);
    this.summary = undefined;
    void this.loadSummary();
    this.renderFilters();
    this.renderTools();
  }

  private renderFilters(): void {
    const v = this.vocab;
    if (!v) {
      replaceChildren(this.filtersEl);
      return;
    }
    const select = (id: string, label: string, value: string, options: (HTMLOptionElement | HTMLOptGroupElement)[], onChange: (value: string) => void, wide = false): HTMLElement => {
      const el = h('select', { id, 'data-testid': id }, ...options);
      el.value = value;
      el.addEventListener('change', () => onChange(el.value));
      return h('label', { class: `cf-field${wide ? ' cf-wide' : ''}`, for: id }, h('span', { class: 'cf-label' }, label), el);
    };
    const opt = (value: string, text: string): HTMLOptionElement => h('option', { value }, text);
    const f = this.filter;
    const ruleOptions = [opt('', t('cfAllRules')), ...v.info.severities.map((s) => h('optgroup', { label: pick(s) },
      ...v.info.rules.filter((r) => r.severity === s.code).map((r) => opt(r.id, pick(r)))))];
    const districtOptions = [opt('*', t('cfAllDistricts')), ...v.districts.map((d) => opt(d.adcode, pick(d))), opt('', t('cfOutside'))];
    replaceChildren(this.filtersEl,
      select('cf-filter-rule', t('rule'), f.rule ?? '', ruleOptions, (x) => this.setFilter({ rule: x || undefined }), true),
      select('cf-filter-district', t('district'), f.adcode ?? '*', districtOptions, (x) => this.setFilter({ adcode: x === '*' ? undefined : x })),
      select('cf-filter-severity', t('cfFilterSeverity'), f.severity ?? '',
        [opt('', t('cfAllSeverities')), ...v.info.severities.map((s) => opt(s.code, pick(s)))], (x) => this.setFilter({ severity: x || undefined })),
      select('cf-filter-status', t('cfStatus'), f.status ?? '',
        [h('option', { value: 'open', title: t('cfStatusOpenTitle') }, t('cfStatusOpen')), opt('', t('allStatuses')), ...v.info.statuses.map((s) => opt(s.code, pick(s)))],
        (x) => this.setFilter({ status: (x || undefined) as CaseFilter['status'] })));
  }

  /** Counts, the ledger exports and the district report for the current filters. */
  private renderTools(): void {
    if (!this.vocab) {
      replaceChildren(this.toolsEl);
      return;
    }
    const v = this.vocab;
    const l = this.list;
    const count = l.loading && !l.cases.length ? t('loading') : t('cfTotal', { n: formatInt(l.total) });
    const adcode = this.filter.adcode;
    const report = adcode && /^\d{6}$/.test(adcode)
      ? h('a', { class: 'cf-link', href: reportUrl(adcode), target: '_blank', rel: 'noopener', 'data-testid': 'cf-report', title: t('cfReportTitle') },
        `${t('cfReport')} · ${v.district(adcode)}`)
      : null;
    const bySeverity = v.info.severities.map((sev) => {
      const n = this.summary?.rows.filter((r) => r.severity === sev.code).reduce((sum, r) => sum + r.count, 0);
      const chip = h('button', {
        type: 'button', class: `cf-chip${this.filter.severity === sev.code ? ' active' : ''}`, 'data-testid': `cf-severity-${sev.code}`,
        'data-count': n ?? '', 'aria-pressed': String(this.filter.severity === sev.code), title: t('cfBySeverityTitle'),
      }, severityBadge(v, sev.code), h('span', { class: 'cf-chip-n' }, n === undefined ? '…' : formatInt(n)));
      chip.addEventListener('click', () => this.setFilter({ severity: this.filter.severity === sev.code ? undefined : sev.code }));
      return chip;
    });
    replaceChildren(this.toolsEl,
      h('div', { class: 'cf-severities', 'data-testid': 'cf-severities' }, h('span', { class: 'cf-muted cf-small' }, t('cfBySeverity')), ...bySeverity),
      h('span', { class: 'cf-count', 'data-testid': 'cf-count', 'data-total': l.total }, count),
      h('span', { class: 'cf-links' },
        h('span', { class: 'cf-muted', title: t('cfExportTitle') }, t('cfExport')),
        h('a', { class: 'cf-link', href: ledgerUrl('csv', this.filter), download: 'conflict-ledger.csv', 'data-testid': 'cf-export-csv', title: t('cfExportTitle') }, 'CSV'),
        h('a', { class: 'cf-link', href: ledgerUrl('geojson', this.filter), download: 'conflict-ledger.geojson', 'data-testid': 'cf-export-geojson', title: t('cfExportTitle') }, 'GeoJSON'),
        report));
  }

  private caseItem(v: Vocab, c: CaseView): HTMLElement {
    const area = areaTexts(c.area_m2, c.area_ha, c.area_mu);
    const button = h('button', { type: 'button', class: 'cf-case-button' },
      severityBadge(v, c.severity),
      h('span', { class: 'cf-case-main' },
        h('span', { class: 'cf-case-rule' }, v.rule(c.rule_id, { zh: c.rule_zh, en: c.rule_en })),
        h('span', { class: 'cf-case-meta' },
          h('span', { class: 'cf-case-district' }, v.district(c.adcode, c.district)),
          h('span', { class: 'cf-case-area', 'data-testid': 'cf-case-area' }, `${area.ha} · ${area.mu}`))),
      statusBadge(v, c.status));
    button.addEventListener('click', () => this.select(c));
    const selected = this.selected?.item.id === c.id;
    return h('li', {
      class: `cf-case${selected ? ' selected' : ''}`, 'data-testid': 'cf-case', 'data-id': c.id, 'data-fid': c.fid,
      'data-rule': c.rule_id, 'data-adcode': c.adcode, 'data-severity': c.severity, 'data-status': c.status, 'data-area-m2': c.area_m2 ?? '',
    }, button);
  }

  private renderList(): void {
    this.renderTools();
    const v = this.vocab;
    if (!v) {
      replaceChildren(this.listEl, this.metaError
        ? this.errorWithRetry(this.metaError, () => void this.ensureLoaded())
        : h('p', { class: 'cf-muted' }, t('loading')));
      return;
    }
    const l = this.list;
    const more = l.cases.length < l.total;
    const moreButton = h('button', { type: 'button', class: 'cf-secondary cf-more', 'data-testid': 'cf-more', disabled: l.loading },
      l.loading ? t('loading') : `${t('loadMore')}（${t('cfShown', { shown: formatInt(l.cases.length), total: formatInt(l.total) })}）`);
    moreButton.addEventListener('click', () => void this.loadList(true));
    replaceChildren(this.listEl,
      l.cases.length ? h('ul', { class: 'cf-cases', 'data-testid': 'cf-cases' }, ...l.cases.map((c) => this.caseItem(v, c))) : null,
      !l.loading && !l.error && !l.cases.length ? h('p', { class: 'cf-muted', 'data-testid': 'cf-empty' }, t('cfNone')) : null,
      l.error ? this.errorWithRetry(l.error, () => void this.loadList(l.cases.length > 0)) : null,
      more && !l.error ? moreButton : null,
      l.loading && !l.cases.length ? h('p', { class: 'cf-muted' }, t('loading')) : null);
  }

  private errorWithRetry(message: string, retry: () => void): HTMLElement {
    const b = h('button', { type: 'button', class: 'cf-secondary' }, t('retry'));
    b.addEventListener('click', retry);
    return h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${message} `, b);
  }

  // ---- one case -------------------------------------------------------------------------------

  /** Opens a case: zoom to it, highlight it, load its detail. */
  select(c: CaseView): void {
    if (!this.selected) this.listScroll = this.body.scrollTop;
    const same = this.selected?.item.id === c.id;
    this.selected = same && this.selected
      ? { ...this.selected, item: c }
      : { item: c, loading: true, draft: emptyDraft(), comment: '', invalid: new Set() };
    this.tab = 'list';
    this.zoomTo(c);
    this.highlight(c);
    this.render();
    this.body.scrollTop = 0;
    void this.loadDetail();
  }

  /** Opens a case by id (a click on a patch on the map). */
  private async selectById(id: string): Promise<void> {
    const known = this.list.cases.find((c) => c.id === id);
    if (known) {
      this.select(known);
      return;
    }
    try {
      const d = await fetchCase(id);
      this.select(d);
      if (this.selected?.item.id === id) {
        this.selected.detail = d;
        this.selected.loading = false;
        this.renderDetailView();
      }
    } catch {
      /* not a case (any more): nothing to open */
    }
  }

  private back(): void {
    this.selected = undefined;
    clearHighlight(this.map);
    this.render();
    this.body.scrollTop = this.listScroll;
  }

  private async loadDetail(): Promise<CaseDetail | undefined> {
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
      if (this.isOpen) this.highlight(d);
      this.updateListItem(d);
      this.renderDetailView();
      return d;
    } catch (err) {
      if (this.selected?.item.id !== id) return undefined;
      m.loading = false;
      m.loadError = messageOf(err);
      this.renderDetailView();
      return undefined;
    }
  }

  private highlight(c: CaseView | CaseDetail): void {
    const current = c.status !== 'resolved_by_data';
    showHighlight(this.map, { fid: c.fid, current, a: c.a, b: c.b });
    if (!current && 'geometry' in c) showGoneGeometry(this.map, c.geometry);
  }

  private zoomTo(c: CaseView): void {
    if (!c.bbox) return;
    const [w, s, e, n] = c.bbox;
    this.map.fitBounds([[w, s], [e, n]], { padding: this.fitPadding(), maxZoom: 16, duration: 600 });
  }

  /** Map padding that keeps the fitted case clear of the panel (which floats over the map's left side). */
  private fitPadding(): { top: number; bottom: number; left: number; right: number } {
    const mapBox = this.map.getContainer().getBoundingClientRect();
    const panelBox = this.root.getBoundingClientRect();
    const margin = 40;
    const covered = this.root.hidden ? 0 : Math.max(0, panelBox.right - mapBox.left);
    // Leave the case at least a third of the map's width, however narrow the window.
    const left = Math.min(covered + margin, Math.max(margin, mapBox.width * 2 / 3 - margin));
    const vertical = Math.min(margin, mapBox.height / 4);
    return { top: vertical, bottom: vertical, left, right: margin };
  }

  /** Replaces the list's copy of a case after it changed (it stays where it is until the next load). */
  private updateListItem(c: CaseView): void {
    const i = this.list.cases.findIndex((x) => x.id === c.id);
    if (i < 0) return;
    this.list.cases[i] = stripDetail(c);
  }

  /** Sends the open status change, against the version the panel shows. */
  private async submitTransition(): Promise<void> {
    const m = this.selected;
    const d = m?.detail;
    if (!m || !d || !m.action || m.busy) return;
    const to = m.action;
    const draft = m.draft;
    m.invalid = new Set();
    if (to === 'coordinated') {
      if (!draft.decision) m.invalid.add('decision');
      if (!draft.reason.trim()) m.invalid.add('reason');
      if (draft.effective_date.trim() && !isDate(draft.effective_date.trim())) m.invalid.add('effective_date');
    } else if (to === 'pending' && !draft.reason.trim()) {
      m.invalid.add('reason');
    }
    if (m.invalid.size) {
      const text = m.invalid.has('decision') || m.invalid.has('reason') ? t(to === 'coordinated' ? 'cfNeedDecision' : 'cfNeedReason') : t('cfBadDate');
      m.notice = { kind: 'error', text, where: 'change' };
      m.revealNotice = true;
      this.renderDetailView();
      return;
    }
    m.busy = 'transition';
    m.notice = undefined;
    this.renderDetailView();
    const id = d.id;
    try {
      const changed = await postTransition(id, d.version, {
        to,
        comment: draft.comment,
        ...(to === 'coordinated' ? {
          decision: draft.decision as CaseView['decision'] & string,
          reason: draft.reason,
          district_opinion: draft.district_opinion,
          city_opinion: draft.city_opinion,
          effective_date: draft.effective_date,
        } : {}),
        ...(to === 'pending' ? { reason: draft.reason } : {}),
      });
      if (this.selected?.item.id !== id) return;
      m.busy = undefined;
      m.action = undefined;
      m.draft = emptyDraft();
      m.detail = changed;
      m.item = stripDetail(changed);
      m.notice = { kind: 'ok', text: t('cfDone', { status: this.vocab?.status(changed.status) ?? changed.status }), where: 'change' };
      m.revealNotice = true;
      this.updateListItem(changed);
      this.renderList();
      this.renderDetailView();
      this.afterLedgerChange();
    } catch (err) {
      if (this.selected?.item.id !== id) return;
      m.busy = undefined;
      await this.refused(m, err);
    }
  }

  /** A refused change: say why; on a stale version reload the case and keep what was typed. */
  private async refused(m: DetailModel, err: unknown): Promise<void> {
    const e = err instanceof ApiError ? err : undefined;
    if (e?.status === 412) {
      const current = (e.details as { currentVersion?: number } | undefined)?.currentVersion;
      m.notice = { kind: 'stale', text: t('cfStale', { version: current ?? '?' }), where: 'change' };
      m.revealNotice = true;
      this.renderDetailView();
      await this.loadDetail();
      m.revealNotice = true;
      this.renderDetailView();
      // The map and the list may show the old state too.
      this.afterLedgerChange();
      this.renderList();
      return;
    }
    const field = (e?.details as { field?: string } | undefined)?.field;
    if (field && field in m.draft) m.invalid.add(field);
    m.notice = { kind: 'error', text: `${t('actionFailed')}: ${messageOf(err)}`, where: 'change' };
    m.revealNotice = true;
    this.renderDetailView();
    // 409: the case is not in the state the panel shows; show the real one.
    if (e?.status === 409) await this.loadDetail();
  }

  /** The draft of a change no longer possible, kept as a comment so nothing is lost. */
  private async saveDraftAsComment(): Promise<void> {
    const m = this.selected;
    if (!m || m.busy) return;
    const v = this.vocab;
    const d = m.draft;
    const parts = [
      d.decision ? `${t('cfDecision')}：${v?.decision(d.decision, m.item) ?? d.decision}` : '',
      d.reason.trim() ? `${t(m.action === 'pending' ? 'cfReopenReason' : 'cfReason')}：${d.reason.trim()}` : '',
      d.district_opinion.trim() ? `${t('cfDistrictOpinion')}：${d.district_opinion.trim()}` : '',
      d.city_opinion.trim() ? `${t('cfCityOpinion')}：${d.city_opinion.trim()}` : '',
      d.effective_date ? `${t('cfEffectiveDate')}：${d.effective_date}` : '',
      d.comment.trim(),
    ].filter(Boolean);
    if (!parts.length) return;
    if (await this.comment(parts.join('\n'), 'change')) {
      m.action = undefined;
      m.draft = emptyDraft();
      this.renderDetailView();
    }
  }

  private async addComment(): Promise<void> {
    const m = this.selected;
    if (!m || !m.comment.trim()) return;
    if (await this.comment(m.comment.trim())) {
      m.comment = '';
      this.renderDetailView();
    }
  }

  private async comment(text: string, where: 'change' | 'comment' = 'comment'): Promise<boolean> {
    const m = this.selected;
    if (!m || m.busy) return false;
    const id = m.item.id;
    m.busy = 'comment';
    m.notice = undefined;
    this.renderDetailView();
    try {
      await postComment(id, text);
      if (this.selected?.item.id !== id) return false;
      m.busy = undefined;
      m.notice = { kind: 'ok', text: t('cfCommentAdded'), where };
      m.revealNotice = true;
      await this.loadDetail();
      return true;
    } catch (err) {
      if (this.selected?.item.id !== id) return false;
      m.busy = undefined;
      m.notice = { kind: 'error', text: `${t('actionFailed')}: ${messageOf(err)}`, where };
      m.revealNotice = true;
      this.renderDetailView();
      return false;
    }
  }

  /** After the ledger changed: the summary is stale, the conflicts tiles carry the old status. */
  private afterLedgerChange(): void {
    void this.loadSummary();
    void refreshLayerTiles(this.map, CONFLICTS_SOURCE).catch(() => undefined);
  }

  private renderDetailView(): void {
    const m = this.selected;
    if (!m || !this.vocab) {
      replaceChildren(this.detailView);
      return;
    }
    this.renderDetailContent(m);
    if (m.revealNotice && !this.detailView.hidden) {
      m.revealNotice = false;
      this.detailView.querySelector('[data-testid="cf-notice"]')?.scrollIntoView({ block: 'nearest' });
    }
  }

  private renderDetailContent(m: DetailModel): void {
    if (!this.vocab) return;
    const account = currentAccount();
    m.account = account?.display_name;
    const departments = this.vocab.ruleOf(m.item.rule_id)?.departments.map((d) => d.id) ?? [];
    m.may = account ? { transition: (to) => mayTransition(account, departments, to), comment: mayComment(account, departments) } : undefined;
    replaceChildren(this.detailView, renderDetail(this.vocab, m, {
      back: () => this.back(),
      reload: () => void this.loadDetail(),
      chooseAction: (to) => {
        m.action = to;
        m.invalid = new Set();
        if (m.notice?.kind !== 'stale') m.notice = undefined;
        this.renderDetailView();
        if (to) this.detailView.querySelector<HTMLElement>('[data-testid="cf-action-form"] select, [data-testid="cf-action-form"] textarea')?.focus();
      },
      submit: () => void this.submitTransition(),
      saveDraftAsComment: () => void this.saveDraftAsComment(),
      addComment: () => void this.addComment(),
    }));
  }

  // ---- summary and runs -----------------------------------------------------------------------

  private async loadSummary(): Promise<void> {
    const request = ++this.summaryRequest;
    this.summaryLoading = true;
    this.summaryError = undefined;
    this.renderSummaryView();
    try {
      const s = await fetchSummary(this.filter);
      if (request !== this.summaryRequest) return;
      this.summary = s;
    } catch (err) {
      if (request !== this.summaryRequest) return;
      this.summaryError = messageOf(err);
    }
    this.summaryLoading = false;
    this.renderSummaryView();
    this.renderTools();
  }

  private renderSummaryView(): void {
    const v = this.vocab;
    if (!v) {
      replaceChildren(this.summaryView);
      return;
    }
    if (this.summaryError) {
      replaceChildren(this.summaryView, this.errorWithRetry(this.summaryError, () => void this.loadSummary()));
    } else if (!this.summary) {
      replaceChildren(this.summaryView, h('p', { class: 'cf-muted' }, t('loading')));
    } else {
      replaceChildren(this.summaryView, renderSummary(v, this.summary, (row: SummaryRow) => {
        this.selected = undefined;
        clearHighlight(this.map);
        this.tab = 'list';
        this.setFilter({ rule: row.rule_id, adcode: row.adcode });
        this.render();
        this.body.scrollTop = 0;
      }));
    }
  }

  private async loadRuns(): Promise<void> {
    try {
      const r = await fetchRuns(5);
      this.runs.records = r.runs;
      this.runs.busy = r.busy;
      this.runs.recordsError = undefined;
    } catch (err) {
      this.runs.recordsError = messageOf(err);
    }
    this.renderRunsView();
  }

  private async run(): Promise<void> {
    if (this.runs.running) return;
    this.runs = { ...this.runs, running: true, error: undefined, result: undefined };
    this.renderRunsView();
    try {
      const result = await postRun(this.runs.mode);
      this.runs = { ...this.runs, running: false, result };
      // Everything the run may have changed: the list, the summary, the open case, the map.
      void this.loadList(false);
      void this.loadSummary();
      if (this.selected) void this.loadDetail();
      void refreshLayerTiles(this.map, CONFLICTS_SOURCE).catch(() => undefined);
    } catch (err) {
      this.runs = { ...this.runs, running: false, error: messageOf(err) };
    }
    this.renderRunsView();
    void this.loadRuns();
  }

  private renderRunsView(): void {
    if (!this.vocab) {
      replaceChildren(this.runsView);
      return;
    }
    const account = currentAccount();
    this.runs.allowed = account ? mayRunDetection(account) : undefined;
    replaceChildren(this.runsView, renderRuns(this.vocab, this.runs, {
      modeChanged: (mode) => { this.runs.mode = mode; },
      run: () => void this.run(),
    }));
  }

  // ---- the map ----------------------------------------------------------------------------------

  /** With the panel open, a click on a patch (from z12 the tiles carry its case id) opens its case. */
  private mapClicked(e: MapMouseEvent): void {
    if (!this.isOpen || !this.vocab || !this.map.getLayer(PATCH_FILL)) return;
    if (this.map.getLayoutProperty(PATCH_FILL, 'visibility') === 'none') return;
    const hit = this.map.queryRenderedFeatures(e.point, { layers: [PATCH_FILL] })
      .find((f) => typeof f.properties?.patch_id === 'string');
    const id = hit?.properties?.patch_id as string | undefined;
    if (id && id !== this.selected?.item.id) void this.selectById(id);
  }

  // ---- everything -------------------------------------------------------------------------------

  /** Renders every text and the state (also after a language switch). */
  render(): void {
    this.openButton.textContent = t('cfOpen');
    this.openButton.title = t('cfOpenTitle');
    this.title.textContent = t('cfTitle');
    this.closeButton.title = t('close');
    const labels: Record<Tab, string> = { list: t('cfTabList'), summary: t('cfTabSummary'), runs: t('cfTabRuns') };
    for (const tab of Object.keys(this.tabs) as Tab[]) {
      this.tabs[tab].textContent = labels[tab];
      this.tabs[tab].setAttribute('aria-selected', String(this.tab === tab));
    }
    this.root.dataset.tab = this.tab;
    this.listView.hidden = this.tab !== 'list' || !!this.selected;
    this.detailView.hidden = this.tab !== 'list' || !this.selected;
    this.summaryView.hidden = this.tab !== 'summary';
    this.runsView.hidden = this.tab !== 'runs';
    this.renderFilters();
    this.renderList();
    this.renderDetailView();
    this.renderSummaryView();
    this.renderRunsView();
  }
}

/** Whether text is a calendar date YYYY-MM-DD. */
function isDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** A case without its detail-only members (what the list keeps). */
function stripDetail(c: CaseView | CaseDetail): CaseView {
  const { geometry: _g, events: _e, ...rest } = c as CaseDetail;
  void _g;
  void _e;
  return rest;
}

/** Mounts the 差异图斑 button into the header and its panel over the map. */
export function mountConflicts(header: HTMLElement, host: HTMLElement, map: MlMap, registry: Registry): ConflictsPanel {
  return new ConflictsPanel(map, registry, header, host);
}
