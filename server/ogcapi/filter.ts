// CQL2 filters on the items of a collection (OGC API – Features Part 3: `filter`, `filter-lang`,
// `filter-crs`). A filter in either encoding — CQL2 text (parsed by the grammar cql2.peggy into
// CQL2 JSON) or CQL2 JSON — is checked against the collection's queryables (the registry: its
// class code, its attributes by their types, area_m2 of a polygon layer, and the geometry) and
// becomes an SQL condition in which every value is a binding and every column comes from the
// FeatureSource: no text of the filter reaches the SQL. A filter that does not parse answers 400
// invalid_filter with the position; an unknown property 400 unknown_queryable; a value of the
// wrong type for its property 400 invalid_filter naming both.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import peggy from 'peggy';
import type { AttributeType, Layer } from '../layers/registry';
import { badRequest } from '../platform/errors';
import { parseDate } from '../platform/values';
import { type Crs, findCrs, supportedCrs } from './crs';
import type { FeatureSource } from './features';

export const FILTER_LANGS = ['cql2-text', 'cql2-json'] as const;
export type FilterLang = (typeof FILTER_LANGS)[number];

/** The conformance classes of Part 3 and of CQL2 the filters meet. */
export const filterConformance = [
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-json',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2',
  'http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators',
  'http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus',
  'http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions',
  'http://www.opengis.net/spec/cql2/1.0/conf/property-property',
];

/** The name of the geometry among a collection's queryables. */
export const GEOMETRY_QUERYABLE = 'geometry';
/** Longest filter text taken (characters), and deepest nesting: beyond them 400, not a slow parse. */
const MAX_FILTER_LENGTH = 100_000;
const MAX_DEPTH = 64;
/** Most values in one IN list. */
const MAX_IN = 10_000;

const parser = peggy.generate(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'cql2.peggy'), 'utf8'));

/** A queryable's type as a filter compares it. */
type ValueType = 'text' | 'number' | 'boolean' | 'date' | 'timestamp' | 'geometry';
const VALUE_TYPE: Record<AttributeType, ValueType> = { text: 'text', integer: 'number', number: 'number', boolean: 'boolean', date: 'date' };

export interface Queryable {
  name: string;
  type: AttributeType | 'geometry';
  title: { zh: string; en: string };
}

/** A collection's queryables: its class code, its attributes, area_m2 (polygons), the geometry. */
export function queryables(layer: Layer): Queryable[] {
  return [
    { name: 'code', type: 'text', title: { zh: `分类代码（${layer.classification.standard}）`, en: `class code (${layer.classification.standard})` } },
    ...layer.attributes.map((a) => ({ name: a.name, type: a.type, title: { zh: a.zh, en: a.en } })),
    ...(layer.geometry === 'MultiPolygon' ? [{ name: 'area_m2', type: 'number' as const, title: { zh: '椭球面积（平方米）', en: 'ellipsoidal area (m²)' } }] : []),
    { name: GEOMETRY_QUERYABLE, type: 'geometry', title: { zh: '几何', en: 'geometry' } },
  ];
}

/** A filter checked against a collection: its SQL for any source of the collection's features. */
export interface CheckedFilter {
  sql(source: FeatureSource): { sql: string; bindings: Knex.Value[] };
}

const invalid = (message: string, details: Record<string, unknown> = {}) => badRequest('invalid_filter', message, { parameter: 'filter', ...details });

/** Parses a filter (400 invalid_filter with the position when it does not parse) and checks it against the layer. */
export function parseFilter(layer: Layer, text: string, lang: string | undefined, crsText: string | undefined): CheckedFilter {
  if (lang !== undefined && !(FILTER_LANGS as readonly string[]).includes(lang)) {
    throw badRequest('invalid_parameter', `filter-lang '${lang}' is not supported; supported: ${FILTER_LANGS.join(', ')}`, { parameter: 'filter-lang' });
  }
  const crs = crsText === undefined ? findCrs('CRS84')! : findCrs(crsText);
  if (!crs) throw badRequest('unsupported_crs', `filter-crs '${crsText}' is not supported; supported: ${supportedCrs.map((c) => c.uri).join(', ')}`, { parameter: 'filter-crs' });
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`the filter has ${text.length} characters; at most ${MAX_FILTER_LENGTH} are taken`);
  let ast: unknown;
  if ((lang ?? 'cql2-text') === 'cql2-text') {
    ast = parseCql2Text(text);
  } else {
    try {
      ast = JSON.parse(text);
    } catch (err) {
      throw invalid(`the cql2-json filter is not JSON: ${(err as Error).message}`);
    }
  }
  const node = new Checker(layer, crs).boolean(ast, '', 0);
  return { sql: (source) => render(node, source, crs.srid) };
}

