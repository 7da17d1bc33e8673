// The site of an application (用地红线), given three ways — drawn on the map (the area live in 公顷
// and 亩 while drawing), a GeoJSON or zipped Shapefile uploaded through the import readers, or
// boundary points (界址点) typed or pasted in a CGCS2000 Gauss-Krüger zone and converted here with
// proj4 for a preview — and always sent to POST /api/applications/sites, whose normalised site
// (geometry and ellipsoidal area) is shown on the map and is what gets submitted. The server's
// refusals are shown with their code, message and location. Used by the new application form and
// by the amendment form.
import { Marker, type Map as MlMap } from 'maplibre-gl';
import type { MultiPolygon } from 'geojson';
import { SITE_SOURCES } from '../../../server/applications/vocabulary';
import { nameOf, colon, gap, lang, locale, paren, t, type StringKey } from '../i18n/i18n';
import { area as turfArea } from '@turf/turf';
import { formatLonLat } from '../coords/gk';
import { formatNumber } from '../identify/area';
import { h, replaceChildren } from '../ui/dom';
import { normaliseSite, SiteError, uploadSite, type NormalisedSite, type ServerProblem, type SiteInput } from './api';
import { SiteDrawer, type DrawState } from './draw';
import { areaText, haText, muText } from './format';
import { fitTo, removeSite, showSite } from './mapview';
import { checkPoints, DEFAULT_SRID, emptyRow, gkZone, parsePointsText, pointsToPolygon, toSitePoints, ZONE_CHOICES, type PointProblem, type PointRow } from './points';

export type SiteMode = 'drawn' | 'upload' | 'points';

const PROBLEM_TEXT: Record<PointProblem['code'], StringKey> = {
  not_a_number: 'apPNotANumber', x_out_of_range: 'apPXRange', y_out_of_range: 'apPYRange', y_no_prefix: 'apPYNoPrefix',
  y_zone_prefix: 'apPYPrefix', swapped: 'apPSwapped', too_few: 'apPTooFew', duplicate: 'apPDuplicate', bad_ring: 'apPBadRing',
};

let uid = 0;

export class SiteEditor {
  private mode: SiteMode = 'drawn';
  private readonly drawer: SiteDrawer;
  private drawState: DrawState | undefined;
  private file: File | undefined;
  private uploadSrid = '';
  private uploadEncoding = '';
  private rows: PointRow[] = [emptyRow(), emptyRow(), emptyRow(), emptyRow()];
  private srid = DEFAULT_SRID;
  private pasteOpen = false;
  private busy = false;
  private result: { input: SiteInput; site: NormalisedSite } | undefined;
  private error: SiteError | Error | undefined;
  private request = 0;
  private marker: Marker | undefined;
  private readonly id = `ap-site-${++uid}`;

  readonly root = h('div', { class: 'ap-site', 'data-testid': 'ap-site' });
  private readonly modeBar = h('div', { class: 'ap-seg', role: 'tablist' });
  private readonly body = h('div', { class: 'ap-site-body' });
  private readonly statusEl = h('div', { class: 'ap-site-status', 'aria-live': 'polite', 'data-testid': 'ap-site-status' });
  // Parts updated in place while typing or drawing (no re-render: the focus stays).
  private readonly liveArea = h('div', { class: 'ap-live', 'data-testid': 'ap-draw-live' });
  private readonly pointsProblems = h('ul', { class: 'ap-problems', 'data-testid': 'ap-points-problems' });
  private readonly pointsPreview = h('div', { class: 'ap-live', 'data-testid': 'ap-points-preview' });
  private readonly tableBody = h('tbody', {});

  constructor(private readonly map: MlMap, private readonly panel: () => HTMLElement, private readonly onChange: () => void) {
    this.drawer = new SiteDrawer(map, (s) => this.drawChanged(s), (p) => void this.send({ source: 'drawn', geometry: p }));
    this.root.append(this.modeBar, this.body, this.statusEl);
    this.render();
  }

  /** The site to submit, once the server has normalised it. */
  get input(): SiteInput | undefined {
    return this.result?.input;
  }

