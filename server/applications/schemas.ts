// The contract of /api/applications as zod schemas: what each route takes (bodies, with every
// problem listed and the cross-field rules at their fields: conditions for 有条件同意, a reason
// for 不同意) and what it answers (the application, its versions with their check and required
// departments, opinions, the timeline, lists, the map, the re-check). The routes validate with
// them, the OpenAPI document is generated from them, the server's code is typed by their outputs
// and the viewer imports those types (`import type`), so a renamed field fails the type-check.
import { z } from 'zod';
import { KINDS, SEVERITIES } from '../conflicts/vocabulary';
import { normaliseEncoding } from '../imports/encoding';
import { param } from '../platform/contract';
import { gaussKrugerZone, GAUSS_KRUGER_EXAMPLES } from './site';
import { codes, DECISIONS, DIFFERENCE_KINDS, OUTCOMES, PROJECT_TYPES, RECHECK_AGAINST, SITE_SOURCES, STATUSES, VERDICTS, type EventKind } from './vocabulary';

const PROJECT_TYPE_CODES = codes(PROJECT_TYPES);

// --- values ---------------------------------------------------------------------------------------------

const tooLong = (max: number) => `expected a text of up to ${max} characters`;
/** A text a person writes, trimmed; absent, null or blank is refused ('required'). */
const requiredText = (max: number) =>
  z.string({ error: (i) => (i.input == null ? 'required' : tooLong(max)) }).max(max, tooLong(max)).trim().min(1, 'required');
/** An optional text, trimmed; absent, null or blank all read as not given (undefined). */
const optionalText = (max: number) =>
  z.string({ error: tooLong(max) }).max(max, tooLong(max)).trim().nullish().transform((v) => v || undefined);

const AREA = 'expected the requested area in m² (a positive number)';
const RequestedArea = z.number({ error: AREA }).positive(AREA).max(1e9, AREA).describe('the area the investor asks for (m²)');
const ProjectTypeCode = z
  .enum(PROJECT_TYPE_CODES, { error: (i) => `expected one of ${PROJECT_TYPE_CODES.join(', ')}, got ${JSON.stringify(i.input)}` })
  .describe('a project type of layers/project-types.json');
const Verdict = z.enum(codes(VERDICTS));
const Decision = z.enum(codes(DECISIONS), { error: 'expected approve (同意), conditional (有条件同意) or reject (不同意)' });
const Status = z.enum(codes(STATUSES));
const Outcome = z.enum(codes(OUTCOMES));
const SiteSource = z.enum(codes(SITE_SOURCES));
const day = z.iso.date().describe('a date, YYYY-MM-DD (Beijing)');
const instant = z.string().describe('a time, ISO 8601');
const int = z.number().int();
const names = { zh: z.string(), en: z.string() };
const Area = { area_m2: z.number().describe('m², ellipsoidal (CGCS2000)'), area_ha: z.number().describe('公顷'), area_mu: z.number().describe('亩') };
const share = z.number().describe('share of the site, 0–1');

/** A GeoJSON MultiPolygon in CGCS2000 longitude/latitude (EPSG:4490). */
const MultiPolygon = z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(z.array(z.array(z.number())))) }).meta({ id: 'MultiPolygon' });

// --- the site, as a client sends it ----------------------------------------------------------------------

/** Drawn or uploaded geometry: checked as GeoJSON by the service itself (400 invalid_site_geojson), then as a site (422). */
const Polygonal = z.unknown().meta({
  description: 'a GeoJSON Polygon or MultiPolygon in CGCS2000 longitude/latitude (EPSG:4490); not GeoJSON: 400 invalid_site_geojson; not a site (another type, invalid, outside Datong, too large): 422',
  type: 'object',
  required: ['type', 'coordinates'],
  properties: { type: { type: 'string', enum: ['Polygon', 'MultiPolygon'] }, coordinates: { type: 'array' } },
});

/** A boundary point (界址点) as surveyors write it: X the northing, Y the easting, in metres. */
export const BoundaryPoint = z
  .object({
    polygon: z.union([z.number(), z.string()]).optional().describe('which polygon of the site (default 1)'),
    ring: int.min(1).optional().describe('1 the outer boundary, 2 … holes (default 1)'),
    order: z.number().optional().describe('the point’s number along its ring (default: its place in the list)'),
    x: z.number().describe('X, the northing (m)'),
    y: z.number().describe('Y, the easting (m), with the zone number when the CRS has it'),
  })
  .meta({ id: 'BoundaryPoint' });
