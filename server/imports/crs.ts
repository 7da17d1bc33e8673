// Source CRS detection for delivered plan files: the EPSG code of a .prj / GeoPackage srs WKT,
// of a GeoJSON `crs` member or of the caller's SRID, refined by the coordinates themselves (a
// Gauss-Krüger easting with its zone number prefixed, 38 4xx xxx.xx, names the zone), and a check
// that the coordinates can be in Datong at all. The transformation to EPSG:4490 itself is
// PostGIS's ST_Transform (PROJ); this module only decides which EPSG code to hand it.
import proj4 from 'proj4'; // WKT parsing (its wkt-parser) and the bounding-box plausibility transform
import type { DetectedCrs, ImportProblem } from './types';

export type Datum = 'CGCS2000' | 'Xian1980' | 'Beijing1954' | 'WGS84';

/** A CRS this module recognises: the families Chinese plan data arrive in. */
export interface KnownCrs {
  epsg: number;
  name: string;
  datum: Datum;
  kind: 'geographic' | 'gk3' | 'gk6' | 'utm';
  /** Central meridian (degrees east) of a projected CRS. */
  cm?: number;
  /** Zone number, prefixed to the easting (× 1 000 000 m) when `prefixed`. */
  zone?: number;
  prefixed?: boolean;
  /** proj4 definition (x = easting / longitude), for the plausibility check only. */
  proj4: string;
}

const ELLIPSOID: Record<Datum, { a: number; rf: number; proj4: string; label: string }> = {
  CGCS2000: { a: 6378137, rf: 298.257222101, proj4: '+ellps=GRS80', label: 'CGCS2000' },
  // Xian 1980 uses the IAG 1975 ellipsoid (PROJ: IAU76), Beijing 1954 Krassowsky 1940.
  Xian1980: { a: 6378140, rf: 298.257, proj4: '+ellps=IAU76', label: 'Xian 1980' },
  Beijing1954: { a: 6378245, rf: 298.3, proj4: '+ellps=krass', label: 'Beijing 1954' },
  WGS84: { a: 6378137, rf: 298.257223563, proj4: '+datum=WGS84', label: 'WGS 84' },
};

/**
 * First EPSG code of each Gauss-Krüger series, by datum: 6° zones 13–23 with the zone prefix, 6°
 * by central meridian 75°E–135°E, 3° zones 25–45 with the prefix, 3° by central meridian.
 * (EPSG registry; e.g. CGCS2000 3° CM 114°E is 4534 + 13 = 4547, its zone 38 is 4513 + 13 = 4526.)
 */
const GK_SERIES: Record<Exclude<Datum, 'WGS84'>, { geographic: number; gk6zone: number; gk6cm: number; gk3zone: number; gk3cm: number }> = {
  CGCS2000: { geographic: 4490, gk6zone: 4491, gk6cm: 4502, gk3zone: 4513, gk3cm: 4534 },
  Xian1980: { geographic: 4610, gk6zone: 2327, gk6cm: 2338, gk3zone: 2349, gk3cm: 2370 },
  Beijing1954: { geographic: 4214, gk6zone: 21413, gk6cm: 21453, gk3zone: 2401, gk3cm: 2422 },
};

const tmerc = (datum: Datum, cm: number, falseEasting: number, k = 1) =>
  `+proj=tmerc +lat_0=0 +lon_0=${cm} +k=${k} +x_0=${falseEasting} +y_0=0 ${ELLIPSOID[datum].proj4} +units=m +no_defs`;

