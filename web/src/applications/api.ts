// The joint-review API (/api/applications, server/applications/): project types and departments,
// the list and a department's inbox, one application with its versions, opinions and timeline,
// the compliance report's map features, and the writes (site normalisation, submission, opinions,
// corrections, withdrawal, amendment). Writes carry the session's CSRF token. An error answer
// becomes SiteError with the whole body kept (its problems and location, wherever the server
// put them: at the top level or in details).
import type { FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import { ApiError, apiError, csrfHeader, getJson } from '../platform/http';

export type ProjectTypeCode = 'industrial' | 'residential' | 'public' | 'infrastructure' | 'energy' | 'mining' | 'other';
export type AppStatus = 'under_review' | 'approved' | 'rejected' | 'withdrawn';
export type Verdict = 'compliant' | 'conflicting' | 'needs_review';
export type Decision = 'approve' | 'conditional' | 'reject';
export type SiteSource = 'drawn' | 'upload' | 'points';
export type VersionOutcome = AppStatus | 'superseded';
export type TimelineKind = 'submitted' | 'resubmitted' | 'opinion' | 'correction' | 'approved' | 'rejected' | 'withdrawn';

/** Ids as the server gives them (numbers today; kept opaque). */
export type Id = string | number;

export interface Named {
  id: string;
  zh: string;
  en: string;
}

export interface ProjectType {
  code: ProjectTypeCode;
  zh: string;
  en: string;
  /** Departments that always review this type. */
  departments: string[];
  deadline_days: number;
}

/** GET /api/applications/project-types. */
export interface ProjectTypes {
  types: ProjectType[];
  departments: Named[];
}

/** An application as the list and the inbox give it. */
export interface Summary {
  id: Id;
  number: string;
  status: AppStatus;
  version: number;
  name: string;
  project_type: ProjectTypeCode;
  investor: string;
  site_area_ha: number;
  verdict: Verdict;
  submitted_by: string;
  submitted_at: string;
  deadline: string;
  waiting_for: string[];
  overdue: boolean;
  /** Working days until the deadline (negative when overdue). */
  days_left?: number;
}

export interface Opinion {
  id: Id;
  version: number;
  department: string;
  decision: Decision;
  conditions: string | null;
  reason: string | null;
  author: string;
  author_name: string;
  signed_at: string;
  corrects: Id | null;
  corrected_by: Id | null;
  signature: string;
  /** A correction's note (when the server gives it). */
  note?: string | null;
}

export interface AreaFigures {
  area_m2: number;
  area_ha: number;
  area_mu: number;
}

export interface CheckClass extends AreaFigures {
  code: string;
  zh: string;
  en: string;
  share: number;
}

export interface CheckLayer {
  layer: string;
  zh: string;
  en: string;
  revision: number;
  verdict: Verdict;
  classes: CheckClass[];
  /** What the check found on this layer, in words (when the server gives them). */
  notes?: string[];
}

export interface CheckPlan {
  group: string;
  zh: string;
  en: string;
  verdict: Verdict;
  layers: CheckLayer[];
}

export interface CheckRule extends AreaFigures {
  rule: string;
  zh: string;
  en: string;
  kind: string;
  severity: string;
  departments: string[];
  layer: string;
  share: number;
  summary_zh: string;
}

export interface CheckAlert {
  id: 'subsidence' | 'eco_redline' | 'water_source' | 'nature_reserve' | string;
  zh: string;
  en: string;
  layer: string;
  department: string;
  area_m2: number;
  area_ha: number;
  share: number;
}

export interface Check {
  verdict: Verdict;
  site: AreaFigures;
  checked_at: string;
  revisions: Record<string, number>;
  plans: CheckPlan[];
  rules: CheckRule[];
  alerts: CheckAlert[];
}

export interface Required {
  department: string;
  zh: string;
  en: string;
  reasons: string[];
  deadline: string;
  /** Working days to the deadline (negative: overdue). */
  days_left: number;
  overdue: boolean;
  opinion: Opinion | null;
}

export interface Version {
  version: number;
  name: string;
  project_type: ProjectTypeCode;
  investor: string;
  requested_area_m2: number | null;
  site_source: SiteSource;
  site_area_m2: number;
  site_area_ha: number;
  site_area_mu: number;
  submitted_by: string;
  submitted_at: string;
  note: string | null;
  deadline: string;
  /** Working days to the deadline (negative: overdue). */
  days_left: number;
  check: Check;
  required: Required[];
}

export interface VersionEntry {
  version: number;
  name: string;
  project_type: ProjectTypeCode;
  submitted_at: string;
  submitted_by: string;
  note: string | null;
  verdict: Verdict;
  outcome: VersionOutcome;
}

export interface TimelineEntry {
  at: string;
  actor: string;
  kind: TimelineKind;
  version: number;
  department?: string;
  /** The event's facts: an object (decision, reason, note …) or words. */
  detail?: string | Record<string, unknown>;
}

export interface Application {
  id: Id;
  number: string;
  status: AppStatus;
  version: number;
  submitted_by: string;
  created_at: string;
  updated_at: string;
  current: Version;
  versions: VersionEntry[];
  opinions: Opinion[];
  timeline: TimelineEntry[];
}

/** A boundary point as the server takes it: x the northing, y the easting (metres). */
export interface SitePoint {
  polygon?: number;
  ring?: number;
  order?: number;
  x: number;
  y: number;
}

/** What a submission or an amendment sends as its site. */
export type SiteInput =
  | { source: 'drawn'; geometry: Polygon | MultiPolygon }
  | { source: 'points'; srid: number; points: SitePoint[] }
  | { source: 'upload'; geometry: MultiPolygon; file: { name: string; sha256: string } };

/** POST /api/applications/sites: the normalised site. */
export interface NormalisedSite extends AreaFigures {
  geometry: MultiPolygon;
  source: SiteSource;
  file?: { name: string; sha256: string };
  warnings: string[];
}

export interface NewApplication {
  name: string;
  project_type: ProjectTypeCode;
  investor: string;
  requested_area_m2?: number;
  site: SiteInput;
}

export interface Amendment {
  note: string;
  /** The version the amendment was made against: 409 stale_version when someone amended it meanwhile. */
  expected_version?: number;
  name?: string;
  project_type?: ProjectTypeCode;
  investor?: string;
  requested_area_m2?: number;
  site?: SiteInput;
}

/** One problem the server found in a site (or any other refused write), as it words it. */
export interface ServerProblem {
  code?: string;
  message?: string;
  location?: unknown;
  [key: string]: unknown;
}

/** A refused write: the status, code and message, and the problems and location the body carried. */
export class SiteError extends ApiError {
  constructor(status: number, code: string, message: string, details: unknown,
    readonly problems: ServerProblem[], readonly location: [number, number] | undefined) {
    super(status, code, message, details);
    this.name = 'SiteError';
  }
}

function asLocation(v: unknown): [number, number] | undefined {
  if (Array.isArray(v) && v.length >= 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['lon'] === 'number' && typeof o['lat'] === 'number') return [o['lon'], o['lat']];
    if (o['type'] === 'Point' && Array.isArray(o['coordinates'])) return asLocation(o['coordinates']);
  }
  return undefined;
}

