// The 导入 (import) panel: a header button opens it over the map. Pick the target layer (grouped
// by plan, with its owning department and current revision) and a file, optionally the SRID, the
// text encoding and geometry repair; 校验 uploads a dry run and shows the report with a preview
// on the map; 提交, enabled only after a dry run without problems on the same input, writes the
// new revision, shows its number, removes the preview and makes the map fetch the layer's new
// tiles. Any change of the input drops the report, the preview and the right to commit. Imports (dry
// runs too) need a plan editor of the layer's department or an admin: for a logged-in account that
// is not one, 校验 and 提交 are disabled with the reason; anonymous, the server's 401 opens the login.
import type { Map as MlMap, VectorTileSource } from 'maplibre-gl';
import { lang, onLangChange, pick, t } from '../i18n/i18n';
import { formatNumber, m2ToHa } from '../identify/area';
import { mayWriteLayer, refusalText } from '../auth/permissions';
import { currentAccount, onAccountChange } from '../auth/session';
import { layersByGroup, type Layer, type Registry } from '../layers/registry';
import { ApiError } from '../platform/http';
import { h, replaceChildren } from '../ui/dom';
import { fetchTileJson, revisionOf, uploadImport, type ImportReport, type ImportRequest } from './api';
import { removePreview, showPreview } from './preview';
import { renderReport } from './report';

/** File types the server reads (its format detection goes by the extension first). */
const ACCEPT = '.zip,.geojson,.json,.geojsons,.geojsonl,.geojsonseq,.gpkg,.csv';

type Phase =
  | { kind: 'idle' }
  | { kind: 'busy'; dryRun: boolean }
  | { kind: 'report'; report: ImportReport; status: number }
  | { kind: 'committed'; revision: number | undefined; report: ImportReport }
  | { kind: 'error'; message: string };

