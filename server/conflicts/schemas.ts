// The contract of /api/conflicts (routes.ts): one zod schema per query, body and answer. The same
// schemas validate the requests, check the answers in the tests, make the OpenAPI document, and
// give the viewer its types (web/src/conflicts/api.ts imports the types below with `import type`).
// The words (severities, statuses, decisions …) are those of vocabulary.ts.
import { z } from 'zod';
import { param } from '../platform/contract';
import { expected, parseDate } from '../platform/values';
import {
  CASE_ACTIONS, DECISION_CODES, KINDS, MAX_TEXT, RECOMPUTED, RUN_MODES, RUN_STATUSES, SEVERITIES, STATUS_CODES, TARGETS,
} from './vocabulary';

// --- values ------------------------------------------------------------------------------------------

/** A moment as PostgreSQL gives it (a Date), sent as ISO 8601 text. */
const Timestamp = z.codec(z.date(), z.iso.datetime({ offset: true }), {
  decode: (d) => d.toISOString(),
  encode: (s) => new Date(s),
});
const Severity = z.enum(SEVERITIES);
const Kind = z.enum(KINDS);
const Status = z.enum(STATUS_CODES);
const Decision = z.enum(DECISION_CODES);
const Bbox = z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('minx, miny, maxx, maxy (EPSG:4490 degrees)');
const MultiPolygon = z
  .object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(z.array(z.array(z.number())))) })
  .describe('GeoJSON MultiPolygon in CGCS2000 (EPSG:4490) longitude, latitude');
/** An area in the three figures Chinese surveys report. */
const AREAS = { area_m2: z.number().describe('ellipsoidal area, m²'), area_ha: z.number().describe('公顷'), area_mu: z.number().describe('亩') };
/** The same, null where there is no area. */
const AREAS_OR_NULL = { area_m2: AREAS.area_m2.nullable(), area_ha: AREAS.area_ha.nullable(), area_mu: AREAS.area_mu.nullable() };
/** A division code: six digits; empty for what lies outside every district. */
const ADCODE = /^(\d{6})?$/;
const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A text a person writes into the ledger (absent or null: none). */
const PersonText = z.string().max(MAX_TEXT).nullable().optional();
/** A calendar day that exists, YYYY-MM-DD (platform/values.ts says what that is). */
const CalendarDate = z.string().refine((s) => parseDate(s) === s, { message: `expected ${expected.date}` }).meta({ format: 'date' });

// --- parameters --------------------------------------------------------------------------------------

export const CaseIdParams = z.object({
  id: param.text(36).regex(CASE_ID, 'expected a case id (uuid)').describe('the case id: the patch id (uuid)'),
});
export const RunIdParams = z.object({ id: param.int(1, 2_147_483_647).describe('the run number') });

/** The filters of the case list, the summary and the ledger exports; `rule` is one of the loaded rules. */
export const caseFilters = (ruleIds: readonly string[]) => ({
  rule: param.oneOf(ruleIds).optional().describe('a rule id (GET /api/conflicts/rules)'),
  adcode: param.text(6).regex(ADCODE, 'expected a 6-digit division code (empty: outside every district)').optional()
    .describe('division code of the district; empty: outside every district'),
  severity: param.oneOf(SEVERITIES).optional(),
  status: param.oneOf(STATUS_CODES).optional(),
  kind: param.oneOf(KINDS).optional(),
  open: param.bool().optional().describe('true: open cases (pending, coordinated); false: closed ones (verified, resolved by data)'),
  fid: param.int(1, Number.MAX_SAFE_INTEGER).optional().describe('the feature id of the case in the conflicts layer (tiles and OGC API carry it)'),
});
/** A filter as the ledger takes it (validated). */
export type CaseFilter = z.output<z.ZodObject<ReturnType<typeof caseFilters>>>;

/** A district's division code (six digits). */
export const DISTRICT_CODE = 'a 6-digit division code of a district';
/**
 * The report's district. Required, but checked by the route: without it the report has always
 * answered 400 invalid_parameter, where the contract would say missing_parameter.
 */
export const ReportQuery = z.object({ adcode: param.text(6).regex(/^\d{6}$/, `expected ${DISTRICT_CODE}`).describe('division code of the district') });

// --- bodies ------------------------------------------------------------------------------------------

export const RunBody = z
  .object({ mode: z.enum(RUN_MODES).default('full').describe('full: every rule recomputed; incremental: what changed since the last run') })
  .meta({ id: 'RunRequest' })
  .prefault({}); // no body at all: a full run, as before contracts

/**
 * A status change. The version it is made against comes from If-Match (the case's ETag) or
 * `version`; `by` and other keys are ignored (the actor is the account). Every problem is listed:
 * the fields' own, then what `to` asks of the others.
 */
