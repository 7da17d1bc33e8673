// Taking the map's clicks for a sketch (the measure tool, a site being drawn): capture-phase
// listeners on the map's container see mousedown, click and dblclick before MapLibre does, so the
// sketch can stop them (no map "click": identify stays quiet; no double-click zoom). And the two
// pixel questions a sketch asks of a click.
import type { Map as MlMap } from 'maplibre-gl';
import type { Position } from 'geojson';

export interface ClickHandlers {
  mousedown(e: MouseEvent): void;
  click(e: MouseEvent): void;
  dblclick(e: MouseEvent): void;
}

const EVENTS = ['mousedown', 'click', 'dblclick'] as const;

/** Adds the capture-phase listeners to the map's container; answers the function that removes them. */
export function captureMapClicks(map: MlMap, on: ClickHandlers): () => void {
  const container = map.getContainer();
  for (const type of EVENTS) container.addEventListener(type, on[type], true);
  return () => {
    for (const type of EVENTS) container.removeEventListener(type, on[type], true);
  };
}

/** The map pixel of a mouse event, as MapLibre's project() gives them. */
export function mapPoint(map: MlMap, e: MouseEvent): { x: number; y: number } {
  const rect = map.getCanvasContainer().getBoundingClientRect();
  return { x: e.clientX - rect.left, y: e.clientY - rect.top };
}

/** Whether pixel p lies within px pixels of vertex v on the map. */
export function nearVertex(map: MlMap, p: { x: number; y: number }, v: Position | undefined, px: number): boolean {
  if (!v) return false;
  const q = map.project([v[0]!, v[1]!]);
  return Math.hypot(q.x - p.x, q.y - p.y) <= px;
}
