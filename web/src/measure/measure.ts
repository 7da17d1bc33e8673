// The 量测 (measure) tool: a map control with a distance and an area mode and a clear button. In a
// mode every click on the map adds a vertex, the sketch is drawn live (dashed red line, translucent
// fill, vertex circles) and the result panel shows the length in m and km or the area in m², 公顷
// and 亩 (turf, on the sphere: approximate). Double-click (or, for an area, a click on the first
// vertex) finishes; Esc cancels.
//
// While a mode is on the tool owns the clicks on the map: capture-phase listeners on the map's
// container take the click and dblclick events before MapLibre sees them, so no map "click" fires
// (identify stays quiet) and a double-click does not zoom. isMeasuring() tells other modules.
import type { GeoJSONSource, IControl, Map as MlMap } from 'maplibre-gl';
import type { Position } from 'geojson';
import { locale, onLangChange, t, type StringKey } from '../i18n/i18n';
import { formatNumber } from '../identify/area';
import { h, replaceChildren } from '../ui/dom';
import { captureMapClicks, mapPoint, nearVertex } from './capture';
import { measureArea, measureLength, sketchFeatures, type LengthResult, type MeasureMode } from './geometry';

/** The GeoJSON source and the style layers of the sketch, drawn above every plan layer. */
export const MEASURE_SOURCE = 'measure';
const LAYER_FILL = 'measure-fill';
const LAYER_CASING = 'measure-line-casing';
const LAYER_LINE = 'measure-line';
const LAYER_VERTEX = 'measure-vertex';
const COLOR = '#e11d2e';

/** A click further than this (px) from its mousedown was a pan, not a vertex (MapLibre's clickTolerance). */
const CLICK_TOLERANCE = 3;
/** A click this close (px) to the first vertex closes an area; this close to the last one adds nothing. */
const SNAP_PX = 8;

let measuring = false;

/** True while a measure mode is on: map clicks then add vertices instead of identifying. */
export function isMeasuring(): boolean {
  return measuring;
}

type Phase = 'off' | 'drawing' | 'done';

/** The measure control; add it with map.addControl(new MeasureControl(), 'top-left') once the style has loaded. */
export class MeasureControl implements IControl {
  private map: MlMap | undefined;
  private mode: MeasureMode | null = null;
  private shown: MeasureMode = 'distance';
  private phase: Phase = 'off';
  private vertices: Position[] = [];
  private cursor: Position | null = null;
  private downAt: { x: number; y: number } | null = null;
  private unsubscribeLang: (() => void) | undefined;
  private releaseClicks: (() => void) | undefined;

  private readonly title = h('span', { class: 'measure-title' });
  private readonly distanceButton = h('button', { type: 'button', class: 'measure-mode', 'data-testid': 'measure-distance', 'aria-pressed': 'false' });
  private readonly areaButton = h('button', { type: 'button', class: 'measure-mode', 'data-testid': 'measure-area', 'aria-pressed': 'false' });
  private readonly clearButton = h('button', { type: 'button', class: 'measure-clear', 'data-testid': 'measure-clear' });
  private readonly result = h('div', { class: 'measure-result', 'data-testid': 'measure-result', 'aria-live': 'polite' });
  private readonly root = h('div', { class: 'maplibregl-ctrl measure-ctrl', 'data-testid': 'measure' },
    h('div', { class: 'measure-bar' }, this.title, this.distanceButton, this.areaButton, this.clearButton), this.result);

  onAdd(map: MlMap): HTMLElement {
    this.map = map;
    this.addLayers(map);
    this.distanceButton.addEventListener('click', () => this.toggle('distance'));
    this.areaButton.addEventListener('click', () => this.toggle('area'));
    this.clearButton.addEventListener('click', () => this.clear());
    this.releaseClicks = captureMapClicks(map, { mousedown: this.onMouseDown, click: this.onClick, dblclick: this.onDblClick });
    map.on('mousemove', this.onMouseMove);
    document.addEventListener('keydown', this.onKeyDown);
    this.unsubscribeLang = onLangChange(() => this.render());
    this.render();
    return this.root;
  }

