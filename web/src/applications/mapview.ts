// The joint review on the map, on top of every plan layer:
//   the site being prepared — the server's normalised site as a red line (用地红线), or the
//     browser's own preview of typed boundary points, dashed, before the server has seen them;
//   the compliance report of an application version (GET /api/applications/:id/map) — the site's
//     red line, the overlaps that break a rule hatched red, the sensitive areas it touches hatched
//     orange, each overlap labelled with its name and 公顷 — and the plan layers the report names
//     switched on in the layer tree.
import type { FilterSpecification, Map as MlMap } from 'maplibre-gl';
import type { FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import { boundsOf } from '../imports/preview';
import { setLayerVisible, isLayerVisible } from '../layers/style-layers';
import { formatNumber } from '../identify/area';
import { lang, locale, t } from '../i18n/i18n';
import { clearOfPanel } from '../ui/panel';
import { SITE_RED } from './draw';

export const SITE_SOURCE = 'app-site';
export const REPORT_SOURCE = 'app-report';
const SITE_LAYERS = ['app-site-fill', 'app-site-casing', 'app-site-line'] as const;
export const REPORT_LAYERS = {
  ruleFill: 'app-report-rule-fill',
  ruleLine: 'app-report-rule-line',
  alertFill: 'app-report-alert-fill',
  alertLine: 'app-report-alert-line',
  siteCasing: 'app-report-site-casing',
  site: 'app-report-site',
  label: 'app-report-label',
} as const;
export const RULE_COLOR = '#b10026';
export const ALERT_COLOR = '#e8710a';
const HATCH_RULE = 'app-hatch-rule';
const HATCH_ALERT = 'app-hatch-alert';
/** The label font of the server's style (CJK comes from the browser's fonts). */
const LABEL_FONT = 'Noto Sans Regular';
const META = { 'onemap:application': true };

const role = (r: string): FilterSpecification => ['==', ['get', 'role'], r];

/** A diagonal hatch as a map image (transparent between the strokes). */
function addHatch(map: MlMap, id: string, color: string): void {
  if (map.hasImage(id)) return;
  const size = 12, ratio = 2;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size * ratio;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.scale(ratio, ratio);
  ctx.fillStyle = `${color}33`;
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  for (const o of [-size, 0, size]) {
    ctx.moveTo(o, size);
    ctx.lineTo(o + size, 0);
  }
  ctx.stroke();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  map.addImage(id, { width: data.width, height: data.height, data: new Uint8Array(data.data.buffer) }, { pixelRatio: ratio });
}

function removeLayers(map: MlMap, ids: readonly string[], source: string): void {
  for (const id of [...ids].reverse()) if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(source)) map.removeSource(source);
}

/** Shows a site being prepared: `local` (the browser's own conversion) dashed, the server's solid. */
export function showSite(map: MlMap, geometry: Polygon | MultiPolygon, local: boolean): void {
  removeSite(map);
  map.addSource(SITE_SOURCE, { type: 'geojson', data: { type: 'Feature', properties: { local }, geometry } });
  map.addLayer({ id: SITE_LAYERS[0], type: 'fill', source: SITE_SOURCE, metadata: META, paint: { 'fill-color': SITE_RED, 'fill-opacity': 0.1 } });
  map.addLayer({ id: SITE_LAYERS[1], type: 'line', source: SITE_SOURCE, metadata: META, layout: { 'line-join': 'round' },
    paint: { 'line-color': '#ffffff', 'line-width': 5.5, 'line-opacity': 0.9 } });
  map.addLayer({ id: SITE_LAYERS[2], type: 'line', source: SITE_SOURCE, metadata: META, layout: { 'line-join': 'round' },
    paint: { 'line-color': SITE_RED, 'line-width': 2.8, ...(local ? { 'line-dasharray': [2, 1.5] } : {}) } });
}

export function removeSite(map: MlMap): void {
  removeLayers(map, SITE_LAYERS, SITE_SOURCE);
}

/** The label of an overlap on the map: "基本农田保护区\n2.31 公顷". */
function labelOf(p: Record<string, unknown>): string {
  const zh = lang() === 'en' && typeof p['en'] === 'string' ? String(p['en']) : String(p['zh'] ?? p['rule'] ?? p['id'] ?? '');
  const ha = typeof p['area_ha'] === 'number' ? `${formatNumber(p['area_ha'], 2, locale())} ${t('unitHa')}` : '';
  return [zh, ha].filter(Boolean).join('\n');
}

