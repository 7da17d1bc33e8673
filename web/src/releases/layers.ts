// The layer list of a release (or of an archive opened from disk) for the layer tree and legends:
// the registry entries the release pinned — titles, classes, colours, style as they were when it
// was prepared — with the plan groups and departments of the registry (layers/groups.json and
// departments.json, bundled: names, not data). Where the entries come from: the style's metadata
// "onemap:layers" (the release's style and the archive's), the release's own "registry", or,
// failing both, the registry entry bundled with the viewer (layers/registry/<id>.json as built)
// with the colours the release's style draws, or only what the style draws (codes for names).
import type { StyleSpecification } from 'maplibre-gl';
import GROUPS from '../../../layers/groups.json';
import DEPARTMENTS from '../../../layers/departments.json';
import type { LayerList, Named, RegistryEntry } from '../layers/registry';
import { registryLayerOf } from '../layers/style-layers';

/** The registry's entries as the viewer was built with them, by id: the names of a release's classes when neither its style nor its answer carries its own. */
const BUNDLED = new Map(Object.values(import.meta.glob<RegistryEntry>('../../../layers/registry/*.json', { eager: true, import: 'default' })).map((e) => [e.id, e]));

/** The registry's plan groups and departments. */
export const REGISTRY_GROUPS: Named[] = GROUPS;
export const REGISTRY_DEPARTMENTS: Named[] = DEPARTMENTS;

/** The department's name in Chinese ("市规划局"), or the id. */
export function departmentZh(id: string): string {
  return REGISTRY_DEPARTMENTS.find((d) => d.id === id)?.zh ?? id;
}

/** The department that issues a release, as the caption of a Chinese public map names it: 大同市规划局. */
export function issuerZh(id: string): string {
  const zh = departmentZh(id);
  return zh.startsWith('市') ? `大同${zh}` : zh;
}

const isEntry = (x: unknown): x is RegistryEntry =>
  !!x && typeof x === 'object' && typeof (x as RegistryEntry).id === 'string' && !!(x as RegistryEntry).classification && !!(x as RegistryEntry).style && !!(x as RegistryEntry).title;

/** Registry entries in a value (an array of them, or an object of them by id), or undefined. */
export function entriesIn(value: unknown): RegistryEntry[] | undefined {
  const list = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value) : undefined;
  if (!list?.length || !list.every(isEntry)) return undefined;
  return list;
}

/** A pinned layer as GET /api/releases/{n} lists it. */
interface Pinned {
  layerId: string;
  title: string;
  group: string;
}

type Kind = RegistryEntry['style']['kind'];

/**
 * An entry made from what the style draws for a layer: its kind, class codes and colours; named
 * from the bundled registry entry where it has the code.
 */
function entryFromStyle(style: StyleSpecification, pinned: Pinned): RegistryEntry {
  const bundled = BUNDLED.get(pinned.layerId);
  const layers = style.layers.filter((l) => registryLayerOf(l) === pinned.layerId);
  const fill = layers.find((l) => l.type === 'fill');
  const line = layers.find((l) => l.type === 'line');
  const circle = layers.find((l) => l.type === 'circle');
  const kind: Kind = fill ? 'fill' : circle ? 'circle' : line ? 'line' : 'fill';
  const paint = (fill ?? circle ?? line)?.paint as Record<string, unknown> | undefined;
  const colour = paint?.[kind === 'fill' ? 'fill-color' : kind === 'circle' ? 'circle-color' : 'line-color'];
  const classes: RegistryEntry['classification']['classes'] = [];
  const named = (code: string, color: string) => {
    const b = bundled?.classification.classes.find((c) => c.code === code);
    return b ? { ...b, color } : { code, zh: code, en: code, color };
  };
  if (Array.isArray(colour) && colour[0] === 'match') {
    for (let i = 2; i + 1 < colour.length; i += 2) classes.push(named(String(colour[i]), String(colour[i + 1])));
  } else if (bundled && typeof colour === 'string' && bundled.classification.classes.length === 1) {
    classes.push({ ...bundled.classification.classes[0], color: colour });
  } else {
    classes.push({ code: '', zh: pinned.title, en: pinned.title, color: typeof colour === 'string' ? colour : '#888888' });
  }
  if (bundled) return { ...bundled, group: pinned.group || bundled.group, classification: { ...bundled.classification, classes } };
  return {
    id: pinned.layerId,
    group: pinned.group,
    title: { zh: pinned.title, en: pinned.title },
    department: '',
    period: { from: 0, to: 0 },
    standard: '',
    geometry: kind === 'circle' ? 'Point' : kind === 'line' ? 'MultiLineString' : 'MultiPolygon',
    attributes: [],
    classification: { standard: '', classes },
    style: { kind },
  };
}

/** The registry entries of a release: from its style's metadata, the release itself, or what the style draws. */
export function releaseEntries(style: StyleSpecification, release?: { layers: Pinned[]; registry?: unknown }): RegistryEntry[] {
  const meta = (style.metadata ?? {}) as Record<string, unknown>;
  const found = entriesIn(meta['onemap:layers']) ?? entriesIn(release?.registry);
  if (found) return release ? found.filter((e) => release.layers.some((p) => p.layerId === e.id)) : found;
  const pinned: Pinned[] = release?.layers
    ?? [...new Set(style.layers.map(registryLayerOf).filter((id): id is string => !!id))].map((id) => ({ layerId: id, title: id, group: groupOf(style, id) }));
  return pinned.map((p) => entryFromStyle(style, p));
}

function groupOf(style: StyleSpecification, id: string): string {
  const l = style.layers.find((x) => registryLayerOf(x) === id);
  const g = (l as { metadata?: Record<string, unknown> } | undefined)?.metadata?.['onemap:group'];
  return typeof g === 'string' ? g : 'base';
}

/** The layer list the tree and legends take: the entries with the registry's groups and departments. */
export function layerList(entries: RegistryEntry[]): LayerList {
  return { groups: REGISTRY_GROUPS, departments: REGISTRY_DEPARTMENTS, layers: entries };
}