  onRemove(): void {
    const map = this.map;
    if (!map) return;
    this.setMode(null);
    this.releaseClicks?.();
    map.off('mousemove', this.onMouseMove);
    document.removeEventListener('keydown', this.onKeyDown);
    this.unsubscribeLang?.();
    for (const id of [LAYER_VERTEX, LAYER_LINE, LAYER_CASING, LAYER_FILL]) if (map.getLayer(id)) map.removeLayer(id);
    if (map.getSource(MEASURE_SOURCE)) map.removeSource(MEASURE_SOURCE);
    this.root.remove();
    this.map = undefined;
  }

  private addLayers(map: MlMap): void {
    map.addSource(MEASURE_SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    const meta = { 'onemap:measure': true };
    // A white wash rather than a tint: on a plan map a hue reads as a land-use class.
    map.addLayer({ id: LAYER_FILL, type: 'fill', source: MEASURE_SOURCE, metadata: meta,
      filter: ['==', ['get', 'kind'], 'fill'],
      paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.4 } });
    map.addLayer({ id: LAYER_CASING, type: 'line', source: MEASURE_SOURCE, metadata: meta,
      filter: ['==', ['get', 'kind'], 'line'],
      layout: { 'line-join': 'round', 'line-cap': 'round' },
      paint: { 'line-color': '#ffffff', 'line-width': 5, 'line-opacity': 0.9 } });
    map.addLayer({ id: LAYER_LINE, type: 'line', source: MEASURE_SOURCE, metadata: meta,
      filter: ['==', ['get', 'kind'], 'line'],
      layout: { 'line-join': 'round' },
      paint: { 'line-color': COLOR, 'line-width': 2.5, 'line-dasharray': [3, 2] } });
    map.addLayer({ id: LAYER_VERTEX, type: 'circle', source: MEASURE_SOURCE, metadata: meta,
      filter: ['==', ['get', 'kind'], 'vertex'],
      paint: {
        'circle-radius': ['case', ['get', 'first'], 6, 4.5],
        'circle-color': '#ffffff',
        'circle-stroke-color': COLOR,
        'circle-stroke-width': ['case', ['get', 'first'], 3, 2],
      } });
  }

  /** Turns mode on (starting afresh) or, if it is already on, off. */
  private toggle(mode: MeasureMode): void {
    if (this.mode === mode) {
      this.setMode(null);
      if (this.phase === 'drawing') this.discard();
      this.render();
      return;
    }
    this.discard();
    this.setMode(mode);
    this.shown = mode;
    this.phase = 'drawing';
    this.redraw();
  }

  /** Removes the sketch and the result and leaves measuring. */
  private clear(): void {
    this.setMode(null);
    this.discard();
    this.redraw();
  }

  private discard(): void {
    this.vertices = [];
    this.cursor = null;
    this.phase = 'off';
  }

  private setMode(mode: MeasureMode | null): void {
    this.mode = mode;
    measuring = mode !== null;
    if (this.map) this.map.getCanvas().style.cursor = mode ? 'crosshair' : '';
    this.root.dataset.mode = mode ?? 'off';
  }

  private finish(): void {
    const enough = this.mode === 'area' ? 3 : 2;
    if (this.vertices.length < enough) return;
    this.phase = 'done';
    this.cursor = null;
    this.redraw();
  }

  /** True for events on the map itself (not on a control) while a mode is on. */
  private owns(e: Event): boolean {
    return this.mode !== null && !!this.map && e.target instanceof Node && this.map.getCanvasContainer().contains(e.target);
  }

  private readonly onMouseDown = (e: MouseEvent): void => {
    if (this.owns(e)) this.downAt = mapPoint(this.map!, e);
  };

  private readonly onClick = (e: MouseEvent): void => {
    if (!this.owns(e)) return;
    e.stopPropagation(); // the map never sees it: no map "click", so no identify
    const p = mapPoint(this.map!, e);
    const down = this.downAt;
    this.downAt = null;
    if (down && Math.hypot(down.x - p.x, down.y - p.y) > CLICK_TOLERANCE) return; // end of a pan
    if (this.phase !== 'drawing') { // a click after a finished measurement starts the next one…
      if (e.detail > 1) return; // …unless it is the second click of the double-click that finished it
      this.vertices = [];
      this.phase = 'drawing';
    }
    if (this.mode === 'area' && this.vertices.length >= 3 && nearVertex(this.map!, p, this.vertices[0], SNAP_PX)) {
      this.finish();
      return;
    }
    // The two clicks of a double-click land on the same spot: one vertex.
    if (nearVertex(this.map!, p, this.vertices[this.vertices.length - 1], CLICK_TOLERANCE)) return;
    const { lng, lat } = this.map!.unproject([p.x, p.y]);
    this.vertices.push([lng, lat]);
    this.cursor = null;
    this.redraw();
  };

