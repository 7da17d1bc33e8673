// The import's words, each said once: the formats it reads, the problem codes of the readers and of
// the checks against the layer, the codes of the notes that do not refuse a file, and how a CRS and
// a text encoding were found. The readers, the pipeline, the report's schema (schemas.ts) and the
// viewer (web/src/imports/) take them from here. Pure data: no Node, no database.

/** The delivered formats. */
export const IMPORT_FORMATS = ['geojson', 'geojsonseq', 'shapefile', 'geopackage', 'csv-points'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** What the readers find wrong with a file (the file itself, its CRS, its encoding, its features' structure). */
export const READER_CODES = [
  'file_empty',
  'file_unreadable',
  'file_too_large',
  'format_unknown',
  'format_truncated',
  'not_spatial',
  'no_features',
  'zip_too_many_entries',
  'zip_too_large',
  'zip_unsafe_path',
  'zip_corrupt',
  'shapefile_missing_part',
  'shapefile_record_mismatch',
  'geojson_invalid',
  'geometry_missing',
  'geometry_unsupported',
  'duplicate_id',
  'crs_missing',
  'crs_unknown',
  'crs_mixed',
  'crs_zone_mismatch',
  'outside_datong',
  'encoding_unknown',
  'csv_bad_row',
  'csv_bad_ring',
] as const;
export type ProblemCode = (typeof READER_CODES)[number];

/** What the checks against the layer find (in JavaScript as the file is read, then in PostGIS). */
export const CHECK_CODES = [
  'code_unmapped', // no property holds the class code (reported once)
  'attribute_unmapped', // a required attribute is in no property (reported once)
  'code_missing',
  'code_unknown',
  'attribute_missing',
  'attribute_type',
  'geometry_type',
  'geometry_empty',
  'geometry_invalid',
  'geometry_unreadable',
] as const;
export type CheckCode = (typeof CHECK_CODES)[number];

/** Every code a problem of an import's report can have. */
export const PROBLEM_CODES = [...READER_CODES, ...CHECK_CODES] as const;
export type ImportProblemCode = (typeof PROBLEM_CODES)[number];

/** Notes that do not refuse the file: the pipeline's own, and the readers' codes used as notes (an ignored file, …). */
export const WARNING_CODES = ['properties_ignored', 'code_guessed', 'crs', ...READER_CODES] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

/** How the source CRS was decided. */
export const CRS_METHODS = [
  'explicit', // the caller's SRID (CLI --srid, upload form)
  'prj-authority', // an EPSG AUTHORITY/ID in the .prj / srs WKT
  'prj-parameters', // ellipsoid and projection parameters of the .prj / srs WKT
  'gpkg-srs', // gpkg_spatial_ref_sys organization EPSG + id
  'geojson-crs', // the (pre-RFC 7946) GeoJSON `crs` member
  'geojson-default', // RFC 7946: no `crs` member means CRS84 (taken as EPSG:4326)
  'none',
] as const;
export type CrsMethod = (typeof CRS_METHODS)[number];

/** How the text encoding was decided (format: the format fixes it, GeoPackage and RFC 8259 JSON). */
export const ENCODING_METHODS = ['explicit', 'cpg', 'detected', 'format'] as const;
export type EncodingMethod = (typeof ENCODING_METHODS)[number];
