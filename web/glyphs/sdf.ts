// Signed distance field of one glyph outline, the way MapLibre's glyph atlas expects it.
//
// MapLibre draws text from SDF bitmaps: each byte says how far (in px) the pixel is from the glyph's
// edge, 255·(1 − cutoff) on the edge, higher inside, lower outside, radius px encoded either way. We
// reproduce what @mapbox/tiny-sdf does in the browser (which MapLibre uses for locally drawn CJK
// glyphs), so server glyphs and local glyphs look alike:
//   1. rasterise the outline to an anti-aliased coverage (alpha) bitmap: here by supersampling the
//      flattened outline with the nonzero winding rule, since Node has no canvas;
//   2. turn partial coverage into sub-pixel seed distances (tiny-sdf's gamma lookup);
//   3. run the Felzenszwalb–Huttenlocher Euclidean distance transform for the outside and the inside;
//   4. encode sqrt(outer) − sqrt(inner) as a byte.
import type { PathCommand } from 'opentype.js';

/** Glyph size in px that MapLibre's glyph PBFs are rendered at (ONE_EM in MapLibre). */
export const GLYPH_SIZE_PX = 24;
/** Empty border in px around every bitmap; MapLibre hard-codes 3 (GLYPH_PBF_BORDER). */
export const GLYPH_BUFFER_PX = 3;
/** How many px around the edge the distance field encodes (tiny-sdf's and fontnik's 8). */
const RADIUS_PX = 8;
/** Share of the byte range used for the outside of the edge (tiny-sdf's and fontnik's 0.25). */
const CUTOFF = 0.25;
/** Samples per pixel along each axis when rasterising (8 × 8 = 64 coverage levels). */
const SUPERSAMPLE = 8;
/** Largest glyph box in px; anything bigger (none in Noto Sans at 24 px) is clipped. */
const MAX_GLYPH_PX = 64;
/** Straight segments per quadratic / cubic Bézier when flattening (ample at 24 px). */
const CURVE_STEPS = 8;

const INF = 1e20;

/** An SDF glyph bitmap with its metrics in px, as the glyph PBF stores them. */
export interface SdfGlyph {
  /** (width + 2·buffer) × (height + 2·buffer) bytes, row-major; empty when the glyph has no ink. */
  bitmap: Uint8Array;
  width: number;
  height: number;
  /** Ink's left edge relative to the pen position, px. */
  left: number;
  /** Ink's top edge above the baseline, px (the caller shifts it to MapLibre's origin). */
  ascent: number;
}

type Edge = { x0: number; y0: number; x1: number; y1: number; dir: 1 | -1 };

/** Flattens outline commands (px, y down, baseline at y = 0) into closed polygon edges. */
function flatten(commands: PathCommand[]): Edge[] {
  const edges: Edge[] = [];
  let sx = 0, sy = 0, cx = 0, cy = 0;
  const lineTo = (x: number, y: number): void => {
    if (y !== cy) edges.push({ x0: cx, y0: cy, x1: x, y1: y, dir: y > cy ? 1 : -1 });
    cx = x; cy = y;
  };
  for (const c of commands) {
    switch (c.type) {
      case 'M':
        if (cx !== sx || cy !== sy) lineTo(sx, sy); // close an open contour implicitly
        sx = cx = c.x; sy = cy = c.y;
        break;
      case 'L':
        lineTo(c.x, c.y);
        break;
      case 'Q': {
        const x0 = cx, y0 = cy;
        for (let i = 1; i <= CURVE_STEPS; i++) {
          const t = i / CURVE_STEPS, u = 1 - t;
          lineTo(u * u * x0 + 2 * u * t * c.x1 + t * t * c.x, u * u * y0 + 2 * u * t * c.y1 + t * t * c.y);
        }
        break;
      }
      case 'C': {
        const x0 = cx, y0 = cy;
        for (let i = 1; i <= CURVE_STEPS; i++) {
          const t = i / CURVE_STEPS, u = 1 - t;
          const a = u * u * u, b = 3 * u * u * t, d = 3 * u * t * t, e = t * t * t;
          lineTo(a * x0 + b * c.x1 + d * c.x2 + e * c.x, a * y0 + b * c.y1 + d * c.y2 + e * c.y);
        }
        break;
      }
      case 'Z':
        lineTo(sx, sy);
        break;
    }
  }
  if (cx !== sx || cy !== sy) lineTo(sx, sy);
  return edges;
}

/**
 * Coverage (0–255) of each pixel of a w × h box whose top-left corner is at (x0, y0) in outline px,
 * by sampling SUPERSAMPLE² points per pixel with the nonzero winding rule.
 */
