// The import pipeline's and upload route's texts, in one place: problems found while checking a
// delivery against the layer (they go into the report) and the route's errors (AppError → JSON).
import type { AttributeType, Layer } from '../layers/registry';
import { AppError, badRequest } from '../platform/errors';
import { INT32 } from '../platform/values';

const list = (xs: string[], max = 12) => (xs.length > max ? `${xs.slice(0, max).join(', ')}, … (${xs.length} in all)` : xs.join(', '));

export const importMessages = {
  codeUnmapped: (layer: Layer, keys: string[]) =>
    `no property holds the class code: expected 'code' (or 用途, 地类编码, DLBM, …); the file has ${list(keys) || 'no properties'}`,
  attributeUnmapped: (name: string, zh: string, keys: string[]) =>
    `the required attribute '${name}' (${zh}) is in no property of the file; it has ${list(keys) || 'no properties'}`,
  propertiesIgnored: (keys: string[]) => `properties that match no attribute of the layer are not imported: ${list(keys)}`,
  codeGuessed: (key: string) => `the class code is taken from the property '${key}' (its values are class codes of the layer)`,
  codeMissing: (i: number) => `feature ${i} has no class code`,
  codeUnknown: (i: number, code: string, layer: Layer) =>
    `feature ${i} has the class code ${JSON.stringify(code)}, which is not in ${layer.classification.standard}; allowed: ${list(layer.classification.classes.map((c) => `${c.code} ${c.zh}`), 20)}`,
  attributeMissing: (i: number, name: string, zh: string, key: string | undefined) =>
    `feature ${i} has no value for the required attribute '${name}' (${zh})${key ? ` in the property '${key}'` : ''}`,
  /** What each attribute type takes, as attribute_type problems say. */
  expected: {
    text: 'text',
    integer: `an integer from ${-INT32} to ${INT32}`,
    number: 'a number',
    date: 'a date YYYY-MM-DD',
    boolean: 'true/false (1/0, 是/否)',
  } satisfies Record<AttributeType, string>,
  attributeType: (i: number, name: string, key: string, expected: string, got: unknown) =>
    `feature ${i}: the property '${key}' (attribute '${name}') should be ${expected}, got ${JSON.stringify(got)}`,
  geometryType: (i: number, got: string, layer: Layer) => `feature ${i} is a ${got}, but layer '${layer.id}' holds ${layer.geometry === 'Point' ? 'Points' : `${layer.geometry}s (${layer.geometry === 'MultiPolygon' ? 'Polygons' : 'LineStrings'} are promoted)`}`,
  geometryEmpty: (i: number) => `feature ${i} has an empty geometry`,
  geometryInvalid: (i: number, reason: string, lon: number | null, lat: number | null) =>
    `feature ${i} has an invalid geometry: ${reason}${lon !== null && lat !== null ? ` at ${lon.toFixed(7)}, ${lat.toFixed(7)} (EPSG:4490 lon/lat)` : ''}`,
  geometryUnreadable: (i: number, why: string) => `feature ${i}: PostGIS cannot read or transform the geometry: ${why}`,
  repairFailed: (i: number, reason: string) => `feature ${i} has an invalid geometry (${reason}) that ST_MakeValid did not turn into a valid, non-empty geometry of the layer's type`,
  repairHint: 'run the import again with --repair (HTTP: repair=true) to apply ST_MakeValid and see what it changes',
  // The route.
  rejected: (layerId: string, n: number) => `the file was refused for layer '${layerId}' with ${n} problem${n === 1 ? '' : 's'}; nothing was written (see details.problems)`,
  tooLarge: (maxMb: number) => `the upload exceeds the limit of ${maxMb} MB (ONEMAP_UPLOAD_MAX_MB); nothing was written`,
  notMultipart: 'expected a multipart/form-data body with the file in the field "file"',
  noFile: 'the form has no file in the field "file"',
  unknownField: (name: string, allowed: string[]) => `unknown form field '${name}'; allowed: ${allowed.join(', ')}`,
} as const;

export const importRejected = (layerId: string, report: { layer: string; problemCount: number }) =>
  new AppError(422, 'import_rejected', importMessages.rejected(layerId, report.problemCount), report);
export const uploadTooLarge = (maxMb: number) => new AppError(413, 'payload_too_large', importMessages.tooLarge(maxMb), { limitMb: maxMb });
export const badUpload = (message: string, details?: unknown) => badRequest('invalid_upload', message, details);