function buildTable(): Map<number, KnownCrs> {
  const t = new Map<number, KnownCrs>();
  const add = (c: KnownCrs) => t.set(c.epsg, c);
  add({ epsg: 4326, name: 'WGS 84', datum: 'WGS84', kind: 'geographic', proj4: '+proj=longlat +datum=WGS84 +no_defs' });
  for (let zone = 1; zone <= 60; zone++) {
    const cm = zone * 6 - 183;
    add({ epsg: 32600 + zone, name: `WGS 84 / UTM zone ${zone}N`, datum: 'WGS84', kind: 'utm', cm, zone, proj4: tmerc('WGS84', cm, 500_000, 0.9996) });
  }
  for (const [datum, s] of Object.entries(GK_SERIES) as [Exclude<Datum, 'WGS84'>, (typeof GK_SERIES)['CGCS2000']][]) {
    const label = ELLIPSOID[datum].label;
    add({ epsg: s.geographic, name: label, datum, kind: 'geographic', proj4: `+proj=longlat ${ELLIPSOID[datum].proj4} +no_defs` });
    for (let zone = 13; zone <= 23; zone++) {
      const cm = zone * 6 - 3;
      add({ epsg: s.gk6zone + zone - 13, name: `${label} / Gauss-Kruger zone ${zone}`, datum, kind: 'gk6', cm, zone, prefixed: true, proj4: tmerc(datum, cm, zone * 1e6 + 500_000) });
      add({ epsg: s.gk6cm + zone - 13, name: `${label} / Gauss-Kruger CM ${cm}E`, datum, kind: 'gk6', cm, zone, prefixed: false, proj4: tmerc(datum, cm, 500_000) });
    }
    for (let zone = 25; zone <= 45; zone++) {
      const cm = zone * 3;
      add({ epsg: s.gk3zone + zone - 25, name: `${label} / 3-degree Gauss-Kruger zone ${zone}`, datum, kind: 'gk3', cm, zone, prefixed: true, proj4: tmerc(datum, cm, zone * 1e6 + 500_000) });
      add({ epsg: s.gk3cm + zone - 25, name: `${label} / 3-degree Gauss-Kruger CM ${cm}E`, datum, kind: 'gk3', cm, zone, prefixed: false, proj4: tmerc(datum, cm, 500_000) });
    }
  }
  return t;
}

/** Every recognised CRS by EPSG code. */
export const KNOWN_CRS: ReadonlyMap<number, KnownCrs> = buildTable();

/** The recognised CRS of an EPSG code, or undefined. */
export const knownCrs = (epsg: number): KnownCrs | undefined => KNOWN_CRS.get(epsg);

/** Datong's extent in degrees (CGCS2000 ≈ WGS 84 at this scale): coordinates outside cannot be a Datong plan. */
export const DATONG_EXTENT = { west: 112.5, east: 114.7, south: 38.9, north: 40.9 } as const;

/** The non-fatal warnings a CRS always carries (its datum shift). */
function datumWarnings(c: KnownCrs): string[] {
  if (c.datum === 'Xian1980' || c.datum === 'Beijing1954') {
    return [
      `${ELLIPSOID[c.datum].label} → CGCS2000 needs local transformation parameters (7-parameter or grid) from the surveying authority; ` +
        'without them PROJ/PostGIS change only the ellipsoid, which can leave the features metres to tens of metres off',
    ];
  }
  return [];
}

/** A DetectedCrs for a recognised EPSG code. */
export function detected(c: KnownCrs, method: DetectedCrs['method'], extra: string[] = []): DetectedCrs {
  return { epsg: c.epsg, name: c.name, method, geographic: c.kind === 'geographic', warnings: [...datumWarnings(c), ...extra] };
}

export const noCrs = (): DetectedCrs => ({ epsg: null, name: 'unknown', method: 'none', geographic: false, warnings: [] });

/** Result of reading a WKT: the recognised CRS, or why not. */
export type WktResult = { ok: true; crs: KnownCrs; method: 'prj-authority' | 'prj-parameters' } | { ok: false; reason: string };

const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

/**
 * The datum of a WKT: by its DATUM / GEOGCS names, confirmed by the ellipsoid (a, 1/f). Both must
 * agree: GRS80 alone could be NAD83 or ETRS89, Krassowsky alone Pulkovo 1942.
 */
function datumOf(a: number, rf: number, names: string): { datum?: Datum; reason?: string } {
  const byName: Datum | undefined = /china.?2000|cgcs.?2000|china.?geodetic/i.test(names)
    ? 'CGCS2000'
    : /xian.?1980|xian.?80|xi.?an.?1980/i.test(names)
      ? 'Xian1980'
      : /beijing.?1954|beijing.?54/i.test(names)
        ? 'Beijing1954'
        : /wgs.?(19)?84/i.test(names)
          ? 'WGS84'
          : undefined;
  if (!byName) return { reason: `the datum '${names}' (a = ${a} m, 1/f = ${rf}) is none of CGCS2000, Xian 1980, Beijing 1954, WGS 84` };
  const e = ELLIPSOID[byName];
  // GRS80 and WGS 84 differ only in the 10th digit of the inverse flattening.
  if (Number.isFinite(a) && (!near(a, e.a, 0.5) || !near(rf, e.rf, 1e-6))) {
    return { reason: `the datum is named ${e.label} but its ellipsoid (a = ${a} m, 1/f = ${rf}) is not ${e.label}'s (a = ${e.a} m, 1/f = ${e.rf})` };
  }
  return { datum: byName };
}

