// OGC API – Features at /ogcapi: Part 1 (core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by reference).
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import type { Catalog } from '../layers/catalog';
import type { Layer } from '../layers/registry';
import { badRequest, messages, notFound } from '../platform/errors';
import { bboxParam, intParam, onlyParams, single } from '../platform/params';
import { CRS84, findCrs, STORAGE_CRS, supportedCrs, type Crs } from './crs';
import { filterableNames, parseFilterValue, queryFeature, queryFeatures } from './features';

export const conformanceClasses = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
  'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
];

const GEOJSON = 'application/geo+json';
const ITEMS_PARAMS = ['limit', 'offset', 'bbox', 'bbox-crs', 'crs', 'f'];

export interface OgcOptions {
  defaultLimit: number;
  maxLimit: number;
  publicUrl?: string;
  /** The service's OpenAPI 3.0 document (platform/openapi.ts), linked as service-desc. */
  document: (req: Request) => object;
}

export function ogcRouter(catalog: Catalog, knex: Knex, opts: OgcOptions): Router {
  const r = Router();
  const base = (req: Request) => `${opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`}/ogcapi`;

  r.get('/', (req, res) => {
    const b = base(req);
    res.json({
      title: '大同市五规合一一张图 OGC API – Features',
      description: 'The five plans of Datong, the land-use status, subsidence, PV and approval data, as OGC API – Features collections (CGCS2000).',
      links: [
        { href: `${b}`, rel: 'self', type: 'application/json', title: 'this document' },
        { href: `${b}/api`, rel: 'service-desc', type: 'application/vnd.oai.openapi+json;version=3.0', title: 'the API definition' },
        { href: `${b}/conformance`, rel: 'conformance', type: 'application/json', title: 'conformance classes' },
        { href: `${b}/conformance`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/conformance', type: 'application/json', title: 'conformance classes' },
        { href: `${b}/collections`, rel: 'data', type: 'application/json', title: 'the collections' },
        { href: `${b}/collections`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/data', type: 'application/json', title: 'the collections' },
      ],
    });
  });

  r.get('/conformance', (_req, res) => void res.json({ conformsTo: conformanceClasses }));

  r.get('/api', (req, res) => {
    res.type('application/vnd.oai.openapi+json;version=3.0').send(JSON.stringify(opts.document(req)));
  });

  const collectionJson = async (layer: Layer, b: string) => {
    const d = await catalog.data(layer);
    return {
      id: layer.id,
      title: layer.title.zh,
      description: `${layer.title.en} — ${layer.standard}; ${catalog.registry.departments.find((x) => x.id === layer.department)?.zh ?? layer.department}; ${layer.period.from}–${layer.period.to}; revision ${d.revision}`,
      itemType: 'feature',
      extent: {
        spatial: { bbox: [d.extent ?? [112.5, 39, 114.6, 40.8]], crs: CRS84 },
        temporal: { interval: [[`${layer.period.from}-01-01T00:00:00Z`, `${layer.period.to}-12-31T23:59:59Z`]], trs: 'http://www.opengis.net/def/uom/ISO-8601/0/Gregorian' },
      },
      crs: supportedCrs.map((c) => c.uri),
      storageCrs: STORAGE_CRS,
      links: [
        { href: `${b}/collections/${layer.id}`, rel: 'self', type: 'application/json', title: layer.title.zh },
        { href: `${b}/collections/${layer.id}/items`, rel: 'items', type: GEOJSON, title: `${layer.title.zh} features` },
      ],
    };
  };

  r.get('/collections', async (req, res) => {
    const b = base(req);
    res.json({
      links: [{ href: `${b}/collections`, rel: 'self', type: 'application/json', title: 'the collections' }],
      crs: supportedCrs.map((c) => c.uri),
      collections: await Promise.all(catalog.registry.layers.map((l) => collectionJson(l, b))),
    });
  });

  const layerOf = (id: string) => {
    const layer = catalog.layer(id);
    if (!layer) throw notFound('unknown_collection', messages.unknownCollection(id), { collectionId: id });
    return layer;
  };

  r.get('/collections/:collectionId', async (req, res) => {
    res.json(await collectionJson(layerOf(req.params.collectionId), base(req)));
  });

  r.get('/collections/:collectionId/items', async (req, res) => {
    const layer = layerOf(req.params.collectionId);
    const names = filterableNames(layer);
    for (const k of Object.keys(req.query)) {
      if (!ITEMS_PARAMS.includes(k) && !names.includes(k)) throw badRequest('unknown_parameter', messages.unknownParam(k, [...ITEMS_PARAMS, ...names]), { parameter: k });
    }
    checkFormat(req.query);
    const crs = crsParam(req.query, 'crs');
    const bboxCrs = crsParam(req.query, 'bbox-crs');
    const bbox = bboxParam(req.query, 'bbox');
    if (bbox) checkBboxRange(bbox, bboxCrs);
    else if (req.query['bbox-crs'] !== undefined) throw badRequest('invalid_parameter', "parameter 'bbox-crs' is given without 'bbox'", { parameter: 'bbox-crs' });
    const limit = intParam(req.query, 'limit', 1, opts.maxLimit, opts.defaultLimit)!;
    const offset = intParam(req.query, 'offset', 0, 1_000_000_000, 0)!;
    const filters = new Map<string, Knex.Value>();
    for (const n of names) {
      const raw = single(req.query, n);
      if (raw !== undefined) filters.set(n, parseFilterValue(layer, n, raw));
    }
    const { features, matched } = await queryFeatures(knex, layer, { crs, bbox, bboxCrs, filters, limit, offset });

    const self = new URL(`${base(req)}/collections/${layer.id}/items`);
    for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string') self.searchParams.set(k, v);
    const page = (o: number) => {
      const u = new URL(self);
      u.searchParams.set('offset', String(o));
      u.searchParams.set('limit', String(limit));
      return u.toString();
    };
    const links = [
      { href: self.toString(), rel: 'self', type: GEOJSON, title: 'this page' },
      { href: `${base(req)}/collections/${layer.id}`, rel: 'collection', type: 'application/json', title: layer.title.zh },
    ];
    if (offset + features.length < matched) links.push({ href: page(offset + limit), rel: 'next', type: GEOJSON, title: 'next page' });
    if (offset > 0) links.push({ href: page(Math.max(0, offset - limit)), rel: 'prev', type: GEOJSON, title: 'previous page' });
    const head = JSON.stringify({ type: 'FeatureCollection', timeStamp: new Date().toISOString(), numberMatched: matched, numberReturned: features.length, links });
    res.set('Content-Crs', `<${crs.uri}>`).type(GEOJSON);
    res.send(`${head.slice(0, -1)},"features":[${features.join(',')}]}`);
  });

  r.get('/collections/:collectionId/items/:featureId', async (req, res) => {
    const layer = layerOf(req.params.collectionId);
    onlyParams(req.query, ['crs', 'f']);
    checkFormat(req.query);
    const crs = crsParam(req.query, 'crs');
    const id = req.params.featureId;
    const fid = /^\d{1,15}$/.test(id) ? Number(id) : undefined;
    const feature = fid === undefined ? undefined : await queryFeature(knex, layer, fid, crs);
    if (!feature) throw notFound('unknown_feature', messages.unknownFeature(layer.id, id), { collectionId: layer.id, featureId: id });
    const b = base(req);
    const links = [
      { href: `${b}/collections/${layer.id}/items/${fid}`, rel: 'self', type: GEOJSON, title: 'this feature' },
      { href: `${b}/collections/${layer.id}`, rel: 'collection', type: 'application/json', title: layer.title.zh },
    ];
    res.set('Content-Crs', `<${crs.uri}>`).type(GEOJSON).send(`${feature.slice(0, -1)},"links":${JSON.stringify(links)}}`);
  });

  return r;
}

function crsParam(query: Record<string, unknown>, name: string): Crs {
  const raw = single(query, name);
  if (raw === undefined) return findCrs(CRS84)!;
  const crs = findCrs(raw);
  if (!crs) throw badRequest('unsupported_crs', messages.unsupportedCrs(raw, supportedCrs.map((c) => c.uri)), { parameter: name });
  return crs;
}

function checkBboxRange(bbox: [number, number, number, number], crs: Crs) {
  const [[a0, a1], [b0, b1]] = crs.range;
  const [x1, y1, x2, y2] = bbox;
  if (x1 < a0 || x2 > a1 || y1 < b0 || y2 > b1) {
    throw badRequest('invalid_parameter', messages.badParam('bbox', `coordinates within [${a0}, ${a1}] × [${b0}, ${b1}] for ${crs.uri}`, bbox.join(',')), { parameter: 'bbox' });
  }
}

function checkFormat(query: Record<string, unknown>) {
  const f = single(query, 'f');
  if (f !== undefined && !['json', 'geojson'].includes(f)) throw badRequest('unsupported_format', messages.badParam('f', 'json or geojson', f), { parameter: 'f' });
}