export type BoundaryPoint = z.output<typeof BoundaryPoint>;

const GK = `boundary points are typed in a CGCS2000 Gauss-Krüger zone, e.g. ${GAUSS_KRUGER_EXAMPLES}`;
const DrawnSite = z.object({ source: z.literal('drawn'), geometry: Polygonal });
const UploadedSite = z.object({
  source: z.literal('upload'),
  geometry: Polygonal,
  file: z.object({ name: z.string().optional(), sha256: z.string().optional() }).optional().describe('the file it was read from, as POST …/sites answered'),
});
const PointsSite = z.object({
  source: z.literal('points'),
  srid: int.refine((s) => gaussKrugerZone(s) !== undefined, GK).describe(`the EPSG code of the points’ CRS: ${GK}`),
  points: z.array(BoundaryPoint).min(3, 'expected at least 3 boundary points { x, y }').superRefine((points, ctx) => {
    // A point's place on its ring is its order: one ring cannot have the same number twice.
    const seen = new Set<string>();
    points.forEach((p, i) => {
      const key = `${p.polygon ?? 1}|${p.ring ?? 1}|${p.order ?? i + 1}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `polygon ${p.polygon ?? 1} ring ${p.ring ?? 1} has point ${p.order ?? i + 1} twice` });
      seen.add(key);
    });
  }),
});
/** The site of an application: drawn, uploaded (as POST …/sites read it) or typed as boundary points. */
export const SiteInput = z.discriminatedUnion('source', [DrawnSite, UploadedSite, PointsSite]).meta({ id: 'SiteInput' });
export type SiteInput = z.output<typeof SiteInput>;

/** The fields of a multipart site upload besides the file (text, as forms send them). */
export const SiteUploadFields = z.object({
  srid: param.int(1, 999_998).optional().describe('the EPSG code of the file’s CRS when it does not say (a Shapefile without .prj)'),
  encoding: z
    .string()
    .refine((e) => normaliseEncoding(e) !== undefined, 'expected gbk or utf8')
    .optional()
    .describe('the text encoding of a Shapefile’s attributes when it does not say: gbk or utf8'),
});
/** The multipart upload as documented: the file and its fields. */
export const SiteUpload = SiteUploadFields.extend({ file: z.string().meta({ format: 'binary' }).describe('a GeoJSON file or a zipped Shapefile') });

// --- bodies ---------------------------------------------------------------------------------------------

/** POST /api/applications: what the window takes. */
export const NewApplication = z
  .object({ name: requiredText(200), investor: requiredText(200), project_type: ProjectTypeCode, requested_area_m2: RequestedArea.nullish(), site: SiteInput })
  .meta({ id: 'NewApplication' });
export type NewApplication = z.output<typeof NewApplication>;

/** POST …/{id}/versions: what changes (absent: as the current version has it) and why. */
export const Amendment = z
  .object({
    note: requiredText(2000).describe('what changed and why'),
    name: optionalText(200),
    investor: optionalText(200),
    project_type: ProjectTypeCode.optional(),
    requested_area_m2: RequestedArea.nullable().optional().describe('the area the investor asks for (m²); null: none'),
    site: SiteInput.optional(),
    expected_version: int.min(1).optional().describe('the version the amendment is made against: 409 stale_version when another came meanwhile'),
  })
  .meta({ id: 'Amendment' });
export type Amendment = z.output<typeof Amendment>;

/** POST …/{id}/withdraw. */
export const Withdrawal = z.object({ reason: requiredText(2000) }).meta({ id: 'Withdrawal' });

/** Cross-field rules of an opinion, at their fields: conditions for 有条件同意, a reason for 不同意. */
const decided = <S extends z.ZodObject<{ decision: typeof Decision; conditions: z.ZodType; reason: z.ZodType }>>(s: S) => {
  // Each rule is checked when the fields it reads are themselves fine, so every other problem is listed too.
  const readable = (fields: string[]) => (p: { value: unknown; issues: readonly { path?: PropertyKey[] }[] }) =>
    !!p.value && typeof p.value === 'object' && !p.issues.some((i) => fields.includes(String(i.path?.[0])));
  return s
    .refine((o) => o.decision !== 'conditional' || !!o.conditions, { path: ['conditions'], message: 'required for a conditional approval (有条件同意)', when: readable(['decision', 'conditions']) })
    .refine((o) => o.decision !== 'reject' || !!o.reason, { path: ['reason'], message: 'required for a rejection (不同意)', when: readable(['decision', 'reason']) });
};
const opinionFields = {
  decision: Decision,
  conditions: optionalText(4000).describe('the conditions (有条件同意: required)'),
  reason: optionalText(4000).describe('the reason (不同意: required)'),
};

/** POST …/{id}/opinions. */
export const OpinionBody = decided(
  z.object({ ...opinionFields, note: optionalText(2000), version: int.min(1, 'expected the version number the opinion is on').describe('the version the opinion is on (the current one)') }),
).meta({ id: 'OpinionBody' });
export type OpinionBody = z.output<typeof OpinionBody>;

/** POST …/{id}/opinions/{opinionId}/corrections. */
export const CorrectionBody = decided(z.object({ ...opinionFields, note: requiredText(2000).describe('why the opinion is corrected') })).meta({ id: 'CorrectionBody' });
export type CorrectionBody = z.output<typeof CorrectionBody>;

// --- the compliance check, as stored with each version ----------------------------------------------------

export const CheckClass = z.object({ code: z.string(), ...names, ...Area, share });
export const CheckLayer = z
  .object({
    layer: z.string(),
    ...names,
    department: z.string(),
    revision: int.nullable().describe('the layer’s revision the check read (null: the layer had none)'),
    verdict: Verdict,
    covered_share: share.describe('share of the site the layer covers'),
    classes: z.array(CheckClass),
    notes: z.array(z.string()).describe('what was found on this layer, in words'),
  })
  .meta({ id: 'CheckLayer' });
export const CheckRule = z
  .object({
    rule: z.string(),
    ...names,
    kind: z.enum(KINDS),
    severity: z.enum(SEVERITIES),
    departments: z.array(z.string()),
    layer: z.string().describe('the plan layer the site overlaps'),
    classes: z.array(z.string()),
    ...Area,
    share,
    sliver: z.boolean().describe('below the rule’s minimum mapped area: listed, breaks nothing'),
    summary_zh: z.string(),
  })
  .meta({ id: 'CheckRule' });
export const CheckAlert = z.object({ id: z.string(), ...names, layer: z.string(), department: z.string(), ...Area, share }).meta({ id: 'CheckAlert' });
/** A department the version goes to, and why. */
export const Routing = z.object({ department: z.string(), reasons: z.array(z.string()) });
export const Check = z
  .object({
    verdict: Verdict,
    project_type: z.string(),
    site: z.object(Area),
    checked_at: instant,
    revisions: z.record(z.string(), int.nullable()).describe('layer → the revision read'),
    plans: z.array(z.object({ group: z.string(), ...names, verdict: Verdict, layers: z.array(CheckLayer) })),
    rules: z.array(CheckRule),
    alerts: z.array(CheckAlert),
    required: z.array(Routing),
  })
  .meta({ id: 'Check' });
export type CheckClass = z.output<typeof CheckClass>;
export type CheckLayer = z.output<typeof CheckLayer>;
export type CheckRule = z.output<typeof CheckRule>;
export type CheckAlert = z.output<typeof CheckAlert>;
export type Routing = z.output<typeof Routing>;
export type Check = z.output<typeof Check>;

// --- answers ----------------------------------------------------------------------------------------------

/** A signed opinion: immutable; a correction is a new one naming it (`corrects`). */
export const Opinion = z
  .object({
    id: int,
    version: int,
    department: z.string(),
    decision: Decision,
    conditions: z.string().nullable(),
    reason: z.string().nullable(),
    note: z.string().nullable(),
    author: z.string(),
    author_name: z.string(),
    signed_at: instant,
    corrects: int.nullable(),
    corrected_by: int.nullable(),
    signature: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 over what was decided, by whom and when'),
  })
  .meta({ id: 'Opinion' });
export type Opinion = z.output<typeof Opinion>;

/** A department a version goes to: its deadline and its effective opinion. */
export const RequiredDepartment = z
  .object({
    department: z.string(),
    ...names,
    reasons: z.array(z.string()),
    deadline: day,
    days_left: int.describe('working days to the deadline (negative: overdue)'),
    overdue: z.boolean(),
    opinion: Opinion.nullable().describe('the last entry of its correction chain'),
  })
  .meta({ id: 'RequiredDepartment' });
export type RequiredDepartment = z.output<typeof RequiredDepartment>;

/** What a version keeps of how its site came in besides the geometry. */
export const SiteRecord = z.object({
  srid: int.optional(),
  crs: z.string().optional(),
  points: z.array(BoundaryPoint).optional(),
  file_name: z.string().optional(),
  file_sha256: z.string().optional(),
});
export type SiteRecord = z.output<typeof SiteRecord>;

/** A version as it was submitted and checked. */
export const ApplicationVersion = z
  .object({
    version: int,
    name: z.string(),
    project_type: z.string(),
    investor: z.string(),
    requested_area_m2: z.number().nullable(),
    site_source: SiteSource,
    site_input: SiteRecord,
    site_area_m2: z.number(),
    site_area_ha: z.number(),
    site_area_mu: z.number(),
    submitted_by: z.string(),
    submitted_at: instant,
    note: z.string().nullable(),
    deadline: day,
    days_left: int.describe('working days to the deadline (negative: overdue)'),
    outcome: Outcome,
    verdict: Verdict,
    check: Check,
    required: z.array(RequiredDepartment),
  })
  .meta({ id: 'ApplicationVersion' });
export type ApplicationVersion = z.output<typeof ApplicationVersion>;

export const VersionEntry = z.object({
  version: int,
  name: z.string(),
  project_type: z.string(),
  submitted_at: instant,
  submitted_by: z.string(),
  note: z.string().nullable(),
  verdict: Verdict,
  outcome: Outcome,
});
export type VersionEntry = z.output<typeof VersionEntry>;

/** What each kind of event records (its `detail`), as the commands write it. */
export const EVENT_DETAILS = {
  submitted: z.object({ name: z.string(), project_type: z.string(), site_area_m2: z.number() }),
  resubmitted: z.object({ note: z.string(), site_changed: z.boolean(), previous_outcome: Status }),
  opinion: z.object({ opinion: int, decision: Decision, conditions: z.string().nullable(), reason: z.string().nullable() }),
  correction: z.object({ opinion: int, corrects: int, decision: Decision, conditions: z.string().nullable(), reason: z.string().nullable(), note: z.string().nullable() }),
  approved: z.object({ approved_projects_revision: int.optional(), by: z.string(), conditions: int.describe('how many departments approved with conditions') }),
  rejected: z.object({ by: z.string(), departments: z.array(z.string()) }),
  withdrawn: z.object({ reason: z.string() }),
} satisfies Record<EventKind, z.ZodType>;
export type EventDetail<K extends EventKind> = z.output<(typeof EVENT_DETAILS)[K]>;

const event = <K extends EventKind>(kind: K) =>
  z.object({ at: instant, actor: z.string(), kind: z.literal(kind), version: int, department: z.string().optional(), detail: EVENT_DETAILS[kind] });
/** An event of the timeline. */
export const TimelineEntry = z
  .discriminatedUnion('kind', [event('submitted'), event('resubmitted'), event('opinion'), event('correction'), event('approved'), event('rejected'), event('withdrawn')])
  .meta({ id: 'TimelineEntry' });
export type TimelineEntry = z.output<typeof TimelineEntry>;

/** GET /api/applications/{id}: the application, its current version, versions, opinions and timeline. */
export const Application = z
  .object({
    id: int,
    number: z.string().describe('DT-<year>-<n>'),
    status: Status,
    version: int.describe('the current version'),
    row_version: int.describe('changes with every write (the ETag)'),
    submitted_by: z.string(),
    created_at: instant,
    updated_at: instant,
    current: ApplicationVersion,
    versions: z.array(VersionEntry),
    opinions: z.array(Opinion),
    timeline: z.array(TimelineEntry),
  })
  .meta({ id: 'Application' });
export type Application = z.output<typeof Application>;

/** An opinion and the application it leaves (POST …/opinions and …/corrections). */
export const OpinionAnswer = z.object({ opinion: Opinion, application: Application });
export type OpinionAnswer = z.output<typeof OpinionAnswer>;

/** An application as lists and inboxes give it. */
export const Summary = z
  .object({
    id: int,
    number: z.string(),
    status: Status,
    version: int,
    name: z.string(),
    project_type: z.string(),
    investor: z.string(),
    site_area_ha: z.number(),
    verdict: Verdict,
    submitted_by: z.string(),
    submitted_at: instant,
    deadline: day,
    waiting_for: z.array(z.string()).describe('the departments whose opinion is still to come'),
    overdue: z.boolean(),
    days_left: int.describe('working days to the deadline (negative: overdue)'),
  })
  .meta({ id: 'ApplicationSummary' });
export type Summary = z.output<typeof Summary>;
export const ApplicationList = z.object({ total: int, items: z.array(Summary) });
export type ApplicationList = z.output<typeof ApplicationList>;
export const Inbox = ApplicationList.extend({ department: z.string(), department_zh: z.string() });
export type Inbox = z.output<typeof Inbox>;

/** GET …/project-types: the types with their departments, deadlines (working days) and rules; the sensitive zones; the departments. */
export const ProjectTypesAnswer = z.object({
  types: z.array(z.object({ code: z.string(), ...names, departments: z.array(z.string()), deadline_days: int, rules: z.array(z.string()) })),
  alerts: z.array(z.object({ id: z.string(), ...names, layer: z.string(), department: z.string() })),
  departments: z.array(z.object({ id: z.string(), ...names })),
});
export type ProjectTypesAnswer = z.output<typeof ProjectTypesAnswer>;

/** POST …/sites: the site as the service takes it. */
export const NormalisedSite = z
  .object({
    geometry: MultiPolygon,
    ...Area,
    source: SiteSource,
    srid: int.optional().describe('boundary points: the EPSG code they were typed in'),
    crs: z.string().optional().describe('points and uploads: the CRS they were read in'),
    file: z.object({ name: z.string(), sha256: z.string() }).optional().describe('uploads: the file'),
    warnings: z.array(z.string()),
  })
  .meta({ id: 'NormalisedSite' });
export type NormalisedSite = z.output<typeof NormalisedSite>;

/** One difference between two checks of a site (areas in m²; null: absent). */
export const CheckDifference = z
  .object({
    what: z.enum(DIFFERENCE_KINDS),
    key: z.string(),
    ...names,
    before: z.union([z.number(), z.string()]).nullable(),
    after: z.union([z.number(), z.string()]).nullable(),
    text: z.string().describe('the same in one English line'),
  })
  .meta({ id: 'CheckDifference' });
export type CheckDifference = z.output<typeof CheckDifference>;

/** GET …/versions/{version}/recheck. */
export const Recheck = z.object({
  against: z.enum(RECHECK_AGAINST),
  reproduced: z.boolean(),
  differences: z.array(CheckDifference),
  stored_revisions: z.record(z.string(), int.nullable()),
  check: Check,
});
export type Recheck = z.output<typeof Recheck>;

const area_ha = z.number().describe('公顷');
/** GET …/{id}/map: the site and the overlaps the check found (role site | rule | alert), for the map. */
export const ReviewMap = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z.object({
      type: z.literal('Feature'),
      geometry: MultiPolygon,
      properties: z.discriminatedUnion('role', [
        z.object({ role: z.literal('site'), number: z.string(), version: int, name: z.string(), area_ha }),
        z.object({ role: z.literal('rule'), id: z.string(), rule: z.string(), area_ha, zh: z.string().optional(), en: z.string().optional(), severity: z.string().optional(), layer: z.string().optional() }),
        z.object({ role: z.literal('alert'), id: z.string(), rule: z.null(), area_ha, zh: z.string().optional(), en: z.string().optional(), layer: z.string().optional() }),
      ]),
    }),
  ),
});
export type ReviewMap = z.output<typeof ReviewMap>;
