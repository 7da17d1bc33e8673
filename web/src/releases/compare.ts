// The comparison panel (对比分析): pick two sides — two releases, or (staff) a release and the working
// data — and see (a) the swipe (卷帘) between them, (b) the change layer of one layer over the map
// (added green, removed red, changed orange) with its legend, and (c) the comparison table from
// GET /api/releases/{from}/compare?with={to}. A header button opens it over the map's left side.
import type { Map as MlMap, StyleSpecification } from 'maplibre-gl';
import { onLangChange, t } from '../i18n/i18n';
import { ApiError } from '../platform/http';
import { h, replaceChildren } from '../ui/dom';
import { clearOfPanel, headerButton, showPanel } from '../ui/panel';
import { fetchChangeFeatures, fetchComparison, type ChangeFeatures, type Comparison, type CompareSide, type ReleaseSummary } from './api';
import type { CaptionInfo } from './caption';
import { editionText, formatReleaseDate } from './caption';
import { ChangeLayer, changeLegend } from './changes';
import { Swipe } from './swipe';
import { renderComparison } from './table';

/** What the panel needs of the viewer it is in. */
export interface CompareHost {
  /** The releases to choose from (newest first). */
  releases(): ReleaseSummary[];
  /** Whether the working data can be a side (staff). */
  working: boolean;
  /** The style of a side. */
  style(side: CompareSide): Promise<string | StyleSpecification>;
  /** What the captions say of a side (null: the working data, which has no 审图号). */
  caption(side: CompareSide): CaptionInfo | null;
  /** The sides to start with. */
  defaults(): { from: number | undefined; to: CompareSide | undefined };
}

const sideValue = (s: CompareSide): string => String(s);
const parseSide = (v: string): CompareSide | undefined => (v === 'working' ? 'working' : v ? Number(v) : undefined);

/** "第2版" for a release, "工作数据" for the working data. */
export function sideLabel(side: CompareSide): string {
  return side === 'working' ? t('rlWorking') : editionText(side);
}

export class ComparePanel {
  readonly openButton = h('button', { type: 'button', class: 'cf-open rl-open', 'data-testid': 'rl-compare-open', 'aria-expanded': 'false' });
  private readonly title = h('h2', { class: 'panel-title', id: 'rl-compare-title' });
  private readonly closeButton = h('button', { type: 'button', class: 'close', 'data-testid': 'rl-compare-close' }, '×');
  private readonly fromSelect = h('select', { 'data-testid': 'rl-cmp-from' });
  private readonly toSelect = h('select', { 'data-testid': 'rl-cmp-to' });
  private readonly fromLabel = h('span', { class: 'cf-label' });
  private readonly toLabel = h('span', { class: 'cf-label' });
  private readonly swipeButton = h('button', { type: 'button', class: 'cf-action', 'data-testid': 'rl-swipe-toggle', 'aria-pressed': 'false' });
  private readonly layerSelect = h('select', { 'data-testid': 'rl-change-layer' });
  private readonly layerLabel = h('span', { class: 'cf-label' });
  private readonly changeStatus = h('div', { class: 'rl-change-status', 'data-testid': 'rl-change-status' });
  private readonly tableEl = h('div', { class: 'rl-cmp-wrap', 'data-testid': 'rl-cmp' });
  private readonly root = h('section', { class: 'cf-panel rl-panel', 'data-testid': 'rl-compare-panel', role: 'dialog', 'aria-labelledby': 'rl-compare-title' },
    h('div', { class: 'panel-head' }, this.title, this.closeButton),
    h('div', { class: 'cf-body' },
      h('div', { class: 'rl-sides' },
        h('label', { class: 'cf-field' }, this.fromLabel, this.fromSelect),
        h('span', { class: 'rl-arrow', 'aria-hidden': 'true' }, '→'),
        h('label', { class: 'cf-field' }, this.toLabel, this.toSelect)),
      h('div', { class: 'cf-buttons' }, this.swipeButton),
      h('section', { class: 'cf-section' },
        h('label', { class: 'cf-field' }, this.layerLabel, this.layerSelect),
        this.changeStatus),
      h('section', { class: 'cf-section' }, this.tableEl)));

  readonly changes = new ChangeLayer();
  private swipe: Swipe | undefined;
  private comparison: Comparison | undefined;
  private pending: AbortController | undefined;
  private from: number | undefined;
  private to: CompareSide | undefined;
  private layer: string | undefined;

