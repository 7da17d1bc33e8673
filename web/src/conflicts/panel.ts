// The 差异图斑 (conflicts) panel: a header button opens it over the left of the map. Three tabs:
//   图斑列表 — the cases, filtered by rule, district, severity and status (default: still open),
//     in the server's order (severity, then area), 50 at a time with "load more"; the ledger
//     exports and the district report for the filters; a click zooms the map to the case,
//     highlights the patch and both source features and opens its detail (see detail.ts):
//     status changes against the case's version (If-Match), comments, the history;
//   分类汇总 — current patches per rule × district;
//   冲突检测 — re-run the detection and see what it found.
// This file is the shell: the panel's elements, its tabs, the map (zoom, highlight, a click on a
// patch) and the rendering of each part when the store (store.ts: the state and its loading) says
// it changed. The renderers are list.ts, detail.ts, summary.ts and runs.ts; the writes actions.ts.
// After a status change or a run the conflicts layer's tiles are fetched anew (their URLs carry
// the layer's data version), so the map shows the new state.
import type { Map as MlMap, MapMouseEvent } from 'maplibre-gl';
import { onLangChange, t } from '../i18n/i18n';
import { refreshLayerTiles } from '../imports/panel';
import type { Registry } from '../layers/registry';
import { mayComment, mayRunDetection, mayTransition } from '../auth/permissions';
import { currentAccount, onAccountChange } from '../auth/session';
import { h, replaceChildren } from '../ui/dom';
import { clearOfPanel, headerButton, showPanel } from '../ui/panel';
import type { CaseDetail, CaseView, SummaryRow } from './api';
import { ConflictsActions } from './actions';
import { renderDetail } from './detail';
import { clearHighlight, CONFLICTS_SOURCE, showGoneGeometry, showHighlight } from './highlight';
import { errorWithRetry, renderCases, renderFilters, renderTools } from './list';
import { renderRuns } from './runs';
import { ConflictsStore, type DetailModel, type Part, type Tab } from './store';
import { renderSummary } from './summary';

/** The style layer of the patches (the server's style) that a map click picks cases from. */
const PATCH_FILL = 'conflicts:fill';

export class ConflictsPanel {
  private readonly store: ConflictsStore;
  private readonly actions: ConflictsActions;
  private tab: Tab = 'list';
  /** Where the list was scrolled to, for the way back from a case or another tab. */
  private listScroll = 0;

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

