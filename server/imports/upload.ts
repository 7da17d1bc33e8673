// A multipart/form-data upload streamed to a temporary file under a size limit: the delivered file
// of an import (POST /api/layers/{layerId}/imports) or of a site (POST /api/applications/sites).
// The caller deletes the temporary file when done.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy'; // the multipart parser (also under multer): streams, per-file size limit
import type { Request } from 'express';
import { scratchFile } from '../platform/scratch';
import { badUpload, importMessages } from './messages';

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
      const tmp = scratchFile('upload');
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
