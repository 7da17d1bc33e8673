// The public viewer (`/` without an account): the current published release — or ?release=N —
// on the map with its style (/releases/{n}/style.json), the layer tree and legends from the
// entries the release pinned, the list of releases to switch between (number, title, 发布日期,
// 已发布/已替代), the 审图号 and the release's date on the map, the release's facts and downloads,
// identify from the release's own tiles, the comparison (对比分析: swipe and change layer) and a
// 成果包 opened from disk. It calls no working-data route (/api/layers, /style.json, /tiles/, …):
// an anonymous visitor is refused those. `/?pmtiles` opens the same viewer on an archive from disk
// with no server call at all.
import type { Map as MlMap, StyleSpecification } from 'maplibre-gl';
import { onLangChange, pick, t } from '../i18n/i18n';
import { mountLayerTree } from '../layers/tree';
import type { RegistryEntry } from '../layers/registry';
import { createMap, whenLoaded } from '../map/map';
import { getJson } from '../platform/http';
import { h, replaceChildren } from '../ui/dom';
import { fetchRelease, fetchReleases, releaseArchiveUrl, releaseOgcUrl, releaseStyleUrl, type CompareSide, type Release, type ReleaseSummary } from './api';
import { openPrintDialog } from '../print/print-dialog';
import { openArchive, type OpenedArchive } from './archive';
import { editionText, formatReleaseDate, issuerName, ReleaseCaption, type CaptionInfo } from './caption';
import { ComparePanel } from './compare';
import { mountLocalIdentify } from './identify';
import { layerList, releaseEntries } from './layers';

/** The elements of the page the viewer fills. */
export interface Page {
  header: HTMLElement;
  left: HTMLElement;
  right: HTMLElement;
  mapEl: HTMLElement;
}

/** A style with nothing but the background, while there is nothing to show. */
export const EMPTY_STYLE: StyleSpecification = { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } }] };

/** What the map shows: a release of the server, or an archive from disk. */
type Shown = { kind: 'release'; release: Release; entries: RegistryEntry[] } | { kind: 'archive'; archive: OpenedArchive } | { kind: 'none' };

/** The caption facts of a release. */
export function captionOf(r: ReleaseSummary): CaptionInfo {
  return { number: r.number, title: r.title, reviewNumber: r.reviewNumber, publishedAt: r.publishedAt, preparedAt: r.preparedAt, department: r.department, status: r.status };
}

/** The release's style, fetched (its metadata names the pinned entries). */
export function fetchReleaseStyle(n: number): Promise<StyleSpecification> {
  return getJson<StyleSpecification>(releaseStyleUrl(n));
}

/** The 打开成果包 (.pmtiles) button: a label around a hidden file input. */
export function archiveButton(onFile: (file: File) => void): { el: HTMLElement; render: () => void } {
  const input = h('input', { type: 'file', accept: '.pmtiles', class: 'visually-hidden', 'data-testid': 'rl-pmtiles-input' });
  const text = h('span', {});
  const el = h('label', { class: 'cf-open rl-open rl-archive-open', 'data-testid': 'rl-pmtiles-open' }, text, input);
  input.addEventListener('change', () => {
    const f = input.files?.[0];
    input.value = '';
    if (f) onFile(f);
  });
  const render = () => { text.textContent = t('rlOpenArchive'); el.title = t('rlOpenArchiveTitle'); };
  render();
  return { el, render };
}

export class PublicViewer {
  readonly map: MlMap;
  private releases: ReleaseSummary[] = [];
  private current: number | null = null;
  private shown: Shown = { kind: 'none' };
  private readonly caption: ReleaseCaption;
  private stopTree: () => void = () => undefined;
  private readonly listEl = h('ol', { class: 'rl-list', 'data-testid': 'rl-list' });
  private readonly listSection: HTMLElement;
  private readonly treeEl = h('div', { class: 'rl-tree', 'data-testid': 'layer-tree-body' });
  private readonly infoEl = h('section', { class: 'rl-info', 'data-testid': 'rl-info' });
  private readonly noticeEl = h('div', { class: 'rl-notice', role: 'status', 'data-testid': 'rl-notice' });
  private readonly listTitle = h('h2', { class: 'panel-title' });
  private compare: ComparePanel | undefined;
  private readonly styles = new Map<number, Promise<StyleSpecification>>();
  private switching = 0;
  private readonly baseMinZoom: number;

