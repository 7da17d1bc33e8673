// The conflicts API (/api/conflicts): rules and their vocabularies, the case list and one case
// with its history, status changes (optimistic concurrency: If-Match with the case's version),
// comments, the rule × district summary and detection runs.
import type {
  CaseDetail, CaseEvent, CaseFilter as FilterQuery, CaseList, CaseSide, CaseView, RuleView, RulesInfo, RunList, RunRecord, RunResult, RunTotals, Summary, SummaryRow,
  TransitionBody,
} from '../../../server/conflicts/schemas';
import type { Status } from '../../../server/conflicts/vocabulary';
import { getJson, postJson } from '../platform/http';

// The answers' types are the server's schemas' (server/conflicts/schemas.ts): a field renamed
// there fails the viewer's type-check.
export type { CaseDetail, CaseEvent, CaseList, CaseSide, CaseView, RulesInfo, RunList, RunRecord, RunResult, RunTotals, Summary, SummaryRow };
export type { CaseAction, Decision, Kind, Severity, Status } from '../../../server/conflicts/vocabulary';

/** A rule as GET /api/conflicts/rules describes it, and one of its sides. */
export type Rule = RuleView;
export type RuleSide = RuleView['a'];

/** A code with its names in both languages (severity, status, decision). */
export type Term = RulesInfo['severities'][number] | RulesInfo['statuses'][number] | RulesInfo['decisions'][number];

/**
 * The list filters the panel offers (undefined: any): the server's rule and district (a 6-digit
 * division code, or '' for outside every district), a severity code (as a select gives it), and a
 * status, where 'open' means pending or coordinated (the server's open=true).
 */
export type CaseFilter = Pick<FilterQuery, 'rule' | 'adcode'> & { severity?: string; status?: Status | 'open' };

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

export function fetchRuns(limit = 5, signal?: AbortSignal): Promise<RunList> {
  return getLive<RunList>(`${BASE}/runs?limit=${limit}`, signal);
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

/** What a status change sends (empty optional texts are left out; the version goes as If-Match). */
export type TransitionRequest = Omit<TransitionBody, 'version'>;

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
