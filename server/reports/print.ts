// What the printable reports share (the conflicts' district report, the applications' compliance
// report): HTML escaping, areas in 公顷 and 亩 as Chinese reports print them, and the furniture of a
// map drawn as SVG in Gauss-Krüger metres (EPSG:4547): frame, scale bar and north arrow.
import { M2_PER_HA, M2_PER_MU } from '../layers/area';

export const esc = (v: unknown) =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
export const ha = (m2: number) => (m2 / M2_PER_HA).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const mu = (m2: number) => (m2 / M2_PER_MU).toLocaleString('zh-CN', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** A round scale-bar length in km near x. */
export function niceKm(x: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(x, 0.001)));
  const m = x / p;
  return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
}

export interface SvgFrame {
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
}

/**
 * An SVG map of paths in projected metres (ST_AsSVG output: y flipped): `body(stroke)` gets the
 * stroke width that reads as one pixel of the printed map and returns the layers' SVG.
 */
export function svgMap(f: SvgFrame, size: { width: number; height: number; label: string }, body: (stroke: number) => string): string {
  const w = f.maxx - f.minx;
  const h = f.maxy - f.miny;
  const pad = Math.max(w, h) * 0.03;
  const stroke = Math.max(w, h) / 700;
  const barKm = niceKm(w / 4 / 1000);
  const barText = barKm >= 1 ? `${barKm} km` : `${Math.round(barKm * 1000)} m`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${f.minx - pad} ${-f.maxy - pad} ${w + 2 * pad} ${h + 2 * pad}" width="${size.width}" height="${size.height}" role="img" aria-label="${esc(size.label)}">
  <rect x="${f.minx - pad}" y="${-f.maxy - pad}" width="${w + 2 * pad}" height="${h + 2 * pad}" fill="#fbfbf8"/>
  ${body(stroke)}
  <g transform="translate(${f.minx + pad * 0.3} ${-f.miny - pad * 0.2})">
    <rect x="0" y="${-stroke * 4}" width="${barKm * 1000}" height="${stroke * 4}" fill="#000"/>
    <text x="0" y="${-stroke * 7}" font-size="${stroke * 11}">0</text>
    <text x="${barKm * 1000}" y="${-stroke * 7}" font-size="${stroke * 11}" text-anchor="end">${barText}</text>
  </g>
  <g transform="translate(${f.maxx - pad * 0.2} ${-f.maxy + pad * 1.2})" font-size="${stroke * 13}" text-anchor="middle">
    <path d="M0 ${-stroke * 30} L${stroke * 8} 0 L0 ${-stroke * 8} L${-stroke * 8} 0 Z" fill="#000"/><text y="${stroke * 14}">北</text>
  </g>
</svg>`;
}

/** The page style of the A4 reports. */
export const PRINT_CSS = `
  @page { size: A4; margin: 16mm 14mm; }
  body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; color: #111; margin: 0 auto; max-width: 190mm; font-size: 10.5pt; }
  h1 { font-size: 17pt; text-align: center; margin: 4mm 0 1mm; }
  .sub { text-align: center; color: #444; margin-bottom: 4mm; font-size: 9.5pt; }
  figure { margin: 0 0 4mm; text-align: center; }
  figcaption { font-size: 9pt; color: #444; }
  .legend span { display: inline-block; margin: 0 3mm; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
  table { border-collapse: collapse; width: 100%; margin: 2mm 0 5mm; font-size: 9pt; }
  th, td { border: 1px solid #888; padding: 1.2mm 1.6mm; vertical-align: top; }
  th { background: #eee; }
  td.n { text-align: right; white-space: nowrap; }
  h2 { font-size: 12pt; margin: 5mm 0 1mm; }
  tr { break-inside: avoid; }`;