  constructor(header: HTMLElement, private readonly mapHost: HTMLElement, private readonly map: MlMap, private readonly host: CompareHost) {
    this.root.hidden = true;
    mapHost.append(this.root);
    headerButton(header, this.openButton, this.root, () => this.open(), () => this.close());
    this.closeButton.addEventListener('click', () => this.close());
    this.root.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
    this.fromSelect.addEventListener('change', () => void this.pick(parseSide(this.fromSelect.value) as number | undefined, this.to));
    this.toSelect.addEventListener('change', () => void this.pick(this.from, parseSide(this.toSelect.value)));
    this.swipeButton.addEventListener('click', () => void (this.swipe ? this.stopSwipe() : this.startSwipe()));
    this.layerSelect.addEventListener('change', () => {
      this.layer = this.layerSelect.value || undefined;
      void this.loadChanges();
    });
    this.changes.attach(map);
    onLangChange(() => this.render());
    this.render();
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** The swipe shown, if any. */
  get swiping(): Swipe | undefined {
    return this.swipe;
  }

  /** Opens the panel, on the given sides or the host's defaults. */
  open(from?: number, to?: CompareSide): void {
    showPanel(this.root, this.openButton, this.mapHost, 'cf-panel-open', true);
    const d = this.host.defaults();
    void this.pick(from ?? this.from ?? d.from, to ?? this.to ?? d.to);
  }

  close(): void {
    showPanel(this.root, this.openButton, this.mapHost, 'cf-panel-open', false);
    this.pending?.abort();
    this.stopSwipe();
    this.changes.clear();
  }

  /** The release list changed (a release published or withdrawn): the choices follow. */
  refresh(): void {
    this.renderSides();
  }

  private async pick(from: number | undefined, to: CompareSide | undefined): Promise<void> {
    this.from = from;
    this.to = to;
    this.comparison = undefined;
    this.renderSides();
    if (this.swipe) await this.startSwipe();
    await this.load();
  }

  private same(): boolean {
    return this.from !== undefined && this.to !== undefined && sideValue(this.from) === sideValue(this.to);
  }

  private async load(): Promise<void> {
    this.pending?.abort();
    this.changes.clear();
    const { from, to } = this;
    if (from === undefined || to === undefined || this.same()) {
      replaceChildren(this.tableEl, h('p', { class: 'cf-muted' }, t(this.same() ? 'rlCmpSame' : 'rlCmpPick')));
      replaceChildren(this.layerSelect);
      replaceChildren(this.changeStatus);
      return;
    }
    const ctl = (this.pending = new AbortController());
    replaceChildren(this.tableEl, h('p', { class: 'cf-muted' }, t('loading')));
    try {
      const c = await fetchComparison(from, to, ctl.signal);
      if (ctl.signal.aborted) return;
      this.comparison = c;
      // The layer shown: the one asked for if it has changes, else the land-use plan's, else the one with most.
      const changed = c.layers.filter((l) => l.added.count + l.removed.count + l.changed.count > 0);
      const count = (id: string) => { const l = c.layers.find((x) => x.layerId === id); return l ? l.added.count + l.removed.count + l.changed.count : 0; };
      if (!this.layer || !count(this.layer)) {
        this.layer = count('landuse_plan') ? 'landuse_plan' : [...changed].sort((a, b) => count(b.layerId) - count(a.layerId))[0]?.layerId ?? c.layers[0]?.layerId;
      }
      this.renderTable();
      await this.loadChanges();
    } catch (err) {
      if (ctl.signal.aborted || (err as Error).name === 'AbortError') return;
      replaceChildren(this.tableEl, h('p', { class: 'error', role: 'alert', 'data-testid': 'rl-cmp-error' }, `${t('loadError')}: ${message(err)}`));
    }
  }

  private async loadChanges(): Promise<void> {
    const { from, to, layer } = this;
    this.renderLayerSelect();
    if (from === undefined || to === undefined || !layer || this.same()) return;
    const ctl = this.pending ?? new AbortController();
    replaceChildren(this.changeStatus, h('p', { class: 'cf-muted' }, t('loading')));
    try {
      const fc = await fetchChangeFeatures(from, to, layer, ctl.signal);
      if (ctl.signal.aborted || layer !== this.layer) return;
      this.changes.show(fc);
      this.fitTo(fc);
      this.root.dataset.changes = String(fc.features.length);
      replaceChildren(this.changeStatus, changeLegend(this.changes.counts()));
    } catch (err) {
      if (ctl.signal.aborted || (err as Error).name === 'AbortError') return;
      replaceChildren(this.changeStatus, h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${message(err)}`));
    }
  }

  /** Shows the changed features on the map, clear of the panel (in the swipe: its maps). */
  private fitTo(fc: ChangeFeatures): void {
    const box = bboxOf(fc);
    if (!box) return;
    const map = this.swipe?.left ?? this.map;
    map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: clearOfPanel(map, this.root, 'left', 48, (w) => w * 0.4), maxZoom: 13, duration: 0 });
  }

  private async startSwipe(): Promise<void> {
    const { from, to } = this;
    this.stopSwipe();
    if (from === undefined || to === undefined || this.same()) {
      this.renderSides();
      return;
    }
    const [left, right] = await Promise.all([this.host.style(from), this.host.style(to)]);
    if (from !== this.from || to !== this.to) return;
    this.stopSwipe();
    // The divider starts in the middle of what the panel leaves of the map.
    const hostBox = this.mapHost.getBoundingClientRect();
    const covered = this.root.hidden ? 0 : Math.max(0, this.root.getBoundingClientRect().right - hostBox.left);
    const start = covered + (hostBox.width - covered) / 2;
    const swipe = new Swipe(this.mapHost, this.map, { style: left, label: this.sideText(from), caption: this.host.caption(from) }, { style: right, label: this.sideText(to), caption: this.host.caption(to) }, start);
    this.swipe = swipe;
    // The panel stays above the two maps.
    this.mapHost.append(this.root);
    this.changes.attach(swipe.left);
    this.changes.attach(swipe.right);
    this.renderSides();
    expose(swipe);
  }

  private stopSwipe(): void {
    const s = this.swipe;
    if (!s) return;
    this.swipe = undefined;
    this.map.jumpTo(s.camera());
    this.changes.detach(s.left);
    this.changes.detach(s.right);
    s.remove();
    this.renderSides();
    expose(undefined);
  }

  /** "第2版 · 2026年12月4日 · 审图号：…" for the swipe's labels. */
  private sideText(side: CompareSide): string {
    const c = this.host.caption(side);
    if (!c) return sideLabel(side);
    return [editionText(c.number), c.publishedAt ? formatReleaseDate(c.publishedAt) : t('rlStatus_draft'), c.reviewNumber ? `${t('rlReviewNumber')} ${c.reviewNumber}` : ''].filter(Boolean).join(' · ');
  }

  private render(): void {
    this.title.textContent = t('rlCompare');
    this.openButton.textContent = t('rlCompare');
    this.closeButton.title = t('close');
    this.fromLabel.textContent = t('rlCmpFrom');
    this.toLabel.textContent = t('rlCmpTo');
    this.layerLabel.textContent = t('rlChangeLayer');
    this.renderSides();
    if (this.comparison) this.renderTable();
    if (this.layerSelect.options.length) this.renderLayerSelect();
    if (this.changeStatus.querySelector('.rl-change-legend')) replaceChildren(this.changeStatus, changeLegend(this.changes.counts()));
  }

  private renderSides(): void {
    const releases = this.host.releases();
    const option = (side: CompareSide, selected: boolean) => {
      const r = releases.find((x) => x.number === side);
      const text = r ? `${sideLabel(side)} ${r.title}（${t(`rlStatus_${r.status}`)}）` : sideLabel(side);
      return h('option', { value: sideValue(side), selected }, text);
    };
    replaceChildren(this.fromSelect, h('option', { value: '' }, '—'), ...releases.map((r) => option(r.number, r.number === this.from)));
    replaceChildren(this.toSelect, h('option', { value: '' }, '—'),
      ...releases.map((r) => option(r.number, r.number === this.to)),
      this.host.working ? option('working', this.to === 'working') : null);
    this.swipeButton.textContent = this.swipe ? t('rlSwipeStop') : t('rlSwipe');
    this.swipeButton.setAttribute('aria-pressed', String(!!this.swipe));
    this.swipeButton.disabled = this.from === undefined || this.to === undefined || this.same();
  }

  private renderLayerSelect(): void {
    const c = this.comparison;
    if (!c) return;
    replaceChildren(this.layerSelect, ...c.layers.map((l) => {
      const n = l.added.count + l.removed.count + l.changed.count;
      return h('option', { value: l.layerId, selected: l.layerId === this.layer }, `${l.title}（${n}）`);
    }));
  }

  private renderTable(): void {
    if (!this.comparison || this.from === undefined || this.to === undefined) return;
    replaceChildren(this.tableEl, renderComparison(this.comparison, sideLabel(this.from), sideLabel(this.to)));
  }
}

/** The lon/lat box of a feature collection, or undefined for none. */
function bboxOf(fc: ChangeFeatures): [number, number, number, number] | undefined {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      const [x, y] = c as number[];
      b[0] = Math.min(b[0], x); b[1] = Math.min(b[1], y); b[2] = Math.max(b[2], x); b[3] = Math.max(b[3], y);
      return;
    }
    for (const x of c) walk(x);
  };
  for (const f of fc.features) if (f.geometry && 'coordinates' in f.geometry) walk(f.geometry.coordinates);
  return b[0] <= b[2] ? (b as [number, number, number, number]) : undefined;
}

/** Tests wait for the swipe's two maps as for the main one (window.__onemap.swipe). */
function expose(s: Swipe | undefined): void {
  const w = window as unknown as { __onemap?: { swipe?: { left: MlMap; right: MlMap } } };
  if (!w.__onemap) return;
  if (s) w.__onemap.swipe = { left: s.left, right: s.right };
  else delete w.__onemap.swipe;
}

function message(err: unknown): string {
  return err instanceof ApiError || err instanceof Error ? err.message : String(err);
}
