// CSV of boundary points (界址点) as planners type them from survey reports: one row per point,
// with the polygon id, an optional part number (multi-part parcels), the ring number (the lowest
// is the outer boundary, the others holes), the point order, and X, Y in the CRS the caller
// states. Chinese surveying writes X = northing and Y = easting (for a geographic CRS: X the
// latitude, Y the longitude, EPSG axis order); columns named lon/lat (经度/纬度) are taken as such.
// Files saved by Excel on Chinese Windows are GBK: the encoding is detected like a .dbf's.
import { parse } from 'csv-parse/sync'; // RFC 4180 CSV with quoted fields and line numbers
import type { Geometry, Position } from 'geojson';
import { checkedFeatures, failed, readWhole } from './common';
import { extendBbox, resolveCrs } from './crs';
import { decode, detectEncoding, normaliseEncoding } from './encoding';
import type { DetectedEncoding, ImportFeature, ImportOptions, ImportProblem, ImportSource } from './types';

type Bbox = [number, number, number, number];

/** Accepted header names of each column (compared lower-case, spaces and underscores removed). */
const COLUMNS = {
  id: ['polygonid', 'polygon', 'id', 'parcelid', 'parcel', 'fid', '地块编号', '宗地号', '宗地编号', '地块号', '编号', '图斑编号', '多边形编号'],
  part: ['part', 'partno', '部件号', '部分号', '块号'],
  ring: ['ring', 'ringno', '圈号', '环号', '圈'],
  order: ['order', 'pointorder', 'seq', 'sequence', 'pointno', '点序', '序号', '点号', '界址点号', '点序号'],
  x: ['x', 'x坐标', '纵坐标', '北坐标', 'northing'],
  y: ['y', 'y坐标', '横坐标', '东坐标', 'easting'],
  lon: ['lon', 'lng', 'longitude', '经度'],
  lat: ['lat', 'latitude', '纬度'],
} as const;
type Column = keyof typeof COLUMNS;

const norm = (h: string) => h.trim().replace(/^\uFEFF/, '').toLowerCase().replace(/[\s_]/g, '');

interface Point {
  line: number;
  order: number;
  xy: Position; // easting/longitude first
}

