// The change layer of a comparison (对比分析): one layer's features that were added (green),
// removed (red) or changed (orange) between two sides, drawn on top of the map (GeoJSON of
// /api/releases/{n}/compare/features), with its legend. It stays on the map across a style change
// (another release shown) and can be drawn on several maps at once (the swipe's two).
import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import { t } from '../i18n/i18n';
import { h } from '../ui/dom';
import type { ChangeFeatures, ChangeKind } from './api';

export const CHANGES_SOURCE = 'onemap-changes';
/** The colours of the change kinds. */
export const CHANGE_COLOURS: Record<ChangeKind, string> = { added: '#16a34a', removed: '#dc2626', changed: '#f59e0b' };
export const CHANGE_KINDS: ChangeKind[] = ['added', 'removed', 'changed'];

const colour = ['match', ['get', '_change'], 'added', CHANGE_COLOURS.added, 'removed', CHANGE_COLOURS.removed, CHANGE_COLOURS.changed];

const EMPTY: ChangeFeatures = { type: 'FeatureCollection', features: [] };

/** The change layer on one or more maps. */
export class ChangeLayer {
  private data: ChangeFeatures = EMPTY;
  private readonly maps = new Map<MlMap, () => void>();

  /** Draws the layer on map too (and again after each of its style changes). */
  attach(map: MlMap): void {
    if (this.maps.has(map)) return;
    const onStyle = () => this.draw(map);
    map.on('style.load', onStyle);
    this.maps.set(map, () => map.off('style.load', onStyle));
    if (map.isStyleLoaded()) this.draw(map);
    else map.once('load', onStyle);
  }

  /** Stops drawing on map (it is being removed). */
  detach(map: MlMap): void {
    this.maps.get(map)?.();
    this.maps.delete(map);
  }

  /** Shows these features (an empty collection clears the layer). */
  show(data: ChangeFeatures): void {
    this.data = data;
    for (const map of this.maps.keys()) this.draw(map);
  }

  clear(): void {
    this.show(EMPTY);
  }

  /** The features shown, by kind. */
  counts(): Record<ChangeKind, number> {
    const n: Record<ChangeKind, number> = { added: 0, removed: 0, changed: 0 };
    for (const f of this.data.features) n[f.properties._change] = (n[f.properties._change] ?? 0) + 1;
    return n;
  }

  private draw(map: MlMap): void {
    if (!map.style || !map.isStyleLoaded()) return;
    const src = map.getSource(CHANGES_SOURCE) as GeoJSONSource | undefined;
    if (src) {
      src.setData(this.data);
      return;
    }
    if (!this.data.features.length) return;
    map.addSource(CHANGES_SOURCE, { type: 'geojson', data: this.data });
    const meta = { 'onemap:changes': true };
    map.addLayer({ id: `${CHANGES_SOURCE}:fill`, type: 'fill', source: CHANGES_SOURCE, metadata: meta, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': colour as never, 'fill-opacity': 0.45 } });
    map.addLayer({ id: `${CHANGES_SOURCE}:line`, type: 'line', source: CHANGES_SOURCE, metadata: meta, filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': colour as never, 'line-width': 2.2 } });
    map.addLayer({ id: `${CHANGES_SOURCE}:circle`, type: 'circle', source: CHANGES_SOURCE, metadata: meta, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': colour as never, 'circle-radius': 7, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 } });
  }
}

/** The legend of the change layer: a swatch, the kind's name and how many features. */
export function changeLegend(counts: Record<ChangeKind, number>): HTMLElement {
  return h('ul', { class: 'legend rl-change-legend', 'data-testid': 'rl-change-legend' },
    ...CHANGE_KINDS.map((k) => {
      const sw = h('span', { class: 'swatch swatch-fill', 'aria-hidden': 'true' });
      sw.style.setProperty('--swatch', CHANGE_COLOURS[k]);
      return h('li', { class: 'legend-item', 'data-change': k },
        sw, h('span', { class: 'legend-name' }, t(`rlChange_${k}`)), h('span', { class: 'legend-code', 'data-testid': `rl-change-count-${k}` }, String(counts[k])));
    }));
}