/** CQL2 text as CQL2 JSON (400 invalid_filter with the position where it stops parsing). */
export function parseCql2Text(text: string): unknown {
  try {
    return parser.parse(text);
  } catch (err) {
    const e = err as peggy.parser.SyntaxError;
    if (!e.location) throw err;
    const { offset, line, column } = e.location.start;
    throw invalid(`the filter does not parse at character ${offset + 1} (line ${line}, column ${column}): ${e.message}`, { position: offset + 1, line, column });
  }
}

// --- the checked tree ---------------------------------------------------------------------------

type Node =
  | { k: 'bool'; op: 'and' | 'or'; args: Node[] }
  | { k: 'not'; arg: Node }
  | { k: 'const'; value: boolean }
  | { k: 'cmp'; op: '=' | '<>' | '<' | '>' | '<=' | '>='; a: Scalar; b: Scalar }
  | { k: 'like'; a: Scalar; pattern: Scalar }
  | { k: 'between'; a: Scalar; lo: Scalar; hi: Scalar }
  | { k: 'in'; a: Scalar; list: Scalar[] }
  | { k: 'null'; a: Scalar }
  | { k: 'spatial'; fn: string; a: Scalar; b: Scalar };

type Scalar =
  | { k: 'prop'; name: string; type: ValueType }
  | { k: 'lit'; value: string | number | boolean; type: ValueType }
  | { k: 'geom'; geojson: string; type: 'geometry' }
  | { k: 'bbox'; box: number[]; type: 'geometry' }
  | { k: 'casei'; arg: Scalar; type: 'text' }
  | { k: 'accenti'; arg: Scalar; type: 'text' };

const COMPARISONS = ['=', '<>', '<', '>', '<=', '>='] as const;
const SPATIAL: Record<string, string> = {
  s_intersects: 'ST_Intersects',
  s_equals: 'ST_Equals',
  s_disjoint: 'ST_Disjoint',
  s_touches: 'ST_Touches',
  s_within: 'ST_Within',
  s_overlaps: 'ST_Overlaps',
  s_crosses: 'ST_Crosses',
  s_contains: 'ST_Contains',
};
const GEOJSON_TYPES = ['Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon', 'GeometryCollection'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
};

class Checker {
  private readonly types: Map<string, ValueType>;
  constructor(
    private readonly layer: Layer,
    private readonly crs: Crs,
  ) {
    this.types = new Map(queryables(layer).map((q) => [q.name, q.type === 'geometry' ? 'geometry' : VALUE_TYPE[q.type]]));
  }

