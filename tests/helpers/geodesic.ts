// Ellipsoidal areas by GeographicLib (python3-pyproj, tests/helpers/geodesic-area.py): the
// independent reference the service's areas are held to.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/platform/config';

/** GRS80 areas (m²) of GeoJSON Polygon / MultiPolygon geometries in lon/lat. */
export async function geodesicAreas(geometries: unknown[]): Promise<number[]> {
  const child = execFile('/usr/bin/python3', [path.join(PROJECT_ROOT, 'tests', 'helpers', 'geodesic-area.py')], { maxBuffer: 64 * 1024 * 1024 });
  const out = new Promise<string>((resolve, reject) => {
    let s = '';
    child.stdout!.on('data', (d) => (s += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`geodesic-area.py exited with ${code}`))));
  });
  child.stdin!.end(JSON.stringify(geometries));
  return JSON.parse(await out);
}
