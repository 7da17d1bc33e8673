// Mapbox Vector Tiles straight from PostGIS (ST_AsMVT). One statement per layer, built once at
// start-up from the registry (identifiers quoted through the one path), with z/x/y and the
// per-zoom tolerances bound as parameters. A layer's rows come from a TileSource: its working table
// (here), or a release's copy of its pinned content (releases/mvt.ts), by the same rules.
import type { Knex } from 'knex';
import type pg from 'pg';
import type { Layer } from '../layers/registry';
import { layerTable, quoteIdent } from '../platform/sql';

/** Tile extent (MVT units per tile side) and buffer (units) around it. */
export const EXTENT = 4096;
export const BUFFER = 64;
/** Zoom from which tiles carry every attribute (below it: fid, code and the label attribute). */
export const ATTRIBUTES_MINZOOM = 12;
/** Web Mercator: metres across the whole world at zoom 0. */
const WORLD_M = 40075016.685578488;
/** Zooms the server renders; the viewer over-zooms beyond TILE_MAXZOOM. */
export const TILE_MAXZOOM = 16;
/** The tile's envelope with its buffer, in EPSG:4490 (where the GiST indexes are); :z, :x, :y bound. */
export const TILE_ENVELOPE_4490 = `ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => ${BUFFER / EXTENT}), 4490)`;

/**
 * Where a layer's rows are, as alias `t` with the columns fid, code, geom (EPSG:4490) and area_m2,
 * and each attribute as an SQL expression of its registry type; `where` may use the named
 * parameters of TileParams (e.g. :release).
 */
export interface TileSource {
  from: string;
  where?: string;
  column(name: string): string;
}

/** A working layer's own table. */
export const tableTileSource = (layer: Layer): TileSource => ({ from: `${layerTable(layer.id)} t`, column: (name) => `t.${quoteIdent(name)}` });

/**
 * The tile statement of a layer. Geometry is transformed to Web Mercator, simplified to a
 * quarter of a pixel (invisible at this zoom, so low zooms stay small), and, for polygons,
 * features under :min_area_m2 are left out (specks, see tileParams). The bounding-box filter runs
 * in EPSG:4490 so the GiST index on geom is used.
 *
 * At the top zoom of a pyramid (:whole) every feature is kept, since clients over-zoom that tile:
 * no speck filter, and a polygon that collapses at the tile's precision (a sliver thinner than a
 * unit) is drawn as a small square (a quarter pixel each way) at its point on surface, when that
 * point is in the tile.
 *
 * The aggregate is ordered by fid. That makes a tile byte-for-byte repeatable, and it keeps
 * PostgreSQL from splitting ST_AsMVT into parallel partial aggregates: combined, those come out as
 * several layers of the same name, and a client reading the tile sees only one of them (PostGIS
 * 3.3, seen on the large data set). The scan below still runs in parallel.
 */
export function tileSql(layer: Layer, source = tableTileSource(layer)): string {
  // Attributes ride along from ATTRIBUTES_MINZOOM on (the label attribute always): below it a
  // tile needs only what it is drawn by, and unique values (parcel numbers, areas) would
  // dominate its size. ST_AsMVT leaves NULL properties out.
  const attr = (name: string, expr: string) =>
    name === layer.style.labelAttribute ? `${expr} AS ${quoteIdent(name)}` : `CASE WHEN :z >= ${ATTRIBUTES_MINZOOM} THEN ${expr} END AS ${quoteIdent(name)}`;
  const attrs = layer.attributes.map((a) => attr(a.name, a.type === 'date' ? `(${source.column(a.name)})::text` : source.column(a.name)));
  if (layer.geometry === 'MultiPolygon') attrs.push(attr('area_m2', 'round(t.area_m2::numeric, 1)::float8'));
  const isPoint = layer.geometry === 'Point';
  const geom = isPoint ? 'ST_Transform(t.geom, 3857)' : 'ST_Simplify(ST_Transform(t.geom, 3857), :tolerance, true)';
  const polygon = layer.geometry === 'MultiPolygon';
  const mvtGeom = (g: string) => `ST_AsMVTGeom(${g}, b.env, ${EXTENT}, ${BUFFER}, true)`;
  const drawn = polygon
    ? `COALESCE(${mvtGeom(geom)}, CASE WHEN :whole AND ST_Intersects(ST_PointOnSurface(t.geom), b.env4490) THEN ${mvtGeom('ST_Expand(ST_Transform(ST_PointOnSurface(t.geom), 3857), :tolerance)')} END)`
    : mvtGeom(geom);
  return `
WITH bounds AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS env, ${TILE_ENVELOPE_4490} AS env4490
), rows AS (
  SELECT ${drawn} AS geom,
         t.fid, t.code${attrs.length ? `, ${attrs.join(', ')}` : ''}
    FROM ${source.from}, bounds b
   WHERE ${source.where ? `${source.where} AND ` : ''}t.geom && b.env4490${polygon ? ' AND t.area_m2 >= :min_area_m2' : ''}
)
SELECT ST_AsMVT(rows.*, ${`'${layer.id}'`}, ${EXTENT}, 'geom', 'fid' ORDER BY rows.fid) AS tile FROM rows WHERE geom IS NOT NULL`;
}