  get normalised(): NormalisedSite | undefined {
    return this.result?.site;
  }

  get isBusy(): boolean {
    return this.busy;
  }

  /** Takes everything off the map and stops drawing (the form goes away). */
  dispose(): void {
    this.drawer.detach();
    removeSite(this.map);
    this.marker?.remove();
  }

  /** Shows the site again (the panel re-opens on this form). */
  redisplay(): void {
    if (this.result) showSite(this.map, this.result.site.geometry, false);
    else if (this.mode === 'points') this.updatePoints();
  }

  /** Back to empty (after a submission). */
  reset(): void {
    this.drawer.clear();
    this.file = undefined;
    this.rows = [emptyRow(), emptyRow(), emptyRow(), emptyRow()];
    this.result = undefined;
    this.error = undefined;
    this.marker?.remove();
    removeSite(this.map);
    this.render();
  }

  private setMode(mode: SiteMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.drawer.clear();
    this.dropResult();
    this.render();
    if (mode === 'points') this.updatePoints();
  }

  /** The input changed: the server's answer no longer applies. */
  private dropResult(): void {
    this.request++;
    this.busy = false;
    this.result = undefined;
    this.error = undefined;
    this.marker?.remove();
    removeSite(this.map);
    this.renderStatus();
    this.onChange();
  }

  private async send(site: SiteInput | { file: File }): Promise<void> {
    const request = ++this.request;
    this.busy = true;
    this.result = undefined;
    this.error = undefined;
    this.marker?.remove();
    this.renderStatus();
    this.onChange();
    try {
      let normalised: NormalisedSite;
      let input: SiteInput;
      if ('file' in site && site.file instanceof File) {
        const srid = /^\d{4,6}$/.test(this.uploadSrid.trim()) ? Number(this.uploadSrid.trim()) : undefined;
        normalised = await uploadSite(site.file, { srid, encoding: this.uploadEncoding || undefined });
        input = { source: 'upload', geometry: normalised.geometry, file: normalised.file ?? { name: site.file.name, sha256: '' } };
      } else {
        const s = site as SiteInput;
        normalised = await normaliseSite(s);
        input = s.source === 'points' ? s : { source: 'drawn', geometry: normalised.geometry };
      }
      if (request !== this.request) return;
      this.result = { input, site: normalised };
      this.drawer.clear();
      showSite(this.map, normalised.geometry, false);
      fitTo(this.map, normalised.geometry, this.panel());
    } catch (err) {
      if (request !== this.request) return;
      this.error = err as Error;
      const loc = err instanceof SiteError ? err.location : undefined;
      if (loc) this.showLocation(loc);
    } finally {
      if (request === this.request) {
        this.busy = false;
        this.renderStatus();
        this.onChange();
      }
    }
  }

  private showLocation(loc: [number, number]): void {
    this.marker?.remove();
    this.marker = new Marker({ element: h('div', { class: 'ap-problem-marker', 'data-testid': 'ap-problem-marker' }) }).setLngLat(loc).addTo(this.map);
    this.map.flyTo({ center: loc, zoom: Math.max(this.map.getZoom(), 15), duration: 600 });
  }

  // ---- drawing ---------------------------------------------------------------------------------

  private drawChanged(s: DrawState): void {
    const was = this.drawState;
    this.drawState = s;
    if (s.phase === 'drawing' && this.result) this.dropResult();
    this.renderLive();
    // The buttons follow the phase, and 完成 the third corner.
    if (was?.phase !== s.phase || (was.vertices.length >= 3) !== (s.vertices.length >= 3)) this.renderBody();
  }

  private renderLive(): void {
    const s = this.drawState;
    const l = lang();
    if (!s || s.phase === 'off') {
      replaceChildren(this.liveArea, h('span', { class: 'ap-muted' }, t('apDrawIdle')));
      return;
    }
    replaceChildren(this.liveArea,
      h('span', { class: 'ap-live-label' }, t('apDrawLive')),
      h('span', { class: 'ap-live-ha', 'data-testid': 'ap-draw-ha' }, haText(s.area.m2, l)),
      h('span', { class: 'ap-live-mu', 'data-testid': 'ap-draw-mu' }, muText(s.area.m2, l)),
      h('span', { class: 'ap-muted' }, t('apDrawVertices', { n: s.vertices.length })));
  }

