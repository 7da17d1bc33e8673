// One application error type and one Express error handler: every failure leaves as
// JSON { code, message, details? } with its HTTP status. The codes are one typed union (below);
// the message texts live with the capability that refuses (e.g. imports/messages.ts).
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { log } from './log';

/**
 * Every error code the service answers with, by the status it comes with. A new refusal adds its
 * code here, so a client (and the OpenAPI document's `Error.code` enum) knows them all.
 */
export const ERROR_CODES = {
  400: [
    'invalid_parameter', 'unknown_parameter', 'missing_parameter', 'invalid_body', 'malformed_json', 'invalid_header',
    'invalid_revision', 'invalid_upload', 'invalid_site_geojson', 'not_a_session', 'tile_out_of_range', 'unknown_layer',
    'unsupported_crs', 'unsupported_encoding', 'unsupported_format', 'weak_password', 'same_release', 'empty_extent', 'malformed_request',
    'invalid_filter', 'unknown_queryable',
  ],
  401: ['unauthenticated', 'invalid_credentials'],
  403: ['forbidden'],
  404: [
    'not_found', 'unknown_collection', 'unknown_feature', 'unknown_layer', 'unknown_revision', 'revision_content_not_kept',
    'unknown_account', 'unknown_token', 'unknown_application', 'unknown_version', 'unknown_opinion', 'unknown_case',
    'unknown_run', 'unknown_district', 'unknown_release', 'no_current_release',
  ],
  408: ['request_timeout'],
  409: [
    'account_exists', 'derived_layer', 'illegal_transition', 'layer_busy', 'run_in_progress', 'self_lockout',
    'already_approved', 'already_withdrawn', 'already_corrected', 'already_signed', 'content_not_kept', 'not_under_review', 'stale_version',
    'unknown_project_type', 'release_not_draft', 'release_withdrawn_already', 'pinned_revision_missing', 'review_number_required',
    'layer_not_released', 'archive_building',
  ],
  410: ['release_withdrawn'],
  412: ['version_conflict', 'precondition_failed'],
  416: ['range_not_satisfiable'],
  413: ['payload_too_large'],
  415: ['unsupported_media_type', 'unsupported_content_encoding'],
  422: ['import_rejected', 'features_rejected', 'invalid_site', 'invalid_site_file', 'site_outside_datong', 'wrong_zone'],
  428: ['version_required'],
  429: ['too_many_attempts'],
  431: ['headers_too_large'],
  500: ['internal', 'export_failed', 'print_failed', 'archive_failed'],
  503: ['busy', 'query_timeout', 'unavailable'],
} as const;

type Codes = typeof ERROR_CODES;
/** An error code of the service (see ERROR_CODES). */
export type ErrorCode = Codes[keyof Codes][number];
/** Every code, once, for the OpenAPI document. */
export const allErrorCodes = (): ErrorCode[] => [...new Set(Object.values(ERROR_CODES).flat())].sort() as ErrorCode[];

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Message texts of the platform's own refusals, by error code. */
export const messages = {
  notFound: (what: string) => `${what} not found`,
  unknownCollection: (id: string) => `collection '${id}' does not exist; see /ogcapi/collections`,
  unknownFeature: (coll: string, id: string) => `feature '${id}' does not exist in collection '${coll}'`,
  unknownLayer: (id: string) => `layer '${id}' is not in the registry; see /api/layers`,
  derivedLayer: (id: string) => `layer '${id}' is computed by the service (read-only): it has no imports, revisions or restores`,
  badParam: (name: string, expected: string, got: unknown) => `parameter '${name}': expected ${expected}, got ${JSON.stringify(got)}`,
  unknownParam: (name: string, allowed: string[]) => `unknown query parameter '${name}'; allowed: ${allowed.join(', ')}`,
  unsupportedCrs: (crs: string, supported: string[]) => `CRS '${crs}' is not supported; supported: ${supported.join(', ')}`,
  tileOutOfRange: (z: number, x: number, y: number) => `tile ${z}/${x}/${y} is outside the tile matrix (z 0–22, x and y 0–2^z−1)`,
  timeout: 'the database did not answer within the statement timeout; narrow the request (smaller bbox or limit)',
  internal: 'internal error; it has been logged',
  busy: 'the database was busy with a conflicting change; try again',
  unavailable: 'the database is not reachable at the moment (restarting, stopped or unreachable); try again shortly',
  undecodablePath: (segment: string) => `a path segment is not valid percent-encoded UTF-8: ${JSON.stringify(segment)}`,
  unreadableBody: (why: string) => `the request body could not be read: ${why}`,
  unsupportedContentEncoding: (encoding: string) => `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the body as it is, or gzip, deflate or br`,
  unsupportedCharset: (charset: string) => `charset ${JSON.stringify(charset)} is not supported; send UTF-8`,
  preconditionFailed: 'the If-Match / If-Unmodified-Since precondition does not hold for this file',
  rangeNotSatisfiable: 'the requested range is outside the file',
} as const;

/**
 * A client error raised by the HTTP layers under the routes (http-errors, with `status` and
 * `expose`: the router decoding a path parameter, body-parser and raw-body reading a body, send
 * serving the viewer's files), as the service's own error: its status, a code of ERROR_CODES, and
 * where the problem is. Anything else (a 5xx of theirs included) is not one.
 */
