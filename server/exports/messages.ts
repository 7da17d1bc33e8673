// The exports capability's error texts and errors, in one place (all through the platform's
// AppError, so they leave as JSON { code, message, details } like every other error).
import { AppError, badRequest } from '../platform/errors';

export const exportMessages = {
  badFormat: (got: string, formats: readonly string[]) => `parameter 'format': expected one of ${formats.join(', ')}, got ${JSON.stringify(got)}`,
  badCrs: (got: string, format: string, expected: string) => `parameter 'crs': ${format} is written in ${expected}, got ${JSON.stringify(got)}`,
  badEncoding: (got: string, format: string, expected: string) => `parameter 'encoding': ${format} attributes are written in ${expected}, got ${JSON.stringify(got)}`,
  failed: (layerId: string) => `the export of layer '${layerId}' failed; it has been logged`,
} as const;

export const badFormat = (got: string, formats: readonly string[]) => badRequest('unsupported_format', exportMessages.badFormat(got, formats), { parameter: 'format', allowed: formats });

export const badCrs = (got: string, format: string, expected: string) => badRequest('unsupported_crs', exportMessages.badCrs(got, format, expected), { parameter: 'crs' });

export const badEncoding = (got: string, format: string, expected: string) =>
  badRequest('unsupported_encoding', exportMessages.badEncoding(got, format, expected), { parameter: 'encoding' });

/** GDAL failed on data the service holds: a server-side error (500), logged with GDAL's own message. */
export const exportFailed = (layerId: string) => new AppError(500, 'export_failed', exportMessages.failed(layerId), { layerId });