  private drawBody(): HTMLElement {
    const phase = this.drawState?.phase ?? 'off';
    const button = (label: StringKey, testid: string, fn: () => void, primary = false, disabled = false): HTMLButtonElement => {
      const b = h('button', { type: 'button', class: primary ? 'ap-btn ap-btn-primary' : 'ap-btn', 'data-testid': testid, disabled }, t(label));
      b.addEventListener('click', fn);
      return b;
    };
    this.renderLive();
    return h('div', { class: 'ap-draw' },
      h('div', { class: 'ap-row-buttons' },
        ...(phase === 'drawing'
          ? [button('apDrawFinish', 'ap-draw-finish', () => this.drawer.finish(), true, (this.drawState?.vertices.length ?? 0) < 3),
            button('apDrawUndo', 'ap-draw-undo', () => this.drawer.undo()),
            button('cancel', 'ap-draw-cancel', () => this.drawer.clear())]
          : [button(phase === 'done' || this.result ? 'apDrawRestart' : 'apDrawStart', 'ap-draw-start', () => this.drawer.start(), true)])),
      phase === 'drawing' ? h('p', { class: 'ap-hint' }, t('apDrawHint')) : null,
      this.liveArea);
  }

  // ---- upload ----------------------------------------------------------------------------------

  private uploadBody(): HTMLElement {
    const input = h('input', { type: 'file', accept: '.geojson,.json,.zip', class: 'visually-hidden', id: `${this.id}-file`, 'data-testid': 'ap-upload-file' });
    input.addEventListener('change', () => {
      this.file = input.files?.[0];
      this.dropResult();
      this.renderBody();
    });
    const srid = h('input', { type: 'text', inputmode: 'numeric', maxlength: 6, id: `${this.id}-srid`, value: this.uploadSrid, placeholder: t('detect'), 'data-testid': 'ap-upload-srid' });
    srid.addEventListener('input', () => {
      this.uploadSrid = srid.value;
      srid.classList.toggle('invalid', srid.value.trim() !== '' && !/^\d{4,6}$/.test(srid.value.trim()));
      if (this.result) this.dropResult();
    });
    const encoding = h('select', { id: `${this.id}-enc`, 'data-testid': 'ap-upload-encoding' },
      h('option', { value: '' }, t('detect')), h('option', { value: 'gbk' }, 'GBK / GB18030'), h('option', { value: 'utf8' }, 'UTF-8'));
    encoding.value = this.uploadEncoding;
    encoding.addEventListener('change', () => {
      this.uploadEncoding = encoding.value;
      if (this.result) this.dropResult();
    });
    const send = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-upload-send', disabled: !this.file || this.busy }, t('apUploadSend'));
    send.addEventListener('click', () => { if (this.file) void this.send({ file: this.file }); });
    return h('div', { class: 'ap-upload' },
      h('label', { class: 'ap-file', for: `${this.id}-file` }, input,
        h('span', { class: 'ap-file-button', role: 'button' }, t('apUploadChoose')),
        h('span', { class: `ap-file-name${this.file ? '' : ' ap-muted'}`, 'data-testid': 'ap-upload-name' }, this.file ? this.file.name : t('noFile'))),
      h('p', { class: 'ap-hint' }, t('apUploadHint')),
      h('div', { class: 'ap-grid2' },
        h('label', { class: 'ap-field', for: `${this.id}-srid` }, h('span', { class: 'ap-label' }, t('crsEpsg')), srid),
        h('label', { class: 'ap-field', for: `${this.id}-enc` }, h('span', { class: 'ap-label' }, t('apUploadEncoding')), encoding)),
      h('div', { class: 'ap-row-buttons' }, send));
  }

  // ---- boundary points -------------------------------------------------------------------------

  private zoneLabel(srid: number): string {
    const z = gkZone(srid)!;
    return `${z.prefixed ? t('apZonePrefixed', { zone: z.zone }) : t('apZoneBare', { cm: z.cm })} · EPSG:${srid}`;
  }