/** Draws a version's report features (replacing any earlier report). */
export function showReport(map: MlMap, fc: FeatureCollection<Geometry>): void {
  removeReport(map);
  addHatch(map, HATCH_RULE, RULE_COLOR);
  addHatch(map, HATCH_ALERT, ALERT_COLOR);
  const data: FeatureCollection = {
    type: 'FeatureCollection',
    features: fc.features.map((f) => ({ ...f, properties: { ...(f.properties ?? {}), label: f.properties?.['role'] === 'site' ? '' : labelOf(f.properties ?? {}) } })),
  };
  map.addSource(REPORT_SOURCE, { type: 'geojson', data });
  const L = REPORT_LAYERS;
  map.addLayer({ id: L.alertFill, type: 'fill', source: REPORT_SOURCE, metadata: META, filter: role('alert'), paint: { 'fill-pattern': HATCH_ALERT } });
  map.addLayer({ id: L.alertLine, type: 'line', source: REPORT_SOURCE, metadata: META, filter: role('alert'), layout: { 'line-join': 'round' },
    paint: { 'line-color': ALERT_COLOR, 'line-width': 1.8, 'line-dasharray': [3, 2] } });
  map.addLayer({ id: L.ruleFill, type: 'fill', source: REPORT_SOURCE, metadata: META, filter: role('rule'), paint: { 'fill-pattern': HATCH_RULE } });
  map.addLayer({ id: L.ruleLine, type: 'line', source: REPORT_SOURCE, metadata: META, filter: role('rule'), layout: { 'line-join': 'round' },
    paint: { 'line-color': RULE_COLOR, 'line-width': 1.8 } });
  map.addLayer({ id: L.siteCasing, type: 'line', source: REPORT_SOURCE, metadata: META, filter: role('site'), layout: { 'line-join': 'round' },
    paint: { 'line-color': '#ffffff', 'line-width': 6, 'line-opacity': 0.9 } });
  map.addLayer({ id: L.site, type: 'line', source: REPORT_SOURCE, metadata: META, filter: role('site'), layout: { 'line-join': 'round' },
    paint: { 'line-color': SITE_RED, 'line-width': 3 } });
  map.addLayer({ id: L.label, type: 'symbol', source: REPORT_SOURCE, metadata: META, filter: ['!=', ['get', 'label'], ''],
    layout: { 'text-field': ['get', 'label'], 'text-font': [LABEL_FONT], 'text-size': 12, 'text-max-width': 12, 'symbol-placement': 'point' },
    paint: { 'text-color': RULE_COLOR, 'text-halo-color': '#ffffff', 'text-halo-width': 1.6 } });
}

export function removeReport(map: MlMap): void {
  removeLayers(map, Object.values(REPORT_LAYERS), REPORT_SOURCE);
}

/** Fits the map to a collection (or a geometry), with padding for the panel over the map's left side. */
export function fitTo(map: MlMap, what: FeatureCollection | Geometry, panel: HTMLElement | null): void {
  const fc: FeatureCollection = 'features' in what ? what : { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: what }] };
  const bounds = boundsOf(fc);
  if (!bounds) return;
  // Clear of the panel (60 px margins), leaving the site at least 220 px however narrow the window.
  const padding = clearOfPanel(map, panel, 'left', 60, () => 60 + 220);
  map.fitBounds(bounds, { padding, maxZoom: 17, duration: 600 });
}

/**
 * Switches the named registry layers on: through the layer tree's checkbox when it is there (so the
 * tree stays in step), else on the map. Answers the ones that were off.
 */
export function switchLayersOn(map: MlMap, layerIds: string[]): string[] {
  const turned: string[] = [];
  for (const id of new Set(layerIds)) {
    if (!id || isLayerVisible(map, id)) continue;
    const box = document.querySelector<HTMLInputElement>(`[data-testid="layer-toggle-${CSS.escape(id)}"]`);
    if (box) {
      box.checked = true;
      box.dispatchEvent(new Event('change', { bubbles: true }));
    } else {
      setLayerVisible(map, id, true);
    }
    turned.push(id);
  }
  return turned;
}
