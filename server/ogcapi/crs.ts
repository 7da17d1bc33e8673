// The coordinate reference systems the OGC API offers (Part 2: crs, bbox-crs, Content-Crs).
// Storage is CGCS2000 (EPSG:4490). CRS84 is served as CGCS2000 lon/lat: the two datums agree
// to well under a metre, and PROJ has no transformation between them other than the identity.
// EPSG axis order is honoured: EPSG:4490 is lat,lon; the Gauss-Krüger zones are northing,easting.

export interface Crs {
  uri: string;
  srid: number;
  /** True when the CRS's first axis is north (lat / northing): coordinates are flipped from x,y. */
  northFirst: boolean;
  /** Decimal digits written: degrees 9 (≈0.1 mm), metres 4 (0.1 mm). */
  decimals: number;
  /** Plausible coordinate range of the first and second axis, for bbox checks. */
  range: [[number, number], [number, number]];
}

export const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const epsg = (code: number) => `http://www.opengis.net/def/crs/EPSG/0/${code}`;

export const supportedCrs: Crs[] = [
  { uri: CRS84, srid: 4490, northFirst: false, decimals: 9, range: [[-180, 180], [-90, 90]] },
  { uri: epsg(4490), srid: 4490, northFirst: true, decimals: 9, range: [[-90, 90], [-180, 180]] },
  // CGCS2000 / 3-degree Gauss-Kruger CM 114E, false easting 500 000 m.
  { uri: epsg(4547), srid: 4547, northFirst: true, decimals: 4, range: [[0, 10_000_000], [-10_000_000, 10_000_000]] },
  // The same zone with the zone number 38 prefixed to the easting (38 500 000 m).
  { uri: epsg(4526), srid: 4526, northFirst: true, decimals: 4, range: [[0, 10_000_000], [28_000_000, 48_000_000]] },
];

export const STORAGE_CRS = epsg(4490);

/** Finds a supported CRS by its URI (also accepting the EPSG:nnnn and CRS84 short forms), or undefined. */
export function findCrs(value: string): Crs | undefined {
  const v = value.trim().replace(/^\[(.*)\]$/, '$1');
  const m = /^EPSG:(\d+)$/i.exec(v);
  const uri = m ? epsg(Number(m[1])) : /^(OGC:)?CRS84$/i.test(v) ? CRS84 : v.replace(/^https:/, 'http:');
  return supportedCrs.find((c) => c.uri === uri);
}

/** SQL expression turning `geom` (EPSG:4490) into the CRS's coordinates in its axis order. */
export function outputGeometrySql(crs: Crs, column = 't.geom'): string {
  const projected = crs.srid === 4490 ? column : `ST_Transform(${column}, ${crs.srid})`;
  return crs.northFirst ? `ST_FlipCoordinates(${projected})` : projected;
}
