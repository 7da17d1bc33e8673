// GET /api/identify: the features of the given layers at a point. The answer's types are the
// server's schemas (server/layers/routes.ts).
import type { IdentifiedFeature, IdentifyResult } from '../../../server/layers/routes';
import { getJson } from '../platform/http';

/** One feature found at the identify point; the answer of /api/identify, features in the order of the layers asked for. */
export type { IdentifiedFeature, IdentifyResult };

/** Asks the server for the features of layers at lon/lat (degrees) for the map's zoom. */
export function identify(lon: number, lat: number, zoom: number, layers: string[], signal?: AbortSignal): Promise<IdentifyResult> {
  const q = new URLSearchParams({
    lon: lon.toFixed(7),
    lat: lat.toFixed(7),
    zoom: zoom.toFixed(2),
    layers: layers.join(','),
  });
  return getJson<IdentifyResult>(`/api/identify?${q}`, signal);
}
