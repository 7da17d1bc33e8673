// One printed sheet of a thematic map, as HTML text (so a PDF keeps its words as text): the title,
// the map frame with its scale bar and north arrow, the legend built from the release's registry
// entries, and the footer with the CRS, the 审图号, the release, the department and the print date.
// Boxes are placed in millimetres from the layout the server framed the map with (print-layout.ts).
import type { LegendEntry, PrintJob, PrintSheet } from '../../../server/releases/print';
import { type Box, kmText, scaleBar, scaleText } from '../../../server/releases/print-layout';
import { h } from '../ui/dom';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  // A style through the CSSOM: the service's Content-Security-Policy refuses style attributes.
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'style') (el as SVGElement).style.cssText = String(v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children) el.append(c);
  return el;
}

const place = (el: HTMLElement, b: Box): HTMLElement => {
  Object.assign(el.style, { left: `${b.x}mm`, top: `${b.y}mm`, width: `${b.w}mm`, height: `${b.h}mm` });
  return el;
};

/** A legend swatch drawn the way the layer is styled: an area, an outline, a line or a point. */
function swatch(kind: LegendEntry['kind'], color: string): SVGElement {
  const s = (...c: SVGElement[]) => svg('svg', { class: 'swatch', viewBox: '0 0 20 12', width: '20', height: '12', 'aria-hidden': 'true' }, ...c);
  switch (kind) {
    case 'fill':
      return s(svg('rect', { x: 0.5, y: 0.5, width: 19, height: 11, fill: color, 'fill-opacity': 0.7, stroke: color, 'stroke-width': 1 }));
    case 'outline':
      return s(svg('rect', { x: 1, y: 1, width: 18, height: 10, fill: 'none', stroke: color, 'stroke-width': 2 }));
    case 'line':
      return s(svg('line', { x1: 1, y1: 6, x2: 19, y2: 6, stroke: color, 'stroke-width': 3, 'stroke-linecap': 'round' }));
    case 'circle':
      return s(svg('circle', { cx: 10, cy: 6, r: 4.5, fill: color, stroke: '#ffffff', 'stroke-width': 1.2 }));
  }
}

function legend(entries: LegendEntry[]): HTMLElement {
  return h('div', { class: 'legend-body' },
    ...entries.map((l) =>
      h('section', { class: 'legend-layer', 'data-layer': l.id },
        h('h3', {}, l.title),
        h('ul', {}, ...l.classes.map((c) => {
          const li = h('li', { 'data-code': c.code }, h('span', { class: 'legend-name' }, c.zh));
          li.prepend(swatch(l.kind, c.color));
          return li;
        })))));
}

/** The north arrow: the map is drawn north up (bearing 0). */
function northArrow(): HTMLElement {
  const el = h('div', { class: 'north-arrow', 'aria-label': '指北针' });
  el.append(svg('svg', { viewBox: '0 0 40 64', width: '40', height: '64' },
    svg('text', { x: 20, y: 12, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 700 }, 'N'),
    svg('path', { d: 'M20 16 L31 56 L20 48 Z', fill: '#111111' }),
    svg('path', { d: 'M20 16 L9 56 L20 48 Z', fill: '#ffffff', stroke: '#111111', 'stroke-width': 1.2 })));
  return el;
}

/** The scale (1:n at the centre latitude) and a bar of round kilometres, alternating black and white. */
function scaleBlock(scale: number, mapWidthMm: number): HTMLElement {
  const bar = scaleBar(scale, mapWidthMm * 0.28);
  const seg = bar.mm / bar.segments;
  const H = 2.2; // mm
  const rects: SVGElement[] = [];
  for (let i = 0; i < bar.segments; i++) {
    rects.push(svg('rect', { x: i * seg, y: 0, width: seg, height: H, fill: i % 2 ? '#ffffff' : '#111111', stroke: '#111111', 'stroke-width': 0.25 }));
  }
  const labels = [0, bar.segments % 2 === 0 ? bar.segments / 2 : -1, bar.segments].filter((i) => i >= 0);
  const unit = bar.km >= 1 ? 'km' : 'm';
  const value = (i: number) => (unit === 'km' ? kmText((bar.km * i) / bar.segments) : String(Math.round((bar.km * 1000 * i) / bar.segments)));
  const texts = labels.map((i) => h('span', { class: 'scale-label', style: `left:${i * seg}mm` }, i === bar.segments ? `${value(i)} ${unit}` : value(i)));
  const graphic = svg('svg', { viewBox: `-0.2 -0.2 ${bar.mm + 0.4} ${H + 0.4}`, style: `width:${bar.mm + 0.4}mm;height:${H + 0.4}mm` }, ...rects);
  return h('div', { class: 'scale', 'data-testid': 'print-scale' },
    h('div', { class: 'scale-text' }, `比例尺 ${scaleText(scale)}`),
    graphic,
    h('div', { class: 'scale-labels', style: `width:${bar.mm}mm` }, ...texts));
}

