// The measurements themselves: lengths and areas of the sketched vertices with turf, on the sphere
// (approximate: the server's areas are ellipsoidal, on CGCS2000), and the sketch as GeoJSON.
import { area, length } from '@turf/turf';
import type { Feature, FeatureCollection, LineString, Point, Polygon, Position } from 'geojson';
import { m2ToHa, m2ToMu } from '../identify/area';

/** What is being measured. */
export type MeasureMode = 'distance' | 'area';

/** A length in metres and kilometres. */
export interface LengthResult {
  m: number;
  km: number;
}

/** An area in m², 公顷 and 亩, with the perimeter of its ring. */
export interface AreaResult {
  m2: number;
  ha: number;
  mu: number;
  perimeter: LengthResult;
}

function lineFeature(coords: Position[]): Feature<LineString> {
  return { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: coords } };
}

/** The ring of coords, closed (first vertex repeated at the end). */
export function closeRing(coords: Position[]): Position[] {
  return coords.length === 0 ? [] : [...coords, coords[0]!];
}

/** Length of the path through coords ([lon, lat] degrees); zero for fewer than two vertices. */
export function measureLength(coords: Position[]): LengthResult {
  if (coords.length < 2) return { m: 0, km: 0 };
  const km = length(lineFeature(coords), { units: 'kilometers' });
  return { m: km * 1000, km };
}

/** Area of the polygon with vertices coords (not closed); zero for fewer than three vertices. */
export function measureArea(coords: Position[]): AreaResult {
  if (coords.length < 3) return { m2: 0, ha: 0, mu: 0, perimeter: measureLength(closeRing(coords)) };
  const polygon: Polygon = { type: 'Polygon', coordinates: [closeRing(coords)] };
  const m2 = area(polygon);
  return { m2, ha: m2ToHa(m2), mu: m2ToMu(m2), perimeter: measureLength(closeRing(coords)) };
}

/** The sketch to draw: the fill (area), the path (closed for area) and the vertices (the first one marked). */
export function sketchFeatures(mode: MeasureMode, vertices: Position[], cursor: Position | null): FeatureCollection<Polygon | LineString | Point> {
  const path = cursor ? [...vertices, cursor] : vertices;
  const features: Feature<Polygon | LineString | Point>[] = [];
  if (mode === 'area' && path.length >= 3) {
    features.push({ type: 'Feature', properties: { kind: 'fill' }, geometry: { type: 'Polygon', coordinates: [closeRing(path)] } });
  }
  if (path.length >= 2) {
    const line = mode === 'area' && path.length >= 3 ? closeRing(path) : path;
    features.push({ type: 'Feature', properties: { kind: 'line' }, geometry: { type: 'LineString', coordinates: line } });
  }
  vertices.forEach((v, i) => {
    features.push({ type: 'Feature', properties: { kind: 'vertex', first: i === 0 }, geometry: { type: 'Point', coordinates: v } });
  });
  return { type: 'FeatureCollection', features };
}
