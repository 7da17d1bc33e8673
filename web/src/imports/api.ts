// POST /api/layers/{layerId}/imports: uploads a delivered file (multipart) for a dry run or a real
// import and returns the server's validation report, whether the import was accepted or refused.
import type { FeatureCollection } from 'geojson';
import { ApiError, apiError, csrfHeader } from '../platform/http';

/** One problem (or warning) of a report: `code` is stable, `message` is for people. */
export interface ReportProblem {
  code: string;
  message: string;
  /** 0-based index of the feature in the file (the order the reader yields them). */
  feature?: number;
  /** The feature's own id, when it has one. */
  id?: string | number;
  /** File, zip entry or GeoPackage table. */
  file?: string;
  /** 1-based line of a text file. */
  line?: number;
  /** Where in the geometry (e.g. a self-intersection point), as the server words it. */
  location?: unknown;
  hint?: string;
}

/** What ST_MakeValid changed on one feature (repair=true). */
export interface RepairNote {
  feature: number;
  id?: string | number;
  /** ST_IsValidDetail's reason before the repair. */
  reason: string;
  location?: [number, number];
  typeBefore?: string;
  typeAfter?: string;
  area_before_m2?: number | null;
  area_after_m2?: number | null;
}

/** The revision an import wrote. */
export interface WrittenRevision {
  revision: number;
  featureCount?: number;
  /** Total ellipsoidal area (m²) of the layer in this revision; null for points and lines. */
  area_m2?: number | null;
  inserted?: number;
  deleted?: number;
  unchanged?: number;
}

/** The validation report of an import (dry run or real). */
export interface ImportReport {
  ok: boolean;
  layer: string;
  format: string;
  crs: { epsg: number | null; name: string; method: string; warnings?: string[] };
  encoding: { name: string; method: string };
  /** Which property of the file became the class code and each attribute (null: none). */
  mapping?: { code: string | null; attributes: Record<string, string | null>; ignored: string[] };
  featureCount: number;
  /** Every problem found (problems lists the first 1,000 of them). */
  problemCount?: number;
  problems: ReportProblem[];
  warnings: (ReportProblem | string)[];
  repaired: (RepairNote | string)[];
  repairedCount?: number;
  /** The first features (≤ 200) in EPSG:4490, for the map; each feature's id is its index in the file. */
  preview?: FeatureCollection;
  /** The revision written (real imports only). */
  revision?: number | WrittenRevision;
}

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

/** True when value looks like a report (a refusal carries one in its body or its details). */
function isReport(value: unknown): value is ImportReport {
  return !!value && typeof value === 'object' && Array.isArray((value as ImportReport).problems)
    && typeof (value as ImportReport).featureCount === 'number';
}

/** Finds the report in an answer body: the body itself, or its `report` or `details` member. */
function reportIn(body: unknown): ImportReport | undefined {
  if (isReport(body)) return body;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { report?: unknown; details?: unknown };
  if (isReport(b.report)) return b.report;
  if (isReport(b.details)) return b.details;
  const d = b.details as { report?: unknown } | undefined;
  if (d && typeof d === 'object' && isReport(d.report)) return d.report;
  return undefined;
}

/** The revision number of a report (a real import), if any. */
export function revisionOf(report: ImportReport): number | undefined {
  const r = report.revision;
  if (typeof r === 'number') return r;
  if (r && typeof r === 'object' && typeof r.revision === 'number') return r.revision;
  return undefined;
}

/**
 * Uploads the file. Resolves with the report for 200/201 and for a refusal that carries one
 * (422); throws ApiError for every other failure (413 too large, 404 unknown layer, 400, network).
 */
export async function uploadImport(req: ImportRequest, signal?: AbortSignal): Promise<ImportResponse> {
  const form = new FormData();
  form.append('file', req.file, req.file.name);
  if (req.srid !== undefined) form.append('srid', String(req.srid));
  if (req.encoding) form.append('encoding', req.encoding);
  form.append('dryRun', String(req.dryRun));
  form.append('repair', String(req.repair));
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
