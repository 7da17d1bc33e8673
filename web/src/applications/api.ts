// The joint-review API (/api/applications, server/applications/): project types and departments,
// the list and a department's inbox, one application with its versions, opinions and timeline,
// the compliance report's map features, and the writes (site normalisation, submission, opinions,
// corrections, withdrawal, amendment). Writes carry the session's CSRF token. An error answer
// becomes SiteError with the whole body kept (its problems and location, wherever the server
// put them: at the top level or in details).
import type { z } from 'zod';
import type * as S from '../../../server/applications/schemas';
import type { Decision, EventKind, Outcome, RecheckAgainst, SiteSource, Status, Verdict } from '../../../server/applications/vocabulary';
import { ApiError, apiError, csrfHeader, getJson } from '../platform/http';

// The view types are the server's schemas (server/applications/schemas.ts): what it answers is
// their output, what it takes their input; the words are its vocabulary (vocabulary.ts).
export type { Decision, SiteSource, Verdict };
export type AppStatus = Status;
export type VersionOutcome = Outcome;
export type TimelineKind = EventKind;
/** A project type's code: one of layers/project-types.json. */
export type ProjectTypeCode = S.NewApplication['project_type'];

/** An application's or an opinion's id. */
export type Id = S.Application['id'];

/** GET /api/applications/project-types. */
export type ProjectTypes = S.ProjectTypesAnswer;
export type ProjectType = ProjectTypes['types'][number];
export type Named = ProjectTypes['departments'][number];
/** An application as the list and the inbox give it. */
export type Summary = S.Summary;
export type Opinion = S.Opinion;
export type AreaFigures = S.Check['site'];
export type CheckClass = S.CheckClass;
export type CheckLayer = S.CheckLayer;
export type CheckPlan = S.Check['plans'][number];
export type CheckRule = S.CheckRule;
export type CheckAlert = S.CheckAlert;
export type Check = S.Check;
/** A department a version goes to, with its deadline and effective opinion. */
export type Required = S.RequiredDepartment;
export type Version = S.ApplicationVersion;
export type VersionEntry = S.VersionEntry;
export type TimelineEntry = S.TimelineEntry;
export type Application = S.Application;
/** One difference between the check as recorded and the check run again (areas in m²; null: absent). */
export type CheckDifference = S.CheckDifference;
export type Recheck = S.Recheck;
/** POST /api/applications/sites: the normalised site. */
export type NormalisedSite = S.NormalisedSite;

/** A boundary point as the server takes it: x the northing, y the easting (metres). */
export type SitePoint = z.input<typeof S.BoundaryPoint>;
/** What a submission or an amendment sends as its site. */
export type SiteInput = z.input<typeof S.SiteInput>;
export type NewApplication = z.input<typeof S.NewApplication>;
/** An amendment; `expected_version` is the version it was made against (409 stale_version when someone amended it meanwhile). */
export type Amendment = z.input<typeof S.Amendment>;
type OpinionBody = z.input<typeof S.OpinionBody>;
type CorrectionBody = z.input<typeof S.CorrectionBody>;

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

export function fetchList(status: AppStatus | '', department: string, limit: number, offset: number, signal?: AbortSignal): Promise<S.ApplicationList> {
  const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (status) q.set('status', status);
  if (department) q.set('department', department);
  return live(`${BASE}?${q}`, signal);
}

export function fetchInbox(signal?: AbortSignal): Promise<S.Inbox> {
  return live(`${BASE}/inbox`, signal);
}

export function fetchApplication(id: Id, signal?: AbortSignal): Promise<Application> {
  return live(`${BASE}/${enc(id)}`, signal);
}

export function fetchReportMap(id: Id, version: number, signal?: AbortSignal): Promise<S.ReviewMap> {
  return live(`${BASE}/${enc(id)}/map?version=${version}`, signal);
}

/** A version's check run again, against the plan revisions it recorded or against today's plans. */
export function fetchRecheck(id: Id, version: number, against: RecheckAgainst, signal?: AbortSignal): Promise<Recheck> {
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

export function postOpinion(id: Id, body: OpinionBody): Promise<S.OpinionAnswer> {
  return write(`${BASE}/${enc(id)}/opinions`, body);
}

export function postCorrection(id: Id, opinionId: Id, body: CorrectionBody): Promise<S.OpinionAnswer> {
  return write(`${BASE}/${enc(id)}/opinions/${enc(opinionId)}/corrections`, body);
}

export function withdraw(id: Id, reason: string): Promise<Application> {
  return write(`${BASE}/${enc(id)}/withdraw`, { reason });
}

export function amend(id: Id, body: Amendment): Promise<Application> {
  return write(`${BASE}/${enc(id)}/versions`, body);
}