  private pointsBody(): HTMLElement {
    const zone = h('select', { id: `${this.id}-zone`, 'data-testid': 'ap-points-zone' },
      ...ZONE_CHOICES.map((s) => h('option', { value: s }, this.zoneLabel(s))));
    zone.value = String(this.srid);
    zone.addEventListener('change', () => {
      this.srid = Number(zone.value);
      this.dropResult();
      this.updatePoints();
    });
    this.renderTable();
    const add = h('button', { type: 'button', class: 'ap-link-btn', 'data-testid': 'ap-points-add' }, t('apAddRow'));
    add.addEventListener('click', () => {
      this.rows.push(emptyRow());
      this.renderTable();
      this.tableBody.querySelector<HTMLInputElement>('tr:last-child input[data-col="x"]')?.focus();
    });
    const pasteToggle = h('button', { type: 'button', class: 'ap-link-btn', 'data-testid': 'ap-points-paste-open', 'aria-expanded': String(this.pasteOpen) }, t('apPaste'));
    pasteToggle.addEventListener('click', () => {
      this.pasteOpen = !this.pasteOpen;
      this.renderBody();
    });
    const clear = h('button', { type: 'button', class: 'ap-link-btn', 'data-testid': 'ap-points-clear' }, t('apPointsClear'));
    clear.addEventListener('click', () => {
      this.rows = [emptyRow(), emptyRow(), emptyRow(), emptyRow()];
      this.dropResult();
      this.renderTable();
      this.updatePoints();
    });
    let paste: HTMLElement | null = null;
    if (this.pasteOpen) {
      const area = h('textarea', { rows: 5, class: 'ap-mono', 'data-testid': 'ap-points-paste', placeholder: 'J1\t4438646.699\t38440293.859' });
      const apply = h('button', { type: 'button', class: 'ap-btn', 'data-testid': 'ap-points-paste-apply' }, t('apPasteApply'));
      apply.addEventListener('click', () => {
        const rows = parsePointsText(area.value);
        if (!rows.length) return;
        this.rows = rows;
        this.pasteOpen = false;
        this.dropResult();
        this.renderBody();
        this.updatePoints();
      });
      paste = h('div', { class: 'ap-paste' }, h('p', { class: 'ap-hint' }, t('apPasteHint')), area, h('div', { class: 'ap-row-buttons' }, apply));
    }
    const check = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-points-send' }, t('apPointsCheck'));
    check.addEventListener('click', () => {
      const problems = checkPoints(this.rows, this.srid);
      this.updatePoints();
      if (problems.length) return;
      void this.send({ source: 'points', srid: this.srid, points: toSitePoints(this.rows) });
    });
    const table = h('table', { class: 'ap-points', 'data-testid': 'ap-points-table' },
      h('thead', {}, h('tr', {},
        h('th', { class: 'ap-col-no' }, t('apColNo')), h('th', {}, t('apColX')), h('th', {}, t('apColY')),
        h('th', { class: 'ap-col-ring', title: t('apColRingTitle') }, t('apColRing')), h('th', { class: 'ap-col-del' }))),
      this.tableBody);
    return h('div', { class: 'ap-points-wrap' },
      h('label', { class: 'ap-field', for: `${this.id}-zone` }, h('span', { class: 'ap-label' }, t('apPointsZone')), zone),
      h('div', { class: 'ap-table-wrap' }, table),
      h('div', { class: 'ap-row-links' }, add, pasteToggle, clear),
      paste,
      this.pointsProblems,
      this.pointsPreview,
      h('div', { class: 'ap-row-buttons' }, check));
  }

