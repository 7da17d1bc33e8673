// Request values that name registry things, for the contracts of every capability that serves
// layers (OGC API, tiles, identify, revisions, exports, imports). An id that is not in the registry
// is the route's own 404 (unknown_collection, unknown_layer …), not a 400: the parameter is any text,
// documented as the registry's ids.
import { z } from 'zod';
import { documented } from '../platform/contract';
import type { Registry } from './registry';

/**
 * A text value the handler checks itself, because its refusal has a code of its own (404
 * unknown_layer, 400 unsupported_crs, tile_out_of_range …); documented as `json`.
 */
export function checkedText(json: Record<string, unknown>, description?: string): z.ZodString {
  return documented(description ? z.string().describe(description) : z.string(), json);
}

/** A path parameter naming a registry layer (collection), documented as the enum of the registry's ids. */
export const layerIdParam = (registry: Registry, description = 'registry layer id') =>
  checkedText({ type: 'string', enum: registry.layers.map((l) => l.id) }, description);
