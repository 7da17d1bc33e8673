// Creates the MapLibre map on the server's style (/style.json), fully offline.
import * as maplibregl from 'maplibre-gl';
// The worker script is bundled as a separate asset: MapLibre 6 looks for it next to its own module,
// which no longer exists once Vite has bundled it, so we point MapLibre at it explicitly.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import { lang, onLangChange, type Lang } from '../i18n/i18n';

/** Datong city's extent in degrees (CGCS2000 ≈ WGS84 at map scale): west, south, east, north. */
export const DATONG_BOUNDS: [number, number, number, number] = [112.58, 39.05, 114.57, 40.74];

/**
 * Fonts MapLibre draws CJK ideographs, kana and full-width forms with, locally in the browser,
 * so the server needs no CJK glyph PBFs. Ends in the generic family.
 */
export const CJK_FONT_FAMILY = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

/** MapLibre's own interface strings (control tooltips, scale units) in each interface language. */
const MAP_UI: Record<Lang, Record<string, string>> = {
  zh: {
    'Map.Title': '地图',
    'NavigationControl.ZoomIn': '放大',
    'NavigationControl.ZoomOut': '缩小',
    'NavigationControl.ResetBearing': '恢复正北方向',
    'ScaleControl.Meters': '米',
    'ScaleControl.Kilometers': '公里',
    'Popup.Close': '关闭',
  },
  en: {
    'Map.Title': 'Map',
    'NavigationControl.ZoomIn': 'Zoom in',
    'NavigationControl.ZoomOut': 'Zoom out',
    'NavigationControl.ResetBearing': 'Reset bearing to north',
    'ScaleControl.Meters': 'm',
    'ScaleControl.Kilometers': 'km',
    'Popup.Close': 'Close popup',
  },
};

/**
 * Creates the map in container on the server's style (the working one, or a release's, or a style
 * object), its controls in the interface language.
 */
export function createMap(container: HTMLElement, style: string | maplibregl.StyleSpecification = '/style.json'): maplibregl.Map {
  maplibregl.setWorkerUrl(workerUrl);
  const map = new maplibregl.Map({
    container,
    style,
    bounds: DATONG_BOUNDS,
    fitBoundsOptions: { padding: 24 },
    localIdeographFontFamily: CJK_FONT_FAMILY,
    attributionControl: false,
    maxZoom: 18,
    locale: MAP_UI[lang()],
  });
  let controls: maplibregl.IControl[] = [];
  const addControls = () => {
    for (const c of controls) map.removeControl(c);
    controls = [new maplibregl.NavigationControl({ showCompass: true }), new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 120 })];
    map.addControl(controls[0], 'top-right');
    map.addControl(controls[1], 'bottom-right');
  };
  addControls();
  // MapLibre reads its strings when a control is made: on a switch they are made again.
  const stop = onLangChange((l) => {
    map._locale = { ...map._locale, ...MAP_UI[l] };
    addControls();
  });
  map.once('remove', stop); // a map of a comparison goes when it closes
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