  private renderTable(): void {
    replaceChildren(this.tableBody, ...this.rows.map((r, i) => {
      const cell = (col: 'no' | 'x' | 'y' | 'ring', cls: string): HTMLElement => {
        const input = h('input', { type: 'text', value: r[col], 'data-col': col, 'data-row': i, class: cls, 'data-testid': `ap-point-${col}`,
          placeholder: col === 'no' ? `J${i + 1}` : undefined,
          inputmode: col === 'no' ? undefined : 'decimal', 'aria-label': `${t(col === 'no' ? 'apColNo' : col === 'x' ? 'apColX' : col === 'y' ? 'apColY' : 'apColRing')} ${i + 1}` });
        input.addEventListener('input', () => {
          this.rows[i]![col] = input.value;
          if (col !== 'no' && this.result) this.dropResult();
          this.updatePoints();
        });
        input.addEventListener('paste', (e) => {
          // A whole table pasted into a cell fills the table.
          const text = e.clipboardData?.getData('text') ?? '';
          if (!/\n/.test(text.trim())) return;
          const rows = parsePointsText(text);
          if (!rows.length) return;
          e.preventDefault();
          this.rows = rows;
          this.dropResult();
          this.renderTable();
          this.updatePoints();
        });
        return h('td', {}, input);
      };
      const del = h('button', { type: 'button', class: 'ap-del', title: t('apRemoveRow'), 'aria-label': t('apRemoveRow'), 'data-testid': 'ap-point-del' }, '×');
      del.addEventListener('click', () => {
        this.rows.splice(i, 1);
        if (!this.rows.length) this.rows.push(emptyRow());
        this.dropResult();
        this.renderTable();
        this.updatePoints();
      });
      return h('tr', { 'data-row': i }, cell('no', 'ap-col-no'), cell('x', 'ap-mono'), cell('y', 'ap-mono'), cell('ring', 'ap-col-ring'), h('td', { class: 'ap-col-del' }, del));
    }));
  }

  /** Checks the table, marks the cells, converts with proj4 and previews the polygon (dashed). */
  private updatePoints(): void {
    const filled = this.rows.filter((r) => r.x.trim() || r.y.trim());
    const problems = filled.length ? checkPoints(this.rows, this.srid) : [];
    for (const input of this.tableBody.querySelectorAll<HTMLInputElement>('input')) input.classList.remove('invalid');
    for (const p of problems) {
      if (p.row === undefined) continue;
      const cols = p.column ? [p.column] : ['x', 'y'];
      for (const c of cols) this.tableBody.querySelector<HTMLInputElement>(`input[data-row="${p.row}"][data-col="${c}"]`)?.classList.add('invalid');
    }
    const shown = problems.filter((p) => p.code !== 'too_few' || filled.length >= 3);
    replaceChildren(this.pointsProblems, ...shown.slice(0, 8).map((p) => h('li', { 'data-code': p.code },
      p.row !== undefined ? `${t('apRow', { n: p.row + 1 })}${paren(this.rows[p.row]?.no || '—')}${colon()}` : '', t(PROBLEM_TEXT[p.code]))));
    let polygon: MultiPolygon | null = null;
    if (!problems.some((p) => p.code !== 'too_few')) {
      try {
        polygon = pointsToPolygon(this.rows, this.srid);
      } catch {
        polygon = null;
      }
    }
    if (polygon && !this.result) {
      const m2 = turfArea(polygon);
      replaceChildren(this.pointsPreview,
        h('span', { class: 'ap-live-label' }, t('apPointsPreview')),
        h('span', { class: 'ap-live-ha', 'data-testid': 'ap-points-ha' }, haText(m2, lang())),
        h('span', { class: 'ap-live-mu', 'data-testid': 'ap-points-mu' }, muText(m2, lang())));
      showSite(this.map, polygon, true);
    } else {
      replaceChildren(this.pointsPreview);
      if (!this.result) removeSite(this.map);
    }
  }

  // ---- rendering -------------------------------------------------------------------------------

