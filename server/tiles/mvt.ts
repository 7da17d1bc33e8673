// Mapbox Vector Tiles straight from PostGIS (ST_AsMVT). One statement per layer, built once at
// start-up from the registry (identifiers quoted through the one path), with z/x/y and the
// per-zoom tolerances bound as parameters.
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { layerTable, quoteIdent } from '../platform/sql';

/** Tile extent (MVT units per tile side) and buffer (units) around it. */
export const EXTENT = 4096;
export const BUFFER = 64;
/** Web Mercator: metres across the whole world at zoom 0. */
const WORLD_M = 40075016.685578488;

/**
 * The tile statement of a layer. Geometry is transformed to Web Mercator, simplified to a
 * quarter of an MVT unit (invisible at this zoom, so low zooms stay small), and, for polygons,
 * features smaller than one MVT unit² are left out (they would be sub-pixel). The bounding-box
 * filter runs in EPSG:4490 so the GiST index on geom is used.
 */
export function tileSql(layer: Layer): string {
  const attrs = layer.attributes.map((a) => (a.type === 'date' ? `t.${quoteIdent(a.name)}::text AS ${quoteIdent(a.name)}` : `t.${quoteIdent(a.name)}`));
  const isPoint = layer.geometry === 'Point';
  const geom = isPoint ? 'ST_Transform(t.geom, 3857)' : 'ST_Simplify(ST_Transform(t.geom, 3857), :tolerance, true)';
  const polygon = layer.geometry === 'MultiPolygon';
  return `
WITH bounds AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS env,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => ${BUFFER / EXTENT}), 4490) AS env4490
), rows AS (
  SELECT ST_AsMVTGeom(${geom}, b.env, ${EXTENT}, ${BUFFER}, true) AS geom,
         t.fid, t.code${attrs.length ? `, ${attrs.join(', ')}` : ''}${polygon ? ', round(t.area_m2::numeric, 1)::float8 AS area_m2' : ''}
    FROM ${layerTable(layer.id)} t, bounds b
   WHERE t.geom && b.env4490${polygon ? ' AND t.area_m2 >= :min_area_m2' : ''}
)
SELECT ST_AsMVT(rows.*, ${`'${layer.id}'`}, ${EXTENT}, 'geom', 'fid') AS tile FROM rows WHERE geom IS NOT NULL`;
}

/** Runs the tile statement; returns the raw (uncompressed) tile. */
export async function renderTile(knex: Knex, sql: string, z: number, x: number, y: number): Promise<Buffer> {
  const unit = WORLD_M / 2 ** z / EXTENT; // metres (Web Mercator) per MVT unit
  // Mercator inflates areas by 1/cos²φ (≈1.7 at Datong's 40°N); area_m2 is true ground area,
  // so one unit² in Mercator is about unit²/1.7 on the ground: a conservative cut.
  const r = await knex.raw<{ rows: { tile: Buffer }[] }>(sql, { z, x, y, tolerance: unit / 4, min_area_m2: (unit * unit) / 2 });
  return r.rows[0]?.tile ?? Buffer.alloc(0);
}