  /** offline: an archive viewer with no server (the `/?pmtiles` page). */
  /** staff: the viewer of a logged-in account (drafts listed; the working data a side of a comparison). */
  constructor(private readonly page: Page, private readonly offline = false, staff = false) {
    this.map = createMap(page.mapEl, EMPTY_STYLE);
    this.baseMinZoom = this.map.getMinZoom();
    this.caption = new ReleaseCaption(this.map);
    this.listSection = h('section', { class: 'rl-releases' }, this.listTitle, this.listEl);
    this.listSection.hidden = offline;
    replaceChildren(page.left, this.noticeEl, this.listSection, this.treeEl);
    const identify = h('div', { class: 'rl-identify' });
    replaceChildren(page.right, this.infoEl, identify);
    mountLocalIdentify(identify, this.map, () => this.entries());
    const archive = archiveButton((f) => void this.openFile(f));
    page.header.insertBefore(archive.el, page.header.querySelector('[data-testid="lang-switch"]'));
    if (!offline) {
      this.compare = new ComparePanel(page.header, page.mapEl.parentElement!, this.map, {
        releases: () => this.releases,
        working: staff,
        style: (side: CompareSide) => (side === 'working' ? Promise.resolve('/style.json') : this.style(side)),
        caption: (side: CompareSide) => {
          const r = typeof side === 'number' ? this.releases.find((x) => x.number === side) : undefined;
          return r ? captionOf(r) : null;
        },
        defaults: () => {
          const shown = this.shown.kind === 'release' ? this.shown.release.number : this.current ?? undefined;
          const earlier = this.releases.find((r) => shown !== undefined && r.number < shown)?.number;
          const later = [...this.releases].reverse().find((r) => shown !== undefined && r.number > shown)?.number;
          return earlier !== undefined ? { from: earlier, to: shown } : { from: shown, to: later };
        },
      });
    }
    onLangChange(() => {
      archive.render();
      this.render();
    });
    this.render();
  }

  /** Loads the release list and shows ?release=N, or the current release. */
  async start(): Promise<void> {
    await whenLoaded(this.map);
    try {
      await this.first();
    } finally {
      // Tests wait for this map once it shows what it opened with (not the empty style before).
      window.__onemap = { map: this.map };
    }
  }

  private async first(): Promise<void> {
    if (this.offline) {
      this.notice(t('rlOfflineHint'));
      return;
    }
    const list = await fetchReleases();
    this.releases = list.releases;
    this.current = list.current;
    this.compare?.refresh();
    const asked = Number(new URLSearchParams(location.search).get('release'));
    const n = this.releases.some((r) => r.number === asked) ? asked : list.current ?? this.releases[0]?.number;
    if (n === undefined) {
      this.notice(t('rlNoneYet'));
      this.render();
      return;
    }
    await this.showRelease(n);
  }

  /** The entries of what is shown. */
  entries(): RegistryEntry[] {
    return this.shown.kind === 'release' ? this.shown.entries : this.shown.kind === 'archive' ? this.shown.archive.entries : [];
  }

  private style(n: number): Promise<StyleSpecification> {
    let s = this.styles.get(n);
    if (!s) {
      s = fetchReleaseStyle(n);
      s.catch(() => this.styles.delete(n));
      this.styles.set(n, s);
    }
    return s;
  }

