// Identify for the public viewer and an archive opened from disk: what the map draws at the
// clicked point (the release's own tiles; no working-data call, and no server at all for an
// archive), shown in the identify panel with the layer's class names and attributes.
import { Marker, type MapGeoJSONFeature, type Map as MlMap } from 'maplibre-gl';
import type { IdentifiedFeature } from '../identify/api';
import { IdentifyPanel } from '../identify/panel';
import { m2ToHa, m2ToMu } from '../identify/area';
import { onLangChange } from '../i18n/i18n';
import type { RegistryEntry } from '../layers/registry';
import { isLayerVisible, registryLayerOf } from '../layers/style-layers';
import { h } from '../ui/dom';

/** Pixels around the click that count as "at" it (lines and points are thin). */
const TOLERANCE = 4;

/** Wires clicks on map to an identify panel in container; entries() gives the layers shown now. */
export function mountLocalIdentify(container: HTMLElement, map: MlMap, entries: () => RegistryEntry[]): IdentifyPanel {
  const marker = new Marker({ element: h('div', { class: 'identify-marker', 'data-testid': 'identify-marker' }) });
  const byId = new Map<string, RegistryEntry>();
  const panel = new IdentifyPanel(container, byId, () => marker.remove());
  onLangChange(() => panel.render());
  map.on('click', (e) => {
    const list = entries();
    byId.clear();
    for (const l of list) byId.set(l.id, l);
    const { lng, lat } = e.lngLat;
    marker.setLngLat(e.lngLat).addTo(map);
    const visible = list.filter((l) => isLayerVisible(map, l.id));
    if (!visible.length) {
      panel.show({ kind: 'no-layers', lon: lng, lat });
      return;
    }
    const { x, y } = e.point;
    const found = map.queryRenderedFeatures([[x - TOLERANCE, y - TOLERANCE], [x + TOLERANCE, y + TOLERANCE]]);
    const order = new Map(list.map((l, i) => [l.id, i]));
    const seen = new Set<string>();
    const features: IdentifiedFeature[] = [];
    for (const f of found) {
      const layerId = registryLayerOf(f.layer);
      const entry = layerId ? byId.get(layerId) : undefined;
      if (!layerId || !entry) continue;
      const fid = featureId(f);
      const key = `${layerId}:${fid}`;
      if (seen.has(key)) continue;
      seen.add(key);
      features.push(identified(entry, f, fid));
    }
    features.sort((a, b) => (order.get(a.layer) ?? 0) - (order.get(b.layer) ?? 0));
    panel.show({ kind: 'result', result: { lon: lng, lat, features } });
  });
  return panel;
}

function featureId(f: MapGeoJSONFeature): number {
  const p = f.properties ?? {};
  const id = f.id ?? p.fid;
  return typeof id === 'number' ? id : Number(id) || 0;
}

function identified(entry: RegistryEntry, f: MapGeoJSONFeature, fid: number): IdentifiedFeature {
  const p = (f.properties ?? {}) as Record<string, unknown>;
  const code = p.code === undefined || p.code === null ? null : String(p.code);
  const cls = entry.classification.classes.find((c) => c.code === code);
  const area = typeof p.area_m2 === 'number' ? p.area_m2 : null;
  const properties: Record<string, unknown> = {};
  for (const a of entry.attributes) if (a.name in p) properties[a.name] = p[a.name];
  return {
    layer: entry.id,
    fid,
    code,
    class: cls ? { zh: cls.zh, en: cls.en, color: cls.color } : null,
    properties,
    area_m2: area,
    area_ha: area === null ? null : m2ToHa(area),
    area_mu: area === null ? null : m2ToMu(area),
  };
}