  /** A boolean expression at JSON path `at`. */
  boolean(v: unknown, at: string, depth: number): Node {
    if (depth > MAX_DEPTH) throw invalid(`the filter nests deeper than ${MAX_DEPTH} levels`, { at });
    if (typeof v === 'boolean') return { k: 'const', value: v };
    if (!isObject(v) || typeof v.op !== 'string' || !Array.isArray(v.args)) {
      throw invalid(`expected a boolean expression ({"op": …, "args": […]} or true/false) at ${at || 'the top'}, got ${describe(v)}`, { at });
    }
    const op = v.op;
    const args = v.args as unknown[];
    const arg = (i: number) => `${at}${at ? '.' : ''}args[${i}]`;
    const count = (n: number) => {
      if (args.length !== n) throw invalid(`'${op}' takes ${n} argument${n > 1 ? 's' : ''}, got ${args.length}`, { at: at || 'op' });
    };
    if (op === 'and' || op === 'or') {
      if (args.length < 2) throw invalid(`'${op}' takes two arguments or more, got ${args.length}`, { at: at || 'op' });
      return { k: 'bool', op, args: args.map((a, i) => this.boolean(a, arg(i), depth + 1)) };
    }
    if (op === 'not') {
      count(1);
      return { k: 'not', arg: this.boolean(args[0], arg(0), depth + 1) };
    }
    if ((COMPARISONS as readonly string[]).includes(op)) {
      count(2);
      const a = this.scalar(args[0], arg(0), depth);
      const b = this.scalar(args[1], arg(1), depth);
      this.same(a, b, op, at);
      if (a.type === 'geometry') throw invalid(`'${op}' compares values, not geometries: use S_EQUALS`, { at });
      if (a.type === 'boolean' && op !== '=' && op !== '<>') throw invalid(`'${op}' does not order booleans`, { at });
      return { k: 'cmp', op: op as (typeof COMPARISONS)[number], a, b };
    }
    if (op === 'like') {
      count(2);
      const a = this.scalar(args[0], arg(0), depth);
      const pattern = this.scalar(args[1], arg(1), depth);
      if (a.type !== 'text') throw invalid(`LIKE takes text, and ${this.what(a)} is ${a.type}`, { at: arg(0) });
      if (pattern.type !== 'text' || pattern.k === 'prop') throw invalid('the pattern of LIKE is a character literal', { at: arg(1) });
      return { k: 'like', a, pattern };
    }
    if (op === 'between') {
      count(3);
      const [a, lo, hi] = args.map((x, i) => this.scalar(x, arg(i), depth));
      this.same(a, lo, op, at);
      this.same(a, hi, op, at);
      if (a.type !== 'number' && a.type !== 'date' && a.type !== 'timestamp' && a.type !== 'text') throw invalid(`BETWEEN does not order ${a.type} values`, { at });
      return { k: 'between', a, lo, hi };
    }
    if (op === 'in') {
      count(2);
      const a = this.scalar(args[0], arg(0), depth);
      if (!Array.isArray(args[1]) || args[1].length === 0) throw invalid('IN takes a list of one value or more', { at: arg(1) });
      if (args[1].length > MAX_IN) throw invalid(`IN takes at most ${MAX_IN} values, got ${args[1].length}`, { at: arg(1) });
      const list = (args[1] as unknown[]).map((x, i) => this.scalar(x, `${arg(1)}[${i}]`, depth));
      for (const x of list) this.same(a, x, 'in', at);
      if (a.type === 'geometry') throw invalid('IN compares values, not geometries', { at });
      return { k: 'in', a, list };
    }
    if (op === 'isNull') {
      count(1);
      return { k: 'null', a: this.scalar(args[0], arg(0), depth) };
    }
    if (op in SPATIAL) {
      count(2);
      const a = this.scalar(args[0], arg(0), depth);
      const b = this.scalar(args[1], arg(1), depth);
      for (const [x, i] of [[a, 0], [b, 1]] as const) if (x.type !== 'geometry') throw invalid(`${op.toUpperCase()} takes geometries, and ${this.what(x)} is ${x.type}`, { at: arg(i) });
      return { k: 'spatial', fn: op, a, b };
    }
    throw invalid(`unknown operator '${op}'; supported: and, or, not, ${COMPARISONS.join(' ')}, like, between, in, isNull, ${Object.keys(SPATIAL).join(', ')}`, { at: at || 'op' });
  }

