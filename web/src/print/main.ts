// The print page (web/print.html): the service's headless Chromium opens it with the job in
// window.__printJob (server/releases/print.ts), or a person with ?job=<base64url JSON>. It lays out
// every sheet, draws each sheet's map with MapLibre on the release's style (only the chosen layers),
// turns the map into an <img> of its canvas (so a PDF holds an image and the page's words stay
// text) and frees its WebGL context before the next, then says window.__printReady = true; a
// failure says window.__printError = message.
import * as maplibregl from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { PrintJob, PrintSheet } from '../../../server/releases/print';
import { CJK_FONT_FAMILY } from '../map/map';
import { buildSheet, fitLegend } from './sheet';
import './print.css';

declare global {
  interface Window {
    __printJob?: PrintJob;
    __printReady?: boolean;
    __printError?: string;
    /** PNG: shows sheet i alone (the service screenshots one sheet at a time). */
    __printShow?: (i: number) => void;
  }
}

type StyleSpec = maplibregl.StyleSpecification;
type LayerSpec = maplibregl.LayerSpecification & { metadata?: Record<string, unknown>; 'source-layer'?: string };

function jobFromUrl(): PrintJob | undefined {
  const raw = new URLSearchParams(location.search).get('job');
  if (!raw) return undefined;
  const b64 = raw.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))) as PrintJob;
}

/** The release's style with only the chosen layers (each shown), over its background. */
async function printStyle(job: PrintJob): Promise<StyleSpec> {
  const res = await fetch(job.styleUrl, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`style ${job.styleUrl}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  const style = (await res.json()) as StyleSpec;
  const chosen = new Set(job.layers);
  const layerOf = (l: LayerSpec) => String(l.metadata?.['onemap:layer'] ?? l['source-layer'] ?? '');
  style.layers = (style.layers as LayerSpec[])
    .filter((l) => l.type === 'background' || chosen.has(layerOf(l)))
    .map((l) => (l.type === 'background' ? l : { ...l, layout: { ...(l.layout ?? {}), visibility: 'visible' } })) as StyleSpec['layers'];
  return style;
}

/** The district of an atlas page: what lies outside it veiled, its boundary drawn over everything. */
function addFrame(map: maplibregl.Map, frame: NonNullable<PrintSheet['frame']>): void {
  map.addSource('print-frame', {
    type: 'geojson',
    data: {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { role: 'mask' }, geometry: frame.mask as GeoJSON.Geometry },
        { type: 'Feature', properties: { role: 'outline' }, geometry: frame.outline as GeoJSON.Geometry },
      ],
    },
  });
  map.addLayer({ id: 'print-mask', type: 'fill', source: 'print-frame', filter: ['==', ['get', 'role'], 'mask'], paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.62 } });
  map.addLayer({ id: 'print-outline', type: 'line', source: 'print-frame', filter: ['==', ['get', 'role'], 'outline'], paint: { 'line-color': '#b4232a', 'line-width': 2.4, 'line-opacity': 0.9 }, layout: { 'line-join': 'round' } });
}

/** Draws one sheet's map in its box, waits until every tile is drawn, and leaves an <img> of it there. */
async function drawMap(job: PrintJob, style: StyleSpec, sheet: PrintSheet, box: HTMLElement): Promise<void> {
  const container = document.createElement('div');
  container.className = 'map-canvas';
  box.append(container);
  const map = new maplibregl.Map({
    container,
    style,
    center: sheet.view.center,
    zoom: sheet.view.zoom,
    interactive: false,
    attributionControl: false,
    pixelRatio: job.dpi / 96,
    maxCanvasSize: [8192, 8192],
    fadeDuration: 0,
    localIdeographFontFamily: CJK_FONT_FAMILY,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      map.on('error', (e) => reject(new Error(`map: ${e.error?.message ?? 'error'}`)));
      map.once('load', () => {
        if (sheet.frame) addFrame(map, sheet.frame);
        map.once('idle', () => resolve());
      });
    });
    const img = new Image();
    img.alt = '地图';
    const blob = await new Promise<Blob | null>((resolve) => map.getCanvas().toBlob(resolve, 'image/png'));
    if (!blob) throw new Error('the map canvas gave no image');
    img.src = URL.createObjectURL(blob);
    await img.decode();
    box.append(img);
  } finally {
    map.remove(); // its WebGL context goes with it
    container.remove();
  }
}

async function main(): Promise<void> {
  const job = window.__printJob ?? jobFromUrl();
  if (!job) throw new Error('no print job: the service opens this page with one (POST /api/releases/{n}/prints)');
  maplibregl.setWorkerUrl(workerUrl);
  const l = job.layout;
  // A constructed sheet, not a <style> element: the service's Content-Security-Policy allows no inline style.
  const page = new CSSStyleSheet();
  page.replaceSync(`@page { size: ${l.width}mm ${l.height}mm; margin: 0; }`);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, page];
  document.title = `${job.title} — 成果第 ${job.release.number} 版`;

  const root = document.getElementById('sheets')!;
  const built = job.sheets.map((s, i) => buildSheet(job, s, i));
  root.append(...built.map((b) => b.root));
  await document.fonts.ready;
  for (const b of built) fitLegend(b.legend, l.orientation === 'landscape', l.k);

  const style = await printStyle(job);
  for (const [i, b] of built.entries()) await drawMap(job, style, job.sheets[i], b.mapBox);
  window.__printShow = (i: number) => built.forEach((b, k) => (b.root.hidden = k !== i));
  await document.fonts.ready;
  window.__printReady = true;
}

main().catch((err: unknown) => {
  window.__printError = err instanceof Error ? err.message : String(err);
  document.body.prepend(Object.assign(document.createElement('p'), { className: 'print-error', role: 'alert', textContent: window.__printError }));
});
