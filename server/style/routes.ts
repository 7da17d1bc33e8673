// /style.json, the MapLibre style built from the registry (style.ts), and the documentation of
// what the viewer's static files serve: the viewer itself at / and the label glyphs at /fonts
// (built with the viewer into web/dist; served by express.static in app.ts).
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import type { Registry } from '../layers/registry';
import { Routes, type RoutesOptions } from '../platform/contract';
import { buildStyle } from './style';

/** One style layer (MapLibre style spec); its paint and layout are the spec's, not restated here. */
const StyleLayer = z.object({
  id: z.string().describe('<registry layer>:<fill|line|circle|label>, or background'),
  type: z.enum(['background', 'fill', 'line', 'circle', 'symbol']),
  source: z.string().optional(),
  'source-layer': z.string().optional(),
  metadata: z.object({ 'onemap:layer': z.string(), 'onemap:group': z.string() }).optional().describe('the registry layer and group it draws'),
  minzoom: z.number().optional(),
  maxzoom: z.number().optional(),
  layout: z.record(z.string(), z.unknown()).optional(),
  paint: z.record(z.string(), z.unknown()),
});

/** The MapLibre style (version 8) of the one map. */
export const Style = z
  .object({
    version: z.literal(8),
    name: z.string(),
    metadata: z.object({ 'onemap:groups': z.array(z.object({ id: z.string(), zh: z.string(), en: z.string() })) }),
    center: z.tuple([z.number(), z.number()]),
    zoom: z.number(),
    glyphs: z.string(),
    sources: z.record(z.string(), z.object({ type: z.literal('vector'), url: z.string().describe('the layer’s TileJSON') })),
    layers: z.array(StyleLayer),
  })
  .meta({ id: 'Style' });

/** Mounted at /style.json. */
export function styleRoutes(registry: Registry, opts: RoutesOptions & { publicUrl?: string }): Routes {
  const routes = new Routes('/style.json', ['Tiles'], opts);
  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'MapLibre style of all layers, colours from the registry',
      access: guard.staff,
      responses: { 200: { description: 'the style: one vector source per layer, fills by class code, lines, points and labels', schema: Style } },
    },
    ({ req, res }) => {
      res.set('Cache-Control', 'no-cache');
      return buildStyle(registry, opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`);
    },
  );
  return routes;
}

/** What the static files serve, for the document only (app.ts mounts express.static for them). */
export function staticRoutes(): Routes {
  return new Routes('/', ['Viewer API'])
    .document({
      method: 'get',
      path: '/',
      summary: 'The viewer (MapLibre, HTML and its static assets)',
      access: guard.public,
      responses: { 200: { description: 'HTML', type: 'text/html' } },
    })
    .document({
      method: 'get',
      path: '/fonts/:fontstack/:range.pbf',
      summary: 'Label glyphs (SDF protobuf)',
      tags: ['Tiles'],
      access: guard.public,
      params: z.object({ fontstack: z.string().describe('font stack'), range: z.string().describe('e.g. 0-255') }),
      responses: { 200: { description: 'glyphs', type: 'application/x-protobuf' } },
      errors: [404],
    });
}
