// The contract of releases (成果版本) as zod schemas: what /api/releases takes and answers. The
// routes validate with them, the OpenAPI document is generated from them and the viewer imports
// the output types.
import { z } from 'zod';
import { param } from '../platform/contract';
import { INT32 } from '../platform/values';
import { RELEASE_STATUSES } from './vocabulary';

const int = z.number().int();
const text = (max: number, what: string) => z.string({ error: `expected ${what} (text of up to ${max} characters)` }).trim().min(1, `expected ${what}`).max(max, `expected ${what} of up to ${max} characters`);

/** A release number in a path. */
export const releaseNumber = () => param.int(1, INT32);

// --- requests -----------------------------------------------------------------------------------------------

/** POST /api/releases: prepare a draft. */
export const PrepareBody = z
  .object({
    title: text(200, 'a title'),
    notes: z.string().max(10_000).optional().describe('notes for the reader (what changed, what it is for)'),
    approvalNumber: text(100, 'an approval document number (批复文号)').optional(),
    reviewNumber: text(100, 'a map review number (审图号)').optional().describe('审图号; may also be given when publishing'),
    layers: z
      .array(z.object({ layerId: z.string().min(1).max(64), revision: int.min(1).max(INT32).optional().describe('default: the current revision') }).strict())
      .min(1)
      .max(100)
      .optional()
      .describe('the layers to pin (default: every delivered layer that has a revision, at its current revision)'),
  })
  .strict()
  .meta({ id: 'PrepareRelease' });

/** POST /api/releases/{n}/publish. */
export const PublishBody = z
  .object({
    reviewNumber: text(100, 'a map review number (审图号)').optional().describe('required unless the draft has one'),
    approvalNumber: text(100, 'an approval document number (批复文号)').optional(),
  })
  .strict()
  .prefault({})
  .meta({ id: 'PublishRelease' });

/** POST /api/releases/{n}/withdraw. */
export const WithdrawBody = z.object({ reason: text(2000, 'a reason') }).strict().meta({ id: 'WithdrawRelease' });

// --- answers --------------------------------------------------------------------------------------------------

const figures = z.object({ open: int, area_m2: z.number() });
export const ConflictSituation = z
  .object({
    open: int.describe('open ledger cases (pending or coordinated) at preparation'),
    area_m2: z.number().describe('their area (m², ellipsoidal)'),
    byRule: z.array(figures.extend({ ruleId: z.string(), zh: z.string() })),
    byDistrict: z.array(figures.extend({ adcode: z.string(), name: z.string() })),
    byRuleDistrict: z.array(figures.extend({ ruleId: z.string(), adcode: z.string() })),
  })
  .meta({ id: 'ReleaseConflicts' });
export type ConflictSituation = z.output<typeof ConflictSituation>;

export const ReleaseLayer = z
  .object({
    layerId: z.string(),
    title: z.string(),
    group: z.string(),
    revision: int,
    featureCount: int,
    area_m2: z.number().nullable().describe('total ellipsoidal area (m²); null for points and lines'),
    bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable().describe('CRS84 lon/lat'),
  })
  .meta({ id: 'ReleaseLayer' });

const link = z.object({ href: z.string(), rel: z.string(), type: z.string().optional(), title: z.string().optional() });

export const ReleaseSummary = z
  .object({
    number: int,
    status: z.enum(RELEASE_STATUSES),
    title: z.string(),
    approvalNumber: z.string().nullable().describe('批复文号'),
    reviewNumber: z.string().nullable().describe('审图号'),
    department: z.string(),
    preparedBy: z.string(),
    preparedAt: z.string(),
    publishedBy: z.string().nullable(),
    publishedAt: z.string().nullable(),
    supersededBy: int.nullable(),
    supersededAt: z.string().nullable(),
    withdrawn: z.object({ by: z.string(), at: z.string(), reason: z.string() }).nullable(),
    current: z.boolean().describe('the release the public map shows'),
  })
  .meta({ id: 'ReleaseSummary' });

export const Release = ReleaseSummary.extend({
  notes: z.string(),
  layers: z.array(ReleaseLayer),
  conflicts: ConflictSituation,
  contentSha256: z.string().describe('SHA-256 over the pins and every pinned feature’s content hash'),
  links: z.array(link),
}).meta({ id: 'Release' });
export type Release = z.output<typeof Release>;

export const PreparedRelease = Release.extend({
  skipped: z.array(z.object({ layerId: z.string(), reason: z.string() })).describe('delivered layers left out (no revision yet)'),
}).meta({ id: 'PreparedRelease' });

export const ReleaseList = z
  .object({ current: int.nullable().describe('the published release, if any'), releases: z.array(ReleaseSummary).describe('newest first; anonymous visitors see published and superseded ones only') })
  .meta({ id: 'ReleaseList' });

// --- comparison (对比分析) ----------------------------------------------------------------------------------

/** ?with= of a comparison: another release's number, or 'working' (staff only). */
export const compareWith = () =>
  param.text(20).refine((v) => v === 'working' || /^[1-9]\d{0,9}$/.test(v), { message: "expected a release number or 'working'" }).describe("another release's number, or 'working' (the working layers now; staff only)");

const haOrNull = z.number().nullable().describe('公顷; null for points and lines');
export const LayerComparison = z
  .object({
    layerId: z.string(),
    title: z.string(),
    fromRevision: int.nullable().describe('null: the side does not pin the layer'),
    toRevision: int.nullable(),
    added: z.object({ count: int, area_ha: haOrNull }),
    removed: z.object({ count: int, area_ha: haOrNull }),
    changed: z.object({ count: int, area_before_ha: haOrNull, area_after_ha: haOrNull }),
    unchanged: int,
    byClass: z.array(z.object({ code: z.string(), zh: z.string(), color: z.string(), from_ha: z.number(), to_ha: z.number(), change_ha: z.number() })),
  })
  .meta({ id: 'LayerComparison' });

const caseRef = z.object({ caseId: z.string(), ruleId: z.string(), adcode: z.string(), area_m2: z.number() });
export const Comparison = z
  .object({
    from: z.object({ release: int, title: z.string() }),
    to: z.union([z.object({ release: int, title: z.string() }), z.object({ working: z.literal(true) })]),
    layers: z.array(LayerComparison),
    totals: z.array(z.object({ id: z.string(), zh: z.string(), layerId: z.string(), from_ha: z.number(), to_ha: z.number(), change_ha: z.number() })).describe('the key totals (layers/release-totals.json), 公顷'),
    conflicts: z.object({ gainedCount: int, lostCount: int, gained: z.array(caseRef), lost: z.array(caseRef) }).describe('open ledger cases on the `to` side and not on the `from` side (gained), and the reverse (lost)'),
  })
  .meta({ id: 'ReleaseComparison' });

export type ReleaseSummary = z.output<typeof ReleaseSummary>;
export type ReleaseList = z.output<typeof ReleaseList>;
export type PreparedRelease = z.output<typeof PreparedRelease>;
export type ReleaseLayer = z.output<typeof ReleaseLayer>;
export type Comparison = z.output<typeof Comparison>;
export type LayerComparison = z.output<typeof LayerComparison>;
