// The entry point of the file readers: `openImport(path, opts)` picks the format (by the file's
// name, then by its first bytes) and returns an ImportSource: the source CRS as an EPSG code with
// how it was found, the text encoding, every problem found with where it is, and the features as
// an async iterable in source coordinates (streamed for Shapefiles, GeoPackages and GeoJSON text
// sequences). Validation against the layer registry, the transformation to EPSG:4490
// (ST_Transform) and the write are the caller's; it refuses the import when `problems` is not empty.
//
//   const src = await openImport('/tmp/upload-1', { name: '土地用途区.zip', srid: undefined });
//   for await (const f of src.features) { … f.geometry in EPSG:src.crs.epsg … }
//   if (src.problems.length) → 4xx with src.problems (read them after the iteration)
import fs from 'node:fs';
import path from 'node:path';
import { openBoundaryPointsCsv } from './csv';
import { openGeoJson, openGeoJsonSeq } from './geojson';
import { openGeoPackage } from './geopackage';
import { failed } from './common';
import { openShapefileOnDisk, openZippedShapefile } from './shapefile';
import type { ImportFormat, ImportOptions, ImportSource } from './types';

export type * from './types';
export { DEFAULT_LIMITS } from './types';
export { KNOWN_CRS, knownCrs, crsFromWkt, DATONG_EXTENT } from './crs';

/** The format of a file, from its name and else its first bytes; undefined when unknown. */
export function detectFormat(name: string, head: Buffer): ImportFormat | undefined {
  const ext = path.extname(name).toLowerCase();
  if (ext === '.zip' || ext === '.shp') return 'shapefile';
  if (ext === '.gpkg') return 'geopackage';
  if (ext === '.csv' || ext === '.txt') return 'csv-points';
  if (['.geojsonl', '.geojsons', '.geojsonseq', '.ndjson', '.jsonl'].includes(ext)) return 'geojsonseq';
  if (ext === '.geojson' || ext === '.json') return 'geojson';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) || head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x05, 0x06]))) return 'shapefile';
  if (head.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') return 'geopackage';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('\x1e')) return 'geojsonseq';
  if (text.startsWith('{')) return 'geojson';
  return undefined;
}

/** Opens a delivered file for import (see the module comment and ImportSource). */
export async function openImport(filePath: string, opts: ImportOptions = {}): Promise<ImportSource> {
  const name = opts.name ?? path.basename(filePath);
  let head: Buffer;
  try {
    const fd = fs.openSync(filePath, 'r');
    head = Buffer.alloc(64);
    head = head.subarray(0, fs.readSync(fd, head, 0, 64, 0));
    fs.closeSync(fd);
  } catch (err) {
    return failed('geojson', [{ code: 'file_unreadable', file: name, message: `the file cannot be read: ${(err as Error).message}` }]);
  }
  const format = detectFormat(name, head);
  if (!format) {
    return failed('geojson', [{ code: head.length ? 'format_unknown' : 'file_empty', file: name, message: head.length ? 'not a zipped Shapefile, GeoPackage, GeoJSON (text sequence) or boundary-point CSV' : 'the file is empty', hint: 'name the file with its extension (.zip, .gpkg, .geojson, .geojsonl, .csv)' }]);
  }
  if (!head.length) return failed(format, [{ code: 'file_empty', file: name, message: 'the file is empty' }]);
  switch (format) {
    case 'shapefile':
      return path.extname(name).toLowerCase() === '.shp' ? openShapefileOnDisk(filePath, opts) : openZippedShapefile(filePath, name, opts);
    case 'geopackage':
      return openGeoPackage(filePath, name, opts);
    case 'csv-points':
      return openBoundaryPointsCsv(filePath, name, opts);
    case 'geojsonseq':
      return openGeoJsonSeq(filePath, name, opts);
    case 'geojson':
      return openGeoJson(filePath, name, opts);
  }
}

/** Reads every feature of an import into memory (for small files and tests); problems are complete afterwards. */
export async function readAll(src: ImportSource) {
  const features = [];
  for await (const f of src.features) features.push(f);
  return { ...src, features };
}
