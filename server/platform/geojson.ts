// GeoJSON structure checks (RFC 7946) for everything that comes in from a file or a request:
// every problem, with where it is, never only the first.
import gjv from 'geojson-validation';

/** Structural problems of a GeoJSON object ('' when none), each prefixed with its location. */
export function geoJsonProblems(value: unknown, where = '(root)'): string[] {
  const problems = gjv.valid(value as object, true) as string[] | boolean;
  return Array.isArray(problems) ? problems.map((p) => `${where}: ${p}`) : problems ? [] : [`${where}: not GeoJSON`];
}
