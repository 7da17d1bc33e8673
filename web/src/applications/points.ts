// 界址点 (boundary points) typed or pasted by the window: the CGCS2000 3-degree Gauss-Krüger
// zones a Datong survey uses (with the zone number prefixed to the easting, EPSG:4513–4533, or
// without it, by central meridian, EPSG:4534–4554), parsing of a pasted table (Excel, CSV or
// spaces; X the northing and Y the easting as Chinese surveys write them), the checks a clerk
// should see before sending, and the conversion to CGCS2000 lon/lat with proj4 for the preview.
// The server converts again and its result is the one that counts.
import proj4 from 'proj4';
import type { MultiPolygon, Position } from 'geojson';

/** A CGCS2000 3-degree GK zone the form offers. */
export interface GkZone {
  srid: number;
  /** Central meridian (°E). */
  cm: number;
  /** Zone number (cm / 3). */
  zone: number;
  /** Whether the easting carries the zone number (38 500 000 at the central meridian). */
  prefixed: boolean;
}

/** The zone of an EPSG code of the CGCS2000 3-degree GK series, or undefined for any other code. */
export function gkZone(srid: number): GkZone | undefined {
  if (srid >= 4513 && srid <= 4533) {
    const zone = srid - 4488; // 4513 = zone 25 (75°E)
    return { srid, cm: zone * 3, zone, prefixed: true };
  }
  if (srid >= 4534 && srid <= 4554) {
    const cm = 75 + (srid - 4534) * 3; // 4534 = CM 75°E
    return { srid, cm, zone: cm / 3, prefixed: false };
  }
  return undefined;
}

/** The zones offered (Datong lies in 112.6–114.6°E: zone 38, CM 114°E; its neighbours for surveys that use them). */
export const ZONE_CHOICES: number[] = [4526, 4547, 4525, 4546, 4527, 4548];
/** The default: zone 38 with its prefix, as Datong's cadastral surveys deliver. */
export const DEFAULT_SRID = 4526;

/** The PROJ definition of the zone (GRS80 transverse Mercator, scale 1, false easting 500 km, plus the zone number × 10⁶ when prefixed). */
export function proj4Definition(z: GkZone): string {
  const x0 = z.prefixed ? z.zone * 1_000_000 + 500_000 : 500_000;
  return `+proj=tmerc +lat_0=0 +lon_0=${z.cm} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs`;
}

const WGS = '+proj=longlat +ellps=GRS80 +no_defs';

/** One row of the table as typed: the texts, so a half-typed number stays as it is. */
export interface PointRow {
  no: string;
  x: string;
  y: string;
  /** Ring: 1 the outer boundary, 2, 3 … holes. */
  ring: string;
}

export const emptyRow = (): PointRow => ({ no: '', x: '', y: '', ring: '1' });

