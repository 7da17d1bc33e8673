// The conflicts API (/api/conflicts): rules and their vocabularies, the case list and one case
// with its history, status changes (optimistic concurrency: If-Match with the case's version),
// comments, the rule × district summary and detection runs.
import type { MultiPolygon } from 'geojson';
import { getJson, postJson } from '../platform/http';

/** A code with its names in both languages (severity, status, decision). */
export interface Term {
  code: string;
  zh: string;
  en: string;
}

export type Severity = 'critical' | 'major' | 'minor';
export type Status = 'pending' | 'coordinated' | 'verified' | 'resolved_by_data';
export type Decision = 'follow_a' | 'follow_b' | 'adjust_both' | 'exception';

export interface RuleSide {
  layer: string;
  title: { zh: string; en: string };
  classes: { code: string; zh: string | null }[];
}

export interface Rule {
  id: string;
  zh: string;
  en: string;
  kind: string;
  severity: Severity;
  departments: { id: string; zh: string; en: string }[];
  a: RuleSide;
  b: RuleSide;
  min_area_m2: number;
  min_thinness: number;
}

/** GET /api/conflicts/rules. */
export interface RulesInfo {
  rules: Rule[];
  severities: (Term & { color: string })[];
  statuses: Term[];
  decisions: Term[];
  transitions: Record<string, Status[]>;
}

/** One side (plan layer) of a case. */
export interface CaseSide {
  layer: string;
  layer_zh: string;
  /** The source feature; null once the patch is gone. */
  fid: number | null;
  code: string;
  class_zh: string | null;
}

/** A case of the ledger (a conflict patch with its coordination state). */
export interface CaseView {
  id: string;
  fid: number;
  rule_id: string;
  rule_zh: string;
  rule_en: string;
  severity: Severity;
  kind: string;
  status: Status;
  decision: Decision | null;
  reason: string | null;
  district_opinion: string | null;
  city_opinion: string | null;
  effective_date: string | null;
  /** District name; '区外' outside every district. */
  district: string;
  /** Division code; '' outside every district. */
  adcode: string;
  version: number;
  first_run: number;
  resolved_run: number | null;
  resolved_layer: string | null;
  resolved_revision: number | null;
  created_at: string;
  updated_at: string;
  thinness: number | null;
  bbox: [number, number, number, number] | null;
  area_m2: number | null;
  area_ha: number | null;
  area_mu: number | null;
  a: CaseSide;
  b: CaseSide;
  allowed: Status[];
}

export type CaseAction = 'detected' | 'transition' | 'comment' | 'resolved_by_data' | 'reappeared';

/** One entry of a case's history. */
export interface CaseEvent {
  id: string | number;
  at: string;
  actor: string;
  action: CaseAction;
  from_status: Status | null;
  to_status: Status | null;
  decision: Decision | null;
  reason: string | null;
  comment: string | null;
  run_id: number | null;
  details: Record<string, unknown> | null;
}

/** GET /api/conflicts/cases/{id}: the case with its geometry and history. */
export interface CaseDetail extends CaseView {
  geometry: MultiPolygon | null;
  events: CaseEvent[];
}

export interface CaseList {
  total: number;
  limit: number;
  offset: number;
  cases: CaseView[];
}

export interface SummaryRow {
  rule_id: string;
  rule_zh: string;
  severity: Severity;
  adcode: string;
  district: string;
  count: number;
  area_m2: number;
  area_ha: number;
  area_mu: number;
}

export interface Summary {
  rows: SummaryRow[];
  totals: { count: number; area_m2: number; area_ha: number; area_mu: number };
}

export interface RunTotals {
  patches: number;
  area_m2: number;
  sliver_parts: number;
  sliver_area_m2: number;
  opened: number;
  closed: number;
  reopened: number;
}

/** A run as GET /api/conflicts/runs lists it. */
export interface RunRecord {
  id: number;
  mode: 'full' | 'incremental';
  status: string;
  trigger: Record<string, unknown> | null;
  requested_by?: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  stats: { changedLayers?: string[]; totals?: RunTotals } | null;
}

/** POST /api/conflicts/runs. */
export interface RunResult {
  id: number;
  mode: 'full' | 'incremental';
  status: string;
  duration_ms: number;
  changedLayers: string[];
  totals: RunTotals;
}

/** The list filters; undefined: any. status 'open' means pending or coordinated. */
export interface CaseFilter {
  rule?: string;
  /** A 6-digit division code, or '' for outside every district. */
  adcode?: string;
  severity?: string;
  status?: Status | 'open';
}

