// POST /api/layers/{layerId}/imports: uploads a delivered file (multipart) for a dry run or a real
// import and returns the server's validation report, whether the import was accepted or refused.
import type { z } from 'zod';
import type * as S from '../../../server/imports/schemas';
import { ApiError, apiError, csrfHeader } from '../platform/http';

/** The validation report of an import (dry run or real), as the server's schema says. */
export type ImportReport = S.ImportReport;
/** One problem or note of a report: `code` is stable, `message` is for people. */
export type ReportProblem = S.Problem | S.Warning;
/** What ST_MakeValid changed on one feature (repair=true). */
export type RepairNote = S.Repair;
/** The revision an import wrote. */
export type WrittenRevision = NonNullable<ImportReport['revision']>;
/** A form field of the upload (the file aside). */
type Field = keyof z.input<typeof S.ImportFields>;

export interface ImportRequest {
  layerId: string;
  file: File;
  dryRun: boolean;
  repair: boolean;
  /** EPSG code of the file's coordinates when the file does not say it (or says it wrongly). */
  srid?: number;
  encoding?: 'gbk' | 'utf8';
}

/** What an upload came back with: the HTTP status and the report (also for a refused import). */
export interface ImportResponse {
  status: number;
  report: ImportReport;
}

/** True when value looks like a report. */
function isReport(value: unknown): value is ImportReport {
  return !!value && typeof value === 'object' && Array.isArray((value as ImportReport).problems)
    && typeof (value as ImportReport).featureCount === 'number';
}

/** The report in an answer body: the body itself (200, 201), or the details of a refusal (422 ImportRejected). */
function reportIn(body: unknown): ImportReport | undefined {
  if (isReport(body)) return body;
  const details = (body as Partial<z.output<typeof S.ImportRejected>> | null)?.details;
  return isReport(details) ? details : undefined;
}

/** The revision number of a report (a real import), if any. */
export function revisionOf(report: ImportReport): number | undefined {
  return report.revision?.revision;
}

/**
 * Uploads the file. Resolves with the report for 200/201 and for a refusal that carries one
 * (422); throws ApiError for every other failure (413 too large, 404 unknown layer, 400, network).
 */
export async function uploadImport(req: ImportRequest, signal?: AbortSignal): Promise<ImportResponse> {
  const form = new FormData();
  const field = (name: Field, value: string) => form.append(name, value);
  form.append('file', req.file, req.file.name);
  if (req.srid !== undefined) field('srid', String(req.srid));
  if (req.encoding) field('encoding', req.encoding);
  field('dryRun', String(req.dryRun));
  field('repair', String(req.repair));
  let res: Response;
  try {
    res = await fetch(`/api/layers/${encodeURIComponent(req.layerId)}/imports`, {
      method: 'POST',
      body: form,
      headers: { Accept: 'application/json', ...csrfHeader() },
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', (err as Error).message);
  }
  const body: unknown = await res.json().catch(() => null);
  const report = reportIn(body);
  if (report && (res.ok || res.status === 422)) return { status: res.status, report };
  if (res.ok) throw new ApiError(res.status, 'bad_answer', 'the server answered without a validation report');
  throw apiError(res.status, res.statusText, body, 'POST');
}

/** The current TileJSON of a layer (its tile URLs carry the layer's data version). */
export async function fetchTileJson(layerId: string): Promise<{ tiles: string[] }> {
  const res = await fetch(`/tiles/${encodeURIComponent(layerId)}.json`, { cache: 'no-store', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new ApiError(res.status, 'http_error', `${res.status} ${res.statusText}`);
  return (await res.json()) as { tiles: string[] };
}