export interface BuiltSheet {
  root: HTMLElement;
  /** Where the map goes (its image once drawn). */
  mapBox: HTMLElement;
  legend: HTMLElement;
}

/** The DOM of one sheet (not yet in the document). */
export function buildSheet(job: PrintJob, sheet: PrintSheet, index: number): BuiltSheet {
  const l = job.layout;
  const r = job.release;
  const root = h('section', { class: 'sheet', 'data-sheet': index, style: `width:${l.width}mm;height:${l.height}mm;--k:${l.k}` });
  const draft = r.status !== 'published' && r.status !== 'superseded';
  const facts = [
    sheet.heading ? h('strong', { class: 'sheet-heading', 'data-testid': 'print-heading' }, sheet.heading) : null,
    `成果第 ${r.number} 版（${r.statusZh}）`,
    `${r.dateLabel} ${r.date}`,
    job.sheets.length > 1 ? `第 ${index + 1} / ${job.sheets.length} 页` : null,
  ].filter((x): x is HTMLElement | string => x !== null);
  const sub = h('div', { class: 'sheet-sub' });
  facts.forEach((f, i) => {
    if (i) sub.append(h('span', { class: 'sep' }, '　'));
    sub.append(f);
  });
  const header = place(h('header', { class: 'sheet-header' }, h('h1', { 'data-testid': 'print-title' }, job.title), sub), l.header);

  const mapBox = h('div', { class: 'map-image' });
  const map = place(h('div', { class: 'sheet-map' }, mapBox, northArrow(), scaleBlock(sheet.view.scale, l.map.w),
    draft ? h('div', { class: 'watermark' }, `${r.statusZh} · 未公开`) : null), l.map);

  const legendEl = place(h('aside', { class: 'sheet-legend', 'data-testid': 'print-legend' }, h('h2', {}, '图　例'), legend(sheet.legend)), l.legend);

  const footer = place(h('footer', { class: 'sheet-footer' },
    h('div', {}, '坐标系：CGCS2000 国家大地坐标系（EPSG:4490）　投影：Web Mercator（显示）　比例尺按图幅中心纬度计算'),
    h('div', { class: 'footer-row' },
      h('span', { 'data-testid': 'print-review-number' }, `审图号：${r.reviewNumber ?? '（未取得）'}`),
      r.approvalNumber ? h('span', {}, `批复文号：${r.approvalNumber}`) : null,
      h('span', {}, `编制单位：${job.department}`),
      h('span', {}, `打印日期：${job.printedAt}`))), l.footer);

  root.append(header, map, legendEl, footer);
  return { root, mapBox, legend: legendEl };
}

/**
 * Fits the legend in its box: the largest type (and fewest columns) at which its entries fit,
 * then each class name too long for its column set smaller, so that every name stays one line.
 * Landscape: one column down to 6.5 pt, then two; portrait: four to six columns.
 */
export function fitLegend(el: HTMLElement, landscape: boolean, k: number): void {
  const body = el.querySelector<HTMLElement>('.legend-body')!;
  const sizes = (from: number, to: number) => Array.from({ length: Math.round((from - to) / 0.5) + 1 }, (_, i) => from - i * 0.5);
  const tries: [number, number][] = landscape
    ? [...sizes(8, 6.5).map((pt) => [1, pt] as [number, number]), ...sizes(8, 4.5).map((pt) => [2, pt] as [number, number])]
    : sizes(8, 4.5).flatMap((pt) => [4, 5, 6].map((c) => [c, pt] as [number, number]));
  const names = [...el.querySelectorAll<HTMLElement>('.legend-name, .legend-layer h3')];
  const fits = () => el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1 && body.scrollWidth <= body.clientWidth + 1;
  /** How much the longest name must shrink to fit its column (1: none). */
  const squeeze = () => Math.min(1, ...names.map((n) => (n.scrollWidth > n.clientWidth + 1 ? n.clientWidth / n.scrollWidth : 1)));
  let fallback: [number, number] | undefined;
  let chosen: [number, number] | undefined;
  const apply = ([columns, pt]: [number, number]) => {
    el.style.fontSize = `${pt * k}pt`;
    body.style.columnCount = String(columns);
  };
  for (const t of tries) {
    apply(t);
    if (!fits()) continue;
    fallback ??= t;
    if (squeeze() >= 0.7) {
      chosen = t;
      break;
    }
  }
  apply(chosen ?? fallback ?? tries[tries.length - 1]);
  // Each name too long for its column: smaller type, and as a last resort two lines.
  for (const name of names) {
    if (name.scrollWidth <= name.clientWidth + 1) continue;
    const ratio = (name.clientWidth / name.scrollWidth) * 0.97;
    if (ratio >= 0.55) name.style.fontSize = `${ratio}em`;
    else Object.assign(name.style, { fontSize: '0.8em', whiteSpace: 'normal' });
  }
}