export const TransitionBody = z
  .object({
    to: z.enum(TARGETS).describe('the status the case moves to'),
    version: z.number().int().min(1).optional().describe('the case version the change is made against (or the If-Match header)'),
    decision: Decision.optional().describe('how it was decided: required when the case becomes coordinated, refused otherwise'),
    reason: PersonText.describe('协调理由: required for coordinated, and for reopening (pending)'),
    comment: PersonText,
    district_opinion: PersonText.describe('区县意见'),
    city_opinion: PersonText.describe('市级意见'),
    effective_date: CalendarDate.optional().describe('生效日期 of the decision'),
  })
  .superRefine(
    (b, ctx) => {
      if (!b || typeof b !== 'object') return;
      // (A reason of the wrong type has its own problem already.)
      const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && !v.trim());
      if (b.to === 'coordinated') {
        if (b.decision === undefined) ctx.addIssue({ code: 'custom', path: ['decision'], message: `expected one of ${DECISION_CODES.join(', ')}` });
        if (blank(b.reason)) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'expected the reason for the decision (协调理由)' });
      } else if (typeof b.to === 'string' && b.decision !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['decision'], message: `no decision when the case becomes ${b.to}` });
      }
      if (b.to === 'pending' && blank(b.reason)) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'expected why the case is reopened' });
    },
    // Also when a field is wrong: the body's every problem at once.
    { when: () => true },
  )
  .meta({ id: 'TransitionRequest' });
export type TransitionBody = z.input<typeof TransitionBody>;

export const CommentBody = z
  .object({ text: z.string().trim().min(1, 'expected a comment').max(MAX_TEXT).describe(`the comment (1–${MAX_TEXT} characters)`) })
  .meta({ id: 'CommentRequest' });

// --- answers -----------------------------------------------------------------------------------------

/** A code with its names in both languages. */
const Term = <C extends z.ZodType>(code: C) => z.object({ code, zh: z.string(), en: z.string() });

const RuleSideView = z.object({
  layer: z.string(),
  title: z.object({ zh: z.string(), en: z.string() }),
  classes: z.array(z.object({ code: z.string(), zh: z.string().nullable() })).describe('the classes of the layer the side selects'),
});

export const RuleView = z
  .object({
    id: z.string(),
    zh: z.string(),
    en: z.string(),
    kind: Kind,
    severity: Severity,
    departments: z.array(z.object({ id: z.string(), zh: z.string(), en: z.string() })).describe('who coordinates its cases'),
    a: RuleSideView,
    b: RuleSideView,
    min_area_m2: z.number().describe('polygons smaller than this are slivers'),
    min_thinness: z.number().describe('polygons thinner than this (4πA/P²) are slivers'),
  })
  .meta({ id: 'ConflictRule' });

export const RulesInfo = z
  .object({
    rules: z.array(RuleView),
    severities: z.array(Term(Severity).extend({ color: z.string() })).describe('gravest first'),
    statuses: z.array(Term(Status)),
    decisions: z.array(Term(Decision)),
    transitions: z.record(Status, z.array(Status)).describe('the statuses a person may move a case of each status to'),
  })
  .meta({ id: 'ConflictVocabulary' });

const CaseSide = z.object({
  layer: z.string(),
  layer_zh: z.string(),
  fid: z.number().int().nullable().describe('the source feature (once the patch is gone: the one it was made from, which may be gone too)'),
  code: z.string(),
  class_zh: z.string().nullable(),
});

export const CaseView = z
  .object({
    id: z.string().describe('the patch id: md5(rule, content keys of both features, district), stable across runs'),
    fid: z.number().int().describe('the feature id in the conflicts layer'),
    rule_id: z.string(),
    rule_zh: z.string(),
    rule_en: z.string(),
    severity: Severity,
    kind: Kind,
    status: Status,
    decision: Decision.nullable(),
    reason: z.string().nullable(),
    district_opinion: z.string().nullable(),
    city_opinion: z.string().nullable(),
    effective_date: z.string().nullable().describe('YYYY-MM-DD'),
    district: z.string().describe("the district's name; 区外 outside every district"),
    adcode: z.string().describe("the division code; '' outside every district"),
    version: z.number().int().describe('what a change is made against (the ETag)'),
    first_run: z.number().int(),
    resolved_run: z.number().int().nullable(),
    resolved_layer: z.string().nullable().describe('the layer whose new revision made the patch disappear'),
    resolved_revision: z.number().int().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    thinness: z.number().nullable().describe('smallest thinness ratio 4πA/P² of its polygons (1 = disc); null once gone'),
    bbox: Bbox.nullable(),
    ...AREAS_OR_NULL,
    a: CaseSide,
    b: CaseSide,
    allowed: z.array(Status).describe('the statuses a person may move it to now'),
  })
  .meta({ id: 'ConflictCase' });

