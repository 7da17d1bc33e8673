// GeoJSON (RFC 7946, and the 2008 `crs` member GDAL still writes for non-WGS 84 output) and
// GeoJSON text sequences (RFC 8142 RS-separated, or one feature per line). A GeoJSON document is
// one JSON text and is read whole (up to limits.maxTextBytes); a sequence is streamed record by
// record, after a first pass that finds its encoding, extent and `crs` members.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import iconv from 'iconv-lite';
import { geoJsonProblems } from '../platform/geojson';
import { checkedFeatures, failed, readWhole } from './common';
import { epsgFromCrsName, extendBbox, geometryCoordinates, knownCrs, resolveCrs } from './crs';
import { decode, detectEncoding, normaliseEncoding, utf8Validator } from './encoding';
import type { DetectedEncoding, ImportFeature, ImportOptions, ImportProblem, ImportSource } from './types';
import type { Geometry } from 'geojson';

type Bbox = [number, number, number, number];
const GEOMETRY_TYPES = new Set(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'GeometryCollection']);

/** The name in a GeoJSON 2008 `crs` member ({"type":"name","properties":{"name":…}}), if any. */
function crsMemberName(o: unknown): string | undefined {
  const crs = (o as { crs?: { type?: string; properties?: { name?: unknown } } } | null)?.crs;
  if (!crs) return undefined;
  return typeof crs.properties?.name === 'string' ? crs.properties.name : JSON.stringify(crs);
}

/** The CRS a `crs` member (or its absence: CRS84) gives, for resolveCrs. */
function fileCrs(name: string | undefined) {
  if (name === undefined) return { crs: knownCrs(4326), method: 'geojson-default' as const };
  const epsg = epsgFromCrsName(name);
  const c = epsg !== undefined ? knownCrs(epsg) : undefined;
  return c ? { crs: c, method: 'geojson-crs' as const } : { method: 'geojson-crs' as const, reason: `the crs member '${name}' is not a recognised CRS` };
}

/** Same CRS? (names differ in form: 'EPSG:4547' and 'urn:ogc:def:crs:EPSG::4547' agree.) */
const sameCrs = (a: string, b: string) => (epsgFromCrsName(a) ?? a) === (epsgFromCrsName(b) ?? b);

/** A JSON.parse error as a problem: one that stops at the end of the text is a truncated file. */
function parseProblem(err: unknown, text: string, file: string, line?: number): ImportProblem {
  const msg = (err as Error).message;
  const at = /at position (\d+)/.exec(msg);
  const atEnd = at ? Number(at[1]) >= text.trimEnd().length - 1 : false;
  if (atEnd || /unexpected end|unterminated/i.test(msg)) return { code: 'format_truncated', file, line, message: `the JSON ends too early (${msg})`, hint: 'the file is truncated; send it again' };
  return { code: 'geojson_invalid', file, line, message: `not valid JSON: ${msg}` };
}

function encodingOf(opts: ImportOptions, bytesValidUtf8: () => boolean, file: string, problems: ImportProblem[], warnings: ImportProblem[]): DetectedEncoding {
  if (opts.encoding) {
    const label = normaliseEncoding(opts.encoding);
    if (!label) problems.push({ code: 'encoding_unknown', file, message: `unknown text encoding '${opts.encoding}'` });
    return { name: label ?? 'utf-8', method: 'explicit' };
  }
  if (bytesValidUtf8()) return { name: 'utf-8', method: 'format' };
  warnings.push({ code: 'encoding_unknown', file, message: 'the file is not UTF-8 as JSON must be; it was decoded as GB18030' });
  return { name: 'gb18030', method: 'detected' };
}

