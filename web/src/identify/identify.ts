// Click-to-identify: on a map click, ask the server for the features of every visible registry
// layer at that point, mark the point and show the answer in the identify panel.
import { Marker, type Map as MlMap } from 'maplibre-gl';
import { onLangChange } from '../i18n/i18n';
import type { Layer } from '../layers/registry';
import { isLayerVisible } from '../layers/style-layers';
import { h } from '../ui/dom';
import { identify } from './api';
import { IdentifyPanel } from './panel';

/** Wires map clicks to the identify panel mounted in container. */
export function mountIdentify(container: HTMLElement, map: MlMap, layers: Layer[]): IdentifyPanel {
  const marker = new Marker({ element: h('div', { class: 'identify-marker', 'data-testid': 'identify-marker' }) });
  let pending: AbortController | undefined;
  const panel = new IdentifyPanel(container, new Map(layers.map((l) => [l.id, l])), () => {
    pending?.abort();
    marker.remove();
  });
  onLangChange(() => panel.render());

  map.on('click', async (e) => {
    const { lng, lat } = e.lngLat;
    marker.setLngLat(e.lngLat).addTo(map);
    pending?.abort();
    // Registry order (the tree's order); only layers shown on the map are asked for.
    const visible = layers.filter((l) => isLayerVisible(map, l.id)).map((l) => l.id);
    if (visible.length === 0) {
      panel.show({ kind: 'no-layers', lon: lng, lat });
      return;
    }
    const controller = pending = new AbortController();
    panel.show({ kind: 'loading', lon: lng, lat });
    try {
      const result = await identify(lng, lat, map.getZoom(), visible, controller.signal);
      if (controller.signal.aborted) return;
      panel.show({ kind: 'result', result });
    } catch (err) {
      if (controller.signal.aborted) return;
      panel.show({ kind: 'error', message: (err as Error).message });
    }
  });
  return panel;
}