  /** A value (a property, a literal, a geometry, CASEI/ACCENTI of text) at JSON path `at`. */
  scalar(v: unknown, at: string, depth: number): Scalar {
    if (depth > MAX_DEPTH) throw invalid(`the filter nests deeper than ${MAX_DEPTH} levels`, { at });
    if (typeof v === 'string') return { k: 'lit', value: v, type: 'text' };
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid(`${v} is not a finite number`, { at });
      return { k: 'lit', value: v, type: 'number' };
    }
    if (typeof v === 'boolean') return { k: 'lit', value: v, type: 'boolean' };
    if (isObject(v)) {
      if (typeof v.property === 'string') {
        const type = this.types.get(v.property);
        if (!type) {
          throw badRequest('unknown_queryable', `'${v.property}' is not a queryable of ${this.layer.id}; its queryables: ${[...this.types.keys()].join(', ')}`, {
            parameter: 'filter',
            property: v.property,
            at,
          });
        }
        return { k: 'prop', name: v.property, type };
      }
      if (typeof v.date === 'string') {
        if (parseDate(v.date) === undefined) throw invalid(`DATE('${v.date}') is not a calendar date that exists (YYYY-MM-DD)`, { at });
        return { k: 'lit', value: v.date, type: 'date' };
      }
      if (typeof v.timestamp === 'string') {
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v.timestamp) || parseDate(v.timestamp.slice(0, 10)) === undefined || Number.isNaN(Date.parse(v.timestamp))) {
          throw invalid(`TIMESTAMP('${v.timestamp}') is not an instant in UTC (YYYY-MM-DDThh:mm:ssZ)`, { at });
        }
        return { k: 'lit', value: v.timestamp, type: 'timestamp' };
      }
      if (Array.isArray(v.bbox)) {
        const box = v.bbox as unknown[];
        if ((box.length !== 4 && box.length !== 6) || !box.every((n) => typeof n === 'number' && Number.isFinite(n))) throw invalid('a bbox is 4 (or 6) numbers', { at });
        const b = box.length === 6 ? [box[0], box[1], box[3], box[4]] : box;
        return { k: 'bbox', box: this.flipBox(b as number[], at), type: 'geometry' };
      }
      if (typeof v.type === 'string' && GEOJSON_TYPES.includes(v.type)) return { k: 'geom', geojson: JSON.stringify(this.geometry(v, at, 0)), type: 'geometry' };
      if (v.op === 'casei' || v.op === 'accenti') {
        if (!Array.isArray(v.args) || v.args.length !== 1) throw invalid(`'${v.op}' takes 1 argument`, { at });
        const a = this.scalar(v.args[0], `${at}.args[0]`, depth + 1);
        if (a.type !== 'text') throw invalid(`${String(v.op).toUpperCase()} takes text, and ${this.what(a)} is ${a.type}`, { at });
        return { k: v.op, arg: a, type: 'text' };
      }
    }
    throw invalid(`expected a value (a property, a literal, a date, a timestamp, a geometry or a bbox) at ${at}, got ${describe(v)}`, { at });
  }

  /** A GeoJSON geometry with its coordinates checked (finite numbers in the filter CRS's range), flipped to x,y. */
  private geometry(v: Record<string, unknown>, at: string, depth: number): object {
    if (depth > 8) throw invalid('a geometry collection nests too deep', { at });
    if (v.type === 'GeometryCollection') {
      if (!Array.isArray(v.geometries)) throw invalid('a GeometryCollection has geometries', { at });
      return { type: v.type, geometries: v.geometries.map((g, i) => (isObject(g) && typeof g.type === 'string' ? this.geometry(g, `${at}.geometries[${i}]`, depth + 1) : this.bad(at))) };
    }
    const levels: Record<string, number> = { Point: 0, LineString: 1, MultiPoint: 1, Polygon: 2, MultiLineString: 2, MultiPolygon: 3 };
    const walk = (c: unknown, level: number): unknown => {
      if (level === 0) {
        if (!Array.isArray(c) || c.length < 2 || c.length > 3 || !c.every((n) => typeof n === 'number' && Number.isFinite(n))) this.bad(at);
        return this.flipPoint(c as number[], at);
      }
      if (!Array.isArray(c) || c.length === 0) this.bad(at);
      return (c as unknown[]).map((x) => walk(x, level - 1));
    };
    const coordinates = walk(v.coordinates, levels[v.type as string]);
    // What GeoJSON (RFC 7946) asks of lines and rings, which PostGIS would take and then compare wrongly.
    const rings = v.type === 'Polygon' ? [coordinates] : v.type === 'MultiPolygon' ? (coordinates as unknown[]) : [];
    for (const polygon of rings as number[][][][]) {
      for (const ring of polygon) {
        const [a, z] = [ring[0], ring[ring.length - 1]];
        if (ring.length < 4 || a[0] !== z[0] || a[1] !== z[1]) throw invalid(`a polygon's ring has 4 positions or more and ends where it starts, at ${at}`, { at });
      }
    }
    const lines = v.type === 'LineString' ? [coordinates] : v.type === 'MultiLineString' ? (coordinates as unknown[]) : [];
    for (const line of lines as number[][][]) if (line.length < 2) throw invalid(`a line has 2 positions or more, at ${at}`, { at });
    return { type: v.type, coordinates };
  }

  private bad(at: string): never {
    throw invalid(`a geometry's coordinates are not as GeoJSON (or WKT) has them at ${at}`, { at });
  }

  /** A position in the filter CRS (its axis order) as x,y, within the CRS's range. */
  private flipPoint(c: number[], at: string): number[] {
    const [[a0, a1], [b0, b1]] = this.crs.range;
    if (c[0] < a0 || c[0] > a1 || c[1] < b0 || c[1] > b1) throw invalid(`coordinate ${c.join(' ')} is outside [${a0}, ${a1}] × [${b0}, ${b1}] of ${this.crs.uri} (filter-crs)`, { at });
    return this.crs.northFirst ? [c[1], c[0], ...c.slice(2)] : c;
  }

  private flipBox(b: number[], at: string): number[] {
    const [x1, y1] = this.flipPoint([b[0], b[1]], at);
    const [x2, y2] = this.flipPoint([b[2], b[3]], at);
    if (x1 > x2 || y1 > y2) throw invalid('a bbox is minx,miny,maxx,maxy in the axis order of its CRS, min ≤ max', { at });
    return [x1, y1, x2, y2];
  }

  private what(s: Scalar): string {
    return s.k === 'prop' ? `'${s.name}'` : s.k === 'lit' ? JSON.stringify(s.value) : s.k;
  }

  /** Two sides of a comparison are of one type; a text literal beside a date property is read as a date. */
  private same(a: Scalar, b: Scalar, op: string, at: string) {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      if (x.k === 'prop' && x.type === 'date' && y.k === 'lit' && y.type === 'text') {
        if (parseDate(String(y.value)) === undefined) throw invalid(`'${x.name}' is a date, and ${JSON.stringify(y.value)} is not a date that exists (YYYY-MM-DD, or DATE('…'))`, { at, property: x.name });
        (y as { type: ValueType }).type = 'date';
      }
    }
    if (a.type !== b.type) {
      const prop = a.k === 'prop' ? a : b.k === 'prop' ? b : undefined;
      throw invalid(`'${op}' compares ${this.what(a)} (${a.type}) with ${this.what(b)} (${b.type}): they are not of one type`, { at, ...(prop ? { property: prop.name } : {}) });
    }
  }
}