function rasterise(edges: Edge[], x0: number, y0: number, w: number, h: number): Uint8Array {
  const hits = new Uint16Array(w * h);
  const crossings: { x: number; dir: number }[] = [];
  for (let sy = 0; sy < h * SUPERSAMPLE; sy++) {
    const y = y0 + (sy + 0.5) / SUPERSAMPLE;
    crossings.length = 0;
    for (const e of edges) {
      const lo = Math.min(e.y0, e.y1), hi = Math.max(e.y0, e.y1);
      if (y < lo || y >= hi) continue;
      crossings.push({ x: e.x0 + ((y - e.y0) / (e.y1 - e.y0)) * (e.x1 - e.x0), dir: e.dir });
    }
    if (crossings.length === 0) continue;
    crossings.sort((a, b) => a.x - b.x);
    const row = Math.floor(sy / SUPERSAMPLE) * w;
    // Walk the sample columns left to right, keeping the winding number of the crossings passed.
    let k = 0, winding = 0;
    for (let sx = 0; sx < w * SUPERSAMPLE; sx++) {
      const x = x0 + (sx + 0.5) / SUPERSAMPLE;
      while (k < crossings.length && crossings[k].x <= x) winding += crossings[k++].dir;
      if (winding !== 0) hits[row + Math.floor(sx / SUPERSAMPLE)]++;
    }
  }
  const alpha = new Uint8Array(w * h);
  const full = SUPERSAMPLE * SUPERSAMPLE;
  for (let i = 0; i < alpha.length; i++) alpha[i] = Math.round((hits[i] * 255) / full);
  return alpha;
}

// Signed squared seed distance for an alpha value, gamma-corrected as tiny-sdf does.
const alphaTable = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  const d = 0.5 - Math.pow(i / 255, 1 / 2.2);
  alphaTable[i] = d * Math.abs(d);
}
alphaTable[255] = -INF;

/** Renders one glyph outline (from opentype.js `glyph.getPath(0, 0, GLYPH_SIZE_PX)`) to an SDF. */
export function glyphToSdf(commands: PathCommand[]): SdfGlyph {
  const edges = flatten(commands);
  const empty: SdfGlyph = { bitmap: new Uint8Array(0), width: 0, height: 0, left: 0, ascent: 0 };
  if (edges.length === 0) return empty;

  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (const e of edges) {
    xMin = Math.min(xMin, e.x0, e.x1); xMax = Math.max(xMax, e.x0, e.x1);
    yMin = Math.min(yMin, e.y0, e.y1); yMax = Math.max(yMax, e.y0, e.y1);
  }
  // Integer glyph box as tiny-sdf measures it; the fractional offset stays in the rasterisation.
  const left = Math.floor(xMin);
  const ascent = Math.ceil(-yMin);
  const width = Math.min(MAX_GLYPH_PX, Math.ceil(xMax) - left);
  const height = Math.min(MAX_GLYPH_PX, ascent + Math.ceil(yMax));
  if (width <= 0 || height <= 0) return empty;

  const alpha = rasterise(edges, left, -ascent, width, height);

  const buffer = GLYPH_BUFFER_PX;
  const gw = width + 2 * buffer, gh = height + 2 * buffer;
  const outer = new Float64Array(gw * gh).fill(INF); // squared distance to the ink, outside it
  const inner = new Float64Array(gw * gh); // squared distance to the background, inside the ink
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = alpha[y * width + x];
      if (a === 0) continue;
      const j = (y + buffer) * gw + x + buffer;
      const t = alphaTable[a];
      outer[j] = Math.max(0, t);
      inner[j] = Math.max(0, -t);
    }
  }
  edt(outer, gw, gh);
  edt(inner, gw, gh);

  const bitmap = new Uint8Array(gw * gh);
  const scale = 255 / RADIUS_PX;
  const base = 255 * (1 - CUTOFF);
  for (let i = 0; i < bitmap.length; i++) {
    const d = Math.sqrt(outer[i]) - Math.sqrt(inner[i]);
    bitmap[i] = Math.max(0, Math.min(255, Math.round(base - scale * d)));
  }
  return { bitmap, width, height, left, ascent };
}

/** 2-D squared Euclidean distance transform in place (Felzenszwalb & Huttenlocher, 2012). */
function edt(grid: Float64Array, width: number, height: number): void {
  const n = Math.max(width, height);
  const f = new Float64Array(n), z = new Float64Array(n + 1), v = new Uint16Array(n);
  for (let x = 0; x < width; x++) edt1d(grid, x, width, height, f, v, z);
  for (let y = 0; y < height; y++) edt1d(grid, y * width, 1, width, f, v, z);
}

/** 1-D squared distance transform along one row or column (lower envelope of parabolas). */
function edt1d(grid: Float64Array, offset: number, stride: number, length: number,
  f: Float64Array, v: Uint16Array, z: Float64Array): void {
  v[0] = 0; z[0] = -INF; z[1] = INF; f[0] = grid[offset];
  for (let q = 1, k = 0; q < length; q++) {
    const fq = f[q] = grid[offset + q * stride];
    const q2 = q * q;
    let s: number;
    do {
      const r = v[k];
      s = (fq - f[r] + q2 - r * r) / (q - r) / 2;
    } while (s <= z[k] && --k > -1);
    k++; v[k] = q; z[k] = s; z[k + 1] = INF;
  }
  for (let q = 0, k = 0; q < length; q++) {
    while (z[k + 1] < q) k++;
    const r = v[k], qr = q - r;
    grid[offset + q * stride] = f[r] + qr * qr;
  }
}
