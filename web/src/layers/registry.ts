// The layer registry as GET /api/layers returns it: the plan groups, departments and layers, typed
// by the server's schemas (server/layers/registry.ts and routes.ts).
import type { Named } from '../../../server/layers/registry';
import type { LayerCatalogue, LayerInfo } from '../../../server/layers/routes';
import { getJson } from '../platform/http';

/** A registry layer (one plan's layer) with its revision, data version, count and extent. */
export type Layer = LayerInfo;
/** A plan group (or department): an id with its names. */
export type { Named };
/** The whole catalogue of GET /api/layers. */
export type Registry = LayerCatalogue;

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
