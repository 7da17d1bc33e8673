// /api/layers/{layerId}/export?format=geojson|shapefile|gpkg&revision=N&crs=EPSG:nnnn&encoding=utf8|gbk:
// a layer's current content or any kept revision as a file. Thin: check the request, have GDAL
// write the file (export.ts), stream it, remove it; a client that leaves stops the work.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import type { Catalog } from '../layers/catalog';
import { derivedLayer, messages, notFound } from '../platform/errors';
import { intParam, onlyParams, single } from '../platform/params';
import { log } from '../platform/log';
import { writeExport, type GdalSettings } from './export';
import { parseExportOptions } from './formats';

const PARAMS = ['format', 'crs', 'encoding', 'revision'];
const MAX_REVISION = 2_147_483_647; // layer_revisions.revision is an integer

/** Mounted at /api/layers/:layerId/export (mergeParams: the layer id comes from the mount path). */
export function exportsRouter(catalog: Catalog, knex: Knex, gdal: GdalSettings): Router {
  const r = Router({ mergeParams: true });

  r.get('/', async (req: Request, res) => {
    const id = (req.params as { layerId: string }).layerId;
    const layer = catalog.layer(id);
    if (!layer) throw notFound('unknown_layer', messages.unknownLayer(id), { layerId: id });
    onlyParams(req.query, PARAMS);
    const options = parseExportOptions({ format: single(req.query, 'format'), crs: single(req.query, 'crs'), encoding: single(req.query, 'encoding') });
    const revision = intParam(req.query, 'revision', 1, MAX_REVISION) ?? null;
    if (revision !== null && layer.derived) throw derivedLayer(layer.id);

    // The client leaving (before or during the download) kills ogr2ogr and ends the stream.
    const gone = new AbortController();
    res.on('close', () => { if (!res.writableFinished) gone.abort(); });
    let file;
    try {
      file = await writeExport(knex, gdal, { layer, revision, ...options }, gone.signal);
    } catch (err) {
      if (gone.signal.aborted) return log.info({ layerId: layer.id }, 'export: client left while it was written');
      throw err;
    }
    try {
      res.attachment(file.fileName);
      res.set({ 'Content-Type': file.contentType, 'Content-Length': String(file.size), 'Cache-Control': 'no-store', 'X-Revision': String(file.revision) });
      await pipeline(fs.createReadStream(file.path), res);
    } catch (err) {
      if (!gone.signal.aborted) throw err;
      log.info({ layerId: layer.id }, 'export: client left during the download');
    } finally {
      await file.remove();
    }
  });

  return r;
}
