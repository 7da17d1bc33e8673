// /api/layers/{layerId}/export?format=geojson|shapefile|gpkg&revision=N&crs=EPSG:nnnn&encoding=utf8|gbk:
// a layer's current content or any kept revision as a file. Thin: check the request, have GDAL
// write the file (export.ts), stream it, remove it; a client that leaves stops the work.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import type { Catalog } from '../layers/catalog';
import { layerIdParam } from '../layers/params';
import { Routes, type RoutesOptions } from '../platform/contract';
import { log } from '../platform/log';
import { layerOf } from '../revisions/layer';
import { writeExport, type GdalSettings } from './export';
import { FORMAT_SPECS, parseExportOptions } from './formats';
import { ExportedGeoJson, ExportQuery } from './schemas';

/** The routes of /api/layers/{layerId}/export. */
export function exportsRoutes(catalog: Catalog, knex: Knex, gdal: GdalSettings, opts: RoutesOptions = {}): Routes {
  const routes = new Routes('/api/layers/{layerId}/export', ['Revisions'], opts);
  const types = Object.values(FORMAT_SPECS).map((s) => s.contentType);

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'A layer’s current content or any kept revision as a file (server/exports): code, class_zh, every attribute, area_m2 (ellipsoidal m²)',
      access: guard.staff,
      params: z.object({ layerId: layerIdParam(catalog.registry, 'a layer of the registry (the conflicts layer: its current content only)') }),
      query: ExportQuery,
      responses: {
        200: {
          description: `the file, as an attachment named <layer>-r<revision>-<CRS>[-gbk].<ext>: ${types.join(', ')} for geojson, shapefile and gpkg`,
          type: FORMAT_SPECS.geojson.contentType,
          schema: ExportedGeoJson,
          alternatives: types.filter((t) => t !== FORMAT_SPECS.geojson.contentType),
          headers: { 'Content-Disposition': 'attachment; filename=…', 'X-Revision': 'the revision exported (the latest for the current content; 0 when the layer has none)' },
        },
      },
      errors: [404, 409, 500],
    },
    async ({ params, query, res }) => {
      const layer = layerOf(catalog, params.layerId, { delivered: false });
      const options = parseExportOptions(query);
      const revision = query.revision ?? null;
      // A computed layer (conflicts) has its current content, but no revisions.
      if (revision !== null) layerOf(catalog, params.layerId, { delivered: true });

      // The client leaving (before or during the download) kills ogr2ogr and ends the stream.
      const gone = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) gone.abort();
      });
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
    },
  );

  return routes;
}
