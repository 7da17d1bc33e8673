// The MapLibre style of a release: the working map's look (style/style.ts) built from the release's
// own registry snapshot (the titles, classes and colours as they were when it was prepared), every
// layer drawn from the release's one vector source `release` (its TileJSON, all layers in one
// tile), source-layer = layer id; glyphs from /fonts as the working style. Its metadata carries
// what a public map shows with it: the release number, title, 审图号, 批复文号, date and department.
import { z } from 'zod';
import { layerSchema, type Named, type Registry } from '../layers/registry';
import { Style } from '../style/routes';
import { styleOf } from '../style/style';
import { pinnedLayers } from './features';
import type { StoredRelease } from './store';
import { RELEASE_STATUSES } from './vocabulary';

/** The source every layer of a release style is drawn from. */
export const RELEASE_SOURCE = 'release';

export const ReleaseStyleMeta = z
  .object({
    number: z.number().int(),
    title: z.string(),
    status: z.enum(RELEASE_STATUSES),
    reviewNumber: z.string().nullable().describe('审图号, shown on the map'),
    approvalNumber: z.string().nullable().describe('批复文号'),
    publishedAt: z.string().nullable(),
    department: z.object({ id: z.string(), zh: z.string() }).describe('who issues it'),
  })
  .meta({ id: 'ReleaseStyleMeta' });

/** A release's MapLibre style: the one map's Style, one vector source, and the release in its metadata. */
export const ReleaseStyle = Style.extend({
  metadata: Style.shape.metadata.extend({
    'onemap:release': ReleaseStyleMeta,
    'onemap:layers': z.array(layerSchema).describe("the pinned layers' registry entries as the release keeps them (legends, class names, attributes)"),
  }),
}).meta({ id: 'ReleaseStyle' });

/** The style of release `r`, on the site at `site` (no trailing slash). */
export function releaseStyle(r: StoredRelease, registry: Registry, site: string) {
  const n = r.row.number;
  const layers = pinnedLayers(r);
  // The groups of the pinned layers, in the registry's order (a group gone from it since: by its id).
  const used = [...new Set(layers.map((l) => l.group))];
  const groups: Named[] = [...registry.groups.filter((g) => used.includes(g.id)), ...used.filter((id) => !registry.groups.some((g) => g.id === id)).map((id) => ({ id, zh: id, en: id }))];
  const style = styleOf(layers, site, {
    name: `${r.row.title}（第${n}版）`,
    groups,
    sources: { [RELEASE_SOURCE]: { type: 'vector', url: `${site}/releases/${n}/tiles.json` } },
    sourceOf: () => RELEASE_SOURCE,
  });
  const department = registry.departments.find((d) => d.id === r.row.department);
  return {
    ...style,
    metadata: {
      ...style.metadata,
      'onemap:release': {
        number: n,
        title: r.row.title,
        status: r.row.status,
        reviewNumber: r.row.review_number,
        approvalNumber: r.row.approval_number,
        publishedAt: r.row.published_at?.toISOString() ?? null,
        department: { id: r.row.department, zh: department?.zh ?? r.row.department },
      },
      'onemap:layers': layers,
    },
  };
}
