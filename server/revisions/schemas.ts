// The contract of a layer's revisions as zod schemas: the path and query values of
// /api/layers/{layerId}/revisions and what each route answers (a revision's record, a commit's
// result, a revision's features, a diff). The routes validate with them, the OpenAPI document is
// generated from them, the server's code is typed by their outputs (RevisionRecord, CommitResult,
// DiffSummary), and the viewer imports those types.
import { z } from 'zod';
import { Geometry } from '../ogcapi/schemas';
import { param } from '../platform/contract';
import { INT32 } from '../platform/values';

/** The kinds of revision (layer_revisions.kind; its CHECK says the same); 'demo' is written by the demo loader only. */
export const REVISION_KINDS = ['import', 'restore', 'demo', 'edit'] as const;
export type RevisionKind = (typeof REVISION_KINDS)[number];

const int = z.number().int();
const areaM2 = z.number().nullable().describe('total ellipsoidal area (m², GRS80); null for points and lines');

// --- requests ---------------------------------------------------------------------------------------------

/** layer_revisions.revision is an integer. */
export const MAX_REVISION = INT32;
/** A revision number in a path or a query. */
export const revisionNumber = () => param.int(1, MAX_REVISION);

/** POST …/restore: the optional JSON body. */
export const RestoreBody = z.object({ reason: z.string({ error: 'expected a text of up to 2000 characters' }).max(2000, 'expected a text of up to 2000 characters').optional().describe('why, for the history (default: "restore of revision r")') });

// --- answers ----------------------------------------------------------------------------------------------

/** One revision of a layer: who made it, when, from which file, and what it holds. */
export const RevisionRecord = z
  .object({
    revision: int,
    kind: z.enum(REVISION_KINDS),
    createdAt: z.string().describe('when (ISO 8601)'),
    createdBy: z.string().nullable().describe('the account'),
    reason: z.string(),
    sourceName: z.string().nullable().describe('the delivered file'),
    sourceSha256: z.string().nullable().describe("the file's SHA-256"),
    restoredFrom: int.nullable().describe('for kind restore: the revision whose content this one repeats'),
    featureCount: int,
    area_m2: areaM2,
    contentKept: z.boolean().describe('false for revisions recorded before contents were kept (count and area only)'),
    current: z.boolean().describe("the layer's latest revision (the content served now)"),
  })
  .meta({ id: 'Revision' });
export type RevisionRecord = z.output<typeof RevisionRecord>;

/** GET /api/layers/{layerId}/revisions. */
export const RevisionList = z.object({ layerId: z.string(), current: int.describe('the latest revision, 0 when there is none'), revisions: z.array(RevisionRecord) }).meta({ id: 'RevisionList' });

/** GET /api/layers/{layerId}/revisions/{revision}. */
export const LayerRevision = RevisionRecord.extend({ layerId: z.string() }).meta({ id: 'LayerRevision' });

/** What a commit did (an import's or a restore's new revision). */
export const CommitResult = z
  .object({
    layerId: z.string(),
    revision: int,
    featureCount: int,
    area_m2: areaM2,
    inserted: int.describe('features whose content was not in the previous revision'),
    deleted: int.describe('features of the previous revision not in the new one'),
    unchanged: int,
    dataVersion: int.describe('layer_versions.version after the commit (tile URLs and ETags carry it)'),
    createdAt: z.string().describe('when (ISO 8601)'),
  })
  .meta({ id: 'CommitResult' });
export type CommitResult = z.output<typeof CommitResult>;

/** POST …/{revision}/restore: the new revision's record and what the commit did. */
export const Restored = LayerRevision.extend(CommitResult.shape).meta({ id: 'Restored' });

/** A feature of a revision: id = the snapshot row's (the same while the feature is unchanged), EPSG:4490 lon/lat. */
export const RevisionFeature = z
  .object({
    type: z.literal('Feature'),
    id: int,
    geometry: Geometry,
    properties: z.record(z.string(), z.unknown()).describe("code, the layer's attributes in registry order and, for polygons, area_m2 (m²)"),
  })
  .meta({ id: 'RevisionFeature' });

/** GET …/{revision}/features. */
export const RevisionFeatures = z
  .object({ type: z.literal('FeatureCollection'), layerId: z.string(), revision: int, numberMatched: int, numberReturned: int, features: z.array(RevisionFeature) })
  .meta({ id: 'RevisionFeatures' });

/** How the features of two revisions differ, counted, with areas in m² (null for points and lines). */
export const DiffSummary = z
  .object({
    layerId: z.string(),
    from: int,
    to: int,
    key: z.string().nullable().describe('the attribute that pairs changed features, if the layer has one'),
    added: z.object({ count: int, area_m2: z.number().nullable() }),
    removed: z.object({ count: int, area_m2: z.number().nullable() }),
    changed: z.object({ count: int, area_before_m2: z.number().nullable(), area_after_m2: z.number().nullable() }),
    unchanged: z.object({ count: int }),
    area_change_m2: z.number().nullable().describe('total area of `to` minus total area of `from`'),
  })
  .meta({ id: 'DiffSummary' });
export type DiffSummary = z.output<typeof DiffSummary>;

export const CHANGES = ['added', 'removed', 'changed'] as const;
export type Change = (typeof CHANGES)[number];

/** A feature of a diff: its state in `to` (in `from` when removed); a changed one also carries its state in `from` as "before". */
export const DiffFeature = RevisionFeature.extend({
  properties: z.object({ _change: z.enum(CHANGES) }).catchall(z.unknown()),
  before: RevisionFeature.extend({ properties: z.object({ _change: z.enum(CHANGES) }).catchall(z.unknown()) }).optional(),
}).meta({ id: 'DiffFeature' });

/** GET …/{revision}/diff. */
export const Diff = z
  .object({ type: z.literal('FeatureCollection'), layerId: z.string(), from: int, to: int, summary: DiffSummary, numberMatched: int, numberReturned: int, features: z.array(DiffFeature) })
  .meta({ id: 'Diff' });
