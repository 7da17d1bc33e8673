// /tiles: TileJSON 3.0 per layer and its vector tiles, gzip-compressed, cached in memory per
// layer data version (a write bumps the version: old tiles are never served as current).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import type { Catalog } from '../layers/catalog';
import { badRequest, messages, notFound } from '../platform/errors';
import { renderTile, tileStatement } from './mvt';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
export const MVT_TYPE = 'application/vnd.mapbox-vector-tile';
/**
 * gzip level for tiles. MVT is dense protobuf: level 6 makes a 1.5 MB tile only ~6 % smaller than
 * level 1 but takes twice the CPU (40 ms against 18 ms), CPU that PostGIS needs on a small machine.
 */
const GZIP_LEVEL = 1;
/** Zooms the server renders; the viewer over-zooms beyond TILE_MAXZOOM. */
export const TILE_MAXZOOM = 16;
const MAX_Z = 22;

/** Whether the client takes gzip: the common header needs no parsing; one with q-values goes to negotiation. */
function acceptsGzip(req: Request): boolean {
  const h = req.headers['accept-encoding'];
  if (!h || !/\bgzip\b/.test(h)) return false;
  return !h.includes('q=') || req.acceptsEncodings('gzip') === 'gzip';
}

export interface TileOptions {
  cacheMb: number;
  publicUrl?: string;
}

export function tilesRouter(catalog: Catalog, knex: Knex, opts: TileOptions): Router {
  const r = Router();
  const statements = new Map(catalog.registry.layers.map((l) => [l.id, tileStatement(l)]));
  const cache = new LRUCache<string, Buffer>({ maxSize: Math.max(1, opts.cacheMb) * 1024 * 1024, sizeCalculation: (b) => b.length + 64 });
  const useCache = opts.cacheMb > 0;
  // Drop a layer's cached tiles as soon as its data changes.
  catalog.versions.onChange((layerId) => {
    for (const k of cache.keys()) if (k.startsWith(`${layerId}/`)) cache.delete(k);
  });
  const base = (req: Request) => opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;

  r.get('/:layerId.json', async (req, res) => {
    const layer = catalog.layer(req.params.layerId);
    if (!layer) throw notFound('unknown_layer', messages.unknownLayer(req.params.layerId), { layerId: req.params.layerId });
    const d = await catalog.data(layer);
    const [w, s, e, n] = d.extent ?? [112.5, 39, 114.6, 40.8];
    const fields: Record<string, string> = { fid: 'Number', code: 'String' };
    for (const a of layer.attributes) fields[a.name] = a.type === 'integer' || a.type === 'number' ? 'Number' : a.type === 'boolean' ? 'Boolean' : 'String';
    if (layer.geometry === 'MultiPolygon') fields.area_m2 = 'Number';
    res.set('Cache-Control', 'no-cache').json({
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
    });
  });

  r.get('/:layerId/:z/:x/:y.mvt', async (req, res) => {
    const { layerId } = req.params;
    const stmt = statements.get(layerId);
    if (!stmt) throw notFound('unknown_layer', messages.unknownLayer(layerId), { layerId });
    const [z, x, y] = [req.params.z, req.params.x, req.params.y].map((v) => (/^\d{1,8}$/.test(v) ? Number(v) : -1));
    if (z < 0 || z > MAX_Z || x < 0 || y < 0 || x >= 2 ** z || y >= 2 ** z) {
      throw badRequest('tile_out_of_range', messages.tileOutOfRange(z, x, y), { z: req.params.z, x: req.params.x, y: req.params.y });
    }
    const version = catalog.versions.get(layerId);
    const etag = `W/"${layerId}-${version}"`;
    const headers: Record<string, string | number> = {
      'Content-Type': MVT_TYPE,
      'Cache-Control': req.query.v === String(version) ? 'public, max-age=31536000, immutable' : 'public, max-age=0, must-revalidate',
      ETag: etag,
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();

    const key = `${layerId}/${version}/${z}/${x}/${y}`;
    let gz = useCache ? cache.get(key) : undefined;
    if (!gz) {
      gz = await gzip(await renderTile(knex, stmt, z, x, y), { level: GZIP_LEVEL });
      // Only cache when the version did not move while rendering.
      if (useCache && catalog.versions.get(layerId) === version) cache.set(key, gz);
    }
    // Written straight to the socket: this is the hot path a cached map pan hits hundreds of times.
    const body = acceptsGzip(req) ? gz : await gunzip(gz);
    if (body === gz) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers).end(body);
  });

  return r;
}
