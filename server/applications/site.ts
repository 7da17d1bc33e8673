// The site of an application, however it comes in — drawn on the map (GeoJSON in lon/lat),
// uploaded (GeoJSON or zipped Shapefile, read by the import path's readers with their CRS and
// encoding detection), or typed as boundary points (界址点: X northing, Y easting) in a CGCS2000
// Gauss-Krüger zone, converted with proj4 — made into one valid MultiPolygon in EPSG:4490 inside
// Datong, or refused with a 4xx that names the problem and where it is.
import type { Geometry, MultiPolygon, Position } from 'geojson';
import type { Knex } from 'knex';
import proj4 from 'proj4';
import { areaFigures } from '../layers/area';
import { AppError, badRequest } from '../platform/errors';
import { geoJsonProblems } from '../platform/geojson';
import { DATONG_EXTENT, knownCrs, KNOWN_CRS, openImport, readAll } from '../imports';
import type { KnownCrs } from '../imports/crs';
import type { BoundaryPoint, NormalisedSite, SiteInput, SiteRecord } from './schemas';
import type { SiteSource } from './vocabulary';

/** Limits that tell a site from a mistake: a project site is not a county. */
export const SITE_LIMITS = { maxPoints: 20_000, maxAreaM2: 50_000_000, minAreaM2: 1, outsideToleranceShare: 0.001 };

export interface Site {
  /** MultiPolygon in EPSG:4490 (lon, lat). */
  geometry: MultiPolygon;
  /** The same as EWKB hex, as PostGIS wrote it (what the check and the store use). */
  ewkb: string;
  area_m2: number;
  source: SiteSource;
  /** What the client gave besides the geometry (points and zone, file name and hash), kept with the version. */
  input: SiteRecord;
  warnings: string[];
}

const invalidSite = (message: string, details: Record<string, unknown> = {}) => new AppError(422, 'invalid_site', message, details);
const GRS80_LONLAT = '+proj=longlat +ellps=GRS80 +no_defs';

/** A site as the client sent it (its body already checked against SiteInput), as a geometry in EPSG:4490 not yet checked in PostGIS. */
export type SiteGeometry = Pick<Site, 'source' | 'input' | 'warnings'> & { geometry: Geometry };

/** Reads the `site` of a request into a geometry in EPSG:4490: drawn or uploaded GeoJSON checked, boundary points converted. */
export function siteGeometry(s: SiteInput): SiteGeometry {
  if (s.source === 'points') {
    const { geometry, warnings, crs } = polygonFromPoints(s.srid, s.points);
    return { geometry, source: 'points', input: { srid: crs.epsg, crs: crs.name, points: s.points }, warnings };
  }
  const g = s.geometry as Geometry | undefined;
  const problems = geoJsonProblems(g, 'site.geometry');
  if (problems.length) throw badRequest('invalid_site_geojson', `'site.geometry' is not valid GeoJSON: ${problems.slice(0, 5).join('; ')}`, { field: 'site.geometry', problems });
  if (g!.type !== 'Polygon' && g!.type !== 'MultiPolygon') {
    throw invalidSite(`a site is a Polygon or MultiPolygon, not a ${g!.type}`, { field: 'site.geometry' });
  }
  const coords: Position[] = g!.type === 'Polygon' ? g!.coordinates.flat() : (g as MultiPolygon).coordinates.flat(2);
  if (coords.length > SITE_LIMITS.maxPoints) throw invalidSite(`the site has ${coords.length} vertices; at most ${SITE_LIMITS.maxPoints}`, { field: 'site.geometry' });
  const { west, east, south, north } = DATONG_EXTENT;
  const bad = coords.find((p) => !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90));
  if (bad) {
    throw new AppError(422, 'site_outside_datong', `the position [${bad.join(', ')}] is not a longitude and latitude; a drawn or uploaded GeoJSON site is in EPSG:4490 degrees`, {
      field: 'site.geometry',
      location: bad,
      hint: bad[0] > 1000 ? 'these look like projected metres: type them as boundary points with their Gauss-Krüger zone' : undefined,
    });
  }
  const out = coords.find((p) => !(p[0] >= west && p[0] <= east && p[1] >= south && p[1] <= north));
  if (out) {
    const swapped = out[1] >= west && out[1] <= east && out[0] >= south && out[0] <= north;
    throw new AppError(422, 'site_outside_datong', `the position [${out.join(', ')}] is outside Datong (${west}–${east}°E, ${south}–${north}°N)`, {
      field: 'site.geometry',
      location: out,
      hint: swapped ? 'latitude and longitude are swapped: the first coordinate is the longitude' : undefined,
    });
  }
  const input: SiteRecord = {};
  if (s.source === 'upload' && s.file) {
    if (s.file.name !== undefined) input.file_name = s.file.name.slice(0, 300);
    if (s.file.sha256 !== undefined && /^[0-9a-f]{64}$/.test(s.file.sha256)) input.file_sha256 = s.file.sha256;
  }
  return { geometry: g!, source: s.source, input, warnings: [] };
}

