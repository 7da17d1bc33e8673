// The layer registry as GET /api/layers returns it: the plan groups, departments and layers.
import type { Localized } from '../i18n/i18n';
import { getJson } from '../platform/http';

/** One class of a layer's classification standard, with its map colour. */
export interface LayerClass extends Localized {
  code: string;
  color: string;
}

/** One attribute of a layer's schema, with its labels. */
export interface LayerAttribute extends Localized {
  name: string;
  type: string;
  required?: boolean;
}

/** A registry layer (one plan's layer), as the API describes it. */
export interface Layer {
  id: string;
  group: string;
  title: Localized;
  department: string;
  period: { from: number; to: number };
  standard: string;
  geometry: 'MultiPolygon' | 'MultiLineString' | 'Point';
  attributes: LayerAttribute[];
  classification: { standard: string; classes: LayerClass[] };
  style: { kind: 'fill' | 'outline' | 'line' | 'circle'; opacity?: number; minzoom?: number; labelAttribute?: string };
  revision: number;
  /** Default visibility. */
  visible: boolean;
}

/** A plan group (or department): an id with its names. */
export interface Named extends Localized {
  id: string;
}

/** The whole catalogue of GET /api/layers. */
export interface Registry {
  groups: Named[];
  departments: Named[];
  layers: Layer[];
}

/** Loads the layer catalogue from the server. */
export function fetchRegistry(): Promise<Registry> {
  return getJson<Registry>('/api/layers');
}

/** The layers of each group, in the API's group order; groups without layers are left out. */
export function layersByGroup(registry: Registry): { group: Named; layers: Layer[] }[] {
  return registry.groups
    .map((group) => ({ group, layers: registry.layers.filter((l) => l.group === group.id) }))
    .filter((g) => g.layers.length > 0);
}
