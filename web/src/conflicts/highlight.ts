// The selected case on the map: its patch and the two source features it comes from, outlined
// on top of every layer. The features are drawn from the vector-tile sources already in the style
// (source id = source-layer = registry layer id, feature id = fid), each by a style layer filtered
// to its fid, so they follow the tiles (and a refresh of them) without another request. A case
// whose patch is gone (resolved by data) is no longer in the tiles: its last geometry is drawn
// from the case itself, dashed.
import type { FilterSpecification, LayerSpecification, Map as MlMap } from 'maplibre-gl';
import type { MultiPolygon } from 'geojson';

/** Colours of the highlight (also the swatches of the detail view). */
export const HIGHLIGHT_COLORS = { patch: '#00a3c4', a: '#1d4ed8', b: '#9333ea' } as const;

/** Ids of the highlight's style layers; the ones tests look at are named here. */
export const HIGHLIGHT_LAYERS = {
  patchFill: 'conflicts-hl-patch-fill',
  patch: 'conflicts-hl-patch',
  aCasing: 'conflicts-hl-a-casing',
  a: 'conflicts-hl-a',
  bCasing: 'conflicts-hl-b-casing',
  b: 'conflicts-hl-b',
  gone: 'conflicts-hl-gone',
} as const;
/** The GeoJSON source of a vanished patch's last geometry. */
const GONE_SOURCE = 'conflicts-hl-gone';
/** The vector-tile source (and source layer) of the conflict patches. */
export const CONFLICTS_SOURCE = 'conflicts';

export interface HighlightTarget {
  /** The patch's feature id in the conflicts layer (CaseView.fid). */
  fid: number;
  /** Whether the patch is still current (in the tiles). */
  current: boolean;
  a: { layer: string; fid: number | null };
  b: { layer: string; fid: number | null };
}

const byFid = (fid: number): FilterSpecification => ['==', ['id'], fid];
const META = { 'onemap:conflict-highlight': true };

/** Shows the highlight of one case (replacing any earlier one). */
export function showHighlight(map: MlMap, target: HighlightTarget): void {
  clearHighlight(map);
  const add = (layer: LayerSpecification): void => {
    if ('source' in layer && typeof layer.source === 'string' && !map.getSource(layer.source)) return;
    map.addLayer(layer);
  };
  const side = (which: 'a' | 'b'): void => {
    const s = target[which];
    if (s.fid === null) return;
    const common = { source: s.layer, 'source-layer': s.layer, filter: byFid(s.fid), metadata: META } as const;
    add({ id: HIGHLIGHT_LAYERS[which === 'a' ? 'aCasing' : 'bCasing'], type: 'line', ...common,
      layout: { 'line-join': 'round' }, paint: { 'line-color': '#ffffff', 'line-width': 5.5, 'line-opacity': 0.9 } });
    add({ id: HIGHLIGHT_LAYERS[which], type: 'line', ...common,
      layout: { 'line-join': 'round' },
      paint: { 'line-color': HIGHLIGHT_COLORS[which], 'line-width': 2.5, ...(which === 'b' ? { 'line-dasharray': [2.5, 1.5] } : {}) } });
  };
  if (target.current) {
    const common = { source: CONFLICTS_SOURCE, 'source-layer': CONFLICTS_SOURCE, filter: byFid(target.fid), metadata: META } as const;
    add({ id: HIGHLIGHT_LAYERS.patchFill, type: 'fill', ...common, paint: { 'fill-color': HIGHLIGHT_COLORS.patch, 'fill-opacity': 0.35 } });
  }
  // Source features under the patch outline: the patch is where both meet.
  side('a');
  side('b');
  if (target.current) {
    add({ id: HIGHLIGHT_LAYERS.patch, type: 'line', source: CONFLICTS_SOURCE, 'source-layer': CONFLICTS_SOURCE, filter: byFid(target.fid), metadata: META,
      layout: { 'line-join': 'round' }, paint: { 'line-color': HIGHLIGHT_COLORS.patch, 'line-width': 3.5 } });
  }
}

/** Draws a vanished patch's last geometry (dashed), once the case's detail has it. */
export function showGoneGeometry(map: MlMap, geometry: MultiPolygon | null): void {
  removeGone(map);
  if (!geometry) return;
  map.addSource(GONE_SOURCE, { type: 'geojson', data: { type: 'Feature', properties: {}, geometry } });
  map.addLayer({ id: HIGHLIGHT_LAYERS.gone, type: 'line', source: GONE_SOURCE, metadata: META,
    layout: { 'line-join': 'round' }, paint: { 'line-color': HIGHLIGHT_COLORS.patch, 'line-width': 3, 'line-dasharray': [2, 2] } });
}

function removeGone(map: MlMap): void {
  if (map.getLayer(HIGHLIGHT_LAYERS.gone)) map.removeLayer(HIGHLIGHT_LAYERS.gone);
  if (map.getSource(GONE_SOURCE)) map.removeSource(GONE_SOURCE);
}

/** Removes the highlight (no-op when there is none). */
export function clearHighlight(map: MlMap): void {
  for (const id of Object.values(HIGHLIGHT_LAYERS)) if (id !== HIGHLIGHT_LAYERS.gone && map.getLayer(id)) map.removeLayer(id);
  removeGone(map);
}