/** The CGCS2000 Gauss-Krüger CRS (3° or 6° zones, with or without the zone prefix) of an EPSG code; undefined for any other. */
export function gaussKrugerZone(srid: number): KnownCrs | undefined {
  const c = knownCrs(srid);
  return c && c.datum === 'CGCS2000' && (c.kind === 'gk3' || c.kind === 'gk6') ? c : undefined;
}

/** Zones to name when a CRS is not one (the one of central Datong first). */
export const GAUSS_KRUGER_EXAMPLES = [4526, 4547, 4505, 4492].map((e) => `EPSG:${e} (${KNOWN_CRS.get(e)!.name})`).join(', ');

/** Polygons from boundary points (X northing, Y easting as surveyors write them, in the Gauss-Krüger zone `srid`), converted with proj4. */
export function polygonFromPoints(srid: number, points: BoundaryPoint[]): { geometry: MultiPolygon; warnings: string[]; crs: KnownCrs } {
  const crs = gaussKrugerZone(srid)!;
  if (points.length > SITE_LIMITS.maxPoints) throw invalidSite(`${points.length} boundary points; at most ${SITE_LIMITS.maxPoints}`, { field: 'site.points' });
  const rings = new Map<string, Map<number, { order: number; i: number; xy: Position }[]>>();
  points.forEach((p, i) => {
    checkZone(crs, p, i);
    const poly = String(p.polygon ?? 1);
    const ring = p.ring ?? 1;
    const byRing = rings.get(poly) ?? new Map();
    rings.set(poly, byRing);
    const list = byRing.get(ring) ?? [];
    byRing.set(ring, list);
    list.push({ order: p.order ?? i + 1, i, xy: [p.y, p.x] });
  });
  const polygons: Position[][][] = [];
  for (const [poly, byRing] of rings) {
    const out: Position[][] = [];
    for (const [ring, list] of [...byRing].sort((a, b) => a[0] - b[0])) {
      const coords = list.sort((a, b) => a.order - b.order).map((q) => proj4(crs.proj4, GRS80_LONLAT, q.xy) as Position);
      if (new Set(list.map((q) => `${q.xy[0]},${q.xy[1]}`)).size < 3) {
        throw invalidSite(`polygon ${poly} ring ${ring} has fewer than 3 distinct points`, { field: `site.points.${list[0].i}` });
      }
      const [f, l] = [list[0].xy, list[list.length - 1].xy];
      if (f[0] === l[0] && f[1] === l[1]) coords.pop(); // surveyors may or may not repeat the first point
      coords.push([...coords[0]]);
      out.push(coords);
    }
    polygons.push(out);
  }
  return { geometry: { type: 'MultiPolygon', coordinates: polygons }, warnings: [], crs };
}

