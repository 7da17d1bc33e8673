// Feature queries for /collections/{id}/items: GeoJSON built in PostGIS (one JSON text per feature,
// joined without re-parsing), identifiers from the registry only, every value bound. Where the
// features are is a FeatureSource: a working layer's table (here), or a release's copy of its
// pinned content (releases/features.ts).
import type { Knex } from 'knex';
import { z } from 'zod';
import type { AttributeType, Layer } from '../layers/registry';
import { param } from '../platform/contract';
import { layerTable, quoteIdent } from '../platform/sql';
import { INT32 } from '../platform/values';
import { type Crs, outputGeometrySql } from './crs';
import type { CheckedFilter } from './filter';

export interface FeatureQuery {
  crs: Crs;
  /** bbox in bboxCrs axis order. */
  bbox?: [number, number, number, number];
  bboxCrs: Crs;
  /** Attribute (or 'code') → typed value, exact match. */
  filters: Map<string, Knex.Value>;
  /** A CQL2 filter (filter.ts), checked against the layer. */
  filter?: CheckedFilter;
  /** Sort keys (queryables other than the geometry), then fid. */
  sortby?: { name: string; desc: boolean }[];
  /** The properties each feature carries (default: all). */
  properties?: string[];
  /** datetime: the layer's temporal attribute within these dates (YYYY-MM-DD, each end optional, inclusive). */
  datetime?: { attribute: string; from?: string; to?: string };
  limit: number;
  offset: number;
}

/** The names a layer can be filtered by: its class code and its attributes. */
export const filterableNames = (layer: Layer) => ['code', ...layer.attributes.map((a) => a.name)];

/** A filter value of each registry type, parsed from text as platform/values.ts says (a date must exist). */
const filterValue: Record<AttributeType, () => z.ZodType<Knex.Value, string>> = {
  text: () => param.text(),
  // PostgreSQL integer and double precision columns: a value outside them would be the database's error.
  integer: () => param.int(-INT32 - 1, INT32),
  number: () => param.number(-Infinity, Infinity),
  boolean: () => param.bool(),
  date: () => param.date(),
};

/** The query schema of a layer's exact-match filters (`?code=010`, `?grid_date=2019-06-30`), each parsed by its type. */
export function filterSchema(layer: Layer) {
  const shape: Record<string, z.ZodOptional<z.ZodType<Knex.Value, string>>> = { code: filterValue.text().optional() };
  for (const a of layer.attributes) shape[a.name] = filterValue[a.type]().optional();
  return z.object(shape);
}

/**
 * Where a layer's features are read from, as alias `t` with the columns fid, code, geom (EPSG:4490)
 * and area_m2, and each attribute as an SQL expression of its registry type.
 */
export interface FeatureSource {
  /** The FROM item, aliased t. */
  from: string;
  /** Conditions every row of the layer meets there (e.g. its release and layer), with their bindings. */
  where?: { sql: string; bindings: Knex.Value[] };
  /** The SQL expression of an attribute (or 'code'), typed as the registry says. */
  column(name: string): string;
}

/** A working layer's own table (plan.<layer>): one column per attribute. */
export const tableSource = (layer: Layer): FeatureSource => ({ from: `${layerTable(layer.id)} t`, column: (name) => `t.${quoteIdent(name)}` });

/** The SQL expression of a property (code, an attribute, area_m2) over a source. */
const propertySql = (source: FeatureSource, name: string) => (name === 'area_m2' ? 't.area_m2' : name === 'code' ? 't.code' : source.column(name));

/** SELECT list producing one GeoJSON Feature text per row (with only `only` of its properties when given). */
function featureJsonSql(layer: Layer, crs: Crs, source: FeatureSource, only?: string[]): string {
  const all: [string, string][] = [
    ['code', 't.code'],
    ...layer.attributes.map((a): [string, string] => [a.name, source.column(a.name)]),
    ...(layer.geometry === 'MultiPolygon' ? [['area_m2', 'round(t.area_m2::numeric, 2)'] as [string, string]] : []),
  ];
  // Names and expressions from the registry; `only` holds registry names (checked by the route).
  const props = all.filter(([name]) => !only || only.includes(name)).map(([name, sql]) => `'${name}', ${sql}`);
  return `json_build_object('type', 'Feature', 'id', t.fid,
    'geometry', ST_AsGeoJSON(${outputGeometrySql(crs)}, ${crs.decimals})::json,
    'properties', json_build_object(${props.join(', ')}))::text AS feature`;
}

