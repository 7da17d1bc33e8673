// POST /api/layers/{layerId}/imports: a multipart/form-data upload (the file in the field `file`;
// the fields of ImportFields, schemas.ts) streamed to a temporary file under the size limit
// (upload.ts), then the import pipeline. 201 with the report when a revision was written, 200 for a
// dry run without problems, 422 import_rejected with the full report in `details`, 413 when the
// upload is too large, 404 for an unknown layer, 409 for a computed one, 400 for bad fields (every
// problem listed); 401 without an account and 403 unless a plan_editor of the layer's department or
// an admin, before anything of the upload is read. The temporary file is always deleted.
import fs from 'node:fs';
import type { Knex } from 'knex';
import { z } from 'zod';
import { guard, layerWrite } from '../accounts/authorize';
import type { Catalog } from '../layers/catalog';
import { layerIdParam } from '../layers/params';
import { Routes, validateBody, type RoutesOptions } from '../platform/contract';
import { layerOf } from '../revisions/layer';
import { badUpload, importMessages, importRejected, uploadTooLarge } from './messages';
import { importFile } from './pipeline';
import { ImportFields, ImportRejected, ImportReport, ImportUpload } from './schemas';
import { receiveUpload } from './upload';


export interface ImportsOptions extends RoutesOptions {
  /** Largest upload (MiB, ONEMAP_UPLOAD_MAX_MB). */
  uploadMaxMb: number;
}

const FIELDS = Object.keys(ImportFields.shape);

/** The route of /api/layers/{layerId}/imports. */
export function importsRoutes(catalog: Catalog, knex: Knex, opts: ImportsOptions): Routes {
  const routes = new Routes('/api/layers/{layerId}/imports', ['Revisions'], opts);
  const maxMb = Number(opts.uploadMaxMb);
  const delivered = (id: string) => layerOf(catalog, id, { delivered: true });

  routes.route(
    {
      method: 'post',
      path: '/',
      summary:
        'Imports a delivered file (zipped Shapefile, GeoPackage, GeoJSON (text sequence), boundary-point CSV) as a new revision; every problem is reported and nothing is written when there is one',
      description: 'The revision records the account. A form field left empty counts as not given; another field than these is 400 invalid_upload.',
      // Before the upload is read: a dry run reads the delivery into a database session too.
      access: guard.need(
        (p: { layerId: string }) => layerWrite(delivered(p.layerId), 'import into'),
        'a plan_editor of the layer’s owning department (registry `department`), or an admin; dry runs too',
      ),
      params: z.object({ layerId: layerIdParam(catalog.registry, 'a delivered layer of the registry (the conflicts layer has no imports: 409)') }),
      multipart: ImportUpload,
      responses: {
        200: { description: 'a dry run without problems: the report', schema: ImportReport },
        201: { description: 'the revision written: the report with it', schema: ImportReport },
        422: { description: 'import_rejected: the full report (every problem with its feature index, id, code, message and location) in details; nothing was written', schema: ImportRejected },
      },
      errors: [404, 409, 413],
    },
    async ({ params, req, res, account }) => {
      const layer = delivered(params.layerId);
      const upload = await receiveUpload(req, maxMb * 1024 * 1024);
      try {
        if (upload.tooLarge) throw uploadTooLarge(maxMb);
        for (const k of Object.keys(upload.fields)) if (!FIELDS.includes(k)) throw badUpload(importMessages.unknownField(k, FIELDS), { field: k });
        if (!upload.file) throw badUpload(importMessages.noFile);
        const given = Object.fromEntries(Object.entries(upload.fields).filter(([, v]) => v !== ''));
        const fields = validateBody(ImportFields, given, 'invalid_parameter');
        const report = await importFile(knex, layer, upload.file.path, { name: upload.file.name, ...fields, createdBy: account.name });
        if (!report.ok) throw importRejected(layer.id, report);
        if (report.revision) {
          // Take the new data version in now rather than when the NOTIFY arrives: a client that asks for
          // the TileJSON right after this answer must already get the new tile URLs.
          await catalog.versions.reload();
          res.status(201);
        }
        return report;
      } finally {
        if (upload.file) await fs.promises.rm(upload.file.path, { force: true });
      }
    },
  );
  return routes;
}
