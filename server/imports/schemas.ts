// The contract of POST /api/layers/{layerId}/imports as zod schemas: the form fields of the
// multipart upload (each checked, every problem listed) and the import's report (the answer of a
// dry run or an import, and the details of a refusal). The route validates with them, the OpenAPI
// document is generated from them, the pipeline's code is typed by their outputs (ImportReport,
// Problem, Warning, Repair) and the viewer imports those types.
import { z } from 'zod';
import { Geometry } from '../ogcapi/schemas';
import { param } from '../platform/contract';
import { ErrorBody } from '../platform/openapi';
import { CommitResult } from '../revisions/schemas';
import { normaliseEncoding } from './encoding';
import { CRS_METHODS, ENCODING_METHODS, IMPORT_FORMATS, PROBLEM_CODES, WARNING_CODES } from './vocabulary';

const int = z.number().int();

// --- the upload -------------------------------------------------------------------------------------------

/** An EPSG code a caller states (form field srid, CLI --srid). */
export const Srid = param.int(1, 998_999).describe('EPSG code of the coordinates, overriding the .prj / crs');
/** A text encoding a caller states (form field encoding, CLI --encoding). */
export const Encoding = z
  .string()
  .refine((e) => normaliseEncoding(e) !== undefined, 'expected gbk or utf8 (or another code page)')
  .describe('text encoding (gbk, utf8, …), overriding .cpg and detection');
/** A form's yes or no: true/false or 1/0. */
const flag = (description: string) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .describe(description);

/** The upload's text fields (a field left empty counts as not given). */
export const ImportFields = z.object({
  srid: Srid.optional(),
  encoding: Encoding.optional(),
  reason: z.string().max(2000, 'expected a text of up to 2000 characters').optional().describe('why, for the history (default: "import of <file name>")'),
  dryRun: flag('validate and report, write nothing'),
  repair: flag('repair invalid geometries with ST_MakeValid and report the changes'),
});
export type ImportFields = z.output<typeof ImportFields>;

/** The multipart upload as documented: the file and its fields. */
export const ImportUpload = ImportFields.extend({
  file: z.string().meta({ format: 'binary' }).describe('the file; its name picks the format (.zip, .gpkg, .geojson, .geojsonl, .csv); at most ONEMAP_UPLOAD_MAX_MB'),
});

// --- the report -------------------------------------------------------------------------------------------

/** EPSG:4490 [lon, lat] in degrees. */
const LonLat = z.tuple([z.number(), z.number()]);

/** Where a problem or a note is. */
const where = {
  feature: int.optional().describe('0-based index of the feature in the file (the order the reader yields them)'),
  id: z.union([z.string(), z.number()]).optional().describe('the feature’s own id, else the value of its key attribute'),
  file: z.string().optional().describe('file, zip entry or GeoPackage table'),
  line: int.optional().describe('1-based line of a text file'),
  location: LonLat.optional().describe('the point ST_IsValidDetail names (EPSG:4490 lon/lat)'),
  hint: z.string().optional().describe('what probably went wrong and what to do about it'),
};

/** One problem of an import: `code` is stable, `message` is for people. */
export const Problem = z.object({ code: z.enum(PROBLEM_CODES), message: z.string(), ...where }).meta({ id: 'ImportProblem' });
export type Problem = z.output<typeof Problem>;

/** A note that does not refuse the file. */
export const Warning = z.object({ code: z.enum(WARNING_CODES), message: z.string(), ...where }).meta({ id: 'ImportWarning' });
export type Warning = z.output<typeof Warning>;

/** What ST_MakeValid changed on one feature (with repair). */
export const Repair = z
  .object({
    feature: int,
    id: z.union([z.string(), z.number()]).optional(),
    reason: z.string().describe('ST_IsValidDetail’s reason before the repair'),
    location: LonLat.optional(),
    typeBefore: z.string(),
    typeAfter: z.string(),
    verticesBefore: int,
    verticesAfter: int,
    area_before_m2: z.number().nullable().describe('ellipsoidal area (m², GRS80); null for lines and points'),
    area_after_m2: z.number().nullable(),
  })
  .meta({ id: 'ImportRepair' });
export type Repair = z.output<typeof Repair>;

/** The CRS of the delivered coordinates, and how it was found. */
export const DetectedCrs = z
  .object({
    epsg: int.nullable().describe('null when unknown (the problems say why)'),
    name: z.string(),
    method: z.enum(CRS_METHODS),
    geographic: z.boolean().describe('degrees (lon, lat) rather than projected metres'),
    warnings: z.array(z.string()).describe('a datum shift that needs local parameters, a zone prefix inferred from the coordinates, …'),
  })
  .meta({ id: 'DetectedCrs' });
export type DetectedCrs = z.output<typeof DetectedCrs>;

/** The text encoding used to decode the delivery, and how it was found. */
export const DetectedEncoding = z.object({ name: z.string().describe("'utf-8', 'gb18030', …"), method: z.enum(ENCODING_METHODS) }).meta({ id: 'DetectedEncoding' });
export type DetectedEncoding = z.output<typeof DetectedEncoding>;

/** The first features in EPSG:4490 (after repair), properties as they would be stored, id = the index in the file. */
const Preview = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(z.object({ type: z.literal('Feature'), id: int, geometry: Geometry, properties: z.record(z.string(), z.unknown()) })),
});

/** What an import found and did: every problem with where it is, and the revision it wrote. */
export const ImportReport = z
  .object({
    ok: z.boolean().describe('no problem (and, unless a dry run, the revision was written)'),
    dryRun: z.boolean(),
    layer: z.string(),
    source: z.object({ name: z.string(), bytes: int, sha256: z.string() }),
    format: z.enum(IMPORT_FORMATS),
    crs: DetectedCrs,
    encoding: DetectedEncoding,
    mapping: z
      .object({ code: z.string().nullable(), attributes: z.record(z.string(), z.string().nullable()), ignored: z.array(z.string()) })
      .describe('which property of the file became the class code and each attribute (null: none)'),
    featureCount: int,
    problemCount: int.describe('every problem found; `problems` lists the first 1,000 by feature index'),
    problemCounts: z.partialRecord(z.enum(PROBLEM_CODES), int),
    problems: z.array(Problem),
    warnings: z.array(Warning),
    repaired: z.array(Repair).describe('the first 1,000 repairs by feature index'),
    repairedCount: int,
    preview: Preview.optional().describe('the first ≤ 200 features, those with problems too (to show where)'),
    revision: CommitResult.optional().describe('the revision written (absent for a dry run or a refused file)'),
    elapsed_ms: int,
  })
  .meta({ id: 'ImportReport' });
export type ImportReport = z.output<typeof ImportReport>;

/** 422 import_rejected: the full report in details, nothing written. */
export const ImportRejected = ErrorBody.extend({ code: z.literal('import_rejected'), details: ImportReport }).meta({ id: 'ImportRejected' });