  private readonly onDblClick = (e: MouseEvent): void => {
    if (!this.owns(e)) return;
    e.stopPropagation(); // no double-click zoom
    e.preventDefault();
    if (this.phase === 'drawing') this.finish();
  };

  private readonly onMouseMove = (e: { lngLat: { lng: number; lat: number } }): void => {
    if (this.mode === null || this.phase !== 'drawing' || this.vertices.length === 0) return;
    this.cursor = [e.lngLat.lng, e.lngLat.lat];
    this.redraw();
  };

  private readonly onKeyDown = (e: KeyboardEvent): void => {
    if (e.key !== 'Escape' || this.mode === null) return;
    if (this.phase === 'drawing') this.discard();
    this.setMode(null);
    this.redraw();
  };

  /** Puts the sketch on the map and re-renders the panel. */
  private redraw(): void {
    const source = this.map?.getSource<GeoJSONSource>(MEASURE_SOURCE);
    source?.setData(sketchFeatures(this.mode ?? this.shown, this.vertices, this.phase === 'drawing' ? this.cursor : null));
    this.render();
  }

  private render(): void {
    const labels: [HTMLElement, StringKey, StringKey?][] = [
      [this.title, 'measure'],
      [this.distanceButton, 'measureDistance', 'measureDistanceTitle'],
      [this.areaButton, 'area', 'measureAreaTitle'],
      [this.clearButton, 'clear', 'measureClearTitle'],
    ];
    for (const [el, text, title] of labels) {
      el.textContent = t(text);
      if (title) el.title = t(title);
    }
    this.distanceButton.setAttribute('aria-pressed', String(this.mode === 'distance'));
    this.areaButton.setAttribute('aria-pressed', String(this.mode === 'area'));
    this.result.dataset.state = this.phase;
    this.result.hidden = this.phase === 'off' && this.mode === null;
    if (this.result.hidden) {
      replaceChildren(this.result);
      return;
    }
    const hint = this.mode && this.phase === 'drawing'
      ? h('p', { class: 'measure-hint' }, t(this.mode === 'area' ? 'measureHintArea' : 'measureHintDistance'))
      : null;
    const path = this.phase === 'drawing' && this.cursor ? [...this.vertices, this.cursor] : this.vertices;
    const enough = this.shown === 'area' ? 3 : 2;
    if (path.length < enough) {
      replaceChildren(this.result, hint);
      return;
    }
    const l = locale();
    const value = (testid: string, text: string): HTMLElement => h('span', { class: 'measure-value', 'data-testid': testid }, `≈ ${text}`);
    const row = (label: string, ...values: HTMLElement[]): HTMLElement =>
      h('div', { class: 'measure-row' }, h('span', { class: 'measure-label' }, label), h('span', { class: 'measure-nums' }, ...values));
    const lengthRow = (label: string, r: LengthResult, prefix: string): HTMLElement => row(label,
      value(`${prefix}-m`, `${formatNumber(r.m, 2, l)} ${t('unitM')}`),
      value(`${prefix}-km`, `${formatNumber(r.km, 4, l)} ${t('unitKm')}`));
    let rows: HTMLElement[];
    if (this.shown === 'area') {
      const r = measureArea(path);
      rows = [
        row(t('area'),
          value('measure-result-m2', `${formatNumber(r.m2, 1, l)} ${t('unitM2')}`),
          value('measure-result-ha', `${formatNumber(r.ha, 4, l)} ${t('unitHa')}`),
          value('measure-result-mu', `${formatNumber(r.mu, 2, l)} ${t('unitMu')}`)),
        lengthRow(t('measurePerimeter'), r.perimeter, 'measure-result-perimeter'),
      ];
    } else {
      rows = [lengthRow(t('measureLength'), measureLength(path), 'measure-result')];
    }
    replaceChildren(this.result,
      h('div', { class: 'measure-values' }, ...rows),
      h('p', { class: 'measure-note' }, t('measureApprox')),
      hint);
  }
}