  constructor(private readonly map: MlMap, registry: Registry, header: HTMLElement, private readonly host: HTMLElement) {
    this.store = new ConflictsStore(registry, (part) => this.changed(part));
    this.actions = new ConflictsActions(this.store, () => void refreshLayerTiles(this.map, CONFLICTS_SOURCE).catch(() => undefined));
    this.root.hidden = true;
    host.append(this.root);
    headerButton(header, this.openButton, this.root, () => this.open(), () => this.close());
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

  /** Opens the panel: the selected case (if any) highlighted again, what the tab shows loaded. */
  open(): void {
    showPanel(this.root, this.openButton, this.host, 'cf-panel-open', true);
    this.render();
    const m = this.store.selected;
    if (m) this.highlight(m.detail ?? m.item);
    void this.store.ensureLoaded(this.tab);
  }

  /** Closes the panel and takes the highlight off the map (the selection stays for the next open). */
  close(): void {
    showPanel(this.root, this.openButton, this.host, 'cf-panel-open', false);
    clearHighlight(this.map);
  }

  /** Whether the panel is shown (a click on a patch opens its case only then). */
  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Renders what the store says changed. */
  private changed(part: Part): void {
    switch (part) {
      case 'meta':
        this.render();
        break;
      case 'list':
        this.renderList();
        break;
      case 'summary':
        this.renderSummaryView();
        this.renderTools();
        break;
      case 'case': {
        // The selected case loaded anew: the map follows it, then the view.
        const d = this.store.selected?.detail;
        if (d && this.isOpen) this.highlight(d);
        this.renderDetailView();
        break;
      }
      case 'detail':
        this.renderDetailView();
        break;
      case 'runs':
        this.renderRunsView();
        break;
    }
  }

  private showTab(tab: Tab): void {
    const s = this.store;
    if (tab === this.tab && tab === 'list' && s.selected) {
      this.back();
      return;
    }
    if (this.tab === 'list' && !s.selected) this.listScroll = this.body.scrollTop;
    this.tab = tab;
    if (tab === 'summary' && s.vocab && !s.summary.loading && !s.summary.data) void s.loadSummary();
    if (tab === 'runs' && s.vocab) void s.loadRuns();
    this.render();
    this.body.scrollTop = tab === 'list' && !s.selected ? this.listScroll : 0;
  }

  private setFilter(change: Parameters<ConflictsStore['setFilter']>[0]): void {
    this.listScroll = 0;
    this.store.setFilter(change);
    this.renderFilters();
    this.renderTools();
  }

  // ---- one case -------------------------------------------------------------------------------

  /** Opens a case: zoom to it, highlight it, load its detail. */
  select(c: CaseView | CaseDetail): void {
    if (!this.store.selected) this.listScroll = this.body.scrollTop;
    this.store.select(c);
    this.tab = 'list';
    this.zoomTo(c);
    this.highlight(c);
    this.render();
    this.body.scrollTop = 0;
    void this.store.loadDetail();
  }

  private back(): void {
    this.store.unselect();
    clearHighlight(this.map);
    this.render();
    this.body.scrollTop = this.listScroll;
  }

  // ---- the map ----------------------------------------------------------------------------------

  private highlight(c: CaseView | CaseDetail): void {
    const current = c.status !== 'resolved_by_data';
    showHighlight(this.map, { fid: c.fid, current, a: c.a, b: c.b });
    if (!current && 'geometry' in c) showGoneGeometry(this.map, c.geometry);
  }

  private zoomTo(c: CaseView): void {
    if (!c.bbox) return;
    const [w, s, e, n] = c.bbox;
    // Clear of the panel (40 px margins), leaving the case at least a third of the map's width however narrow the window.
    const padding = clearOfPanel(this.map, this.root, 'left', 40, (width) => width / 3 + 40);
    this.map.fitBounds([[w, s], [e, n]], { padding, maxZoom: 16, duration: 600 });
  }

  /** With the panel open, a click on a patch (from z12 the tiles carry its case id) opens its case. */
  private mapClicked(e: MapMouseEvent): void {
    if (!this.isOpen || !this.store.vocab || !this.map.getLayer(PATCH_FILL)) return;
    if (this.map.getLayoutProperty(PATCH_FILL, 'visibility') === 'none') return;
    const hit = this.map.queryRenderedFeatures(e.point, { layers: [PATCH_FILL] })
      .find((f) => typeof f.properties?.patch_id === 'string');
    const id = hit?.properties?.patch_id as string | undefined;
    if (!id || id === this.store.selected?.item.id) return;
    void this.store.caseById(id).then((c) => { if (c) this.select(c); });
  }

  // ---- rendering --------------------------------------------------------------------------------

  private renderFilters(): void {
    const v = this.store.vocab;
    replaceChildren(this.filtersEl, ...(v ? renderFilters(v, this.store.filter, { setFilter: (c) => this.setFilter(c) }) : []));
  }

  private renderTools(): void {
    const s = this.store;
    replaceChildren(this.toolsEl, ...(s.vocab ? renderTools(s.vocab, s.filter, s.list, s.summary, { setFilter: (c) => this.setFilter(c) }) : []));
  }

  private renderList(): void {
    this.renderTools();
    const s = this.store;
    if (!s.vocab) {
      replaceChildren(this.listEl, s.metaError
        ? errorWithRetry(s.metaError, () => void s.ensureLoaded(this.tab))
        : h('p', { class: 'cf-muted' }, t('loading')));
      return;
    }
    replaceChildren(this.listEl, ...renderCases(s.vocab, s.list, s.selected?.item.id, {
      open: (c) => this.select(c),
      more: () => void s.loadList(true),
      retry: () => void s.loadList(s.list.cases.length > 0),
    }));
  }

  private renderDetailView(): void {
    const m = this.store.selected;
    const v = this.store.vocab;
    if (!m || !v) {
      replaceChildren(this.detailView);
      return;
    }
    this.permissions(m);
    replaceChildren(this.detailView, renderDetail(v, m, {
      back: () => this.back(),
      reload: () => void this.store.loadDetail(),
      chooseAction: (to) => {
        this.actions.chooseAction(to);
        if (to) this.detailView.querySelector<HTMLElement>('[data-testid="cf-action-form"] select, [data-testid="cf-action-form"] textarea')?.focus();
      },
      submit: () => void this.actions.submitTransition(),
      saveDraftAsComment: () => void this.actions.saveDraftAsComment(),
      addComment: () => void this.actions.addComment(),
    }));
    if (m.revealNotice && !this.detailView.hidden) {
      m.revealNotice = false;
      this.detailView.querySelector('[data-testid="cf-notice"]')?.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Who acts on the selected case and what the account may do with it (the rule's departments decide). */
  private permissions(m: DetailModel): void {
    const account = currentAccount();
    m.account = account?.display_name;
    const departments = this.store.vocab?.ruleOf(m.item.rule_id)?.departments.map((d) => d.id) ?? [];
    m.may = account ? { transition: (to) => mayTransition(account, departments, to), comment: mayComment(account, departments) } : undefined;
  }

  private renderSummaryView(): void {
    const s = this.store;
    const v = s.vocab;
    if (!v) replaceChildren(this.summaryView);
    else if (s.summary.error) replaceChildren(this.summaryView, errorWithRetry(s.summary.error, () => void s.loadSummary()));
    else if (!s.summary.data) replaceChildren(this.summaryView, h('p', { class: 'cf-muted' }, t('loading')));
    else {
      replaceChildren(this.summaryView, renderSummary(v, s.summary.data, (row: SummaryRow) => {
        // A row lists its rule's cases in its district.
        s.unselect();
        clearHighlight(this.map);
        this.tab = 'list';
        this.setFilter({ rule: row.rule_id, adcode: row.adcode });
        this.render();
        this.body.scrollTop = 0;
      }));
    }
  }

  private renderRunsView(): void {
    const s = this.store;
    if (!s.vocab) {
      replaceChildren(this.runsView);
      return;
    }
    const account = currentAccount();
    s.runs.allowed = account ? mayRunDetection(account) : undefined;
    replaceChildren(this.runsView, renderRuns(s.vocab, s.runs, {
      modeChanged: (mode) => { s.runs.mode = mode; },
      run: () => void this.actions.run(),
    }));
  }

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
    const selected = !!this.store.selected;
    this.root.dataset.tab = this.tab;
    this.listView.hidden = this.tab !== 'list' || selected;
    this.detailView.hidden = this.tab !== 'list' || !selected;
    this.summaryView.hidden = this.tab !== 'summary';
    this.runsView.hidden = this.tab !== 'runs';
    this.renderFilters();
    this.renderList();
    this.renderDetailView();
    this.renderSummaryView();
    this.renderRunsView();
  }
}

/** Mounts the 差异图斑 button into the header and its panel over the map. */
export function mountConflicts(header: HTMLElement, host: HTMLElement, map: MlMap, registry: Registry): ConflictsPanel {
  return new ConflictsPanel(map, registry, header, host);
}