/** A typed point's easting must carry the zone prefix the CRS has (and no other), and lie in Datong. */
function checkZone(crs: KnownCrs, p: BoundaryPoint, i: number) {
  const where = { field: `site.points.${i}`, srid: crs.epsg };
  if (p.x < 1_000_000 && p.y > 3_000_000) {
    throw new AppError(422, 'wrong_zone', `point ${i + 1}: X ${p.x} and Y ${p.y} look swapped: X is the northing (about 4 300 000–4 520 000 m in Datong) and Y the easting`, where);
  }
  const prefix = Math.floor(p.y / 1_000_000);
  if (crs.prefixed) {
    if (prefix !== crs.zone) {
      throw new AppError(422, 'wrong_zone', `point ${i + 1}: the easting ${p.y} ${prefix >= 13 ? `carries the zone number ${prefix}` : 'has no zone number'}, but EPSG:${crs.epsg} (${crs.name}) is zone ${crs.zone}: easting ${crs.zone} xxx xxx.xx`, {
        ...where,
        hint: prefix >= 13 ? `choose the CRS of zone ${prefix}` : `choose the zone's CRS without prefix (central meridian ${crs.cm}°E)`,
      });
    }
  } else if (p.y >= 1_000_000) {
    throw new AppError(422, 'wrong_zone', `point ${i + 1}: the easting ${p.y} carries a zone number (${prefix}); EPSG:${crs.epsg} (${crs.name}) takes eastings without it (about 500 000 m at the central meridian)`, {
      ...where,
      hint: `choose the CRS of zone ${prefix} with the prefix, or drop the leading ${prefix}`,
    });
  }
  const [lon, lat] = proj4(crs.proj4, GRS80_LONLAT, [p.y, p.x]);
  const { west, east, south, north } = DATONG_EXTENT;
  if (!(lon >= west && lon <= east && lat >= south && lat <= north)) {
    // The same numbers in another zone of the family: is there one where they are in Datong?
    const other = [...KNOWN_CRS.values()].find((c) => {
      if (c.datum !== 'CGCS2000' || c.kind !== crs.kind || c.prefixed !== crs.prefixed || c.epsg === crs.epsg) return false;
      if (c.prefixed && Math.floor(p.y / 1_000_000) !== c.zone) return false;
      const [lo, la] = proj4(c.proj4, GRS80_LONLAT, [p.y, p.x]);
      return lo >= west && lo <= east && la >= south && la <= north;
    });
    const at = `${lon.toFixed(4)}°E, ${lat.toFixed(4)}°N`;
    if (other) {
      throw new AppError(422, 'wrong_zone', `point ${i + 1}: in EPSG:${crs.epsg} (${crs.name}) X ${p.x}, Y ${p.y} is at ${at}, outside Datong; the numbers fit EPSG:${other.epsg} (${other.name})`, { ...where, location: [lon, lat], hint: `choose EPSG:${other.epsg}` });
    }
    throw new AppError(422, 'site_outside_datong', `point ${i + 1}: in EPSG:${crs.epsg} (${crs.name}) X ${p.x}, Y ${p.y} is at ${at}, outside Datong (${west}–${east}°E, ${south}–${north}°N)`, { ...where, location: [lon, lat] });
  }
}

/** A site read from an uploaded file through the import readers (one or more polygons, unioned). */
export async function siteFromFile(knex: Knex, filePath: string, opts: { name: string; srid?: number; encoding?: string }): Promise<{ geometry: Geometry; crs: string; warnings: string[] }> {
  const src = await readAll(await openImport(filePath, { name: opts.name, srid: opts.srid, encoding: opts.encoding }));
  const problems = [...src.problems];
  const polys = src.features.filter((f) => f.geometry && (f.geometry.type === 'Polygon' || f.geometry.type === 'MultiPolygon'));
  const others = src.features.filter((f) => !polys.includes(f));
  for (const f of others.slice(0, 20)) problems.push({ code: 'geometry_unsupported', file: f.file, feature: f.index, message: `feature ${f.index}: a site is made of polygons, not ${f.geometry?.type ?? 'an empty geometry'}` });
  if (!problems.length && !polys.length) problems.push({ code: 'no_features', file: opts.name, message: 'the file has no polygon' });
  if (problems.length || src.crs.epsg === null) {
    throw new AppError(422, 'invalid_site_file', `the file cannot be read as a site: ${problems.slice(0, 3).map((p) => p.message).join('; ')}`, { problems, crs: src.crs });
  }
  if (polys.length > 1000) throw invalidSite(`the file has ${polys.length} polygons; a site is at most 1000`, { file: opts.name });
  const { rows } = await knex.raw<{ rows: { g: string }[] }>(
    `SELECT ST_AsGeoJSON(ST_Transform(ST_Collect(ST_SetSRID(ST_GeomFromGeoJSON(x), ?)), 4490), 9) AS g FROM jsonb_array_elements_text(?::jsonb) AS x`,
    [src.crs.epsg, JSON.stringify(polys.map((f) => JSON.stringify(f.geometry)))],
  );
  const collected = JSON.parse(rows[0].g) as Geometry;
  const parts = collected.type === 'GeometryCollection' ? collected.geometries : [collected];
  const geometry: MultiPolygon = {
    type: 'MultiPolygon',
    coordinates: parts.flatMap((g) => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [])),
  };
  return { geometry, crs: `EPSG:${src.crs.epsg} (${src.crs.name})`, warnings: [...src.crs.warnings, ...src.warnings.map((w) => w.message)] };
}