/** A number as surveyors write it: spaces and thousands commas allowed, full-width digits too. */
export function parseNumber(text: string): number | undefined {
  const s = text.trim()
    .replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/[．。]/g, '.').replace(/[－−]/g, '-').replace(/[\s,，]/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/**
 * Rows of a pasted table. Each line has 2–4 cells separated by tabs, commas or spaces:
 * "X Y", "点号 X Y" or "点号 X Y 圈号"; a header line (no number in the X column) is skipped.
 */
export function parsePointsText(text: string): PointRow[] {
  const rows: PointRow[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const cells = line.split(/\t|[,，;；]|\s+/).map((c) => c.trim()).filter((c) => c !== '');
    if (cells.length < 2) continue;
    const row: PointRow = cells.length === 2
      ? { no: '', x: cells[0]!, y: cells[1]!, ring: '1' }
      : { no: cells[0]!, x: cells[1]!, y: cells[2]!, ring: cells[3] ?? '1' };
    if (parseNumber(row.x) === undefined && parseNumber(row.y) === undefined) continue; // a header
    rows.push({ no: row.no, x: row.x, y: row.y, ring: row.ring });
  }
  return rows.map((r, i) => ({ ...r, no: r.no || `J${i + 1}` }));
}

/** A problem of the table, for the row (0-based) and column it names. */
export interface PointProblem {
  row?: number;
  column?: 'x' | 'y' | 'ring';
  code: 'not_a_number' | 'x_out_of_range' | 'y_out_of_range' | 'y_zone_prefix' | 'y_no_prefix' | 'swapped' | 'too_few' | 'duplicate' | 'bad_ring';
}

/** Datong's northings (CGCS2000 GK, metres): about 39.0–40.8°N. */
const NORTHING = { min: 4_300_000, max: 4_530_000 };

/**
 * Checks the rows against the zone: numbers, X a Datong northing, Y an easting of the zone (with
 * or without the zone prefix as the zone says), X and Y not swapped, rings of ≥ 3 distinct points.
 */
export function checkPoints(rows: PointRow[], srid: number): PointProblem[] {
  const zone = gkZone(srid);
  const problems: PointProblem[] = [];
  const used = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.x.trim() || r.y.trim());
  for (const { r, i } of used) {
    const x = parseNumber(r.x), y = parseNumber(r.y);
    const ring = parseNumber(r.ring || '1');
    if (ring === undefined || !Number.isInteger(ring) || ring < 1) problems.push({ row: i, column: 'ring', code: 'bad_ring' });
    if (x === undefined) problems.push({ row: i, column: 'x', code: 'not_a_number' });
    if (y === undefined) problems.push({ row: i, column: 'y', code: 'not_a_number' });
    if (x === undefined || y === undefined || !zone) continue;
    const yPrefixed = y >= 10_000_000;
    const isNorthing = (v: number): boolean => v >= NORTHING.min && v <= NORTHING.max;
    if (!isNorthing(x) && isNorthing(y)) {
      problems.push({ row: i, code: 'swapped' });
      continue;
    }
    if (x < NORTHING.min || x > NORTHING.max) problems.push({ row: i, column: 'x', code: 'x_out_of_range' });
    if (zone.prefixed && !yPrefixed) problems.push({ row: i, column: 'y', code: 'y_no_prefix' });
    else if (!zone.prefixed && yPrefixed) problems.push({ row: i, column: 'y', code: 'y_zone_prefix' });
    else {
      const easting = zone.prefixed ? y - zone.zone * 1_000_000 : y;
      if ((zone.prefixed && Math.floor(y / 1_000_000) !== zone.zone) || easting < 300_000 || easting > 700_000) {
        problems.push({ row: i, column: 'y', code: 'y_out_of_range' });
      }
    }
  }
  const rings = new Map<number, { x: number; y: number; i: number }[]>();
  for (const { r, i } of used) {
    const ring = parseNumber(r.ring || '1'), x = parseNumber(r.x), y = parseNumber(r.y);
    if (ring === undefined || x === undefined || y === undefined) continue;
    const list = rings.get(ring) ?? [];
    const closing = list.length > 0 && list[0]!.x === x && list[0]!.y === y;
    if (!closing && list.some((p) => p.x === x && p.y === y)) problems.push({ row: i, code: 'duplicate' });
    if (!closing) list.push({ x, y, i });
    rings.set(ring, list);
  }
  if (!rings.has(1) || [...rings.values()].some((l) => l.length < 3)) problems.push({ code: 'too_few' });
  return problems;
}

/** The rows as the server takes them (x northing, y easting), numbered in their order. */
export function toSitePoints(rows: PointRow[]): { ring: number; order: number; x: number; y: number }[] {
  const order = new Map<number, number>();
  const out: { ring: number; order: number; x: number; y: number }[] = [];
  for (const r of rows) {
    const x = parseNumber(r.x), y = parseNumber(r.y), ring = parseNumber(r.ring || '1') ?? 1;
    if (x === undefined || y === undefined) continue;
    const n = (order.get(ring) ?? 0) + 1;
    order.set(ring, n);
    out.push({ ring, order: n, x, y });
  }
  return out;
}

/** Converts one point (x northing, y easting, metres in the zone) to CGCS2000 [lon, lat]. */
export function gkToLonLat(srid: number, x: number, y: number): Position {
  const zone = gkZone(srid);
  if (!zone) throw new Error(`EPSG:${srid} is not a CGCS2000 3-degree Gauss-Krüger zone`);
  const [lon, lat] = proj4(proj4Definition(zone), WGS).forward([y, x]);
  return [lon!, lat!];
}

/**
 * The polygon of the rows in lon/lat (ring 1 the outer boundary, the others holes), closed; null
 * when the outer ring has fewer than three points or a number does not parse.
 */
export function pointsToPolygon(rows: PointRow[], srid: number): MultiPolygon | null {
  const pts = toSitePoints(rows);
  const rings = new Map<number, Position[]>();
  for (const p of pts) {
    const list = rings.get(p.ring) ?? [];
    list.push(gkToLonLat(srid, p.x, p.y));
    rings.set(p.ring, list);
  }
  const closed = (ring: Position[]): Position[] => {
    const first = ring[0]!, last = ring[ring.length - 1]!;
    return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, first];
  };
  const outer = rings.get(1);
  if (!outer || outer.length < 3) return null;
  const holes = [...rings.entries()].filter(([k, v]) => k !== 1 && v.length >= 3).sort((a, b) => a[0] - b[0]).map(([, v]) => closed(v));
  return { type: 'MultiPolygon', coordinates: [[closed(outer), ...holes]] };
}
