// Drawing a project site on the map: the measure tool's way of sketching an area (its geometry
// helpers, the same click/double-click/close-on-first-vertex handling) with the area shown live
// in 公顷 and 亩 (turf) while the clerk clicks. While it draws it owns the map's clicks (capture-
// phase listeners on the map container, so no map "click" reaches identify and a double-click does
// not zoom); the measure tool is left first if it was on.
import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import type { Polygon, Position } from 'geojson';
import { closeRing, measureArea, sketchFeatures, type AreaResult } from '../measure/geometry';
import { captureMapClicks, mapPoint, nearVertex } from '../measure/capture';
import { isMeasuring } from '../measure/measure';

export const DRAW_SOURCE = 'app-draw';
const LAYERS = { fill: 'app-draw-fill', casing: 'app-draw-casing', line: 'app-draw-line', vertex: 'app-draw-vertex' } as const;
/** The red of a 用地红线. */
export const SITE_RED = '#d7191c';
const CLICK_TOLERANCE = 3;
const SNAP_PX = 10;

export type DrawPhase = 'off' | 'drawing' | 'done';

export interface DrawState {
  phase: DrawPhase;
  vertices: Position[];
  /** The area of the vertices (with the cursor while drawing). */
  area: AreaResult;
}

/** The polygon of a finished sketch (closed ring), or null below three vertices. */
export function sketchPolygon(vertices: Position[]): Polygon | null {
  return vertices.length >= 3 ? { type: 'Polygon', coordinates: [closeRing(vertices)] } : null;
}

export class SiteDrawer {
  private phase: DrawPhase = 'off';
  private vertices: Position[] = [];
  private cursor: Position | null = null;
  private downAt: { x: number; y: number } | null = null;
  private attached = false;
  private releaseClicks: (() => void) | undefined;
  private finishedAt = 0;

  constructor(private readonly map: MlMap, private readonly onChange: (state: DrawState) => void, private readonly onFinish: (polygon: Polygon) => void) {}

  get state(): DrawState {
    const path = this.phase === 'drawing' && this.cursor ? [...this.vertices, this.cursor] : this.vertices;
    return { phase: this.phase, vertices: [...this.vertices], area: measureArea(path) };
  }

  /** Starts a new sketch (dropping any earlier one). */
  start(): void {
    if (isMeasuring()) document.querySelector<HTMLButtonElement>('[data-testid="measure-clear"]')?.click();
    this.attach();
    this.vertices = [];
    this.cursor = null;
    this.phase = 'drawing';
    this.map.getCanvas().style.cursor = 'crosshair';
    this.redraw();
  }

  /** Removes the last vertex while drawing. */
  undo(): void {
    if (this.phase !== 'drawing' || !this.vertices.length) return;
    this.vertices.pop();
    this.redraw();
  }

  /** Closes the sketch (three vertices at least). */
  finish(): void {
    if (this.phase !== 'drawing' || this.vertices.length < 3) return;
    this.phase = 'done';
    this.finishedAt = Date.now();
    this.cursor = null;
    this.map.getCanvas().style.cursor = '';
    this.redraw();
    const polygon = sketchPolygon(this.vertices);
    if (polygon) this.onFinish(polygon);
  }

  /** Drops the sketch and leaves drawing. */
  clear(): void {
    const was = this.phase !== 'off' || this.vertices.length > 0;
    this.phase = 'off';
    this.vertices = [];
    this.cursor = null;
    if (this.attached) this.map.getCanvas().style.cursor = '';
    if (was) this.redraw();
  }

