// The MapLibre style of the one map, built from the registry: one vector source per layer
// (its TileJSON), fills coloured by class code, outlines and lines above them, points and labels
// on top. Every style layer names its registry layer in metadata["onemap:layer"]. The same look
// for a release (releases/style.ts): its own registry entries, drawn from its one source.
import type { Layer, Named, Registry } from '../layers/registry';

type StyleLayer = Record<string, unknown>;

/** Label font stack; its glyph PBFs are served from /fonts (built with the viewer). */
export const LABEL_FONT = 'Noto Sans Regular';

const matchColour = (layer: Layer, fallback = '#888888'): unknown =>
  layer.classification.classes.length === 1
    ? layer.classification.classes[0].color
    : ['match', ['get', 'code'], ...layer.classification.classes.flatMap((c) => [c.code, c.color]), fallback];

/** A width (or size) growing linearly from w0 at zoom z0 to w1 at zoom z1. */
const byZoom = (z0: number, w0: number, z1: number, w1: number) => ['interpolate', ['linear'], ['zoom'], z0, w0, z1, w1];

/** Draw order of groups for fills, bottom first: status under the plans, approvals and conflict patches on top. */
const FILL_ORDER = ['status', 'econ', 'landuse', 'urban', 'env', 'industry', 'energy', 'approval', 'conflicts', 'base'];

/** What a style draws from: its name, its layer groups, its vector sources and which one each layer is in. */
export interface StyleSources {
  name: string;
  groups: Named[];
  /** Source id → its TileJSON URL. */
  sources: Record<string, { type: 'vector'; url: string }>;
  /** The source a registry layer's features are in (its source-layer is the layer id). */
  sourceOf: (l: Layer) => string;
}

/** The working map's style: one source per registry layer (/tiles/<layer>.json). */
export function buildStyle(registry: Registry, baseUrl: string) {
  return styleOf(registry.layers, baseUrl, {
    name: '大同市五规合一一张图',
    groups: registry.groups,
    sources: Object.fromEntries(registry.layers.map((l) => [l.id, { type: 'vector' as const, url: `${baseUrl}/tiles/${l.id}.json` }])),
    sourceOf: (l) => l.id,
  });
}

/** The style of the given layers (in registry order), drawn from `from`'s sources; glyphs from baseUrl/fonts. */
export function styleOf(layers: readonly Layer[], baseUrl: string, from: StyleSources) {
  const visibility = (l: Layer) => (l.style.visible === false ? 'none' : 'visible');
  const meta = (l: Layer) => ({ 'onemap:layer': l.id, 'onemap:group': l.group });
  const common = (l: Layer) => ({ source: from.sourceOf(l), 'source-layer': l.id, metadata: meta(l), layout: { visibility: visibility(l) } as Record<string, unknown>, ...(l.style.minzoom !== undefined ? { minzoom: l.style.minzoom } : {}) });
  /** The line layer of a registry layer: its outlines or its lines. */
  const line = (l: Layer, paint: Record<string, unknown>, layout: Record<string, unknown> = {}): StyleLayer => ({
    id: `${l.id}:line`,
    type: 'line',
    ...common(l),
    layout: { ...common(l).layout, ...layout },
    paint,
  });
  const fills: StyleLayer[] = [];
  const lines: StyleLayer[] = [];
  const points: StyleLayer[] = [];
  const labels: StyleLayer[] = [];
  const ordered = [...layers].sort((a, b) => FILL_ORDER.indexOf(a.group) - FILL_ORDER.indexOf(b.group));

  for (const l of ordered) {
    const opacity = l.style.opacity ?? 0.6;
    switch (l.style.kind) {
      case 'fill':
        fills.push({ id: `${l.id}:fill`, type: 'fill', ...common(l), paint: { 'fill-color': matchColour(l), 'fill-opacity': opacity } });
        lines.push(line(l, { 'line-color': l.style.outline ?? matchColour(l), 'line-width': byZoom(8, 0.3, 14, 1.2), 'line-opacity': Math.min(1, opacity + 0.3) }));
        break;
      case 'outline':
        lines.push(line(l, { 'line-color': matchColour(l), 'line-width': byZoom(7, 1.2, 14, 3), ...(l.style.dash ? { 'line-dasharray': [3, 2] } : {}) }));
        break;
      case 'line':
        lines.push(line(l, { 'line-color': matchColour(l), 'line-width': byZoom(7, 1, 14, 4) }, { 'line-join': 'round', 'line-cap': 'round' }));
        break;
      case 'circle':
        points.push({
          id: `${l.id}:circle`,
          type: 'circle',
          ...common(l),
          paint: { 'circle-color': matchColour(l), 'circle-radius': byZoom(7, 4, 14, 8), 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 },
        });
        break;
    }
    if (l.style.labelAttribute) {
      labels.push({
        id: `${l.id}:label`,
        type: 'symbol',
        ...common(l),
        ...(l.style.labelMaxzoom !== undefined ? { maxzoom: l.style.labelMaxzoom } : {}),
        layout: {
          ...common(l).layout,
          'text-field': ['get', l.style.labelAttribute],
          'text-font': [LABEL_FONT],
          'text-size': byZoom(7, 11, 14, 14),
          'text-max-width': 8,
          ...(l.style.kind === 'circle' ? { 'text-offset': [0, 1.1], 'text-anchor': 'top', 'text-optional': true } : {}),
        },
        paint: { 'text-color': '#222222', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4 },
      });
    }
  }

  return {
    version: 8 as const,
    name: from.name,
    metadata: { 'onemap:groups': from.groups },
    center: [113.3, 40.08] as [number, number],
    zoom: 9,
    glyphs: `${baseUrl}/fonts/{fontstack}/{range}.pbf`,
    sources: from.sources,
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } }, ...fills, ...lines, ...points, ...labels],
  };
}
