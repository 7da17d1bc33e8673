// /api/layers (the registry with each layer's data state) and /api/identify (what every
// requested layer has at a point, with areas in m², 公顷 and 亩), for the viewer: it takes its
// types from the schemas here (`import type`).
import type { Knex } from 'knex';
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import { param, Routes, type RoutesOptions } from '../platform/contract';
import { badRequest, messages } from '../platform/errors';
import { LAYER_SCHEMA } from '../platform/sql';
import { areaFigures } from './area';
import type { Catalog } from './catalog';
import { layerSchema, namedSchema, type Layer } from './registry';

/** Identify search radius for points and lines: this many screen pixels at the given zoom. */
const IDENTIFY_PIXELS = 6;
const MAX_FEATURES_PER_LAYER = 20;
/** Web Mercator: metres along the equator; a degree of latitude in metres. */
const EQUATOR_M = 40075016.686;
const DEGREE_M = 111320;

/** A registry layer with its data: current revision, data version, feature count and extent. */
export const LayerInfo = layerSchema
  .extend({
    visible: z.boolean().describe('shown when the viewer opens'),
    revision: z.number().int().describe('current revision (for the conflicts layer: the detection run)'),
    version: z.number().int().describe('data version, bumped by every write'),
    featureCount: z.number().int(),
    extent: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable().describe('[minLon, minLat, maxLon, maxLat] in CGCS2000 degrees; null when empty'),
  })
  .meta({ id: 'LayerInfo' });
export type LayerInfo = z.output<typeof LayerInfo>;

const Named = namedSchema.meta({ id: 'Named' });

/** GET /api/layers: the plan groups, departments and layers. */
export const LayerCatalogue = z.object({ groups: z.array(Named), departments: z.array(Named), layers: z.array(LayerInfo) }).meta({ id: 'LayerCatalogue' });
export type LayerCatalogue = z.output<typeof LayerCatalogue>;

const Area = z.number().nullable();

/** One feature found at the identify point. */
export const IdentifiedFeature = z
  .object({
    layer: z.string(),
    fid: z.number().int(),
    code: z.string().nullable().describe('class code'),
    class: z.object({ zh: z.string(), en: z.string(), color: z.string() }).nullable().describe('the class of the registry, null for a code it does not have'),
    properties: z.record(z.string(), z.unknown()).describe("the layer's attributes"),
    area_m2: Area.describe('ellipsoidal area in m² for polygons, null otherwise'),
    area_ha: Area.describe('公顷'),
    area_mu: Area.describe('亩'),
  })
  .meta({ id: 'IdentifiedFeature' });
export type IdentifiedFeature = z.output<typeof IdentifiedFeature>;

/** GET /api/identify: features in the order of the layers asked for. */
export const IdentifyResult = z.object({ lon: z.number(), lat: z.number(), features: z.array(IdentifiedFeature) }).meta({ id: 'IdentifyResult' });
export type IdentifyResult = z.output<typeof IdentifyResult>;

export function layersRoutes(catalog: Catalog, knex: Knex, opts: RoutesOptions): Routes {
  const routes = new Routes('/api', ['Viewer API'], opts);
  const read = opts.reader ?? (() => knex);

  routes.route(
    {
      method: 'get',
      path: '/layers',
      summary: 'The layer registry with each layer’s revision, version, count and extent',
      access: guard.staff,
      responses: { 200: { description: 'groups, departments and layers in the registry’s order', schema: LayerCatalogue } },
    },
    async () => {
      const layers = await Promise.all(
        catalog.registry.layers.map(async (l) => {
          const d = await catalog.data(l);
          return { ...l, visible: l.style.visible !== false, revision: d.revision, version: d.version, featureCount: d.featureCount, extent: d.extent };
        }),
      );
      return { groups: catalog.registry.groups, departments: catalog.registry.departments, layers };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/identify',
      summary: 'Features of the given layers at a point, with areas in m², 公顷 and 亩',
      access: guard.staff,
      query: z.object({
        // Required: a missing one answers 400 missing_parameter, a bad one invalid_parameter.
        lon: param.number(-180, 180).describe('CGCS2000 longitude'),
        lat: param.number(-90, 90).describe('CGCS2000 latitude'),
        zoom: param.number(0, 24).default(12).describe('map zoom (the search radius for points and lines: 6 pixels)'),
        layers: param.list().optional().describe('comma-separated layer ids (default: all); an unknown one answers 400 unknown_layer'),
      }),
      responses: { 200: { description: 'the features, at most 20 per layer, smallest polygon first', schema: IdentifyResult } },
    },
    async ({ query, res }) => {
      const { lon, lat, zoom } = query;
      const layers = (query.layers ?? catalog.registry.layers.map((l) => l.id)).map((id) => {
        const l = catalog.layer(id);
        if (!l) throw badRequest('unknown_layer', messages.unknownLayer(id), { parameter: 'layers', value: id });
        return l;
      });
      // Ground distance of IDENTIFY_PIXELS at this zoom and latitude, converted to degrees of latitude.
      const metres = ((IDENTIFY_PIXELS * EQUATOR_M) / (512 * 2 ** zoom)) * Math.cos((lat * Math.PI) / 180);
      const from = read(res, layers.map((l) => l.id));
      const results = await Promise.all(layers.map((l) => identifyLayer(from, l, lon, lat, metres / DEGREE_M)));
      return { lon, lat, features: results.flat() };
    },
  );

  return routes;
}

/** A layer's features at the point: polygons containing it (smallest first), else the nearest within the radius (degrees). */
async function identifyLayer(knex: Knex, layer: Layer, lon: number, lat: number, radiusDeg: number): Promise<IdentifiedFeature[]> {
  const point = knex.raw('ST_SetSRID(ST_MakePoint(?, ?), 4490)', [lon, lat]);
  const cols = ['fid', 'code', ...layer.attributes.map((a) => a.name), ...(layer.geometry === 'MultiPolygon' ? ['area_m2'] : [])];
  const q = knex.withSchema(LAYER_SCHEMA).from(layer.id).select(cols).limit(MAX_FEATURES_PER_LAYER);
  if (layer.geometry === 'MultiPolygon') q.whereRaw('ST_Intersects(geom, ?)', [point]).orderBy('area_m2', 'asc');
  else q.whereRaw('ST_DWithin(geom, ?, ?)', [point, radiusDeg]).orderByRaw('geom <-> ?', [point]);
  const rows: Record<string, unknown>[] = await q;
  const classes = new Map(layer.classification.classes.map((c) => [c.code, c]));
  return rows.map((row) => {
    const { fid, code, area_m2, ...properties } = row;
    const cls = classes.get(String(code));
    return {
      layer: layer.id,
      fid: Number(fid),
      code: code as string | null,
      class: cls ? { zh: cls.zh, en: cls.en, color: cls.color } : null,
      properties,
      ...areaFigures(typeof area_m2 === 'number' ? area_m2 : null),
    };
  });
}
