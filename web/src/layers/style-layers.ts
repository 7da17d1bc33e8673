// Toggling and fading a registry layer on the map: every style layer whose
// metadata["onemap:layer"] names the registry layer (fill, line, circle, label) follows it.
import type { Map as MlMap, LayerSpecification } from 'maplibre-gl';

/** Metadata key the server puts on every style layer, naming its registry layer. */
export const LAYER_METADATA_KEY = 'onemap:layer';

type PaintProp = Parameters<MlMap['setPaintProperty']>[1];

/** The paint properties that carry each style layer type's opacity. */
const OPACITY_PROPS: Partial<Record<LayerSpecification['type'], PaintProp[]>> = {
  fill: ['fill-opacity'],
  line: ['line-opacity'],
  circle: ['circle-opacity', 'circle-stroke-opacity'],
  symbol: ['text-opacity', 'icon-opacity'],
  'fill-extrusion': ['fill-extrusion-opacity'],
};

/** The registry layer id a style layer belongs to, or undefined for the background and others. */
export function registryLayerOf(layer: LayerSpecification): string | undefined {
  const meta = (layer as { metadata?: unknown }).metadata;
  if (meta && typeof meta === 'object' && LAYER_METADATA_KEY in meta) {
    const id = (meta as Record<string, unknown>)[LAYER_METADATA_KEY];
    return typeof id === 'string' ? id : undefined;
  }
  return undefined;
}

/** Ids of the style layers of registry layer layerId, in style order. */
export function styleLayersOf(map: MlMap, layerId: string): LayerSpecification[] {
  return map.getStyle().layers.filter((l) => registryLayerOf(l) === layerId);
}

/** Whether any style layer of the registry layer is visible (style default: visible). */
export function isLayerVisible(map: MlMap, layerId: string): boolean {
  return styleLayersOf(map, layerId).some((l) => (l.layout as { visibility?: string } | undefined)?.visibility !== 'none');
}

/** Shows or hides all style layers of the registry layer. */
export function setLayerVisible(map: MlMap, layerId: string, visible: boolean): void {
  for (const l of styleLayersOf(map, layerId)) map.setLayoutProperty(l.id, 'visibility', visible ? 'visible' : 'none');
}

/**
 * Fades a registry layer: factor (0–1) multiplies the opacity the server's style gave each
 * paint property. A data-driven or zoom-dependent opacity cannot be multiplied, so it is replaced.
 */
export class LayerOpacity {
  /** Style opacity per style layer id and paint property, as loaded. */
  private readonly base = new Map<string, number | undefined>();

  constructor(private readonly map: MlMap) {}

  /** Sets the layer's opacity factor (0 = transparent, 1 = as styled). */
  set(layerId: string, factor: number): void {
    const f = Math.max(0, Math.min(1, factor));
    for (const l of styleLayersOf(this.map, layerId)) {
      for (const prop of OPACITY_PROPS[l.type] ?? []) {
        if (l.type === 'symbol' && prop === 'icon-opacity' && !(l.layout as Record<string, unknown> | undefined)?.['icon-image']) continue;
        const key = `${l.id}\u0000${prop}`;
        if (!this.base.has(key)) {
          const v: unknown = this.map.getPaintProperty(l.id, prop);
          this.base.set(key, typeof v === 'number' ? v : undefined);
        }
        const styled = this.base.get(key) ?? 1;
        this.map.setPaintProperty(l.id, prop, styled * f);
      }
    }
  }
}