/** Makes the map fetch a layer's tiles again, from the fresh TileJSON (whose tile URLs carry the data version). */
export async function refreshLayerTiles(map: MlMap, layerId: string): Promise<void> {
  const source = map.getSource<VectorTileSource>(layerId);
  if (!source) return;
  const tilejson = await fetchTileJson(layerId);
  if (typeof source.setTiles === 'function') source.setTiles(tilejson.tiles);
  else source.setUrl?.(`/tiles/${encodeURIComponent(layerId)}.json`);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

export class ImportPanel {
  private phase: Phase = { kind: 'idle' };
  private pending: AbortController | undefined;
  private readonly layers: Map<string, Layer>;
  private readonly departments: Map<string, { zh: string; en: string }>;

  private readonly openButton = h('button', { type: 'button', class: 'import-open', 'data-testid': 'import-open', 'aria-expanded': 'false' });
  private readonly title = h('h2', { class: 'panel-title' });
  private readonly closeButton = h('button', { type: 'button', class: 'close', 'data-testid': 'import-close' }, '×');
  private readonly layerLabel = h('span', { class: 'import-label' });
  private readonly layerSelect = h('select', { 'data-testid': 'import-layer', id: 'import-layer' });
  private readonly layerInfo = h('div', { class: 'import-layer-info', 'data-testid': 'import-layer-info' });
  private readonly fileLabel = h('span', { class: 'import-label' });
  // The native file input shows the browser's language ("Choose File"): hidden, a label of ours opens it.
  private readonly fileInput = h('input', { type: 'file', accept: ACCEPT, class: 'visually-hidden', 'data-testid': 'import-file', id: 'import-file' });
  private readonly fileButton = h('span', { class: 'import-file-button', role: 'button' });
  private readonly fileName = h('span', { class: 'import-file-name', 'data-testid': 'import-file-name' });
  private readonly fileHint = h('div', { class: 'import-hint' });
  private readonly sridLabel = h('span', { class: 'import-label' });
  private readonly sridInput = h('input', { type: 'text', inputmode: 'numeric', pattern: '[0-9]{4,6}', maxlength: 6, 'data-testid': 'import-srid', id: 'import-srid' });
  private readonly encodingLabel = h('span', { class: 'import-label' });
  private readonly encodingSelect = h('select', { 'data-testid': 'import-encoding', id: 'import-encoding' });
  private readonly repairInput = h('input', { type: 'checkbox', 'data-testid': 'import-repair' });
  private readonly repairText = h('span', {});
  private readonly validateButton = h('button', { type: 'button', class: 'import-validate', 'data-testid': 'import-validate' });
  private readonly commitButton = h('button', { type: 'button', class: 'import-commit', 'data-testid': 'import-commit' });
  private readonly status = h('div', { class: 'import-status', 'aria-live': 'polite', 'data-testid': 'import-status' });
  private readonly root = h('section', { class: 'import-panel', 'data-testid': 'import-panel', role: 'dialog', 'aria-labelledby': 'import-title' },
    h('div', { class: 'panel-head' }, this.title, this.closeButton),
    h('div', { class: 'import-form' },
      h('label', { class: 'import-field', for: 'import-layer' }, this.layerLabel, this.layerSelect),
      this.layerInfo,
      h('div', { class: 'import-field' }, this.fileLabel,
        h('label', { class: 'import-file', for: 'import-file' }, this.fileInput, this.fileButton, this.fileName)),
      this.fileHint,
      h('div', { class: 'import-row' },
        h('label', { class: 'import-field', for: 'import-srid' }, this.sridLabel, this.sridInput),
        h('label', { class: 'import-field', for: 'import-encoding' }, this.encodingLabel, this.encodingSelect)),
      h('label', { class: 'import-check' }, this.repairInput, this.repairText),
      h('div', { class: 'import-actions' }, this.validateButton, this.commitButton)),
    this.status);

  constructor(private readonly map: MlMap, private readonly registry: Registry, header: HTMLElement, host: HTMLElement) {
    this.layers = new Map(registry.layers.map((l) => [l.id, l]));
    this.departments = new Map(registry.departments.map((d) => [d.id, d]));
    this.title.id = 'import-title';
    this.root.hidden = true;
    host.append(this.root);
    // In the header, before the language switch.
    header.insertBefore(this.openButton, header.querySelector('[data-testid="lang-switch"]'));

    this.openButton.addEventListener('click', () => (this.root.hidden ? this.open() : this.close()));
    this.closeButton.addEventListener('click', () => this.close());
    for (const el of [this.layerSelect, this.fileInput, this.encodingSelect, this.repairInput]) el.addEventListener('change', () => this.inputChanged());
    this.sridInput.addEventListener('input', () => this.inputChanged());
    this.validateButton.addEventListener('click', () => void this.run(true));
    this.commitButton.addEventListener('click', () => void this.run(false));
    onLangChange(() => this.render());
    onAccountChange(() => this.render());
    this.render();
  }

  /** Whether the logged-in account may import into the chosen layer (anonymous: let the server answer). */
  private allowed(): boolean {
    const a = currentAccount();
    const layer = this.layers.get(this.layerSelect.value);
    return !a || !layer || mayWriteLayer(a, layer.department);
  }

  open(): void {
    this.root.hidden = false;
    this.openButton.setAttribute('aria-expanded', 'true');
    this.layerSelect.focus();
  }

  /** Closes the panel, cancelling an upload in flight and removing the preview. */
  close(): void {
    this.root.hidden = true;
    this.openButton.setAttribute('aria-expanded', 'false');
    this.pending?.abort();
    this.pending = undefined;
    removePreview(this.map);
    if (this.phase.kind !== 'committed') this.phase = { kind: 'idle' };
    this.render();
  }

  /** The SRID the user typed: undefined when empty, NaN when not a plausible EPSG code. */
  private srid(): number | undefined {
    const raw = this.sridInput.value.trim();
    if (raw === '') return undefined;
    return /^\d{4,6}$/.test(raw) ? Number(raw) : NaN;
  }

  private request(dryRun: boolean): ImportRequest | undefined {
    const file = this.fileInput.files?.[0];
    const layerId = this.layerSelect.value;
    const srid = this.srid();
    if (!file || !layerId || Number.isNaN(srid)) return undefined;
    const encoding = this.encodingSelect.value;
    return {
      layerId, file, dryRun, repair: this.repairInput.checked, srid,
      encoding: encoding === 'gbk' || encoding === 'utf8' ? encoding : undefined,
    };
  }

  /** The input changed: what was validated no longer applies. */
  private inputChanged(): void {
    this.pending?.abort();
    this.pending = undefined;
    removePreview(this.map);
    this.phase = { kind: 'idle' };
    this.render();
  }

  private async run(dryRun: boolean): Promise<void> {
    const req = this.request(dryRun);
    if (!req || !this.allowed()) return;
    if (!dryRun && !this.committable()) return;
    this.pending?.abort();
    const controller = this.pending = new AbortController();
    this.phase = { kind: 'busy', dryRun };
    this.render();
    try {
      const { status, report } = await uploadImport(req, controller.signal);
      if (controller.signal.aborted) return;
      const revision = revisionOf(report);
      if (!dryRun && status < 300 && report.ok !== false) {
        removePreview(this.map);
        this.phase = { kind: 'committed', revision, report };
        const layer = this.layers.get(req.layerId);
        if (layer && revision !== undefined) layer.revision = revision;
        this.render();
        await refreshLayerTiles(this.map, req.layerId).catch(() => undefined);
        return;
      }
      this.phase = { kind: 'report', report, status };
      const preview = report.preview;
      if (preview && preview.features.length) {
        const flagged = report.problems.map((q) => q.feature).filter((i): i is number => typeof i === 'number');
        showPreview(this.map, preview, flagged, { padding: this.previewPadding(), duration: 600 });
      } else {
        removePreview(this.map);
      }
    } catch (err) {
      if (controller.signal.aborted || (err as Error).name === 'AbortError') return;
      const e = err as ApiError;
      const message = e.status === 413 ? `${t('importTooLarge')} (${e.message})` : refusalText(e);
      this.phase = { kind: 'error', message };
      removePreview(this.map);
    } finally {
      if (this.pending === controller) this.pending = undefined;
    }
    this.render();
  }

  /** Map padding that keeps the fitted preview clear of the panel (which floats over the map's right side). */
  private previewPadding(): { top: number; bottom: number; left: number; right: number } {
    const mapBox = this.map.getContainer().getBoundingClientRect();
    const panelBox = this.root.getBoundingClientRect();
    const margin = 40;
    const covered = this.root.hidden ? 0 : Math.max(0, mapBox.right - panelBox.left);
    // Leave the preview at least a third of the map's width, however narrow the window.
    const right = Math.min(covered + margin, Math.max(margin, mapBox.width * 2 / 3 - margin));
    const vertical = Math.min(margin, mapBox.height / 4);
    return { top: vertical, bottom: vertical, left: margin, right };
  }

  /** Whether the shown report is a dry run without problems (on the current input). */
  private committable(): boolean {
    const p = this.phase;
    return p.kind === 'report' && p.status === 200 && p.report.ok !== false && p.report.problems.length === 0;
  }

  private renderLayerOptions(): void {
    const chosen = this.layerSelect.value;
    replaceChildren(this.layerSelect,
      h('option', { value: '' }, t('importLayerChoose')),
      ...layersByGroup(this.registry).map(({ group, layers }) =>
        h('optgroup', { label: pick(group) }, ...layers.map((l) =>
          h('option', { value: l.id }, `${pick(l.title)} — ${this.departmentName(l)}`)))));
    this.layerSelect.value = chosen;
  }

  private departmentName(layer: Layer): string {
    const d = this.departments.get(layer.department);
    return d ? pick(d) : layer.department;
  }

  /** Renders every text and the state (also after a language switch). */
  render(): void {
    this.openButton.textContent = t('import');
    this.openButton.title = t('importOpenTitle');
    this.title.textContent = t('importTitle');
    this.closeButton.title = t('close');
    this.layerLabel.textContent = t('importLayer');
    this.renderLayerOptions();
    const layer = this.layers.get(this.layerSelect.value);
    replaceChildren(this.layerInfo, layer
      ? h('span', {}, `${t('department')}: ${this.departmentName(layer)} · ${t('importCurrentRevision')}: `,
        h('span', { 'data-testid': 'import-layer-revision' }, String(layer.revision)))
      : null,
    layer && !this.allowed() ? h('p', { class: 'error', 'data-testid': 'import-not-allowed' }, t('importNotAllowed')) : null);
    this.fileLabel.textContent = t('importFile');
    this.fileHint.textContent = t('importFileHint');
    this.fileButton.textContent = t('importChooseFile');
    const file = this.fileInput.files?.[0];
    this.fileName.textContent = file ? `${file.name} (${formatBytes(file.size)})` : t('noFile');
    this.fileName.classList.toggle('muted', !file);
    this.sridLabel.textContent = t('crsEpsg');
    this.encodingLabel.textContent = t('importEncoding');
    this.sridInput.placeholder = t('detect');
    this.sridInput.title = t('importSridTitle');
    const encoding = this.encodingSelect.value;
    replaceChildren(this.encodingSelect,
      h('option', { value: '' }, t('detect')),
      h('option', { value: 'gbk' }, 'GBK / GB18030'),
      h('option', { value: 'utf8' }, 'UTF-8'));
    this.encodingSelect.value = encoding;
    this.repairText.textContent = t('importRepair');

    const p = this.phase;
    const busy = p.kind === 'busy';
    this.root.dataset.state = p.kind;
    this.validateButton.textContent = t('importValidate');
    this.validateButton.title = t('importValidateTitle');
    const allowed = this.allowed();
    this.validateButton.disabled = busy || !this.request(true) || !allowed;
    if (!allowed) this.validateButton.title = t('importNotAllowed');
    this.commitButton.textContent = t('importCommit');
    const committable = this.committable();
    this.commitButton.disabled = busy || !committable || !allowed;
    this.commitButton.title = !allowed ? t('importNotAllowed') : committable ? t('importCommitTitle') : t('importCommitDisabled');
    this.root.dataset.allowed = String(allowed);
    this.sridInput.classList.toggle('invalid', Number.isNaN(this.srid()));

    switch (p.kind) {
      case 'idle':
        replaceChildren(this.status);
        break;
      case 'busy':
        replaceChildren(this.status, h('p', { class: 'muted import-busy' }, t(p.dryRun ? 'importValidating' : 'importCommitting')));
        break;
      case 'error':
        replaceChildren(this.status, h('p', { class: 'error', role: 'alert', 'data-testid': 'import-error' }, `${t('importError')}: ${p.message}`));
        break;
      case 'report':
        replaceChildren(this.status, renderReport(p.report, committable));
        break;
      case 'committed': {
        const written = typeof p.report.revision === 'object' ? p.report.revision : undefined;
        const locale = lang() === 'zh' ? 'zh-CN' : 'en';
        replaceChildren(this.status,
          h('div', { class: 'import-done', 'data-testid': 'import-done' },
            h('p', {}, `✓ ${t('importDone')} `, h('strong', { 'data-testid': 'import-revision' }, p.revision === undefined ? '—' : String(p.revision))),
            h('dl', { class: 'import-summary' },
              h('dt', {}, t('importFeatureCount')), h('dd', {}, String(written?.featureCount ?? p.report.featureCount)),
              typeof written?.area_m2 === 'number' ? h('dt', {}, t('importDoneArea')) : null,
              typeof written?.area_m2 === 'number'
                ? h('dd', {}, `${formatNumber(m2ToHa(written.area_m2), 4, locale)} ${t('unitHa')}`) : null,
              written?.inserted !== undefined ? h('dt', {}, t('importDoneChanges')) : null,
              written?.inserted !== undefined ? h('dd', {}, `${written.inserted} / ${written.deleted ?? 0} / ${written.unchanged ?? 0}`) : null),
            h('p', { class: 'muted' }, t('importDoneNote'))));
        break;
      }
    }
  }
}

/** Mounts the import button into the header and its panel over the map. */
export function mountImport(header: HTMLElement, host: HTMLElement, map: MlMap, registry: Registry): ImportPanel {
  return new ImportPanel(map, registry, header, host);
}
