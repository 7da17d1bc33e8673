// The contract of /api/layers/{layerId}/export as zod schemas: its query. The format, CRS and
// encoding are texts the handler checks together (formats.ts: a CRS or an encoding depends on the
// format, and each refusal has a code of its own); they are documented as what they may be.
import { z } from 'zod';
import { checkedText } from '../layers/params';
import { MAX_REVISION } from '../revisions/schemas';
import { param } from '../platform/contract';
import { Geometry } from '../ogcapi/schemas';
import { ENCODINGS, FORMATS } from './formats';

/** GET /api/layers/{layerId}/export: what to export, in which format, CRS and encoding. */
export const ExportQuery = z.object({
  format: checkedText({ type: 'string', enum: [...FORMATS, 'shp', 'geopackage'], default: 'geojson' }, 'GeoJSON (RFC 7946), zipped Shapefile (.shp .shx .dbf .prj .cpg) or GeoPackage; another is 400 unsupported_format').optional(),
  revision: param.int(1, MAX_REVISION).optional().describe('the revision to export (default: the current content)'),
  crs: checkedText(
    { type: 'string', examples: ['CRS84', 'EPSG:4490', 'EPSG:4547'] },
    'geojson: CRS84 only; shapefile and gpkg: EPSG:4490 (the default) or a CGCS2000 Gauss-Krüger zone, EPSG:4491–4512 (6°) or EPSG:4513–4554 (3°), also as OGC URIs; another is 400 unsupported_crs',
  ).optional(),
  encoding: checkedText({ type: 'string', enum: [...ENCODINGS, 'utf-8', 'cp936'], default: 'utf8' }, 'attribute encoding of the Shapefile (named in its .cpg); the other formats are UTF-8; another is 400 unsupported_encoding').optional(),
});

/** The GeoJSON export as GDAL writes it (RFC 7946: CRS84, no fids of ours; properties as in the file). */
export const ExportedGeoJson = z
  .object({
    type: z.literal('FeatureCollection'),
    name: z.string().optional().describe('the layer'),
    features: z.array(
      z.object({
        type: z.literal('Feature'),
        properties: z.record(z.string(), z.unknown()).describe('code, class_zh, every attribute, area_m2 (ellipsoidal m²)'),
        geometry: Geometry.nullable(),
      }),
    ),
  })
  .meta({ id: 'ExportedGeoJson' });