// --- SQL ----------------------------------------------------------------------------------------

const CAST: Record<ValueType, string> = { text: '::text', number: '::float8', boolean: '::boolean', date: '::date', timestamp: '::timestamptz', geometry: '' };

/** The SQL of a checked filter over `source`; geometry literals are in `srid` (x,y order). */
function render(node: Node, source: FeatureSource, srid: number): { sql: string; bindings: Knex.Value[] } {
  const bindings: Knex.Value[] = [];
  const value = (s: Scalar): string => {
    switch (s.k) {
      case 'prop':
        return s.name === GEOMETRY_QUERYABLE ? 't.geom' : s.name === 'area_m2' ? 't.area_m2' : source.column(s.name);
      case 'lit':
        bindings.push(s.value);
        return `?${CAST[s.type]}`;
      case 'geom':
        bindings.push(s.geojson);
        return `ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(?::text), ${srid}), 4490)`;
      case 'bbox':
        bindings.push(...s.box);
        return `ST_Transform(ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, ${srid}), 4490)`;
      case 'casei':
        return `lower(${value(s.arg)})`;
      case 'accenti':
        // Chinese has no accents; Latin accents are kept (PostgreSQL's unaccent is not installed).
        return value(s.arg);
    }
  };
  const walk = (n: Node): string => {
    switch (n.k) {
      case 'bool':
        return `(${n.args.map(walk).join(n.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${walk(n.arg)})`;
      case 'const':
        return n.value ? 'TRUE' : 'FALSE';
      case 'cmp':
        return `(${value(n.a)} ${n.op} ${value(n.b)})`;
      case 'like':
        return `(${value(n.a)} LIKE ${value(n.pattern)})`;
      case 'between':
        return `(${value(n.a)} BETWEEN ${value(n.lo)} AND ${value(n.hi)})`;
      case 'in':
        return `(${value(n.a)} IN (${n.list.map(value).join(', ')}))`;
      case 'null':
        return `(${value(n.a)} IS NULL)`;
      case 'spatial':
        return `${SPATIAL[n.fn]}(${value(n.a)}, ${value(n.b)})`;
    }
  };
  return { sql: walk(node), bindings };
}