/** A CSV of boundary points, built into polygons (one feature per polygon id). */
export async function openBoundaryPointsCsv(filePath: string, file: string, opts: ImportOptions): Promise<ImportSource> {
  const problems: ImportProblem[] = [];
  const warnings: ImportProblem[] = [];
  const whole = readWhole(filePath, file, 'csv-points', opts, (size, max) => ({ message: `${size} bytes; at most ${max} are read` }));
  if ('failed' in whole) return whole.failed;
  const { bytes } = whole;
  let encoding: DetectedEncoding;
  if (opts.encoding) {
    const label = normaliseEncoding(opts.encoding);
    if (!label) problems.push({ code: 'encoding_unknown', file, message: `unknown text encoding '${opts.encoding}'` });
    encoding = { name: label ?? 'utf-8', method: 'explicit' };
  } else encoding = { name: detectEncoding(bytes), method: 'detected' };

  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(decode(bytes, encoding.name), { delimiter: [',', '\t', ';', '，'], info: true, skip_empty_lines: true, trim: true, relax_column_count: true }) as unknown as typeof rows;
  } catch (err) {
    return failed('csv-points', [...problems, { code: 'csv_bad_row', file, line: (err as { lines?: number }).lines, message: `not readable as CSV: ${(err as Error).message}` }], warnings);
  }
  if (!rows.length) return failed('csv-points', [...problems, { code: 'file_empty', file, message: 'the file has no rows' }], warnings);

  const header = rows[0].record.map(norm);
  const col: Partial<Record<Column, number>> = {};
  for (const [key, names] of Object.entries(COLUMNS) as [Column, readonly string[]][]) {
    const at = header.findIndex((h) => names.includes(h));
    if (at >= 0) col[key] = at;
  }
  const geographicColumns = col.lon !== undefined && col.lat !== undefined;
  const missing = (['id', 'ring', 'order'] as Column[]).filter((k) => col[k] === undefined);
  if (!geographicColumns) missing.push(...(['x', 'y'] as Column[]).filter((k) => col[k] === undefined));
  if (missing.length) {
    return failed('csv-points', [...problems, {
      code: 'not_spatial',
      file,
      line: rows[0].info.lines,
      message: `the header lacks the column(s) ${missing.join(', ')} (found: ${rows[0].record.join(', ')})`,
      hint: `a boundary-point CSV has the columns ${(['id', 'ring', 'order', 'x', 'y'] as Column[]).map((k) => `${k} (${COLUMNS[k].slice(0, 3).join(' / ')})`).join(', ')}`,
    }], warnings);
  }
  const used = new Set(Object.values(col));
  const extra = rows[0].record.map((h, i) => ({ name: h.trim().replace(/^\uFEFF/, ''), i })).filter((c) => !used.has(c.i) && c.name);

  // Polygon id → part → ring → points, in order of first appearance.
  const polygons = new Map<string, { line: number; properties: Record<string, string>; parts: Map<number, Map<number, Point[]>> }>();
  const num = (s: string | undefined) => (s === undefined || s === '' ? NaN : Number(s));
  for (const { record, info } of rows.slice(1)) {
    const line = info.lines;
    const id = record[col.id!]?.trim();
    const part = col.part !== undefined ? num(record[col.part]) : 1;
    const ring = num(record[col.ring!]);
    const order = num(record[col.order!]);
    const a = geographicColumns ? num(record[col.lon!]) : num(record[col.y!]);
    const b = geographicColumns ? num(record[col.lat!]) : num(record[col.x!]);
    const bad: string[] = [];
    if (!id) bad.push('no polygon id');
    if (!Number.isInteger(part)) bad.push(`part ${JSON.stringify(record[col.part!])} is not a whole number`);
    if (!Number.isInteger(ring)) bad.push(`ring ${JSON.stringify(record[col.ring!])} is not a whole number`);
    if (!Number.isFinite(order)) bad.push(`point order ${JSON.stringify(record[col.order!])} is not a number`);
    if (!Number.isFinite(a) || !Number.isFinite(b)) bad.push(`coordinates ${geographicColumns ? `lon ${JSON.stringify(record[col.lon!])}, lat ${JSON.stringify(record[col.lat!])}` : `X ${JSON.stringify(record[col.x!])}, Y ${JSON.stringify(record[col.y!])}`} are not numbers`);
    if (bad.length) {
      problems.push({ code: 'csv_bad_row', file, line, message: `line ${line}: ${bad.join('; ')}` });
      continue;
    }
    let poly = polygons.get(id);
    const props = Object.fromEntries(extra.map((c) => [c.name, record[c.i] ?? '']));
    if (!poly) polygons.set(id, (poly = { line, properties: props, parts: new Map() }));
    else {
      const differs = extra.filter((c) => (record[c.i] ?? '') !== '' && (record[c.i] ?? '') !== poly!.properties[c.name]).map((c) => c.name);
      if (differs.length) problems.push({ code: 'csv_bad_row', file, line, message: `line ${line}: polygon ${id} has other values for ${differs.join(', ')} than on line ${poly.line}` });
    }
    const rings = poly.parts.get(part) ?? new Map<number, Point[]>();
    poly.parts.set(part, rings);
    const points = rings.get(ring) ?? [];
    rings.set(ring, points);
    const twin = points.find((p) => p.order === order);
    if (twin) problems.push({ code: 'csv_bad_row', file, line, message: `line ${line}: polygon ${id} ring ${ring} has point ${order} twice (also on line ${twin.line})` });
    else points.push({ line, order, xy: [a, b] });
  }

  const features: ImportFeature[] = [];
  let bbox: Bbox | null = null;
  for (const [id, poly] of polygons) {
    const index = features.length;
    const polygonsOut: Position[][][] = [];
    for (const [part, rings] of [...poly.parts].sort((p, q) => p[0] - q[0])) {
      const out: Position[][] = [];
      for (const [ring, points] of [...rings].sort((p, q) => p[0] - q[0])) {
        const coords = points.sort((p, q) => p.order - q.order).map((p) => p.xy);
        // Surveyors may or may not repeat the first point at the end: close the ring either way.
        const [f, l] = [coords[0], coords[coords.length - 1]];
        if (f[0] !== l[0] || f[1] !== l[1]) coords.push([...f]);
        const distinct = new Set(coords.map((c) => `${c[0]},${c[1]}`)).size;
        if (distinct < 3) {
          problems.push({ code: 'csv_bad_ring', file, feature: index, line: points[0].line, message: `polygon ${id}${poly.parts.size > 1 ? ` part ${part}` : ''} ring ${ring} has ${distinct} distinct point(s); a ring needs at least 3` });
        }
        out.push(coords);
        bbox = extendBbox(bbox, coords);
      }
      polygonsOut.push(out);
    }
    const geometry: Geometry = polygonsOut.length === 1 ? { type: 'Polygon', coordinates: polygonsOut[0] } : { type: 'MultiPolygon', coordinates: polygonsOut };
    features.push({ index, file, id, geometry, properties: poly.properties });
  }

  // A CSV says nothing about its CRS: the caller states it (resolveCrs reports its absence).
  const crs = resolveCrs(undefined, { srid: opts.srid, bbox, file, problems });
  if (!geographicColumns && bbox) {
    const [minE, minN, maxE, maxN] = bbox;
    if (minE > 3e6 && maxE < 6e6 && (maxN < 1e6 || minN >= 1e7)) {
      for (const p of problems) {
        if (p.code === 'outside_datong' || p.code === 'crs_missing') p.hint = 'X and Y look swapped: in Chinese surveying X is the northing (≈ 4 400 000 m in Datong) and Y the easting';
      }
    }
  }
  async function* read(): AsyncGenerator<ImportFeature> {
    yield* features;
  }
  return { format: 'csv-points', crs, encoding, problems, warnings, bbox, features: checkedFeatures(read, problems, opts, file, () => undefined), close: async () => undefined };
}
