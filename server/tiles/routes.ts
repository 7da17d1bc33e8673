// /tiles: TileJSON 3.0 per layer and its vector tiles, gzip-compressed, cached in memory per
// layer data version (a write bumps the version: old tiles are never served as current). Working
// data: staff only (identify runs before, with its short cache of credentials). Mounted before the
// service's compression and request log: a tile carries its own encoding and headers, and is
// written straight to the socket. Its z/x/y are the handler's to check (400
// tile_out_of_range); the contract's own validation of them is text only (well under a µs).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Request } from 'express';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import type { Catalog } from '../layers/catalog';
import type { Layer } from '../layers/registry';
import { checkedText, layerIdParam } from '../layers/params';
import { Routes, type RoutesOptions } from '../platform/contract';
import { badRequest, messages, notFound } from '../platform/errors';
import { renderTile, TILE_MAXZOOM, tileStatement } from './mvt';

export const gzip = promisify(zlib.gzip);
export const gunzip = promisify(zlib.gunzip);
export const MVT_TYPE = 'application/vnd.mapbox-vector-tile';
/**
 * gzip level for tiles. MVT is dense protobuf: level 6 makes a 1.5 MB tile only ~6 % smaller than
 * level 1 but takes twice the CPU (40 ms against 18 ms), CPU that PostGIS needs on a small machine.
 */
export const GZIP_LEVEL = 1;
/** Zooms the server renders (tiles/mvt.ts); the viewer over-zooms beyond it. */
export { TILE_MAXZOOM };
export const MAX_Z = 22;
/** Shown when a layer is empty: Datong's districts, CRS84 degrees. */
export const DATONG_BBOX = [112.5, 39, 114.6, 40.8] as const;

/** TileJSON 3.0.0 of one layer (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0). */
export const TileJson = z
  .object({
    tilejson: z.literal('3.0.0'),
    name: z.string(),
    description: z.string(),
    version: z.string().describe('<revision>.<data version>'),
    attribution: z.string(),
    scheme: z.literal('xyz'),
    tiles: z.array(z.string()).describe('the tile URL template; its ?v= is the data version'),
    minzoom: z.number().int(),
    maxzoom: z.number().int(),
    bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]),
    center: z.tuple([z.number(), z.number(), z.number()]),
    vector_layers: z.array(
      z.object({
        id: z.string(),
        description: z.string(),
        minzoom: z.number().int(),
        maxzoom: z.number().int(),
        fields: z.record(z.string(), z.enum(['Number', 'String', 'Boolean'])),
      }),
    ),
  })
  .meta({ id: 'TileJSON' });

/** The attributes a layer's tiles carry, as TileJSON's vector_layers fields say them. */
export function tileFields(layer: Layer): Record<string, 'Number' | 'String' | 'Boolean'> {
  const fields: Record<string, 'Number' | 'String' | 'Boolean'> = { fid: 'Number', code: 'String' };
  for (const a of layer.attributes) fields[a.name] = a.type === 'integer' || a.type === 'number' ? 'Number' : a.type === 'boolean' ? 'Boolean' : 'String';
  if (layer.geometry === 'MultiPolygon') fields.area_m2 = 'Number';
  return fields;
}

/** Whether the client takes gzip: the common header needs no parsing; one with q-values goes to negotiation. */
export function acceptsGzip(req: Request): boolean {
  const h = req.headers['accept-encoding'];
  if (!h || !/\bgzip\b/.test(h)) return false;
  return !h.includes('q=') || req.acceptsEncodings('gzip') === 'gzip';
}

export interface TileOptions extends RoutesOptions {
  cacheMb: number;
  publicUrl?: string;
}

/** A tile index: digits, checked by the handler against the zoom (400 tile_out_of_range). */
const tileIndex = (json: Record<string, unknown>, description: string) => checkedText({ type: 'integer', ...json }, description);

/** The z/x/y path parameters of a tile route (text, checked by tileAddress). */
export const tileAddressParams = () => ({
  z: tileIndex({ minimum: 0, maximum: MAX_Z }, 'zoom'),
  x: tileIndex({ minimum: 0 }, 'column, below 2^z'),
  y: tileIndex({ minimum: 0 }, 'row, below 2^z'),
});

/** A tile's z/x/y from its path parameters: 400 tile_out_of_range unless a tile of the Web Mercator matrix up to MAX_Z. */
export function tileAddress(params: { z: string; x: string; y: string }): [number, number, number] {
  const [z, x, y] = [params.z, params.x, params.y].map((v) => (/^\d{1,8}$/.test(v) ? Number(v) : -1));
  if (z < 0 || z > MAX_Z || x < 0 || y < 0 || x >= 2 ** z || y >= 2 ** z) {
    throw badRequest('tile_out_of_range', messages.tileOutOfRange(z, x, y), { z: params.z, x: params.x, y: params.y });
  }
  return [z, x, y];
}