  private renderStatus(): void {
    const l = lang();
    if (this.busy) {
      replaceChildren(this.statusEl, h('p', { class: 'ap-muted ap-busy' }, t('apSiteChecking')));
      return;
    }
    if (this.result) {
      const s = this.result.site;
      replaceChildren(this.statusEl, h('div', { class: 'ap-site-ok', 'data-testid': 'ap-site-ok', 'data-area-m2': s.area_m2 },
        h('div', { class: 'ap-site-ok-head' }, `✓ ${t('apSiteOk')}`),
        h('dl', { class: 'ap-dl' },
          h('dt', {}, t('apSiteArea')),
          h('dd', { 'data-testid': 'ap-site-area' }, h('strong', {}, haText(s.area_m2, l, s.area_ha)), `${gap()}${muText(s.area_m2, l, s.area_mu)}`,
            h('span', { class: 'ap-muted' }, `${gap()}${formatNumber(s.area_m2, 1, locale())} ${t('unitM2')}`)),
          h('dt', {}, t('apSiteSource')), h('dd', {}, nameOf(SITE_SOURCES, s.source)),
          s.file ? h('dt', {}, t('apSiteFile')) : null,
          s.file ? h('dd', { class: 'ap-break' }, s.file.name, h('span', { class: 'ap-muted ap-small', title: s.file.sha256 }, ` SHA-256 ${s.file.sha256.slice(0, 12)}…`)) : null),
        s.warnings?.length ? h('div', { class: 'ap-warn' }, h('strong', {}, `${t('apSiteWarnings')}${colon()}`), h('ul', {}, ...s.warnings.map((w) => h('li', {}, w)))) : null));
      return;
    }
    if (this.error) {
      replaceChildren(this.statusEl, this.errorBox(this.error));
      return;
    }
    replaceChildren(this.statusEl);
  }

  private errorBox(err: Error): HTMLElement {
    const e = err instanceof SiteError ? err : undefined;
    const where = (p: ServerProblem): string => {
      const parts: string[] = [];
      for (const k of ['feature', 'index', 'point', 'ring', 'row', 'line'] as const) if (p[k] !== undefined && p[k] !== null) parts.push(`${k} ${String(p[k])}`);
      const loc = Array.isArray(p.location) && typeof p.location[0] === 'number' ? formatLonLat(p.location[0], p.location[1] as number) : '';
      return [...parts, loc].filter(Boolean).join(' · ');
    };
    const loc = e?.location;
    const locate = loc ? h('button', { type: 'button', class: 'ap-link-btn', 'data-testid': 'ap-site-locate' }, t('apSiteShowLocation')) : null;
    locate?.addEventListener('click', () => this.showLocation(loc!));
    return h('div', { class: 'ap-error-box', role: 'alert', 'data-testid': 'ap-site-error', 'data-code': e?.code ?? 'error' },
      h('div', { class: 'ap-error-head' }, t('apSiteRefused'), e ? h('code', { 'data-testid': 'ap-site-error-code' }, e.code) : null),
      h('p', { class: 'ap-error-message', 'data-testid': 'ap-site-error-message' }, err.message),
      loc ? h('p', { class: 'ap-small' }, `${t('apSiteLocation')}${colon()}${formatLonLat(loc[0], loc[1])} `, locate) : null,
      e?.problems.length ? h('ul', { class: 'ap-problems' }, ...e.problems.slice(0, 20).map((p) => h('li', {},
        p.code ? h('code', {}, p.code) : null, ` ${p.message ?? ''}`, where(p) ? h('span', { class: 'ap-muted ap-small' }, ` ${paren(where(p))}`) : null))) : null);
  }

  private renderBody(): void {
    replaceChildren(this.body, this.mode === 'drawn' ? this.drawBody() : this.mode === 'upload' ? this.uploadBody() : this.pointsBody());
  }

  /** Renders every part (also after a language switch). */
  render(): void {
    const modes: [SiteMode, StringKey][] = [['drawn', 'apSiteDraw'], ['upload', 'apSiteUpload'], ['points', 'apSitePoints']];
    replaceChildren(this.modeBar, ...modes.map(([m, key]) => {
      const b = h('button', { type: 'button', role: 'tab', class: 'ap-seg-btn', 'aria-selected': String(this.mode === m), 'data-testid': `ap-site-mode-${m}` }, t(key));
      b.addEventListener('click', () => this.setMode(m));
      return b;
    }));
    this.renderBody();
    if (this.mode === 'points') this.updatePoints();
    this.renderStatus();
  }
}

/** The area of a normalised site both ways, for summaries. */
export function siteAreaText(site: { area_m2: number; area_ha?: number; area_mu?: number }): string {
  return areaText(site.area_m2, lang(), site.area_ha, site.area_mu);
}

