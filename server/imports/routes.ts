// POST /api/layers/{layerId}/imports: a multipart/form-data upload (the file in the field `file`;
// optional fields srid, encoding, dryRun, repair, reason) streamed to a temporary file under the
// size limit, then the import pipeline. 201 with the report when a revision was written, 200 for a
// dry run without problems, 422 import_rejected with the full report in `details`, 413 when the
// upload is too large, 404 for an unknown layer, 400 for bad fields; 401 without an account and 403
// unless a plan_editor of the layer's department or an admin (server/accounts/authorize.ts), before
// anything of the upload is read. The temporary file is always deleted.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy'; // the multipart parser (also under multer): streams, per-file size limit
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import type { Catalog } from '../layers/catalog';
import { badRequest, messages, notFound, derivedLayer } from '../platform/errors';
import { normaliseEncoding } from './encoding';
import { badUpload, importMessages, importRejected, uploadTooLarge } from './messages';
import { importFile } from './pipeline';
import { layerWrite, requireAllowed } from '../accounts/authorize';
import { onlyParams } from '../platform/params';

export interface ImportsOptions {
  /** Largest upload (MiB, ONEMAP_UPLOAD_MAX_MB). */
  uploadMaxMb: number;
}

const FIELDS = ['srid', 'encoding', 'dryRun', 'repair', 'reason'];

/** Mounted at /api/layers/:layerId/imports (mergeParams: the layer id comes from the mount path). */
export function importsRouter(catalog: Catalog, knex: Knex, opts: ImportsOptions): Router {
  const r = Router({ mergeParams: true });
  const maxMb = Number(opts.uploadMaxMb);

  r.post('/', async (req, res) => {
    const id = (req.params as { layerId: string }).layerId;
    const layer = catalog.layer(id);
    if (!layer) throw notFound('unknown_layer', messages.unknownLayer(id), { layerId: id });
    if (layer.derived) throw derivedLayer(layer.id);
    onlyParams(req.query, []); // the options are form fields
    // Before the upload is read: a dry run reads the delivery into a database session too.
    const account = requireAllowed(res, layerWrite(layer, 'import into'));

    const upload = await receiveUpload(req, maxMb * 1024 * 1024);
    try {
      if (upload.tooLarge) throw uploadTooLarge(maxMb);
      const f = upload.fields;
      for (const k of Object.keys(f)) if (!FIELDS.includes(k)) throw badUpload(importMessages.unknownField(k, FIELDS), { field: k });
      if (!upload.file) throw badUpload(importMessages.noFile);
      const srid = f.srid === undefined || f.srid === '' ? undefined : /^\d{1,6}$/.test(f.srid.trim()) ? Number(f.srid) : NaN;
      if (srid !== undefined && !(srid >= 1 && srid <= 998_999)) throw badRequest('invalid_parameter', messages.badParam('srid', 'an EPSG code', f.srid), { parameter: 'srid' });
      if (f.encoding && !normaliseEncoding(f.encoding)) throw badRequest('invalid_parameter', messages.badParam('encoding', 'gbk or utf8 (or another code page)', f.encoding), { parameter: 'encoding' });
      if (f.reason !== undefined && f.reason.length > 2000) throw badRequest('invalid_parameter', messages.badParam('reason', 'a text of up to 2000 characters', `${f.reason.slice(0, 20)}…`), { parameter: 'reason' });
      const report = await importFile(knex, layer, upload.file.path, {
        name: upload.file.name,
        srid,
        encoding: f.encoding || undefined,
        dryRun: flag(f, 'dryRun'),
        repair: flag(f, 'repair'),
        reason: f.reason,
        createdBy: account.name,
      });
      if (!report.ok) throw importRejected(layer.id, report);
      // Take the new data version in now rather than when the NOTIFY arrives: a client that asks for
      // the TileJSON right after this answer must already get the new tile URLs.
      if (report.revision) await catalog.versions.reload();
      res.status(report.revision ? 201 : 200).json(report);
    } finally {
      if (upload.file) await fs.promises.rm(upload.file.path, { force: true });
    }
  });
  return r;
}

/** A boolean form field: true/false/1/0, absent = false. */
function flag(fields: Record<string, string>, name: string): boolean {
  const v = fields[name];
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest('invalid_parameter', messages.badParam(name, 'true or false', v), { parameter: name });
}

export interface Upload {
  file?: { path: string; name: string; bytes: number };
  fields: Record<string, string>;
  tooLarge: boolean;
}

/**
 * Streams the multipart body: the field `file` to a temporary file (stopping at `maxBytes`, the
 * rest of the body read and dropped so the client gets its answer), text fields into `fields`.
 * On any failure the temporary file is deleted before the error propagates.
 */
export async function receiveUpload(req: Request, maxBytes: number): Promise<Upload> {
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) throw badUpload(importMessages.notMultipart);
  const out: Upload = { fields: {}, tooLarge: false };
  let bb: busboy.Busboy;
  try {
    // defParamCharset utf8: browsers and curl send Chinese file names as raw UTF-8.
    bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 10_000, parts: 25 } });
  } catch (err) {
    throw badUpload(`${importMessages.notMultipart}: ${(err as Error).message}`);
  }
  const writes: Promise<void>[] = [];
  const done = new Promise<void>((resolve, reject) => {
    bb.on('file', (field, stream, info) => {
      if (field !== 'file' || out.file) {
        stream.resume(); // another file field: dropped (reported as an unknown field)
        if (field !== 'file') out.fields[field] = '(file)';
        return;
      }
      const tmp = path.join(os.tmpdir(), `onemap-upload-${randomUUID()}`);
      const file = { path: tmp, name: path.basename(info.filename || 'upload'), bytes: 0 };
      out.file = file;
      stream.on('data', (d: Buffer) => (file.bytes += d.length));
      stream.on('limit', () => (out.tooLarge = true));
      writes.push(pipeline(stream, fs.createWriteStream(tmp)));
    });
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) out.fields[name] = '(too long)';
      else out.fields[name] = value;
    });
    bb.on('close', () => resolve());
    bb.on('error', (err) => reject(err));
    req.on('aborted', () => reject(new Error('the upload was aborted')));
  });
  req.pipe(bb);
  try {
    await done;
    await Promise.all(writes);
    return out;
  } catch (err) {
    req.unpipe(bb);
    req.resume();
    await Promise.allSettled(writes);
    if (out.file) await fs.promises.rm(out.file.path, { force: true });
    throw badUpload(`the upload could not be read: ${(err as Error).message}`);
  }
}