function fromHttpLayer(err: unknown): AppError | undefined {
  const e = err as { status?: unknown; expose?: unknown; type?: unknown; message?: unknown; encoding?: unknown; charset?: unknown };
  if (!e || typeof e !== 'object' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  // router (path-to-regexp's parameters): decodeURIComponent refused a segment.
  const param = /^Failed to decode param '(.*)'$/s.exec(message);
  if (param) return badRequest('invalid_parameter', messages.undecodablePath(param[1]), { in: 'path', segment: param[1] });
  if (e.expose !== true) return undefined;
  switch (e.type) {
    case 'encoding.unsupported':
      return new AppError(415, 'unsupported_content_encoding', messages.unsupportedContentEncoding(String(e.encoding ?? '')), { header: 'content-encoding' });
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_media_type', messages.unsupportedCharset(String(e.charset ?? '')), { header: 'content-type' });
    case 'entity.too.large':
    case 'parameters.too.many':
      return new AppError(413, 'payload_too_large', message, { in: 'body' });
  }
  switch (e.status) {
    case 412:
      return new AppError(412, 'precondition_failed', messages.preconditionFailed, { header: 'if-match' });
    case 416:
      return new AppError(416, 'range_not_satisfiable', messages.rangeNotSatisfiable, { header: 'range' });
    case 415:
      return new AppError(415, 'unsupported_media_type', message, { header: 'content-type' });
    case 413:
      return new AppError(413, 'payload_too_large', message, { in: 'body' });
    case 403:
      return new AppError(403, 'forbidden', message);
    case 404:
      return notFound('not_found', message);
  }
  // 400 and the rest: a body that could not be read (a corrupt gzip, a size that does not match
  // Content-Length, a request aborted), or HTTP the layers refused.
  return badRequest(e.type === 'entity.parse.failed' ? 'malformed_json' : 'malformed_request', messages.unreadableBody(message), { in: 'body' });
}

/** Seconds a client is told to wait (Retry-After) after 503 unavailable: a PostgreSQL restart takes about one. */
export const UNAVAILABLE_RETRY_AFTER_S = 2;

/** Socket errors of a connection to PostgreSQL (Node's codes). */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** node-postgres' own words for a connection that ended or cannot be used (it gives them no code). */
const ENDED_CONNECTION = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout expired)/;

/**
 * Whether an error says the database cannot be reached, rather than that a statement failed: a
 * connection refused or reset, a unix socket that is gone (ENOENT on connect: the server is
 * stopped), PostgreSQL shutting down or starting up (57P01 admin_shutdown, 57P02, 57P03
 * cannot_connect_now), SQLSTATE class 08 (connection exception), a connection that ended under
 * a query, or knex finding no connection in time. Errors that wrap another (`cause`,
 * AggregateError's `errors`) are looked into.
 */
export function isDatabaseUnreachable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08')) return true;
  if (SOCKET_ERRORS.has(code) || (code === 'ENOENT' && e.syscall === 'connect')) return true;
  if (e.name === 'KnexTimeoutError') return true;
  // knex prefixes a failed statement's message with the statement: the driver's words are at the end.
  const message = typeof e.message === 'string' ? (e.message.split(' - ').pop() ?? '') : '';
  if (ENDED_CONNECTION.test(message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnreachable(x, depth + 1))) return true;
  return isDatabaseUnreachable(e.cause, depth + 1);
}

export const badRequest = (code: ErrorCode, message: string, details?: unknown) => new AppError(400, code, message, details);
/** 409 for a write to a layer the service computes itself (registry \`derived\`). */
export const derivedLayer = (id: string) => new AppError(409, 'derived_layer', messages.derivedLayer(id), { layerId: id });
export const notFound = (code: ErrorCode, message: string, details?: unknown) => new AppError(404, code, message, details);
export const conflict = (code: ErrorCode, message: string, details?: unknown) => new AppError(409, code, message, details);

/** Wraps unknown routes under an API prefix into a JSON 404. */
export const apiNotFound: RequestHandler = (req, _res, next) => next(notFound('not_found', messages.notFound(`path '${req.path}'`)));

/** The single place errors are logged and written. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let e: AppError;
  const unreachable = !(err instanceof AppError) && isDatabaseUnreachable(err);
  if (err instanceof AppError) e = err;
  else if (err?.code === '57014') e = new AppError(503, 'query_timeout', messages.timeout);
  else if (err?.code === '40P01' || err?.code === '40001') e = new AppError(503, 'busy', messages.busy);
  else if (unreachable) e = new AppError(503, 'unavailable', messages.unavailable);
  else if (err?.type === 'entity.too.large') e = new AppError(413, 'payload_too_large', String(err.message));
  else if (err?.type === 'entity.parse.failed') e = badRequest('malformed_json', `request body is not valid JSON: ${err.message}`);
  else e = fromHttpLayer(err) ?? new AppError(500, 'internal', messages.internal);
  // An outage is one event, not an error per request: logged as a warning, without the stack.
  if (unreachable) log.warn({ path: req.path, code: e.code, cause: String(err?.message ?? err).split(' - ').pop() }, 'request failed: database unreachable');
  else if (e.status >= 500) log.error({ err, path: req.path, code: e.code }, 'request failed');
  else log.debug({ path: req.path, code: e.code, message: e.message }, 'request rejected');
  if (res.headersSent) return;
  if (unreachable) res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S));
  res.status(e.status).type('application/json').json({ code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) });
};