export function tilesRoutes(catalog: Catalog, knex: Knex, opts: TileOptions): Routes {
  const routes = new Routes('/tiles', ['Tiles'], opts);
  const layerParam = layerIdParam(catalog.registry);
  const statements = new Map(catalog.registry.layers.map((l) => [l.id, tileStatement(l)]));
  const cache = new LRUCache<string, Buffer>({ maxSize: Math.max(1, opts.cacheMb) * 1024 * 1024, sizeCalculation: (b) => b.length + 64 });
  const useCache = opts.cacheMb > 0;
  // Drop a layer's cached tiles as soon as its data changes.
  catalog.versions.onChange((layerId) => {
    for (const k of cache.keys()) if (k.startsWith(`${layerId}/`)) cache.delete(k);
  });
  const base = (req: Request) => opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
  const read = opts.reader ?? (() => knex);

  routes.route(
    {
      method: 'get',
      path: '/:layerId.json',
      summary: 'TileJSON 3.0 of a layer',
      access: guard.staff,
      params: z.object({ layerId: layerParam }),
      responses: { 200: { description: 'TileJSON; its tiles URL carries the data version', schema: TileJson } },
      errors: [404],
    },
    async ({ req, res, params }) => {
      const layer = catalog.layer(params.layerId);
      if (!layer) throw notFound('unknown_layer', messages.unknownLayer(params.layerId), { layerId: params.layerId });
      const d = await catalog.data(layer);
      const [w, s, e, n] = d.extent ?? DATONG_BBOX;
      const fields = tileFields(layer);
      res.set('Cache-Control', 'no-cache');
      return {
        tilejson: '3.0.0',
        name: layer.title.zh,
        description: `${layer.title.en} (${layer.standard})`,
        version: `${d.revision}.${d.version}`,
        attribution: '大同市五规合一一张图',
        scheme: 'xyz',
        tiles: [`${base(req)}/tiles/${layer.id}/{z}/{x}/{y}.mvt?v=${d.version}`],
        minzoom: 0,
        maxzoom: TILE_MAXZOOM,
        bounds: [w, s, e, n],
        center: [(w + e) / 2, (s + n) / 2, 8],
        vector_layers: [{ id: layer.id, description: layer.title.zh, minzoom: 0, maxzoom: TILE_MAXZOOM, fields }],
      } satisfies z.output<typeof TileJson>;
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:layerId/:z/:x/:y.mvt',
      summary: 'Mapbox Vector Tile of a layer (Web Mercator tile matrix)',
      access: guard.staff,
      params: z.object({ layerId: layerParam, ...tileAddressParams() }),
      query: z.object({ v: checkedText({ type: 'integer' }, 'data version (from the TileJSON); the current one makes the tile cacheable for a year').optional() }),
      responses: {
        200: { description: 'the tile, gzip-compressed when the client takes it', type: MVT_TYPE, headers: { ETag: 'the layer and its data version', 'Cache-Control': 'private; immutable with the current ?v=, else max-age=0' } },
        304: { description: 'not modified (If-None-Match)' },
      },
      errors: [404],
    },
    async ({ req, res, params, query }) => {
      const { layerId } = params;
      const stmt = statements.get(layerId);
      if (!stmt) throw notFound('unknown_layer', messages.unknownLayer(layerId), { layerId });
      const [z, x, y] = tileAddress(params);
      const version = catalog.versions.get(layerId);
      const etag = `W/"${layerId}-${version}"`;
      const headers: Record<string, string | number> = {
        'Content-Type': MVT_TYPE,
        // private: working data, for the account's browser only (never a shared cache's, which would hand it to anyone)
        'Cache-Control': query.v === String(version) ? 'private, max-age=31536000, immutable' : 'private, max-age=0, must-revalidate',
        ETag: etag,
        Vary: 'Accept-Encoding',
      };
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();

      const key = `${layerId}/${version}/${z}/${x}/${y}`;
      let gz = useCache ? cache.get(key) : undefined;
      if (!gz) {
        // From a replica only if it has replayed the version the tile is cached under (read above).
        gz = await gzip(await renderTile(read(res, [layerId]), stmt, z, x, y), { level: GZIP_LEVEL });
        // Only cache when the version did not move while rendering.
        if (useCache && catalog.versions.get(layerId) === version) cache.set(key, gz);
      }
      // Written straight to the socket: this is the hot path a cached map pan hits hundreds of times.
      const body = acceptsGzip(req) ? gz : await gunzip(gz);
      if (body === gz) headers['Content-Encoding'] = 'gzip';
      headers['Content-Length'] = body.length;
      res.writeHead(200, headers).end(body);
    },
  );

  return routes;
}