export const CaseEvent = z
  .object({
    id: z.string().describe('a 64-bit integer, as text'),
    at: Timestamp,
    actor: z.string().describe("the account, or 'system' for a detection run"),
    action: z.enum(CASE_ACTIONS),
    from_status: Status.nullable(),
    to_status: Status.nullable(),
    decision: Decision.nullable(),
    reason: z.string().nullable(),
    comment: z.string().nullable(),
    run_id: z.number().int().nullable(),
    details: z.record(z.string(), z.unknown()).nullable().describe('opinions, effective date, the resolving layer and revision …'),
  })
  .meta({ id: 'ConflictCaseEvent' });

/** The patch, or its last geometry once gone. */
const CaseGeometry = MultiPolygon.nullable().describe('the patch, or its last geometry once it is gone');

export const CaseDetail = CaseView.extend({ geometry: CaseGeometry, events: z.array(CaseEvent).describe('the history, oldest first') }).meta({ id: 'ConflictCaseDetail' });

export const CommentEvent = CaseEvent.pick({ id: true, at: true, actor: true, action: true, comment: true }).meta({ id: 'ConflictComment' });

export const CaseList = z.object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), cases: z.array(CaseView) }).meta({ id: 'ConflictCaseList' });

export const SummaryRow = z.object({ rule_id: z.string(), rule_zh: z.string(), severity: Severity, adcode: z.string(), district: z.string(), count: z.number().int(), ...AREAS });
export const Summary = z
  .object({ rows: z.array(SummaryRow).describe('per rule × district'), totals: z.object({ count: z.number().int(), ...AREAS }) })
  .meta({ id: 'ConflictSummary' });

export const LedgerGeoJson = z
  .object({
    type: z.literal('FeatureCollection'),
    features: z.array(z.object({ type: z.literal('Feature'), id: z.string(), geometry: CaseGeometry, properties: CaseView })),
  })
  .meta({ id: 'ConflictLedger' });

const Sums = {
  patches: z.number().int().describe('patches (pieces with a geometry)'),
  area_m2: z.number(),
  sliver_parts: z.number().int().describe('polygons dropped as slivers'),
  sliver_area_m2: z.number(),
};
const Moves = { opened: z.number().int(), closed: z.number().int(), reopened: z.number().int() };
export const RunTotals = z.object({ ...Sums, ...Moves });
export const RuleStats = z.object({ ...Sums, ...Moves, recomputed: z.enum(RECOMPUTED) });
const LayerStates = z.record(z.string(), z.object({ revision: z.number().int(), version: z.number().int() })).describe('the layers read: their revision and data version');

export const RunRecord = z
  .object({
    id: z.number().int(),
    mode: z.enum(RUN_MODES),
    status: z.enum(RUN_STATUSES).describe("a run whose process died is shown as failed, error 'interrupted'"),
    trigger: z.record(z.string(), z.unknown()).describe('why it ran: via api, cli, layer change (with the layers) …'),
    requested_by: z.string().nullable(),
    rules: z.array(z.string()),
    layers: LayerStates,
    stats: z.object({ changedLayers: z.array(z.string()).optional(), totals: RunTotals.optional(), rules: z.record(z.string(), RuleStats).optional() }).describe('empty until it succeeded'),
    started_at: Timestamp,
    finished_at: Timestamp.nullable(),
    duration_ms: z.number().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'ConflictRun' });

export const RunList = z.object({ runs: z.array(RunRecord).describe('newest first'), busy: z.boolean().describe('an automatic run is in progress on this instance') });

export const RunResult = z
  .object({
    id: z.number().int(),
    mode: z.enum(RUN_MODES).describe('what it was: a run asked to be incremental is full when the districts changed or nothing was run before'),
    status: z.literal('succeeded'),
    duration_ms: z.number(),
    changedLayers: z.array(z.string()).describe('the layers whose content changed since the previous run'),
    rules: z.record(z.string(), RuleStats),
    totals: RunTotals,
    layers: LayerStates,
  })
  .meta({ id: 'ConflictRunResult' });

// --- what the server makes (timestamps as Date, before they are sent) -------------------------------

export type CaseRecord = z.input<typeof CaseView>;
/** A case with its geometry (one case, the exports). */
export type CaseRecordWithGeometry = CaseRecord & { geometry: z.input<typeof CaseGeometry> };
export type CaseEventRecord = z.input<typeof CaseEvent>;

// --- what the viewer takes (web/src/conflicts/api.ts) ------------------------------------------------

export type RulesInfo = z.output<typeof RulesInfo>;
export type RuleView = z.output<typeof RuleView>;
export type CaseSide = z.output<typeof CaseSide>;
export type CaseView = z.output<typeof CaseView>;
export type CaseEvent = z.output<typeof CaseEvent>;
export type CaseDetail = z.output<typeof CaseDetail>;
export type CaseList = z.output<typeof CaseList>;
export type SummaryRow = z.output<typeof SummaryRow>;
export type Summary = z.output<typeof Summary>;
export type RunTotals = z.output<typeof RunTotals>;
export type RuleStats = z.output<typeof RuleStats>;
export type RunRecord = z.output<typeof RunRecord>;
export type RunList = z.output<typeof RunList>;
export type RunResult = z.output<typeof RunResult>;