const TMERC = /^(transverse_mercator|gauss_kruger|tmerc|etmerc|extended_transverse_mercator|transverse mercator)$/i;

/**
 * The CRS a WKT (a Shapefile .prj: ESRI WKT1; a GeoPackage srs: OGC WKT1 or WKT2) describes:
 * by its EPSG authority when it has one we know, else by ellipsoid and projection parameters.
 */
export function crsFromWkt(wkt: string): WktResult {
  const text = wkt.trim().replace(/^\uFEFF/, '');
  if (!text) return { ok: false, reason: 'the WKT is empty' };
  // WKT2's ID["EPSG",4547] at the end names the whole CRS (proj4's parser reads WKT1 AUTHORITY only).
  const wkt2Id = /ID\["EPSG",\s*(\d+)\]\s*\]\s*$/i.exec(text);
  if (wkt2Id && KNOWN_CRS.has(Number(wkt2Id[1]))) return { ok: true, crs: KNOWN_CRS.get(Number(wkt2Id[1]))!, method: 'prj-authority' };
  let p: Record<string, unknown>;
  try {
    p = proj4.Proj(text) as unknown as Record<string, unknown>;
  } catch (err) {
    return { ok: false, reason: `the WKT cannot be parsed (${(err as Error).message})` };
  }
  const title = typeof p.title === 'string' ? /^EPSG:(\d+)$/i.exec(p.title) : null;
  if (title && KNOWN_CRS.has(Number(title[1]))) return { ok: true, crs: KNOWN_CRS.get(Number(title[1]))!, method: 'prj-authority' };

  const a = Number(p.a), rf = Number(p.rf);
  const name = String(p.name ?? p.srsCode ?? '');
  const geogcs = (p.GEOGCS ?? p) as { name?: string; DATUM?: { name?: string } };
  const names = [geogcs.DATUM?.name, geogcs.name, p.datumCode].filter(Boolean).join(' / ');
  const { datum, reason } = datumOf(a, rf, names || name);
  if (!datum) return { ok: false, reason: reason! };
  const projName = String(p.projName ?? '');
  if (projName === 'longlat') {
    const epsg = datum === 'WGS84' ? 4326 : GK_SERIES[datum].geographic;
    return { ok: true, crs: KNOWN_CRS.get(epsg)!, method: 'prj-parameters' };
  }
  if (!TMERC.test(projName)) return { ok: false, reason: `the projection '${projName}' of '${name}' is not Gauss-Krüger / Transverse Mercator` };
  const cm = (Number(p.long0) * 180) / Math.PI;
  const k0 = Number(p.k0 ?? 1), x0 = Number(p.x0 ?? 0), y0 = Number(p.y0 ?? 0), lat0 = Number(p.lat0 ?? 0);
  const units = Number(p.to_meter ?? 1);
  if (!near(units, 1, 1e-9) || !near(lat0, 0, 1e-12) || !near(y0, 0, 1e-6)) {
    return { ok: false, reason: `'${name}' is a Transverse Mercator with non-standard parameters (unit ${units} m, latitude of origin ${lat0}, false northing ${y0})` };
  }
  if (datum === 'WGS84') {
    const zone = Math.round((cm + 183) / 6);
    if (near(k0, 0.9996, 1e-9) && near(x0, 500_000, 1e-6) && near(zone * 6 - 183, cm, 1e-6) && zone >= 1 && zone <= 60) {
      return { ok: true, crs: KNOWN_CRS.get(32600 + zone)!, method: 'prj-parameters' };
    }
    return { ok: false, reason: `'${name}' is a WGS 84 Transverse Mercator that is no northern UTM zone` };
  }
  if (!near(k0, 1, 1e-9)) return { ok: false, reason: `'${name}' has scale factor ${k0}; Gauss-Krüger has 1` };
  const cmInt = Math.round(cm);
  if (!near(cm, cmInt, 1e-6)) return { ok: false, reason: `'${name}' has central meridian ${cm}°, not a Gauss-Krüger zone's` };
  const prefixZone = Math.round((x0 - 500_000) / 1e6);
  if (!near(x0, prefixZone * 1e6 + 500_000, 1e-6)) return { ok: false, reason: `'${name}' has false easting ${x0} m, neither 500 000 nor a zone-prefixed one` };
  const s = GK_SERIES[datum];
  // 3° or 6°: a prefixed zone number says it; without the prefix the name does (the two series
  // share the central meridians 75, 81, …, 135°E with identical parameters, so either is right).
  // ESRI and EPSG names: 'CGCS2000_3_Degree_GK_CM_114E' / '… 3-degree Gauss-Kruger …' are 3°,
  // 'CGCS2000_GK_CM_111E' / '… / Gauss-Kruger CM 111E' without '3' are 6°.
  const says3 = /3.?deg/i.test(name);
  const says6 = !says3 && /(^|[^a-z])gk([^a-z]|$)|gauss/i.test(name);
  let epsg: number | undefined;
  if (prefixZone > 0) {
    if (prefixZone >= 25 && prefixZone <= 45 && cmInt === prefixZone * 3) epsg = s.gk3zone + prefixZone - 25;
    else if (prefixZone >= 13 && prefixZone <= 23 && cmInt === prefixZone * 6 - 3) epsg = s.gk6zone + prefixZone - 13;
    else return { ok: false, reason: `'${name}': zone prefix ${prefixZone} does not belong to central meridian ${cmInt}°E` };
  } else {
    const as3 = cmInt % 3 === 0 && cmInt >= 75 && cmInt <= 135 ? s.gk3cm + cmInt / 3 - 25 : undefined;
    const as6 = (cmInt + 3) % 6 === 0 && cmInt >= 75 && cmInt <= 135 ? s.gk6cm + (cmInt + 3) / 6 - 13 : undefined;
    epsg = says6 ? (as6 ?? as3) : (as3 ?? as6);
  }
  if (epsg === undefined) return { ok: false, reason: `'${name}': central meridian ${cmInt}°E is outside China's Gauss-Krüger zones (75–135°E)` };
  return { ok: true, crs: KNOWN_CRS.get(epsg)!, method: 'prj-parameters' };
}