/** The features of a parsed GeoJSON value, or a problem when it is not GeoJSON with features. */
function featuresOf(doc: unknown): { features: unknown[] } | { problem: string } {
  const o = doc as { type?: unknown; features?: unknown } | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return { problem: 'the JSON is not a GeoJSON object' };
  if (o.type === 'FeatureCollection') return Array.isArray(o.features) ? { features: o.features } : { problem: "the FeatureCollection has no 'features' array" };
  if (o.type === 'Feature') return { features: [o] };
  if (typeof o.type === 'string' && GEOMETRY_TYPES.has(o.type)) return { features: [{ type: 'Feature', properties: {}, geometry: o }] };
  return { problem: `the JSON's type is ${JSON.stringify(o.type)}, not a GeoJSON FeatureCollection, Feature or geometry` };
}

/** An ImportFeature from a GeoJSON feature object, with its structure problems. */
function toFeature(f: unknown, index: number, file: string, problems: ImportProblem[], line?: number): ImportFeature {
  for (const p of geoJsonProblems(f, line ? `line ${line}` : `features[${index}]`)) problems.push({ code: 'geojson_invalid', file, feature: index, line, message: p });
  const o = (f ?? {}) as { id?: unknown; geometry?: unknown; properties?: unknown };
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? o.id : undefined;
  const properties = o.properties && typeof o.properties === 'object' && !Array.isArray(o.properties) ? (o.properties as Record<string, unknown>) : {};
  return { index, file, id, geometry: (o.geometry as Geometry | null) ?? null, properties };
}

/** A GeoJSON document (FeatureCollection, Feature or bare geometry). */
export async function openGeoJson(filePath: string, file: string, opts: ImportOptions): Promise<ImportSource> {
  const problems: ImportProblem[] = [];
  const warnings: ImportProblem[] = [];
  const whole = readWhole(filePath, file, 'geojson', opts, (size, max) => ({
    message: `${size} bytes; a GeoJSON document is read whole, up to ${max}`,
    hint: 'deliver it as a GeoJSON text sequence (one feature per line), a GeoPackage or a zipped Shapefile',
  }));
  if ('failed' in whole) return whole.failed;
  const { bytes } = whole;
  const encoding = encodingOf(opts, () => detectEncoding(bytes) === 'utf-8', file, problems, warnings);
  const text = decode(bytes, encoding.name);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Several JSON texts, one per line or RS-separated, are a GeoJSON text sequence.
    if (/after JSON|after array|position/i.test((err as Error).message) && /^\s*(\x1e|\{[^\n]*\}\s*\r?\n\s*\{)/.test(text.slice(0, 1 << 20))) return openGeoJsonSeq(filePath, file, opts);
    return failed('geojson', [...problems, parseProblem(err, text, file)], warnings);
  }
  const fs0 = featuresOf(doc);
  if ('problem' in fs0) return failed('geojson', [...problems, { code: 'not_spatial', file, message: fs0.problem }], warnings);

  const topCrs = crsMemberName(doc);
  let bbox: Bbox | null = null;
  fs0.features.forEach((f, i) => {
    bbox = extendBbox(bbox, geometryCoordinates((f as { geometry?: unknown })?.geometry));
    const own = crsMemberName(f);
    if (own !== undefined && !sameCrs(own, topCrs ?? 'CRS84')) {
      problems.push({ code: 'crs_mixed', file, feature: i, message: `feature ${i} declares the CRS '${own}', the file ${topCrs ? `'${topCrs}'` : 'none (CRS84)'}`, hint: 'deliver one layer in one coordinate system' });
    }
  });
  const crs = resolveCrs(fileCrs(topCrs), { srid: opts.srid, bbox, file, problems });
  const features = fs0.features;
  async function* read(): AsyncGenerator<ImportFeature> {
    for (let i = 0; i < features.length; i++) yield toFeature(features[i], i, file, problems);
  }
  return { format: 'geojson', crs, encoding, problems, warnings, bbox, features: checkedFeatures(read, problems, opts, file, () => undefined), close: async () => undefined };
}