  /** Shows release n: its style, tree, caption and facts; the URL says which (?release=n). */
  async showRelease(n: number): Promise<void> {
    const seq = ++this.switching;
    this.notice('');
    this.page.left.dataset.loading = 'true';
    try {
      const [release, style] = await Promise.all([fetchRelease(n), this.style(n)]);
      if (seq !== this.switching) return;
      await this.setStyle(style);
      if (seq !== this.switching) return;
      this.map.setMinZoom(this.baseMinZoom);
      this.shown = { kind: 'release', release, entries: releaseEntries(style, release as Release & { registry?: unknown }) };
      const url = new URL(location.href);
      if (n === this.current) url.searchParams.delete('release'); else url.searchParams.set('release', String(n));
      history.replaceState(null, '', url);
      this.showEntries();
      this.caption.set(captionOf(release));
      if (this.compare) this.compare.openButton.disabled = this.releases.length < 2;
      this.render();
    } catch (err) {
      this.notice(`${t('loadError')}: ${(err as Error).message}`, true);
    } finally {
      delete this.page.left.dataset.loading;
    }
  }

  /** Opens a 成果包 from disk and shows it in place of the release (no server request for its tiles). */
  async openFile(file: File): Promise<void> {
    const seq = ++this.switching;
    try {
      const archive = await openArchive(file);
      if (seq !== this.switching) return;
      this.compare?.close();
      if (this.compare) this.compare.openButton.disabled = true;
      await this.setStyle(archive.style);
      this.shown = { kind: 'archive', archive };
      this.showEntries();
      this.caption.set(archive.release);
      const [w, s, e, n] = archive.bounds;
      if (w < e && s < n) this.map.fitBounds([[w, s], [e, n]], { padding: 24, duration: 0, maxZoom: Math.max(archive.minZoom, Math.min(archive.maxZoom, 12)) });
      // Below the archive's lowest zoom it has no tiles: the map stays at or above it.
      this.map.setMinZoom(Math.max(this.baseMinZoom, archive.minZoom));
      // Its facts once the map has drawn it (its tiles are read from the file meanwhile).
      await new Promise<void>((resolve) => this.map.once('idle', () => resolve()));
      if (seq !== this.switching) return;
      this.notice('');
      this.render();
    } catch (err) {
      this.notice(`${t('rlArchiveError')}: ${(err as Error).message}`, true);
    }
  }

  private setStyle(style: StyleSpecification): Promise<void> {
    return new Promise((resolve) => {
      this.map.once('style.load', () => resolve());
      this.map.setStyle(style, { diff: false });
    });
  }

  private showEntries(): void {
    this.stopTree();
    this.stopTree = mountLayerTree(this.treeEl, this.map, layerList(this.entries()));
  }

  private notice(text: string, error = false): void {
    this.noticeEl.textContent = text;
    this.noticeEl.hidden = !text;
    this.noticeEl.classList.toggle('error', error);
  }

  private render(): void {
    this.listTitle.textContent = t('rlReleases');
    const shownNumber = this.shown.kind === 'release' ? this.shown.release.number : undefined;
    replaceChildren(this.listEl, ...this.releases.map((r) => {
      const b = h('button', { type: 'button', class: 'rl-item-button', 'aria-current': r.number === shownNumber ? 'true' : undefined },
        h('span', { class: 'rl-item-edition' }, editionText(r.number)),
        h('span', { class: 'rl-item-title' }, r.title),
        h('span', { class: 'rl-item-date' }, formatReleaseDate(r.publishedAt)),
        h('span', { class: `rl-status rl-status-${r.status}`, 'data-testid': 'rl-item-status' }, t(`rlStatus_${r.status}`)));
      b.addEventListener('click', () => { if (r.number !== shownNumber) void this.showRelease(r.number); });
      return h('li', { class: `rl-item${r.number === shownNumber ? ' selected' : ''}`, 'data-testid': 'rl-item', 'data-number': r.number, 'data-status': r.status }, b);
    }));
    this.renderInfo();
  }

