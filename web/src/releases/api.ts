// The releases (成果版本) as the viewer reads them: the list and one release (/api/releases, typed
// by the server's schemas), the lifecycle writes for staff, the comparison (对比分析) of two
// releases or of a release and the working data, and where each release's standard services are.
import type { FeatureCollection, Geometry } from 'geojson';
import type { Comparison, LayerComparison, Release, ReleaseList } from '../../../server/releases/schemas';
import type { ReleaseStatus } from '../../../server/releases/vocabulary';
import { getJson, postJson } from '../platform/http';

export type { Release, ReleaseStatus };
/** One release of the list. */
export type ReleaseSummary = ReleaseList['releases'][number];
export type { ReleaseList };

/** The releases the visitor may see (anonymous: published and superseded), newest first, and the current one. */
export function fetchReleases(): Promise<ReleaseList> {
  return getJson<ReleaseList>('/api/releases', undefined, 'no-store');
}

/** One release with its pinned layers, figures and links. */
export function fetchRelease(n: number): Promise<Release> {
  return getJson<Release>(`/api/releases/${n}`, undefined, 'no-store');
}

/** The MapLibre style of a release (one vector source, every pinned layer). */
export const releaseStyleUrl = (n: number): string => `/releases/${n}/style.json`;

/** The release's 成果包 (zip: PMTiles, GeoPackage, style, manifest). */
export const releaseArchiveUrl = (n: number): string => `/api/releases/${n}/archive`;

/** The release's own OGC API – Features service. */
export const releaseOgcUrl = (n: number): string => `/releases/${n}/ogcapi`;

/** What a draft is prepared with (POST /api/releases). */
export interface PrepareInput {
  title: string;
  notes?: string;
  approvalNumber?: string;
  reviewNumber?: string;
}

/** Prepares a draft of every delivered layer at its current revision. */
export function prepareRelease(input: PrepareInput): Promise<Release & { skipped: { layerId: string; reason: string }[] }> {
  return postJson('/api/releases', input);
}

/** Publishes a draft (with its 审图号 when it has none yet). */
export function publishRelease(n: number, body: { reviewNumber?: string; approvalNumber?: string } = {}): Promise<Release> {
  return postJson(`/api/releases/${n}/publish`, body);
}

/** Withdraws a release with a reason. */
export function withdrawRelease(n: number, reason: string): Promise<Release> {
  return postJson(`/api/releases/${n}/withdraw`, { reason });
}

// --- comparison (对比分析) -------------------------------------------------------------------------------

/** The other side of a comparison: a release's number, or the working data (staff only). */
export type CompareSide = number | 'working';

/** GET /api/releases/{n}/compare?with=…: per layer added, removed, changed (公顷), key totals, conflicts gained and lost. */
export type { Comparison };
/** One layer's changes between the two sides. */
export type LayerChange = LayerComparison;
/** Areas per class code of one layer, before and after (公顷). */
export type ClassChange = LayerComparison['byClass'][number];
/** A key total (basic farmland, construction land, red line, parks) on both sides. */
export type KeyTotal = Comparison['totals'][number];

/** What a changed feature was. */
export type ChangeKind = 'added' | 'removed' | 'changed';

/** GET /api/releases/{n}/compare/features: the layer's changed features, properties._change saying how. */
export type ChangeFeatures = FeatureCollection<Geometry, { _change: ChangeKind; code?: string | null; [k: string]: unknown }>;

const withParam = (side: CompareSide): string => (side === 'working' ? 'working' : String(side));

/** The comparison from release `from` to `to` (a later release, or the working data). */
export function fetchComparison(from: number, to: CompareSide, signal?: AbortSignal): Promise<Comparison> {
  return getJson<Comparison>(`/api/releases/${from}/compare?with=${withParam(to)}`, signal);
}

/** One layer's changed features from release `from` to `to`. */
export function fetchChangeFeatures(from: number, to: CompareSide, layerId: string, signal?: AbortSignal): Promise<ChangeFeatures> {
  return getJson<ChangeFeatures>(`/api/releases/${from}/compare/features?with=${withParam(to)}&layer=${encodeURIComponent(layerId)}&limit=10000`, signal);
}
