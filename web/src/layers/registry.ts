// The layer registry as GET /api/layers returns it: the plan groups, departments and layers, typed
// by the server's schemas (server/layers/registry.ts and routes.ts).
import type { Layer as RegistryEntry, Named } from '../../../server/layers/registry';
import type { LayerCatalogue, LayerInfo } from '../../../server/layers/routes';
import { getJson } from '../platform/http';

/** A registry layer (one plan's layer) with its revision, data version, count and extent. */
export type Layer = LayerInfo;
/** A plan group (or department): an id with its names. */
export type { Named };
/** The whole catalogue of GET /api/layers. */
export type Registry = LayerCatalogue;
/** A registry entry as layers/registry/<id>.json has it (a release pins these: titles, classes, colours, style). */
export type { RegistryEntry };
/**
 * What the layer tree and legends need: the groups, the departments and registry entries — the
 * working catalogue, or the entries a release pinned (the public viewer, an archive opened from disk).
 */
export interface LayerList {
  groups: Named[];
  departments: Named[];
  layers: RegistryEntry[];
}

/** Loads the layer catalogue from the server. */
export function fetchRegistry(): Promise<Registry> {
  return getJson<Registry>('/api/layers');
}

/** The layers of each group, in the API's group order; groups without layers are left out. */
export function layersByGroup<L extends RegistryEntry>(registry: { groups: Named[]; layers: L[] }): { group: Named; layers: L[] }[] {
  return registry.groups
    .map((group) => ({ group, layers: registry.layers.filter((l) => l.group === group.id) }))
    .filter((g) => g.layers.length > 0);
}