  private renderInfo(): void {
    const s = this.shown;
    if (s.kind === 'none') {
      replaceChildren(this.infoEl);
      return;
    }
    if (s.kind === 'archive') {
      const r = s.archive.release;
      const back = this.offline ? null : h('button', { type: 'button', class: 'cf-secondary', 'data-testid': 'rl-archive-close' }, t('rlBackOnline'));
      back?.addEventListener('click', () => { if (this.current !== null || this.releases.length) void this.showRelease(this.current ?? this.releases[0].number); });
      replaceChildren(this.infoEl,
        h('h2', { class: 'panel-title' }, t('rlArchive')),
        h('dl', { class: 'cf-facts', 'data-testid': 'rl-archive-info', 'data-file': s.archive.name },
          h('dt', {}, t('rlFile')), h('dd', {}, s.archive.name),
          r ? h('dt', {}, t('rlEditionLabel')) : null, r ? h('dd', {}, `${editionText(r.number)} ${r.title}`) : null,
          r ? h('dt', {}, t('rlReviewNumber')) : null, r ? h('dd', {}, r.reviewNumber ?? '—') : null,
          r ? h('dt', {}, t('rlPublishedAt')) : null, r ? h('dd', {}, formatReleaseDate(r.publishedAt)) : null,
          h('dt', {}, t('zoom')), h('dd', {}, `${s.archive.minZoom}–${s.archive.maxZoom}`)),
        h('p', { class: 'cf-muted cf-small' }, t('rlArchiveLocal')),
        back);
      return;
    }
    const r = s.release;
    replaceChildren(this.infoEl,
      h('h2', { class: 'panel-title' }, `${editionText(r.number)} ${r.title}`),
      h('dl', { class: 'cf-facts', 'data-testid': 'rl-facts', 'data-number': r.number },
        h('dt', {}, t('rlStatus')), h('dd', {}, h('span', { class: `rl-status rl-status-${r.status}` }, t(`rlStatus_${r.status}`))),
        h('dt', {}, t('rlReviewNumber')), h('dd', { 'data-testid': 'rl-facts-review' }, r.reviewNumber ?? '—'),
        h('dt', {}, t('rlApprovalNumber')), h('dd', {}, r.approvalNumber ?? '—'),
        h('dt', {}, t('rlPublishedAt')), h('dd', {}, formatReleaseDate(r.publishedAt)),
        h('dt', {}, t('rlIssuer')), h('dd', {}, issuerName(r.department)),
        r.supersededBy ? h('dt', {}, t('rlSupersededBy')) : null, r.supersededBy ? h('dd', {}, editionText(r.supersededBy)) : null),
      r.notes ? h('p', { class: 'rl-notes' }, r.notes) : null,
      h('details', { class: 'rl-layers' },
        h('summary', {}, t('rlPinnedLayers', { n: r.layers.length })),
        h('ul', {}, ...r.layers.map((l) => {
          const e = s.entries.find((x) => x.id === l.layerId);
          return h('li', {}, `${e ? pick(e.title) : l.title} r${l.revision} · ${l.featureCount}`);
        }))),
      h('div', { class: 'cf-links rl-links' },
        h('a', { class: 'cf-link', href: releaseArchiveUrl(r.number), 'data-testid': 'rl-archive-link', download: '' }, t('rlDownloadArchive')),
        h('a', { class: 'cf-link', href: releaseOgcUrl(r.number), target: '_blank', rel: 'noopener' }, 'OGC API – Features'),
        // 专题制图: the current view (or a district atlas) of this release, printed by the service.
        this.printButton(r)));
  }

  /** 专题制图: the button that prints the current view (or a district atlas) of the release. */
  private printButton(r: { number: number; title: string }): HTMLElement {
    const b = h('button', { type: 'button', class: 'cf-link', 'data-testid': 'rl-print' }, t('rlPrint'));
    b.addEventListener('click', () => openPrintDialog(this.map.getContainer().parentElement ?? document.body, { release: { number: r.number, title: r.title }, map: this.map }));
    return b;
  }
}

/** The public viewer on the page, started. */
export async function mountPublicViewer(page: Page, opts: { offline?: boolean; staff?: boolean } = {}): Promise<PublicViewer> {
  const v = new PublicViewer(page, opts.offline, opts.staff);
  await v.start();
  return v;
}