/** A tile shows at 512 px: this many MVT units make one screen pixel. */
const UNITS_PER_PIXEL = EXTENT / 512;

/**
 * The values bound into a tile statement. Simplification tolerance: a quarter pixel (invisible).
 * Smallest polygon kept: 1.5 × 1.5 pixels on screen; smaller ones would be specks, and leaving
 * them out is what keeps a z8 tile of 300,000 parcels small. Mercator inflates areas by 1/cos²φ
 * (≈ 1.7 at Datong's 40°N) and area_m2 is ground area, hence the division. At the pyramid's top
 * zoom (`maxZoom`: the service's TILE_MAXZOOM, or an archive's own) nothing is left out (`whole`).
 */
export function tileParams(z: number, x: number, y: number, maxZoom = TILE_MAXZOOM) {
  const unit = WORLD_M / 2 ** z / EXTENT; // Web Mercator metres per MVT unit
  const pixel = unit * UNITS_PER_PIXEL;
  const whole = z >= maxZoom;
  return { z, x, y, tolerance: pixel / 4, min_area_m2: whole ? 0 : (1.5 * pixel) ** 2 / 1.7, whole };
}

/** The Web Mercator tile [x, y] that contains a lon/lat (degrees) at zoom z. */
export function tileContaining(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

export type TileParams = ReturnType<typeof tileParams>;
/** The parameters tileSql names. */
export const TILE_PARAMS: readonly (keyof TileParams)[] = ['z', 'x', 'y', 'tolerance', 'min_area_m2', 'whole'];

/** A tile statement in PostgreSQL's positional form, and the parameter each $n takes; with a name, prepared once per connection. */
export interface TileStatement<P extends object = TileParams> {
  text: string;
  params: (keyof P & string)[];
  name?: string;
}

/** Turns a statement's :named parameters into $1…$n (each name once, reused where it recurs). */
export function positional<P extends object = TileParams>(sql: string, names: readonly (keyof P & string)[] = TILE_PARAMS as never): TileStatement<P> {
  const params: (keyof P & string)[] = [];
  const text = sql.replace(new RegExp(`(?<!:):(${names.join('|')})\\b`, 'g'), (_m, name: keyof P & string) => {
    if (!params.includes(name)) params.push(name);
    return `$${params.indexOf(name) + 1}`;
  });
  return { text, params };
}

/** A layer's tile statement (tileSql over its table) in positional form. */
export const tileStatement = (layer: Layer): TileStatement => positional(tileSql(layer));

/** Runs a tile statement; returns the raw (uncompressed) tile. */
export const renderTile = (knex: Knex, stmt: TileStatement, z: number, x: number, y: number): Promise<Buffer> => runTileStatement(knex, stmt, tileParams(z, x, y));

/** Runs a tile statement with its values; returns the raw (uncompressed) tile (empty when no feature is in it). */
export async function runTileStatement<P extends object>(knex: Knex, stmt: TileStatement<P>, values: P): Promise<Buffer> {
  return (await queryTileStatement<P, { tile: Buffer | null }>(knex, stmt, values))?.tile ?? Buffer.alloc(0);
}

/**
 * Runs a tile statement with its values; returns its one row. A named statement with `generic`
 * runs on the plan PostgreSQL made once for it on that connection (plan_cache_mode, for its own
 * transaction only): a tile statement of many layers costs more to plan than a small tile to
 * render, and the planner does not switch to the generic plan by itself when each custom plan
 * folds away other parts of it.
 */
export async function queryTileStatement<P extends object, R extends object>(knex: Knex, stmt: TileStatement<P>, values: P, opts: { generic?: boolean } = {}): Promise<R | undefined> {
  // Straight on a pooled connection: the statement is already in PostgreSQL's $n form.
  const conn = (await knex.client.acquireConnection()) as pg.PoolClient;
  const query = { text: stmt.text, values: stmt.params.map((k) => values[k]), ...(stmt.name ? { name: stmt.name } : {}) };
  try {
    if (!(opts.generic && stmt.name)) return (await conn.query<R>(query)).rows[0];
    await conn.query('BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan');
    try {
      const r = await conn.query<R>(query);
      await conn.query('COMMIT');
      return r.rows[0];
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => {});
      throw e;
    }
  } finally {
    await knex.client.releaseConnection(conn);
  }
}