/** The problems and location of an error body, from its top level or its details. */
export function errorParts(body: unknown): { problems: ServerProblem[]; location: [number, number] | undefined } {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const d = (b['details'] && typeof b['details'] === 'object' ? b['details'] : {}) as Record<string, unknown>;
  const raw = Array.isArray(b['problems']) ? b['problems'] : Array.isArray(d['problems']) ? d['problems'] : Array.isArray(b['details']) ? b['details'] : [];
  const problems = (raw as unknown[]).filter((p): p is ServerProblem => !!p && typeof p === 'object');
  const location = asLocation(b['location']) ?? asLocation(d['location']) ?? problems.map((p) => asLocation(p.location)).find((l) => l);
  return { problems, location };
}

/** Sends a write (JSON or multipart) with the CSRF token; throws SiteError with the whole error body. */
async function write<T>(url: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const multipart = body instanceof FormData;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { Accept: 'application/json', ...(multipart ? {} : { 'Content-Type': 'application/json' }), ...csrfHeader() },
      body: multipart ? body : JSON.stringify(body ?? {}),
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new SiteError(0, 'network', (err as Error).message, undefined, [], undefined);
  }
  const parsed: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    // apiError also announces a 401 (the session ended): the login dialog opens, as for every write.
    const e = apiError(res.status, res.statusText, parsed, 'POST');
    const { problems, location } = errorParts(parsed);
    throw new SiteError(e.status, e.code, e.message, e.details, problems, location);
  }
  return parsed as T;
}

