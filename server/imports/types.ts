// The shapes every file reader returns: features in the SOURCE coordinates, the detected CRS and
// text encoding, and every problem found with where it is (file or zip entry, feature index, line).
import type { Geometry } from 'geojson';
import type { DetectedCrs, DetectedEncoding } from './schemas';
import type { ImportFormat, ProblemCode } from './vocabulary';

export type { DetectedCrs, DetectedEncoding } from './schemas';
export type { CrsMethod, EncodingMethod, ImportFormat, ProblemCode } from './vocabulary';

/** One problem: `code` is stable for callers and tests, `message` is for people. */
export interface ImportProblem {
  code: ProblemCode;
  message: string;
  /** File, zip entry or GeoPackage table the problem is in. */
  file?: string;
  /** 0-based index of the feature in the whole import (the order `features` yields them). */
  feature?: number;
  /** 1-based line of a text file (GeoJSON text sequences, CSV). */
  line?: number;
  /** What probably went wrong and what to do about it. */
  hint?: string;
}

/** A feature as read, in the source CRS, with text already decoded. */
export interface ImportFeature {
  /** 0-based position in the import (across every file of a multi-file zip or GeoPackage). */
  index: number;
  /** File, zip entry or GeoPackage table it came from. */
  file: string;
  /** The feature's own id (GeoJSON `id`, GeoPackage primary key, CSV polygon id), when it has one. */
  id?: string | number;
  /** GeoJSON geometry in source coordinates, in x = easting/longitude, y = northing/latitude order. */
  geometry: Geometry | null;
  properties: Record<string, unknown>;
}

export interface ImportLimits {
  /** Total uncompressed bytes a zip may inflate to (checked against the headers and while inflating). */
  maxUncompressedBytes: number;
  /** Entries a zip may hold. */
  maxEntries: number;
  /** Largest GeoJSON or CSV file read as a whole (bytes; GeoJSON text sequences are streamed). */
  maxTextBytes: number;
}

export const DEFAULT_LIMITS: ImportLimits = {
  maxUncompressedBytes: 4 * 1024 ** 3, // 4 GiB: a 300,000-parcel survey Shapefile is ~0.5 GiB
  maxEntries: 1000,
  maxTextBytes: 256 * 1024 ** 2, // 256 MiB, well below V8's largest string
};

export interface ImportOptions {
  /** The file's original name when `path` has none (an upload's temporary file): picks the format. */
  name?: string;
  /** EPSG code the caller states for the source coordinates; it overrides what the file says. */
  srid?: number;
  /** Text encoding the caller states ('gbk', 'utf-8', …); it overrides .cpg and detection. */
  encoding?: string;
  /** An attribute whose values must be unique across the import (duplicates become problems). */
  idProperty?: string;
  /** GeoPackage: read only this table (default: every feature table). */
  table?: string;
  limits?: Partial<ImportLimits>;
}

/**
 * An opened import. `crs`, `encoding` and the problems found while opening are there at once;
 * `features` is read once, in order, streaming where the format allows it, and appends what it
 * finds per feature (bad geometry, duplicate ids, truncation, …) to `problems` as it goes: read
 * `problems` after the iteration has finished. `close()` releases files (the iteration does it
 * too when it ends).
 */
export interface ImportSource {
  format: ImportFormat;
  crs: DetectedCrs;
  encoding: DetectedEncoding;
  /** Errors: any entry means the import must be refused. */
  problems: ImportProblem[];
  /** Notes that do not stop an import (an ignored extra file, an inferred zone prefix, …). */
  warnings: ImportProblem[];
  /** Bounding box [minX, minY, maxX, maxY] of the source coordinates as far as known when opening. */
  bbox: [number, number, number, number] | null;
  features: AsyncIterable<ImportFeature>;
  close(): Promise<void>;
}