  /** Removes the listeners and the layers (the panel closes). */
  detach(): void {
    this.clear();
    if (!this.attached) return;
    this.releaseClicks?.();
    this.map.off('mousemove', this.onMouseMove);
    document.removeEventListener('keydown', this.onKeyDown);
    for (const id of [LAYERS.vertex, LAYERS.line, LAYERS.casing, LAYERS.fill]) if (this.map.getLayer(id)) this.map.removeLayer(id);
    if (this.map.getSource(DRAW_SOURCE)) this.map.removeSource(DRAW_SOURCE);
    this.attached = false;
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    const map = this.map;
    if (!map.getSource(DRAW_SOURCE)) map.addSource(DRAW_SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    const meta = { 'onemap:application-draw': true };
    map.addLayer({ id: LAYERS.fill, type: 'fill', source: DRAW_SOURCE, metadata: meta, filter: ['==', ['get', 'kind'], 'fill'],
      paint: { 'fill-color': SITE_RED, 'fill-opacity': 0.12 } });
    map.addLayer({ id: LAYERS.casing, type: 'line', source: DRAW_SOURCE, metadata: meta, filter: ['==', ['get', 'kind'], 'line'],
      layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': '#ffffff', 'line-width': 5, 'line-opacity': 0.9 } });
    map.addLayer({ id: LAYERS.line, type: 'line', source: DRAW_SOURCE, metadata: meta, filter: ['==', ['get', 'kind'], 'line'],
      layout: { 'line-join': 'round' }, paint: { 'line-color': SITE_RED, 'line-width': 2.5 } });
    map.addLayer({ id: LAYERS.vertex, type: 'circle', source: DRAW_SOURCE, metadata: meta, filter: ['==', ['get', 'kind'], 'vertex'],
      paint: { 'circle-radius': ['case', ['get', 'first'], 6, 4.5], 'circle-color': '#ffffff', 'circle-stroke-color': SITE_RED,
        'circle-stroke-width': ['case', ['get', 'first'], 3, 2] } });
    this.releaseClicks = captureMapClicks(map, { mousedown: this.onMouseDown, click: this.onClick, dblclick: this.onDblClick });
    map.on('mousemove', this.onMouseMove);
    document.addEventListener('keydown', this.onKeyDown);
  }

  private redraw(): void {
    this.map.getSource<GeoJSONSource>(DRAW_SOURCE)?.setData(
      sketchFeatures('area', this.vertices, this.phase === 'drawing' ? this.cursor : null));
    this.onChange(this.state);
  }

  private owns(e: Event): boolean {
    if (this.phase !== 'drawing' || !(e.target instanceof Node) || !this.map.getCanvasContainer().contains(e.target)) return false;
    // The measure tool was switched on while drawing: it has the map's clicks now.
    if (isMeasuring()) {
      this.clear();
      return false;
    }
    return true;
  }

  private readonly onMouseDown = (e: MouseEvent): void => {
    if (this.owns(e)) this.downAt = mapPoint(this.map, e);
  };

  private readonly onClick = (e: MouseEvent): void => {
    if (!this.owns(e)) return;
    e.stopPropagation();
    const p = mapPoint(this.map, e);
    const down = this.downAt;
    this.downAt = null;
    if (down && Math.hypot(down.x - p.x, down.y - p.y) > CLICK_TOLERANCE) return; // a pan
    if (this.vertices.length >= 3 && nearVertex(this.map, p, this.vertices[0], SNAP_PX)) {
      this.finish();
      return;
    }
    if (nearVertex(this.map, p, this.vertices[this.vertices.length - 1], CLICK_TOLERANCE)) return; // the double-click's second click
    const { lng, lat } = this.map.unproject([p.x, p.y]);
    this.vertices.push([lng, lat]);
    this.redraw();
  };

  private readonly onDblClick = (e: MouseEvent): void => {
    if (!(e.target instanceof Node && this.map.getCanvasContainer().contains(e.target))) return;
    // While drawing, and for the double-click that just finished the sketch: no double-click zoom.
    if (this.phase === 'off' || (this.phase === 'done' && Date.now() - this.finishedAt > 800)) return;
    e.stopPropagation();
    e.preventDefault();
    if (this.phase === 'drawing') this.finish();
  };

  private readonly onMouseMove = (e: { lngLat: { lng: number; lat: number } }): void => {
    if (this.phase !== 'drawing' || !this.vertices.length) return;
    this.cursor = [e.lngLat.lng, e.lngLat.lat];
    this.redraw();
  };

  private readonly onKeyDown = (e: KeyboardEvent): void => {
    if (this.phase !== 'drawing') return;
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    if (e.key === 'Escape') this.clear();
    else if (e.key === 'Backspace') {
      e.preventDefault();
      this.undo();
    }
  };
}
