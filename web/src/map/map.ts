// Creates the MapLibre map on the server's style (/style.json), fully offline.
import * as maplibregl from 'maplibre-gl';
// The worker script is bundled as a separate asset: MapLibre 6 looks for it next to its own module,
// which no longer exists once Vite has bundled it, so we point MapLibre at it explicitly.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';

/** Datong city's extent in degrees (CGCS2000 ≈ WGS84 at map scale): west, south, east, north. */
export const DATONG_BOUNDS: [number, number, number, number] = [112.58, 39.05, 114.57, 40.74];

/**
 * Fonts MapLibre draws CJK ideographs, kana and full-width forms with, locally in the browser,
 * so the server needs no CJK glyph PBFs. Ends in the generic family.
 */
export const CJK_FONT_FAMILY = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

/** Creates the map in container on the server's style. */
export function createMap(container: HTMLElement): maplibregl.Map {
  maplibregl.setWorkerUrl(workerUrl);
  const map = new maplibregl.Map({
    container,
    style: '/style.json',
    bounds: DATONG_BOUNDS,
    fitBoundsOptions: { padding: 24 },
    localIdeographFontFamily: CJK_FONT_FAMILY,
    attributionControl: false,
    maxZoom: 18,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: true }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-right');
  return map;
}

/** Resolves once the map has fired "load" (call right after createMap); rejects on an error before that. */
export function whenLoaded(map: maplibregl.Map): Promise<maplibregl.Map> {
  if (map.loaded()) return Promise.resolve(map);
  return new Promise((resolve, reject) => {
    const onError = (e: maplibregl.ErrorEvent): void => reject(new Error(e.error?.message ?? 'map error'));
    map.once('error', onError);
    map.once('load', () => {
      map.off('error', onError);
      resolve(map);
    });
  });
}