/**
 * The EPSG code of a GeoJSON `crs` member (GeoJSON 2008; GDAL writes it for non-WGS 84 output):
 * `{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4547"}}`, 'EPSG:4547', an OGC URI or CRS84.
 */
export function epsgFromCrsName(name: string): number | undefined {
  const v = name.trim();
  if (/(^|[:/])CRS84$/i.test(v) || /OGC:?1\.3:?CRS84$/i.test(v)) return 4326;
  const m = /EPSG(?::\d*(?:\.\d+)*)?:{1,2}(\d+)$/i.exec(v) ?? /\/def\/crs\/EPSG\/[^/]+\/(\d+)$/i.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** The bounding box of a geometry (or undefined for null / empty), in source coordinates. */
export function extendBbox(bbox: [number, number, number, number] | null, coords: unknown): [number, number, number, number] | null {
  const walk = (c: unknown) => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      const x = c[0], y = c[1] as number;
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      if (!bbox) bbox = [x, y, x, y];
      else {
        if (x < bbox[0]) bbox[0] = x;
        if (y < bbox[1]) bbox[1] = y;
        if (x > bbox[2]) bbox[2] = x;
        if (y > bbox[3]) bbox[3] = y;
      }
      return;
    }
    for (const e of c) walk(e);
  };
  walk(coords);
  return bbox;
}

/** Geometry coordinates (of every member of a collection) for extendBbox. */
export function geometryCoordinates(g: unknown): unknown {
  if (!g || typeof g !== 'object') return undefined;
  const o = g as { type?: string; coordinates?: unknown; geometries?: unknown[] };
  if (o.type === 'GeometryCollection') return (o.geometries ?? []).map(geometryCoordinates);
  return o.coordinates;
}