/** WHERE clause and bindings for the source's own conditions and a query's bbox and attribute filters. */
function whereSql(q: FeatureQuery, source: FeatureSource): { sql: string; bindings: Knex.Value[] } {
  const parts: string[] = source.where ? [source.where.sql] : [];
  const bindings: Knex.Value[] = source.where ? [...source.where.bindings] : [];
  if (q.bbox) {
    const [a, b, c, d] = q.bbox;
    // Back to x,y order, then the box (densified: a projected box is not a lon/lat box) into EPSG:4490.
    const [xmin, ymin, xmax, ymax] = q.bboxCrs.northFirst ? [b, a, d, c] : [a, b, c, d];
    const env = `ST_Transform(ST_Segmentize(ST_MakeEnvelope(?, ?, ?, ?, ${q.bboxCrs.srid}), ?), 4490)`;
    parts.push(`t.geom && ${env} AND ST_Intersects(t.geom, ${env})`);
    const seg = Math.max(xmax - xmin, ymax - ymin) / 16 || 1;
    bindings.push(xmin, ymin, xmax, ymax, seg, xmin, ymin, xmax, ymax, seg);
  }
  for (const [name, value] of q.filters) {
    parts.push(`${name === 'code' ? 't.code' : source.column(name)} = ?`);
    bindings.push(value);
  }
  if (q.datetime) {
    const column = source.column(q.datetime.attribute);
    if (q.datetime.from) {
      parts.push(`${column} >= ?::date`);
      bindings.push(q.datetime.from);
    }
    if (q.datetime.to) {
      parts.push(`${column} <= ?::date`);
      bindings.push(q.datetime.to);
    }
    if (!q.datetime.from && !q.datetime.to) parts.push(`${column} IS NOT NULL`);
  }
  if (q.filter) {
    const f = q.filter.sql(source);
    parts.push(f.sql);
    bindings.push(...f.bindings);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', bindings };
}

/** One page of features as GeoJSON texts, plus the number matched. */
export async function queryFeatures(knex: Knex, layer: Layer, q: FeatureQuery, source = tableSource(layer)): Promise<{ features: string[]; matched: number }> {
  const where = whereSql(q, source);
  const [page, count] = await Promise.all([
    knex.raw<{ rows: { feature: string }[] }>(
      `SELECT ${featureJsonSql(layer, q.crs, source, q.properties)} FROM ${source.from} ${where.sql} ORDER BY ${orderSql(q, source)} LIMIT ? OFFSET ?`,
      [...where.bindings, q.limit, q.offset],
    ),
    knex.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM ${source.from} ${where.sql}`, where.bindings),
  ]);
  return { features: page.rows.map((r) => r.feature), matched: Number(count.rows[0].n) };
}

/** ORDER BY of a page: the sort keys (nulls last ascending, first descending, as PostgreSQL does), then fid. */
function orderSql(q: FeatureQuery, source: FeatureSource): string {
  return [...(q.sortby ?? []).map((k) => `${propertySql(source, k.name)}${k.desc ? ' DESC' : ''}`), 't.fid'].join(', ');
}

/** One feature as GeoJSON text, or undefined. */
export async function queryFeature(knex: Knex, layer: Layer, fid: number, crs: Crs, source = tableSource(layer)): Promise<string | undefined> {
  const where = source.where ? `${source.where.sql} AND ` : '';
  const r = await knex.raw<{ rows: { feature: string }[] }>(`SELECT ${featureJsonSql(layer, crs, source)} FROM ${source.from} WHERE ${where}t.fid = ?`, [
    ...(source.where?.bindings ?? []),
    fid,
  ]);
  return r.rows[0]?.feature;
}
