// The geometry of a printed thematic map (专题制图), pure so that the server (which frames the
// map and picks its scale, print.ts) and the print page (web/src/print/, which draws it) use the
// same numbers: the sheet and its boxes in millimetres, Web Mercator as MapLibre draws it (512 px
// tiles, one CSS pixel = 1/96 inch on paper), the scale at the map's centre latitude, round
// scales, and the scale bar.

export const PAPERS = ['A4', 'A3'] as const;
export type Paper = (typeof PAPERS)[number];
export const ORIENTATIONS = ['landscape', 'portrait'] as const;
export type Orientation = (typeof ORIENTATIONS)[number];
export const PRINT_FORMATS = ['pdf', 'png'] as const;
export type PrintFormat = (typeof PRINT_FORMATS)[number];

/** Paper sizes (ISO 216), portrait width × height in mm. */
const PAPER_MM: Record<Paper, [number, number]> = { A4: [210, 297], A3: [297, 420] };

/** CSS pixels per millimetre (96 per inch). */
export const PX_PER_MM = 96 / 25.4;
/** The Earth's radius of Web Mercator (m). */
const R = 6378137;
/** MapLibre's tile size: the world is 512 CSS px wide at zoom 0. */
const WORLD_PX = 512;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where everything goes on a sheet, in mm from its top left corner; `k` scales type and furniture (A3 = √2 × A4). */
export interface SheetLayout {
  paper: Paper;
  orientation: Orientation;
  width: number;
  height: number;
  k: number;
  header: Box;
  map: Box;
  legend: Box;
  footer: Box;
}

/** The layout of a sheet: title on top, the map with the legend beside it (landscape) or under it (portrait), the footer at the bottom. */
export function sheetLayout(paper: Paper, orientation: Orientation): SheetLayout {
  const [pw, ph] = PAPER_MM[paper];
  const [width, height] = orientation === 'landscape' ? [ph, pw] : [pw, ph];
  const k = paper === 'A3' ? Math.SQRT2 : 1;
  const margin = 8 * k;
  const gap = 3 * k;
  const headerH = 15 * k;
  const footerH = 9 * k;
  const inner = { x: margin, y: margin, w: width - 2 * margin, h: height - 2 * margin };
  const header = { x: inner.x, y: inner.y, w: inner.w, h: headerH };
  const footer = { x: inner.x, y: inner.y + inner.h - footerH, w: inner.w, h: footerH };
  const top = header.y + headerH;
  const bodyH = footer.y - gap - top;
  let map: Box;
  let legend: Box;
  if (orientation === 'landscape') {
    const legendW = 62 * k;
    map = { x: inner.x, y: top, w: inner.w - legendW - gap, h: bodyH };
    legend = { x: inner.x + map.w + gap, y: top, w: legendW, h: bodyH };
  } else {
    const legendH = 50 * k;
    map = { x: inner.x, y: top, w: inner.w, h: bodyH - legendH - gap };
    legend = { x: inner.x, y: top + map.h + gap, w: inner.w, h: legendH };
  }
  return { paper, orientation, width, height, k, header, map, legend, footer };
}

/** The sheet's size in device pixels at `dpi` (what a PNG of it measures): A4 landscape at 300 dpi is 3508 × 2480. */
export function sheetPixels(l: Pick<SheetLayout, 'width' | 'height'>, dpi: number): { width: number; height: number } {
  return { width: Math.round((l.width / 25.4) * dpi), height: Math.round((l.height / 25.4) * dpi) };
}

// --- Web Mercator --------------------------------------------------------------------------------------------

const clampLat = (lat: number) => Math.max(-85.05112878, Math.min(85.05112878, lat));
/** Lon/lat → world pixels at zoom 0 (x east, y south). */
export const project = ([lon, lat]: [number, number]): [number, number] => {
  const s = Math.sin((clampLat(lat) * Math.PI) / 180);
  return [((lon + 180) / 360) * WORLD_PX, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * WORLD_PX];
};
/** World pixels at zoom 0 → lon/lat. */
export const unproject = ([x, y]: [number, number]): [number, number] => [
  (x / WORLD_PX) * 360 - 180,
  (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / WORLD_PX))) * 180) / Math.PI,
];