/** What the numbers of a bbox look like, for hints when the CRS is missing or wrong. */
export function describeCoordinates(bbox: [number, number, number, number]): string {
  const [minX, minY, maxX, maxY] = bbox;
  const prefix = Math.floor(minX / 1e6);
  if (minX >= 13e6 && maxX < 46e6 && Math.floor(maxX / 1e6) === prefix && minY > 3e6 && maxY < 6e6) {
    const c3 = [...KNOWN_CRS.values()].filter((c) => c.prefixed && c.zone === prefix).map((c) => `EPSG:${c.epsg} (${c.name})`);
    return `the eastings carry the zone prefix ${prefix} (${prefix >= 25 ? `3-degree zone, CM ${prefix * 3}°E` : `6-degree zone, CM ${prefix * 6 - 3}°E`}): probably ${c3.join(', ')}`;
  }
  if (minX >= 0 && maxX < 1e6 && minY > 3e6 && maxY < 6e6) {
    return 'they look like Gauss-Krüger metres without a zone prefix: for Datong most likely EPSG:4547 (CGCS2000 3-degree CM 114°E), 2383 (Xian 1980) or 2435 (Beijing 1954)';
  }
  if (minX > 3e6 && maxX < 6e6 && minY >= 0 && maxY < 1e6) return 'the first coordinate looks like a northing: are X and Y swapped?';
  if (minX >= -180 && maxX <= 180 && minY >= -90 && maxY <= 90) return 'they look like degrees of longitude and latitude (EPSG:4490 or 4326)';
  return 'they do not look like a Chinese Gauss-Krüger zone or degrees';
}

/**
 * Refines a recognised projected CRS with the coordinates' bounding box: a Gauss-Krüger easting
 * whose millions are the zone number (38 4xx xxx.xx) belongs to the prefixed variant of that zone
 * and the other way round. Returns the CRS to use and what to report.
 */
export function refineByCoordinates(c: KnownCrs, bbox: [number, number, number, number] | null): { crs: KnownCrs; warnings: string[]; problems: Omit<ImportProblem, 'file'>[] } {
  if (!bbox || (c.kind !== 'gk3' && c.kind !== 'gk6')) return { crs: c, warnings: [], problems: [] };
  const [minX, , maxX] = bbox;
  const hasPrefix = minX >= 1e7;
  const prefix = Math.floor(minX / 1e6);
  if (hasPrefix && Math.floor(maxX / 1e6) !== prefix) {
    return { crs: c, warnings: [], problems: [{ code: 'crs_zone_mismatch', message: `eastings from ${minX} to ${maxX} span zone prefixes ${prefix} to ${Math.floor(maxX / 1e6)}: one file must stay in one zone` }] };
  }
  if (hasPrefix === Boolean(c.prefixed)) {
    if (hasPrefix && prefix !== c.zone) {
      return { crs: c, warnings: [], problems: [{ code: 'crs_zone_mismatch', message: `the CRS is ${c.name} (EPSG:${c.epsg}) but the eastings carry the zone prefix ${prefix}`, hint: describeCoordinates(bbox) }] };
    }
    return { crs: c, warnings: [], problems: [] };
  }
  const sibling = [...KNOWN_CRS.values()].find((k) => k.datum === c.datum && k.kind === c.kind && k.cm === c.cm && Boolean(k.prefixed) === hasPrefix);
  if (hasPrefix && (prefix !== c.zone || !sibling)) {
    return {
      crs: c,
      warnings: [],
      problems: [{ code: 'crs_zone_mismatch', message: `the CRS is ${c.name} (EPSG:${c.epsg}, CM ${c.cm}°E) but the eastings carry the zone prefix ${prefix}, which is another zone`, hint: describeCoordinates(bbox) }],
    };
  }
  if (!sibling) return { crs: c, warnings: [], problems: [] };
  const why = hasPrefix
    ? `the eastings carry the zone prefix ${prefix}, so the coordinates are in EPSG:${sibling.epsg} (${sibling.name}), not EPSG:${c.epsg} as stated`
    : `the eastings carry no zone prefix, so the coordinates are in EPSG:${sibling.epsg} (${sibling.name}), not EPSG:${c.epsg} as stated`;
  return { crs: sibling, warnings: [why], problems: [] };
}

/**
 * Checks that a bbox in the CRS's coordinates lies within Datong (with proj4 on a 5 × 5 grid of
 * points over the box; the datum shift of Xian 1980 / Beijing 1954 is ≤ ~100 m, far below what
 * this check can tell). Returns the problem, or undefined when the box fits.
 */
