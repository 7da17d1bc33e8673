// The layer a route of /api/layers/{layerId}/… is about (revisions, imports, exports): a layer of
// the registry, or 404 unknown_layer; for what only delivered layers have (revisions, imports,
// restores), 409 for one the service computes itself (registry `derived`).
import type { Catalog } from '../layers/catalog';
import type { Layer } from '../layers/registry';
import { derivedLayer, messages, notFound } from '../platform/errors';

/** The registry layer `id`, or 404 unknown_layer; with `delivered`, 409 derived_layer for a layer the service computes. */
export function layerOf(catalog: Catalog, id: string, opts: { delivered: boolean }): Layer {
  const layer = catalog.layer(id);
  if (!layer) throw notFound('unknown_layer', messages.unknownLayer(id), { layerId: id });
  if (opts.delivered && layer.derived) throw derivedLayer(layer.id);
  return layer;
}
