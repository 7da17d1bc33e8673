// What OGC API – Features answers (Part 1 core and GeoJSON, Part 2 CRS), as zod schemas: the
// OpenAPI document's components, and in the tests the check of every answer. GeoJSON as RFC 7946
// writes it; coordinates in the CRS asked for, in its axis order.
import { z } from 'zod';

/** A link of OGC API (RFC 8288 in JSON). */
export const Link = z
  .object({ href: z.string(), rel: z.string(), type: z.string(), title: z.string() })
  .meta({ id: 'Link' });

export const LandingPage = z
  .object({ title: z.string(), description: z.string(), links: z.array(Link) })
  .meta({ id: 'LandingPage' });

export const Conformance = z.object({ conformsTo: z.array(z.string()) }).meta({ id: 'Conformance' });

const Box = z.tuple([z.number(), z.number(), z.number(), z.number()]);

/** One collection: a registry layer, with its extent, CRS list and storage CRS. */
export const Collection = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    itemType: z.literal('feature'),
    extent: z.object({
      spatial: z.object({ bbox: z.array(Box).describe('[minLon, minLat, maxLon, maxLat] in CRS84'), crs: z.string() }),
      temporal: z.object({ interval: z.array(z.tuple([z.string(), z.string()])).describe("the plan's period"), trs: z.string() }),
    }),
    crs: z.array(z.string()),
    storageCrs: z.string(),
    links: z.array(Link),
  })
  .meta({ id: 'Collection' });

export const Collections = z
  .object({ links: z.array(Link), crs: z.array(z.string()), collections: z.array(Collection) })
  .meta({ id: 'Collections' });

// --- GeoJSON (RFC 7946) --------------------------------------------------------------------------

/** x, y (and z): longitude and latitude, or northing and easting, as the CRS orders them. */
const Position = z.array(z.number()).min(2).max(3);
const Ring = z.array(Position);
const shape = <T extends string, C extends z.ZodType>(type: T, coordinates: C) => z.object({ type: z.literal(type), coordinates });

export const Geometry = z
  .discriminatedUnion('type', [
    shape('Point', Position),
    shape('MultiPoint', z.array(Position)),
    shape('LineString', z.array(Position)),
    shape('MultiLineString', z.array(z.array(Position))),
    shape('Polygon', z.array(Ring)),
    shape('MultiPolygon', z.array(z.array(Ring))),
  ])
  .meta({ id: 'Geometry' });

export const Feature = z
  .object({
    type: z.literal('Feature'),
    id: z.number().int().describe('fid'),
    geometry: Geometry.nullable(),
    properties: z.record(z.string(), z.unknown()).describe("code, the layer's attributes and, for polygons, area_m2 (ellipsoidal m²)"),
    links: z.array(Link).optional().describe('on a feature asked for by its id'),
  })
  .meta({ id: 'Feature' });

export const FeatureCollection = z
  .object({
    type: z.literal('FeatureCollection'),
    timeStamp: z.iso.datetime(),
    numberMatched: z.number().int(),
    numberReturned: z.number().int(),
    links: z.array(Link),
    features: z.array(Feature),
  })
  .meta({ id: 'FeatureCollection' });

/** A collection's queryables (OGC API – Features Part 3): a JSON Schema of the properties a filter may name. */
export const Queryables = z
  .object({
    $schema: z.literal('https://json-schema.org/draft/2020-12/schema'),
    $id: z.string(),
    type: z.literal('object'),
    title: z.string(),
    description: z.string(),
    properties: z.record(
      z.string(),
      z
        .object({ title: z.string(), description: z.string().optional(), type: z.string().optional(), format: z.string().optional(), enum: z.array(z.string()).optional(), 'x-ogc-role': z.string().optional() })
        .strict(),
    ),
    additionalProperties: z.literal(false),
  })
  .meta({ id: 'Queryables' });