export function checkInDatong(c: KnownCrs, bbox: [number, number, number, number]): Omit<ImportProblem, 'file'> | undefined {
  const [minX, minY, maxX, maxY] = bbox;
  const lonLat: [number, number][] = [];
  try {
    for (let i = 0; i <= 4; i++) {
      for (let j = 0; j <= 4; j++) {
        const p: [number, number] = [minX + ((maxX - minX) * i) / 4, minY + ((maxY - minY) * j) / 4];
        lonLat.push(c.kind === 'geographic' ? p : (proj4(c.proj4, 'WGS84', p) as [number, number]));
      }
    }
  } catch {
    lonLat.push([NaN, NaN]);
  }
  const { west, east, south, north } = DATONG_EXTENT;
  const inside = (p: [number, number]) => p[0] >= west && p[0] <= east && p[1] >= south && p[1] <= north;
  if (lonLat.every(inside)) return undefined;
  const lons = lonLat.map((p) => p[0]), lats = lonLat.map((p) => p[1]);
  const where = lonLat.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))
    ? `${Math.min(...lons).toFixed(3)}–${Math.max(...lons).toFixed(3)}°E, ${Math.min(...lats).toFixed(3)}–${Math.max(...lats).toFixed(3)}°N`
    : 'no valid position';
  const swapped = c.kind === 'geographic' && inside([minY, minX]) && inside([maxY, maxX]);
  return {
    code: 'outside_datong',
    message: `in EPSG:${c.epsg} (${c.name}) the coordinates [${bbox.map((v) => +v.toFixed(3)).join(', ')}] are at ${where}, outside Datong (${west}–${east}°E, ${south}–${north}°N)`,
    hint: swapped
      ? 'latitude and longitude are swapped: the first coordinate must be the longitude'
      : `the CRS is probably wrong: ${describeCoordinates(bbox)}; state the right one with an explicit SRID`,
  };
}

/**
 * The final CRS of an import: the caller's SRID when given, else what the file said; refined by
 * the coordinates and checked against Datong's extent. Pushes problems (with `file`) and returns
 * the DetectedCrs.
 */
export function resolveCrs(
  fromFile: { crs?: KnownCrs; method: DetectedCrs['method']; reason?: string; code?: number } | undefined,
  opts: { srid?: number; bbox: [number, number, number, number] | null; file: string; problems: ImportProblem[] },
): DetectedCrs {
  const { bbox, file, problems } = opts;
  let base: KnownCrs | undefined;
  let method: DetectedCrs['method'];
  const extra: string[] = [];
  if (opts.srid !== undefined) {
    base = knownCrs(opts.srid);
    method = 'explicit';
    if (!base) {
      // PostGIS may well know it; without a definition here the zone and extent checks are skipped.
      return { epsg: opts.srid, name: `EPSG:${opts.srid}`, method, geographic: false, warnings: [`EPSG:${opts.srid} is not among the CRSs this importer recognises: the zone-prefix and Datong extent checks were skipped`] };
    }
    if (fromFile?.crs && fromFile.crs.epsg !== base.epsg) extra.push(`the file says EPSG:${fromFile.crs.epsg} (${fromFile.crs.name}); EPSG:${base.epsg} is used as stated by the caller`);
  } else if (fromFile?.crs) {
    base = fromFile.crs;
    method = fromFile.method;
  } else {
    const hint = bbox ? `${describeCoordinates(bbox)}; state the CRS with an explicit SRID` : 'state the CRS with an explicit SRID';
    if (fromFile?.reason) problems.push({ code: 'crs_unknown', file, message: `the coordinate reference system is not recognised: ${fromFile.reason}`, hint });
    else problems.push({ code: 'crs_missing', file, message: 'the file does not say its coordinate reference system', hint });
    return noCrs();
  }
  const refined = opts.srid !== undefined ? { crs: base, warnings: [], problems: [] } : refineByCoordinates(base, bbox);
  for (const p of refined.problems) problems.push({ ...p, file });
  if (opts.srid !== undefined && bbox) {
    // The caller's SRID is taken as stated, but a zone prefix that contradicts it is reported.
    const check = refineByCoordinates(base, bbox);
    if (check.crs !== base) problems.push({ code: 'crs_zone_mismatch', file, message: `EPSG:${base.epsg} was stated, but ${check.warnings[0]}` });
    for (const p of check.problems) problems.push({ ...p, file });
  }
  const crs = refined.crs;
  if (bbox && !refined.problems.length) {
    const p = checkInDatong(crs, bbox);
    if (p) problems.push({ ...p, file });
  }
  return detected(crs, method, [...extra, ...refined.warnings]);
}
