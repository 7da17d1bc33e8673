// Coordinates shown to planners: CGCS2000 lon/lat (EPSG:4490, degrees) and the CGCS2000
// 3-degree Gauss-Krüger zone with central meridian 114°E (EPSG:4547, metres, false easting 500 000).
import proj4 from 'proj4';

/** PROJ definition of EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E). */
export const EPSG_4547 = '+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';
/** PROJ definition of EPSG:4490 (CGCS2000 geographic, GRS80). */
const EPSG_4490 = '+proj=longlat +ellps=GRS80 +no_defs';

const toGk = proj4(EPSG_4490, EPSG_4547);

/** Projects CGCS2000 lon/lat (degrees) to EPSG:4547 easting/northing (metres). */
export function lonLatToGk(lon: number, lat: number): { x: number; y: number } {
  const [x, y] = toGk.forward([lon, lat]);
  return { x, y };
}

/** "113.300000°E, 40.080000°N": lon/lat to 6 decimals (≈ 0.1 m). */
export function formatLonLat(lon: number, lat: number): string {
  const ew = lon >= 0 ? 'E' : 'W', ns = lat >= 0 ? 'N' : 'S';
  return `${Math.abs(lon).toFixed(6)}°${ew}, ${Math.abs(lat).toFixed(6)}°${ns}`;
}

/**
 * "X 4438646.699 m, Y 440293.859 m" to 3 decimals (mm), in the surveyors' convention that
 * EPSG:4547 itself uses (axis 1 "northing (X)", axis 2 "easting (Y)"): X is the northing.
 * Arguments are easting and northing as lonLatToGk returns them.
 */
export function formatGk(easting: number, northing: number): string {
  return `X ${northing.toFixed(3)} m, Y ${easting.toFixed(3)} m`;
}
