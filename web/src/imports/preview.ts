// The preview of an import on the map: the report's first features (EPSG:4490) in a temporary
// GeoJSON source drawn above every other layer (blue wash, dark blue dashed outline, circles for
// points; features with a problem in red), fitted into view; removed after a commit, on close or
// when the input changes.
import type { ExpressionSpecification, FitBoundsOptions, Map as MlMap } from 'maplibre-gl';
import type { FeatureCollection, Geometry, Position } from 'geojson';

/** The preview's GeoJSON source; its style layers are IMPORT_PREVIEW_SOURCE + '-fill' etc. */
export const IMPORT_PREVIEW_SOURCE = 'import-preview';
const LAYERS = ['fill', 'outline-casing', 'outline', 'point'].map((k) => `${IMPORT_PREVIEW_SOURCE}-${k}`);
// Blue: no plan layer uses it for a class, and it differs from the measure tool's red.
const COLOR = '#1d4ed8';
const PROBLEM_COLOR = '#dc2626';

/** Bounds [[w, s], [e, n]] of every coordinate of the collection, or null when it has none. */
export function boundsOf(fc: FeatureCollection): [[number, number], [number, number]] | null {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const visit = (p: Position): void => {
    const x = p[0], y = p[1];
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) return;
    if (x < w) w = x;
    if (x > e) e = x;
    if (y < s) s = y;
    if (y > n) n = y;
  };
  const walk = (g: Geometry | null): void => {
    if (!g) return;
    switch (g.type) {
      case 'Point': visit(g.coordinates); break;
      case 'MultiPoint': case 'LineString': g.coordinates.forEach(visit); break;
      case 'MultiLineString': case 'Polygon': g.coordinates.forEach((r) => r.forEach(visit)); break;
      case 'MultiPolygon': g.coordinates.forEach((p) => p.forEach((r) => r.forEach(visit))); break;
      case 'GeometryCollection': g.geometries.forEach(walk); break;
    }
  };
  for (const f of fc.features) walk(f.geometry);
  return w <= e && s <= n ? [[w, s], [e, n]] : null;
}

/**
 * Shows fc as the import preview (replacing any earlier one) and fits the map to it. The preview's
 * feature ids are their indexes in the file; those in `flagged` (features with a problem) are red.
 */
export function showPreview(map: MlMap, fc: FeatureCollection, flagged: number[], fit: FitBoundsOptions): void {
  // Added afresh each time: on top of whatever was added since (the measure sketch, …).
  removePreview(map);
  map.addSource(IMPORT_PREVIEW_SOURCE, { type: 'geojson', data: fc });
  const meta = { 'onemap:import-preview': true };
  const color: ExpressionSpecification = ['case', ['in', ['id'], ['literal', flagged]], PROBLEM_COLOR, COLOR];
  map.addLayer({ id: LAYERS[0]!, type: 'fill', source: IMPORT_PREVIEW_SOURCE, metadata: meta,
    filter: ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]],
    paint: { 'fill-color': color, 'fill-opacity': 0.22 } });
  map.addLayer({ id: LAYERS[1]!, type: 'line', source: IMPORT_PREVIEW_SOURCE, metadata: meta,
    filter: ['!', ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]]],
    layout: { 'line-join': 'round' },
    paint: { 'line-color': '#ffffff', 'line-width': 4, 'line-opacity': 0.9 } });
  map.addLayer({ id: LAYERS[2]!, type: 'line', source: IMPORT_PREVIEW_SOURCE, metadata: meta,
    filter: ['!', ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]]],
    layout: { 'line-join': 'round' },
    paint: { 'line-color': color, 'line-width': 2, 'line-dasharray': [3, 1.5] } });
  map.addLayer({ id: LAYERS[3]!, type: 'circle', source: IMPORT_PREVIEW_SOURCE, metadata: meta,
    filter: ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]],
    paint: { 'circle-radius': 5, 'circle-color': color, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } });
  const bounds = boundsOf(fc);
  if (bounds) map.fitBounds(bounds, { maxZoom: 17, ...fit });
}

/** Removes the preview from the map (no-op when there is none). */
export function removePreview(map: MlMap): void {
  for (const id of [...LAYERS].reverse()) if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(IMPORT_PREVIEW_SOURCE)) map.removeSource(IMPORT_PREVIEW_SOURCE);
}