/**
 * Checks a site in PostGIS: valid (ST_IsValidDetail's reason and place), of a sensible size, and
 * inside Datong (the districts layer; a thousandth of the area may lie outside, for boundary noise).
 */
export async function validateSite(knex: Knex, g: SiteGeometry): Promise<Site> {
  const { rows: v } = await knex.raw<{ rows: { valid: boolean; reason: string | null; location: string | null; empty: boolean }[] }>(
    `SELECT ST_IsValid(g) AS valid, (ST_IsValidDetail(g)).reason, ST_AsGeoJSON((ST_IsValidDetail(g)).location) AS location, ST_IsEmpty(g) AS empty
       FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(?), 4490) AS g) s`,
    [JSON.stringify(g.geometry)],
  );
  if (v[0].empty) throw invalidSite('the site is empty', { field: 'site' });
  if (!v[0].valid) {
    const location = v[0].location ? (JSON.parse(v[0].location).coordinates as number[]) : undefined;
    throw invalidSite(`the site's boundary is not valid: ${v[0].reason}${location ? ` at ${location.map((c) => c.toFixed(6)).join(', ')}` : ''}; draw or type it again without crossing edges`, {
      field: 'site',
      reason: v[0].reason,
      location,
    });
  }
  const { rows } = await knex.raw<{ rows: { ewkb: string; geojson: string; area: number; outside: number; outside_at: string | null; districts: number }[] }>(
    `WITH s AS (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(?), 4490)) AS g),
          d AS (SELECT ST_Union(geom) AS u, count(*) AS n FROM plan.districts, s WHERE geom && s.g),
          o AS (SELECT CASE WHEN d.u IS NULL THEN s.g ELSE ST_Difference(s.g, d.u) END AS g FROM s, d)
     SELECT encode(ST_AsEWKB(s.g), 'hex') AS ewkb, ST_AsGeoJSON(s.g, 9) AS geojson, ST_Area(s.g::geography, true) AS area,
            COALESCE(ST_Area(o.g::geography, true), 0) AS outside,
            CASE WHEN NOT ST_IsEmpty(o.g) THEN ST_AsGeoJSON(ST_PointOnSurface(o.g), 6) END AS outside_at, d.n AS districts
       FROM s, d, o`,
    [JSON.stringify(g.geometry)],
  );
  const r = rows[0];
  if (r.area < SITE_LIMITS.minAreaM2) throw invalidSite(`the site has an area of ${r.area.toFixed(3)} m²; a site has at least ${SITE_LIMITS.minAreaM2} m²`, { field: 'site' });
  if (r.area > SITE_LIMITS.maxAreaM2) {
    throw invalidSite(`the site has ${(r.area / 1e6).toFixed(1)} km²; a project site is at most ${SITE_LIMITS.maxAreaM2 / 1e6} km² (is it the right polygon?)`, { field: 'site' });
  }
  if (r.outside > r.area * SITE_LIMITS.outsideToleranceShare) {
    const location = r.outside_at ? JSON.parse(r.outside_at).coordinates : undefined;
    const all = r.outside >= r.area * 0.999;
    throw new AppError(422, 'site_outside_datong', all
      ? `the site lies outside Datong's districts${location ? ` (at ${location.join(', ')})` : ''}`
      : `${(r.outside / 10_000).toFixed(2)} 公顷 (${((r.outside / r.area) * 100).toFixed(1)} %) of the site lies outside Datong's districts${location ? `, e.g. at ${location.join(', ')}` : ''}`, {
      field: 'site',
      outside_m2: Math.round(r.outside * 100) / 100,
      location,
    });
  }
  return { geometry: JSON.parse(r.geojson), ewkb: r.ewkb, area_m2: r.area, source: g.source, input: g.input, warnings: g.warnings };
}

/** What POST /api/applications/sites answers: the site as the service will take it (with the CRS it was read in, and the file). */
export const siteAnswer = (s: Site, extra: Pick<NormalisedSite, 'srid' | 'crs' | 'file'> = {}): NormalisedSite => ({
  geometry: s.geometry,
  ...(areaFigures(s.area_m2) as Pick<NormalisedSite, 'area_m2' | 'area_ha' | 'area_mu'>),
  source: s.source,
  ...extra,
  warnings: s.warnings,
});