const BASE = '/api/applications';
const live = <T>(url: string, signal?: AbortSignal) => getJson<T>(url, signal, 'no-store');
const enc = (id: Id): string => encodeURIComponent(String(id));

export function fetchProjectTypes(signal?: AbortSignal): Promise<ProjectTypes> {
  return getJson<ProjectTypes>(`${BASE}/project-types`, signal);
}

export function fetchList(status: AppStatus | '', department: string, limit: number, offset: number, signal?: AbortSignal): Promise<{ items: Summary[]; total: number }> {
  const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (status) q.set('status', status);
  if (department) q.set('department', department);
  return live(`${BASE}?${q}`, signal);
}

export function fetchInbox(signal?: AbortSignal): Promise<{ department: string; items: Summary[] }> {
  return live(`${BASE}/inbox`, signal);
}

export function fetchApplication(id: Id, signal?: AbortSignal): Promise<Application> {
  return live(`${BASE}/${enc(id)}`, signal);
}

export function fetchReportMap(id: Id, version: number, signal?: AbortSignal): Promise<FeatureCollection<Geometry>> {
  return live(`${BASE}/${enc(id)}/map?version=${version}`, signal);
}

/** One difference between the check as recorded and the check run again (areas in m²; null: absent). */
export interface CheckDifference {
  what: 'verdict' | 'rule' | 'zone' | 'class' | 'departments';
  key: string;
  zh: string;
  en: string;
  before: number | string | null;
  after: number | string | null;
  text: string;
}

export interface Recheck {
  against: 'recorded' | 'current';
  reproduced: boolean;
  differences: CheckDifference[];
  check: Check;
}

/** A version's check run again, against the plan revisions it recorded or against today's plans. */
export function fetchRecheck(id: Id, version: number, against: 'recorded' | 'current', signal?: AbortSignal): Promise<Recheck> {
  return live(`${BASE}/${enc(id)}/versions/${version}/recheck?against=${against}`, signal);
}

/** The printable report of one version. */
export function reportUrl(id: Id, version: number): string {
  return `${BASE}/${enc(id)}/report?version=${version}`;
}

/** Normalises a drawn or typed site (JSON) before submission; writes nothing. */
export function normaliseSite(site: SiteInput, signal?: AbortSignal): Promise<NormalisedSite> {
  return write(`${BASE}/sites`, site, signal);
}

/** Normalises an uploaded site file (GeoJSON or zipped Shapefile) through the import readers. */
export function uploadSite(file: File, options: { srid?: number; encoding?: string }, signal?: AbortSignal): Promise<NormalisedSite> {
  const form = new FormData();
  form.append('file', file, file.name);
  if (options.srid !== undefined) form.append('srid', String(options.srid));
  if (options.encoding) form.append('encoding', options.encoding);
  return write(`${BASE}/sites`, form, signal);
}

export function submitApplication(body: NewApplication): Promise<Application> {
  return write(BASE, body);
}

export function postOpinion(id: Id, body: { version: number; decision: Decision; conditions?: string; reason?: string }): Promise<{ opinion: Opinion; application: Application }> {
  return write(`${BASE}/${enc(id)}/opinions`, body);
}

export function postCorrection(id: Id, opinionId: Id, body: { decision: Decision; conditions?: string; reason?: string; note: string }): Promise<{ opinion: Opinion; application: Application }> {
  return write(`${BASE}/${enc(id)}/opinions/${enc(opinionId)}/corrections`, body);
}

export function withdraw(id: Id, reason: string): Promise<Application> {
  return write(`${BASE}/${enc(id)}/withdraw`, { reason });
}

export function amend(id: Id, body: Amendment): Promise<Application> {
  return write(`${BASE}/${enc(id)}/versions`, body);
}