/** JSON texts of a sequence with the line each starts on: RS-separated (RFC 8142) or newline-delimited. */
async function* records(filePath: string, encoding: string): AsyncGenerator<{ text: string; line: number }> {
  const stream = fs.createReadStream(filePath);
  const utf8 = encoding === 'utf-8' ? new StringDecoder('utf8') : undefined;
  const other = utf8 ? undefined : iconv.getDecoder(encoding);
  let buf = '';
  let line = 1; // line of buf's first character
  let rs: boolean | undefined;
  const split = function* (final: boolean) {
    if (rs === undefined) {
      const m = /\S/.exec(buf.replace(/^\uFEFF/, ''));
      if (!m && !final) return;
      rs = m?.[0] === '\x1e';
    }
    const sep = rs ? '\x1e' : '\n';
    let at: number;
    while ((at = buf.indexOf(sep)) >= 0 || (final && buf.length)) {
      const piece = at >= 0 ? buf.slice(0, at) : buf;
      buf = at >= 0 ? buf.slice(at + 1) : '';
      const startLine = line + (/^\s*/.exec(piece)![0].match(/\n/g)?.length ?? 0);
      line += (piece.match(/\n/g)?.length ?? 0) + (sep === '\n' && at >= 0 ? 1 : 0);
      const text = piece.replace(/^\uFEFF/, '').trim();
      if (text) yield { text, line: startLine };
    }
  };
  for await (const chunk of stream) {
    buf += utf8 ? utf8.write(chunk as Buffer) : other!.write(chunk as Buffer);
    yield* split(false);
  }
  buf += utf8 ? utf8.end() : (other!.end() ?? '');
  yield* split(true);
}

/** A GeoJSON text sequence, streamed. */
export async function openGeoJsonSeq(filePath: string, file: string, opts: ImportOptions): Promise<ImportSource> {
  const problems: ImportProblem[] = [];
  const warnings: ImportProblem[] = [];
  if (fs.statSync(filePath).size === 0) return failed('geojsonseq', [{ code: 'file_empty', file, message: 'the file is empty' }]);
  const v = utf8Validator();
  if (!opts.encoding) for await (const chunk of fs.createReadStream(filePath)) v.push(chunk as Buffer);
  const encoding = encodingOf(opts, () => v.valid(), file, problems, warnings);

  // First pass: extent and `crs` members (the CRS must be known before the first feature is handed out).
  let bbox: Bbox | null = null;
  let firstCrs: string | undefined;
  let seen = false;
  let n = 0;
  for await (const r of records(filePath, encoding.name)) {
    let o: unknown;
    try {
      o = JSON.parse(r.text);
    } catch {
      continue; // reported by the second pass, with its line
    }
    const own = crsMemberName(o);
    if (!seen) {
      firstCrs = own;
      seen = true;
    } else if ((own ?? 'CRS84') !== (firstCrs ?? 'CRS84') && !sameCrs(own ?? 'CRS84', firstCrs ?? 'CRS84')) {
      problems.push({ code: 'crs_mixed', file, feature: n, line: r.line, message: `the record on line ${r.line} declares the CRS '${own ?? 'CRS84'}', the first record '${firstCrs ?? 'CRS84'}'`, hint: 'deliver one layer in one coordinate system' });
    }
    const g = (o as { type?: string; geometry?: unknown })?.type === 'Feature' ? (o as { geometry?: unknown }).geometry : o;
    bbox = extendBbox(bbox, geometryCoordinates(g));
    n++;
  }
  const crs = resolveCrs(fileCrs(firstCrs), { srid: opts.srid, bbox, file, problems });
  async function* read(): AsyncGenerator<ImportFeature> {
    let index = 0;
    for await (const r of records(filePath, encoding.name)) {
      let o: unknown;
      try {
        o = JSON.parse(r.text);
      } catch (err) {
        problems.push({ ...parseProblem(err, r.text, file, r.line), feature: index });
        continue;
      }
      const fs1 = featuresOf(o);
      if ('problem' in fs1) {
        problems.push({ code: 'geojson_invalid', file, line: r.line, feature: index, message: fs1.problem });
        continue;
      }
      for (const f of fs1.features) yield toFeature(f, index++, file, problems, r.line);
    }
  }
  return { format: 'geojsonseq', crs, encoding, problems, warnings, bbox, features: checkedFeatures(read, problems, opts, file, () => undefined), close: async () => undefined };
}