/** The query string of a filter (the same for cases, summary and the ledger exports). */
export function filterQuery(f: CaseFilter): URLSearchParams {
  const q = new URLSearchParams();
  if (f.rule) q.set('rule', f.rule);
  if (f.adcode !== undefined) q.set('adcode', f.adcode);
  if (f.severity) q.set('severity', f.severity);
  if (f.status === 'open') q.set('open', 'true');
  else if (f.status) q.set('status', f.status);
  return q;
}

const BASE = '/api/conflicts';

/**
 * GETs live ledger data past the browser's HTTP cache. A case's ETag is its version, which a
 * comment does not change: a revalidated (304) answer would bring back the old history.
 */
const getLive = <T>(url: string, signal?: AbortSignal) => getJson<T>(url, signal, 'no-store');

export function fetchRules(signal?: AbortSignal): Promise<RulesInfo> {
  return getJson<RulesInfo>(`${BASE}/rules`, signal);
}

export function fetchCases(f: CaseFilter, limit: number, offset: number, signal?: AbortSignal): Promise<CaseList> {
  const q = filterQuery(f);
  q.set('limit', String(limit));
  q.set('offset', String(offset));
  return getLive<CaseList>(`${BASE}/cases?${q}`, signal);
}

export function fetchCase(id: string, signal?: AbortSignal): Promise<CaseDetail> {
  return getLive<CaseDetail>(`${BASE}/cases/${encodeURIComponent(id)}`, signal);
}

export function fetchSummary(f: CaseFilter, signal?: AbortSignal): Promise<Summary> {
  return getLive<Summary>(`${BASE}/summary?${filterQuery(f)}`, signal);
}

export function fetchRuns(limit = 5, signal?: AbortSignal): Promise<{ runs: RunRecord[]; busy: boolean }> {
  return getLive<{ runs: RunRecord[]; busy: boolean }>(`${BASE}/runs?limit=${limit}`, signal);
}

/** A district for the filter: division code and names. */
export interface District {
  adcode: string;
  zh: string;
  en: string;
}

/** The districts of the base layer (OGC API items), in their order. */
export async function fetchDistricts(signal?: AbortSignal): Promise<District[]> {
  const fc = await getJson<{ features: { properties: { adcode?: string; name?: string; name_en?: string } }[] }>(
    '/ogcapi/collections/districts/items?limit=1000', signal);
  const seen = new Set<string>();
  const out: District[] = [];
  for (const f of fc.features) {
    const p = f.properties;
    if (!p.adcode || seen.has(p.adcode)) continue;
    seen.add(p.adcode);
    out.push({ adcode: p.adcode, zh: p.name ?? p.adcode, en: p.name_en || p.name || p.adcode });
  }
  return out;
}

/** What a status change sends (empty optional texts are left out). */
export interface TransitionRequest {
  to: Status;
  decision?: Decision;
  reason?: string;
  comment?: string;
  district_opinion?: string;
  city_opinion?: string;
  effective_date?: string;
}

/**
 * Moves case id to req.to, made against `version` (sent as If-Match, the case's ETag). Answers the
 * changed case with its history; 412 version_conflict when someone else changed it first.
 */
export function postTransition(id: string, version: number, req: TransitionRequest): Promise<CaseDetail> {
  const body: Record<string, string> = {};
  for (const [k, v] of Object.entries(req)) if (typeof v === 'string' && v.trim() !== '') body[k] = k === 'to' || k === 'decision' ? v : v.trim();
  return postJson<CaseDetail>(`${BASE}/cases/${encodeURIComponent(id)}/transitions`, body, { 'If-Match': `"${version}"` });
}

/** Writes need an account (the server records it as the actor): 401 without one, 403 without the right. */
export function postComment(id: string, text: string): Promise<CaseEvent> {
  return postJson<CaseEvent>(`${BASE}/cases/${encodeURIComponent(id)}/comments`, { text });
}

export function postRun(mode: 'full' | 'incremental'): Promise<RunResult> {
  return postJson<RunResult>(`${BASE}/runs`, { mode });
}

/** The ledger export URLs (every case matching the filter, open and closed alike when no status is set). */
export function ledgerUrl(format: 'csv' | 'geojson', f: CaseFilter): string {
  const q = filterQuery(f).toString();
  return `${BASE}/ledger.${format}${q ? `?${q}` : ''}`;
}

/** The printable per-district report. */
export function reportUrl(adcode: string): string {
  return `${BASE}/report?${new URLSearchParams({ adcode })}`;
}
