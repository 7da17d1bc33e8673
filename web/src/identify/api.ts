// GET /api/identify: the features of the given layers at a point.
import type { Localized } from '../i18n/i18n';
import { getJson } from '../platform/http';

/** One feature found at the identify point. */
export interface IdentifiedFeature {
  layer: string;
  fid: number;
  code: string | null;
  class: (Localized & { color: string }) | null;
  properties: Record<string, unknown>;
  /** Ellipsoidal area in m² for polygons, null otherwise. */
  area_m2: number | null;
  area_ha?: number | null;
  area_mu?: number | null;
}

/** The answer of /api/identify, features in the order of the layers asked for. */
export interface IdentifyResult {
  lon: number;
  lat: number;
  features: IdentifiedFeature[];
}

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
