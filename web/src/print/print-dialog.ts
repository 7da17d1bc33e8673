// The viewer's print dialog (专题制图): asks what to print of a release — the map's current view or
// one page per district (an atlas), PDF or PNG, A4 or A3, landscape or portrait, 150–300 dpi, a
// title — POSTs it to /api/releases/{n}/prints and downloads the file the service renders.
// The viewer wires it to a button: openPrintDialog(container, { release, map }).
import type { Map as MlMap } from 'maplibre-gl';
import { lang } from '../i18n/i18n';
import { ApiError, apiError, csrfHeader } from '../platform/http';
import { h } from '../ui/dom';
import './print-dialog.css';

const WORDS = {
  zh: {
    heading: '打印专题图', title: '图名', scope: '范围', view: '当前视图', atlas: '分区图集（每区县一页）', format: '格式', paper: '纸张',
    orientation: '方向', landscape: '横向', portrait: '纵向', dpi: '分辨率', print: '打印', cancel: '取消', working: '正在生成，请稍候…',
    done: '已下载', failed: '打印失败', atlasPng: 'PNG 图集为每页一张图片的 zip 文件',
  },
  en: {
    heading: 'Print a thematic map', title: 'Title', scope: 'Extent', view: 'Current view', atlas: 'District atlas (one page each)', format: 'Format', paper: 'Paper',
    orientation: 'Orientation', landscape: 'Landscape', portrait: 'Portrait', dpi: 'Resolution', print: 'Print', cancel: 'Cancel', working: 'Rendering, please wait…',
    done: 'Downloaded', failed: 'Printing failed', atlasPng: 'A PNG atlas is a zip of one image per page',
  },
} as const;

export interface PrintDialogOptions {
  /** The release to print: its number, or the release (its title is the default title). */
  release: number | { number: number; title?: string };
  /** The map whose view is printed. */
  map: MlMap;
  /** The layers to print (default: those the map shows of the release's style, else the release's visible ones). */
  layers?: string[];
}

export interface PrintDialog {
  element: HTMLElement;
  close(): void;
}

/** The request body of a print (exported for tests and other callers). */
export interface PrintRequestBody {
  format: 'pdf' | 'png';
  paper: 'A4' | 'A3';
  orientation: 'landscape' | 'portrait';
  dpi: number;
  title?: string;
  layers?: string[];
  view?: { bbox: [number, number, number, number] };
  atlas?: 'districts';
}

/** The layers a map shows from a release style (its one source "release"). */
export function shownReleaseLayers(map: MlMap): string[] | undefined {
  const layers = map.getStyle()?.layers ?? [];
  const ids = layers
    .filter((l) => 'source' in l && l.source === 'release' && (l.layout as { visibility?: string } | undefined)?.visibility !== 'none')
    .map((l) => String((l as { metadata?: Record<string, unknown> }).metadata?.['onemap:layer'] ?? (l as { 'source-layer'?: string })['source-layer'] ?? ''))
    .filter(Boolean);
  return ids.length ? [...new Set(ids)] : undefined;
}

/** The map's view as a CRS84 box (west, south, east, north). */
export function viewBbox(map: MlMap): [number, number, number, number] {
  const b = map.getBounds();
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -85, 85), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -85, 85)];
}

/** POSTs a print and returns the file with its name (from Content-Disposition); throws ApiError. */
export async function requestPrint(release: number, body: PrintRequestBody): Promise<{ blob: Blob; fileName: string }> {
  let res: Response;
  try {
    res = await fetch(`/api/releases/${release}/prints`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/pdf, image/png, application/zip, application/json', ...csrfHeader() },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'network', (err as Error).message);
  }
  if (!res.ok) throw apiError(res.status, res.statusText, await res.json().catch(() => null), 'POST');
  const cd = res.headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  const plain = /filename="?([^";]+)"?/i.exec(cd);
  const fileName = star ? decodeURIComponent(star[1]) : plain ? plain[1] : `release-${release}.${body.format}`;
  return { blob: await res.blob(), fileName };
}

function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Opens the dialog in `container` (over the map); it closes itself after the download or on 取消. */
export function openPrintDialog(container: HTMLElement, opts: PrintDialogOptions): PrintDialog {
  const w = WORDS[lang()];
  const number = typeof opts.release === 'number' ? opts.release : opts.release.number;
  const defaultTitle = typeof opts.release === 'number' ? '' : (opts.release.title ?? '');
  container.querySelector('.print-dialog')?.remove();

  const radio = (name: string, value: string, label: string, checked = false) =>
    h('label', { class: 'pd-choice' }, h('input', { type: 'radio', name, value, checked, 'data-testid': `print-${name}-${value}` }), label);
  const field = (label: string, ...inputs: HTMLElement[]) => h('fieldset', { class: 'pd-field' }, h('legend', {}, label), ...inputs);

  const titleInput = h('input', { type: 'text', name: 'title', maxlength: 100, placeholder: defaultTitle, value: defaultTitle, 'data-testid': 'print-title' });
  const dpi = h('select', { name: 'dpi', 'data-testid': 'print-dpi' }, ...[150, 200, 300].map((d) => h('option', { value: d }, `${d} dpi`)));
  const status = h('p', { class: 'pd-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'print-status' });
  const submit = h('button', { type: 'submit', class: 'pd-print', 'data-testid': 'print-submit' }, w.print);
  const cancel = h('button', { type: 'button', class: 'pd-cancel' }, w.cancel);
  const form = h('form', { class: 'pd-form' },
    h('label', { class: 'pd-title' }, h('span', {}, w.title), titleInput),
    field(w.scope, radio('scope', 'view', w.view, true), radio('scope', 'atlas', w.atlas)),
    field(w.format, radio('format', 'pdf', 'PDF', true), radio('format', 'png', 'PNG')),
    field(w.paper, radio('paper', 'A4', 'A4', true), radio('paper', 'A3', 'A3')),
    field(w.orientation, radio('orientation', 'landscape', w.landscape, true), radio('orientation', 'portrait', w.portrait)),
    field(w.dpi, dpi),
    h('p', { class: 'pd-note' }, w.atlasPng),
    status,
    h('div', { class: 'pd-buttons' }, submit, cancel));
  const element = h('div', { class: 'print-dialog', role: 'dialog', 'aria-label': w.heading, 'data-testid': 'print-dialog' }, h('h2', {}, w.heading), form);
  container.append(element);

  const close = () => element.remove();
  cancel.addEventListener('click', close);
  const value = (name: string) => (form.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)?.value ?? '');

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body: PrintRequestBody = {
      format: value('format') as PrintRequestBody['format'],
      paper: value('paper') as PrintRequestBody['paper'],
      orientation: value('orientation') as PrintRequestBody['orientation'],
      dpi: Number(dpi.value),
    };
    const title = titleInput.value.trim();
    if (title) body.title = title;
    const layers = opts.layers ?? shownReleaseLayers(opts.map);
    if (layers) body.layers = layers;
    if (value('scope') === 'atlas') body.atlas = 'districts';
    else body.view = { bbox: viewBbox(opts.map) };
    submit.disabled = true;
    status.className = 'pd-status';
    status.textContent = w.working;
    requestPrint(number, body)
      .then(({ blob, fileName }) => {
        download(blob, fileName);
        status.textContent = `${w.done}: ${fileName}`;
        setTimeout(close, 800);
      })
      .catch((err: unknown) => {
        status.className = 'pd-status error';
        status.textContent = `${w.failed}: ${(err as Error).message}`;
        submit.disabled = false;
      });
  });
  return { element, close };
}