/** Ground metres per CSS pixel at latitude `lat` and zoom `zoom`. */
export const metresPerPixel = (lat: number, zoom: number) => (2 * Math.PI * R * Math.cos((lat * Math.PI) / 180)) / (WORLD_PX * 2 ** zoom);
/** The map's scale denominator on paper (1 : n) at latitude `lat` and zoom `zoom`. */
export const scaleAt = (lat: number, zoom: number) => metresPerPixel(lat, zoom) * PX_PER_MM * 1000;
/** The zoom at which the map prints at 1 : `scale` at latitude `lat`. */
export const zoomForScale = (lat: number, scale: number) => Math.log2((2 * Math.PI * R * Math.cos((lat * Math.PI) / 180) * PX_PER_MM * 1000) / (WORLD_PX * scale));

/** Round scales: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ (1:1万, 1:2.5万, 1:5万, 1:120万 …). */
const SCALE_STEPS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
/** The smallest round scale denominator ≥ s (a map at it holds at least what one at s holds). */
export function roundScale(s: number): number {
  const p = 10 ** Math.floor(Math.log10(s));
  const step = SCALE_STEPS.find((m) => m * p >= s * (1 - 1e-9))!;
  return Math.round(step * p);
}

export type Bbox = [number, number, number, number];

/** A map frame's view: its centre, zoom and scale, and the lon/lat box it shows. */
export interface MapView {
  center: [number, number];
  zoom: number;
  scale: number;
  bbox: Bbox;
}

/** What a frame of `w` × `h` mm centred on `center` at `zoom` shows. */
export function viewAt(center: [number, number], zoom: number, frame: { w: number; h: number }): MapView {
  const [cx, cy] = project(center);
  const f = 2 ** zoom;
  const hw = (frame.w * PX_PER_MM) / 2 / f;
  const hh = (frame.h * PX_PER_MM) / 2 / f;
  const [w, n] = unproject([cx - hw, cy - hh]);
  const [e, s] = unproject([cx + hw, cy + hh]);
  return { center, zoom, scale: scaleAt(center[1], zoom), bbox: [w, s, e, n] };
}

/** The view that holds `bbox` in a frame of `w` × `h` mm with a margin, at the round scale just smaller than the tightest fit. */
export function fitView(bbox: Bbox, frame: { w: number; h: number }, padding = 0.04): MapView {
  const [x0, y1] = project([bbox[0], bbox[1]]);
  const [x1, y0] = project([bbox[2], bbox[3]]);
  const center = unproject([(x0 + x1) / 2, (y0 + y1) / 2]);
  const usable = 1 - 2 * padding;
  const fit = Math.log2(Math.min((frame.w * PX_PER_MM * usable) / Math.max(x1 - x0, 1e-12), (frame.h * PX_PER_MM * usable) / Math.max(y1 - y0, 1e-12)));
  const scale = roundScale(scaleAt(center[1], Math.min(fit, 22)));
  return viewAt(center, zoomForScale(center[1], scale), frame);
}

/** Boxes that share some area (touching edges do not). */
export const overlaps = (a: Bbox, b: Bbox) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

// --- scale bar -------------------------------------------------------------------------------------------------

/** A scale bar for 1 : `scale` no longer than `maxMm`: its length in km, its length on paper and its segments. */
export function scaleBar(scale: number, maxMm: number): { km: number; mm: number; segments: number } {
  const mmPerKm = 1e6 / scale;
  const most = maxMm / mmPerKm;
  const p = 10 ** Math.floor(Math.log10(most));
  const lead = [5, 2, 1].find((m) => m * p <= most) ?? 1;
  const km = lead * p;
  return { km, mm: km * mmPerKm, segments: lead === 5 ? 5 : 4 };
}

/** 1:50,000 style: the denominator with thousands separators (three significant figures unless round). */
export function scaleText(scale: number): string {
  const digits = Math.floor(Math.log10(scale)) + 1;
  const keep = 10 ** Math.max(0, digits - 3);
  return `1:${(Math.round(scale / keep) * keep).toLocaleString('en-US')}`;
}

/** A length in km as printed on the bar: "5", "2.5", "0.5". */
export const kmText = (km: number) => String(Math.round(km * 1000) / 1000);
