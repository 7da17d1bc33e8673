// OGC API – Features at /ogcapi: Part 1 (core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by reference).
// The landing page links the service's OpenAPI document twice: 3.0 at /ogcapi/api (the "OpenAPI
// 3.0" conformance class) and 3.1 at /api/openapi.json. Features leave as the JSON text PostGIS
// built (features.ts), never re-parsed on the way out, except in the tests, where every answer is
// checked against its schema. What the answers are made of (landing page, collections, items
// pages, the items query and its checks) is exported for the same service over a release
// (releases/service.ts), whose features come from another FeatureSource.
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Account } from '../accounts/accounts';
import { guard } from '../accounts/authorize';
import type { Catalog } from '../layers/catalog';
import { checkedText, layerIdParam } from '../layers/params';
import type { Layer, Named } from '../layers/registry';
import { checkAnswer, param, Routes, validateQuery, type Contract, type RoutesOptions } from '../platform/contract';
import { badRequest, messages, notFound } from '../platform/errors';
import { parseDate } from '../platform/values';
import { OpenApiDocumentSchema } from '../platform/openapi';
import { CRS84, findCrs, STORAGE_CRS, supportedCrs, type Crs } from './crs';
import { filterableNames, filterSchema, queryFeature, queryFeatures, type FeatureQuery } from './features';
import { FILTER_LANGS, filterConformance, parseFilter, queryables } from './filter';
import { collectionHtml, collectionsHtml, conformanceHtml, featureHtml, itemsHtml, landingHtml, langOf, queryablesHtml, wantsHtml } from './html';
import { Collection, Collections, Conformance, Feature, FeatureCollection, LandingPage, Queryables } from './schemas';

export const conformanceClasses = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
  'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
  ...filterConformance,
];

export const GEOJSON = 'application/geo+json';
export const OPENAPI_30 = 'application/vnd.oai.openapi+json;version=3.0';
const OPENAPI_31 = 'application/vnd.oai.openapi+json;version=3.1';
/** Shown when a layer is empty: Datong's districts, CRS84 degrees. */
const DATONG_BBOX: [number, number, number, number] = [112.5, 39, 114.6, 40.8];
type Box = [number, number, number, number];

export interface OgcOptions extends RoutesOptions {
  defaultLimit: number;
  maxLimit: number;
  publicUrl?: string;
  /** The service's OpenAPI 3.0 document (platform/openapi.ts), linked as service-desc. */
  document: (req: Request) => object;
}

/** crs and bbox-crs: a CRS URI (or its EPSG:nnnn short form); another answers 400 unsupported_crs. */
const crsParam = (description: string) => checkedText({ type: 'string', enum: supportedCrs.map((c) => c.uri) }, description);
/** f: json or geojson, or html; another answers 400 unsupported_format. */
const formatParam = () => checkedText({ type: 'string', enum: ['json', 'geojson', 'html'] }, 'the format: JSON (json and geojson alike), or html for a page (also what a browser’s Accept: text/html gets)');
/** f and lang: the query of every page of the API (lang: the HTML page's language). */
export const pageQuery = () =>
  z.object({
    f: formatParam().optional(),
    lang: param.oneOf(['zh', 'en'] as const).optional().describe('the language of the HTML page (default zh)'),
  });

// --- the answers of an OGC API – Features service, whatever its features' source --------------------

/** The landing page of the service at `b` (serviceBase: the site, where /api/openapi.json is). */
export function landingPage(b: string, serviceBase: string, title: string, description: string): z.output<typeof LandingPage> {
  return {
    title,
    description,
    links: [
      { href: `${b}`, rel: 'self', type: 'application/json', title: 'this document' },
      { href: `${serviceBase}/api/openapi.json`, rel: 'service-desc', type: OPENAPI_31, title: 'the API definition (OpenAPI 3.1)' },
      { href: `${b}/api`, rel: 'service-desc', type: OPENAPI_30, title: 'the API definition' },
      { href: `${b}/conformance`, rel: 'conformance', type: 'application/json', title: 'conformance classes' },
      { href: `${b}/conformance`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/conformance', type: 'application/json', title: 'conformance classes' },
      { href: `${b}/collections`, rel: 'data', type: 'application/json', title: 'the collections' },
      { href: `${b}/collections`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/data', type: 'application/json', title: 'the collections' },
    ],
  };
}

/** What a collection says of its data: the revision it is at and its extent (CRS84; null when empty). */
export interface CollectionData {
  revision: number;
  extent: Box | null;
}

/** One collection of the service at `b`. */
export function collectionJson(layer: Layer, b: string, d: CollectionData, departments: Named[]): z.output<typeof Collection> {
  return {
    id: layer.id,
    title: layer.title.zh,
    description: `${layer.title.en} — ${layer.standard}; ${departments.find((x) => x.id === layer.department)?.zh ?? layer.department}; ${layer.period.from}–${layer.period.to}; revision ${d.revision}`,
    itemType: 'feature',
    extent: {
      spatial: { bbox: [d.extent ?? DATONG_BBOX], crs: CRS84 },
      temporal: { interval: [[`${layer.period.from}-01-01T00:00:00Z`, `${layer.period.to}-12-31T23:59:59Z`]], trs: 'http://www.opengis.net/def/uom/ISO-8601/0/Gregorian' },
    },
    crs: supportedCrs.map((c) => c.uri),
    storageCrs: STORAGE_CRS,
    links: [
      { href: `${b}/collections/${layer.id}`, rel: 'self', type: 'application/json', title: layer.title.zh },
      { href: `${b}/collections/${layer.id}/items`, rel: 'items', type: GEOJSON, title: `${layer.title.zh} features` },
      { href: `${b}/collections/${layer.id}/queryables`, rel: 'http://www.opengis.net/def/rel/ogc/1.0/queryables', type: SCHEMA_JSON, title: `${layer.title.zh}: queryables` },
    ],
  };
}

export const SCHEMA_JSON = 'application/schema+json';
const GEOMETRY_FORMAT = { MultiPolygon: 'geometry-multipolygon', MultiLineString: 'geometry-multilinestring', Point: 'geometry-point' } as const;

/** The queryables of a collection of the service at `b`: its class codes, attributes by type, area and geometry. */
export function queryablesJson(layer: Layer, b: string): z.output<typeof Queryables> {
  const properties: z.output<typeof Queryables>['properties'] = {};
  for (const q of queryables(layer)) {
    const title = `${q.title.zh} ${q.title.en}`;
    if (q.type === 'geometry') properties[q.name] = { title, format: GEOMETRY_FORMAT[layer.geometry], 'x-ogc-role': 'primary-geometry' };
    else if (q.name === 'code') properties[q.name] = { title, type: 'string', enum: layer.classification.classes.map((c) => c.code), description: layer.classification.classes.map((c) => `${c.code} ${c.zh}`).join('; ') };
    else {
      const type = ({ text: { type: 'string' }, integer: { type: 'integer' }, number: { type: 'number' }, boolean: { type: 'boolean' }, date: { type: 'string', format: 'date' } } as const)[q.type];
      properties[q.name] = { title, ...type, ...(q.name === layer.temporal ? { 'x-ogc-role': 'primary-instant' } : {}) };
    }
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${b}/collections/${layer.id}/queryables`,
    type: 'object',
    title: layer.title.zh,
    description: `What a CQL2 filter (filter=…), sortby and properties may name on ${layer.id}; also each as an exact-match query parameter (?${layer.attributes[0]?.name ?? 'code'}=…).`,
    properties,
    additionalProperties: false,
  };
}

/** The collections answer of the service at `b`. */
export const collectionsJson = (b: string, collections: z.output<typeof Collection>[]): z.output<typeof Collections> => ({
  links: [{ href: `${b}/collections`, rel: 'self', type: 'application/json', title: 'the collections' }],
  crs: supportedCrs.map((c) => c.uri),
  collections,
});

/**
 * The items' query: paging, bbox, CRS, format; `withFilters` adds an exact-match filter for every
 * name some of `layers` can be filtered by (which of them a collection has, and their types, it
 * checks itself: parseItemsQuery).
 */
export function itemsQuerySchemas(layers: readonly Layer[], paging: { defaultLimit: number; maxLimit: number }) {
  const itemsQuery = z.object({
    limit: param.int(1, paging.maxLimit).default(paging.defaultLimit).describe('page size'),
    offset: param.int(0, 1_000_000_000).default(0).describe('features to skip (the next/prev links carry it)'),
    bbox: param.bbox().optional().describe('minx,miny,maxx,maxy in bbox-crs axis order'),
    'bbox-crs': crsParam('CRS of bbox (default CRS84)').optional(),
    crs: crsParam('CRS of the returned coordinates (OGC API – Features Part 2); EPSG axis order').default(CRS84),
    f: formatParam().optional(),
    lang: param.oneOf(['zh', 'en'] as const).optional().describe('the language of the HTML page (default zh)'),
    filter: param.text(100_000).optional().describe('a CQL2 filter on the collection’s queryables (OGC API – Features Part 3), in filter-lang'),
    'filter-lang': checkedText({ type: 'string', enum: [...FILTER_LANGS] }, 'the encoding of filter (default cql2-text)').optional(),
    'filter-crs': crsParam('CRS of the geometries in filter (default CRS84)').optional(),
    datetime: param.text(100).optional().describe('a date or date-time, or an interval a/b (either end .. or empty: open), on the collection’s temporal attribute (see its queryables); inclusive'),
    sortby: param.text(500).optional().describe('comma-separated queryables, each ascending or prefixed with - (descending); then by fid'),
    properties: param.text(2000).optional().describe('comma-separated queryables: the properties each feature carries (default all)'),
  });
  const filterNames = [...new Set(layers.flatMap(filterableNames))].sort();
  const anyFilter: Record<string, z.ZodOptional<z.ZodString>> = Object.fromEntries(
    filterNames.map((n) => [n, param.text().optional().describe(`exact-match filter on '${n}' (for the collections that have it; the value is parsed by the attribute's type)`)]),
  );
  return { itemsQuery, withFilters: itemsQuery.extend(anyFilter), feature: itemsQuery.pick({ crs: true, f: true, lang: true }) };
}
type ItemsQuery = z.output<ReturnType<typeof itemsQuerySchemas>['itemsQuery']>;

/**
 * The feature query of an items request on `layer`: a filter the layer lacks is 400
 * unknown_parameter, a bad CRS 400 unsupported_crs, a bad format 400 unsupported_format, a bbox
 * outside its CRS or a bbox-crs without bbox 400 invalid_parameter; the filters are parsed by the
 * layer's attribute types (`filters`: its filterSchema).
 */
export function parseItemsQuery(layer: Layer, query: Record<string, unknown>, filters: z.ZodObject): FeatureQuery {
  // The filters are text until the collection's own schema parses them (below).
  const {
    limit,
    offset,
    bbox,
    'bbox-crs': bboxCrsText,
    crs: crsText,
    f,
    lang: _lang,
    filter: filterText,
    'filter-lang': filterLang,
    'filter-crs': filterCrs,
    sortby,
    properties,
    datetime,
    ...given
  } = query as ItemsQuery & Record<string, string | undefined>;
  // A filter another collection has is unknown here.
  const names = filterableNames(layer);
  for (const k of Object.keys(given)) {
    if (!names.includes(k)) throw badRequest('unknown_parameter', messages.unknownParam(k, [...ITEMS_PARAMS, ...names]), { parameter: k });
  }
  checkFormat(f);
  const crs = crsOf(crsText, 'crs');
  const bboxCrs = crsOf(bboxCrsText ?? CRS84, 'bbox-crs');
  if (bbox) checkBboxRange(bbox, bboxCrs);
  else if (bboxCrsText !== undefined) throw badRequest('invalid_parameter', "parameter 'bbox-crs' is given without 'bbox'", { parameter: 'bbox-crs' });
  const values = validateQuery(filters, given) as Record<string, Knex.Value>;
  if (filterText === undefined && (filterLang !== undefined || filterCrs !== undefined)) {
    const name = filterLang !== undefined ? 'filter-lang' : 'filter-crs';
    throw badRequest('invalid_parameter', `parameter '${name}' is given without 'filter'`, { parameter: name });
  }
  return {
    crs,
    bbox,
    bboxCrs,
    filters: new Map(Object.entries(values)),
    filter: filterText === undefined ? undefined : parseFilter(layer, filterText, filterLang, filterCrs),
    sortby: sortby === undefined ? undefined : parseSortby(layer, sortby),
    properties: properties === undefined ? undefined : parseProperties(layer, properties),
    datetime: datetime === undefined ? undefined : parseDatetime(layer, datetime),
    limit,
    offset,
  };
}
const ITEMS_PARAMS = ['limit', 'offset', 'bbox', 'bbox-crs', 'crs', 'f', 'lang', 'filter', 'filter-lang', 'filter-crs', 'datetime', 'sortby', 'properties'];

/**
 * datetime (OGC API – Features Part 1): an instant or an interval a/b with open ends (.. or empty),
 * dates or RFC 3339 date-times (their UTC date: the temporal attributes are dates), on the layer's
 * temporal attribute; a collection without one, a date that does not exist or an interval that ends
 * before it starts is 400 invalid_parameter.
 */
function parseDatetime(layer: Layer, raw: string): NonNullable<FeatureQuery['datetime']> {
  const bad = (why: string) => badRequest('invalid_parameter', `datetime '${raw}': ${why}`, { parameter: 'datetime' });
  if (!layer.temporal) throw badRequest('invalid_parameter', `collection ${layer.id} has no temporal property for datetime; filter on its attributes instead`, { parameter: 'datetime' });
  const end = (s: string): string | undefined => {
    if (s === '' || s === '..') return undefined;
    const m = /^(\d{4}-\d{2}-\d{2})(?:[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$/.exec(s);
    if (!m || parseDate(m[1]) === undefined) throw bad(`'${s}' is not a date (YYYY-MM-DD) or an RFC 3339 date-time that exists`);
    if (!m[2]) return m[1];
    const t = new Date(s.toUpperCase());
    if (Number.isNaN(t.getTime()) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 60) throw bad(`'${s}' is not a date-time that exists`);
    return t.toISOString().slice(0, 10);
  };
  const parts = raw.split('/');
  if (parts.length > 2) throw bad('expected an instant or one interval a/b');
  if (parts.length === 1) {
    const d = end(parts[0]);
    if (!d) throw bad('an instant is a date or a date-time');
    return { attribute: layer.temporal, from: d, to: d };
  }
  const [from, to] = parts.map(end);
  if (from && to && from > to) throw bad('the interval ends before it starts');
  return { attribute: layer.temporal, from, to };
}

/** The non-geometry queryables of a layer: what sortby and properties name. */
const valueNames = (layer: Layer) => queryables(layer).filter((q) => q.type !== 'geometry').map((q) => q.name);

/** sortby: up to 5 queryables, each optionally prefixed + (ascending) or - (descending). */
function parseSortby(layer: Layer, raw: string): { name: string; desc: boolean }[] {
  const names = valueNames(layer);
  const keys = raw.split(',').map((s) => s.trim());
  if (keys.length > 5 || keys.some((k) => !k)) throw badRequest('invalid_parameter', messages.badParam('sortby', 'one to five comma-separated queryables, each optionally prefixed with + or -', raw), { parameter: 'sortby' });
  return keys.map((k) => {
    const desc = k.startsWith('-');
    const name = k.replace(/^[+-]/, '');
    if (!names.includes(name)) throw badRequest('unknown_queryable', `sortby: '${name}' is not a queryable of ${layer.id}; sortable: ${names.join(', ')}`, { parameter: 'sortby', property: name });
    return { name, desc };
  });
}

/** properties: the queryables (not the geometry) each feature carries, comma-separated; empty for none. */
function parseProperties(layer: Layer, raw: string): string[] {
  const names = valueNames(layer);
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of list) {
    if (!names.includes(name)) throw badRequest('unknown_queryable', `properties: '${name}' is not a property of ${layer.id}; its properties: ${names.join(', ')}`, { parameter: 'properties', property: name });
  }
  return list;
}

/** The CRS of a one-feature request (400 unsupported_crs / unsupported_format). */
export function parseFeatureQuery(query: { crs: string; f?: string }): Crs {
  checkFormat(query.f);
  return crsOf(query.crs, 'crs');
}

/** An items page of the service at `b` as GeoJSON text: the features PostGIS wrote, with the counts and the paging links. */
export function itemsPageText(req: Request, b: string, layer: Layer, q: Pick<FeatureQuery, 'limit' | 'offset'>, page: { features: string[]; matched: number }): string {
  const { limit, offset } = q;
  const { features, matched } = page;
  const self = new URL(`${b}/collections/${layer.id}/items`);
  for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string') self.searchParams.set(k, v);
  const at = (o: number) => {
    const u = new URL(self);
    u.searchParams.set('offset', String(o));
    u.searchParams.set('limit', String(limit));
    return u.toString();
  };
  const links = [
    { href: self.toString(), rel: 'self', type: GEOJSON, title: 'this page' },
    { href: `${b}/collections/${layer.id}`, rel: 'collection', type: 'application/json', title: layer.title.zh },
  ];
  if (offset + features.length < matched) links.push({ href: at(offset + limit), rel: 'next', type: GEOJSON, title: 'next page' });
  if (offset > 0) links.push({ href: at(Math.max(0, offset - limit)), rel: 'prev', type: GEOJSON, title: 'previous page' });
  const head = JSON.stringify({ type: 'FeatureCollection', timeStamp: new Date().toISOString(), numberMatched: matched, numberReturned: features.length, links });
  return `${head.slice(0, -1)},"features":[${features.join(',')}]}`;
}

/** The fid a feature id names (digits), or undefined: an unknown feature either way. */
export const fidOf = (id: string): number | undefined => (/^\d{1,15}$/.test(id) ? Number(id) : undefined);

/** One feature of the service at `b` as GeoJSON text, with its links. */
export function featureText(b: string, layer: Layer, fid: number, text: string): string {
  const links = [
    { href: `${b}/collections/${layer.id}/items/${fid}`, rel: 'self', type: GEOJSON, title: 'this feature' },
    { href: `${b}/collections/${layer.id}`, rel: 'collection', type: 'application/json', title: layer.title.zh },
  ];
  return `${text.slice(0, -1)},"links":${JSON.stringify(links)}}`;
}

/** Sends GeoJSON text as it is, with its Content-Crs; checked against the contract when answers are checked (tests). */
export function sendGeoJson(res: Response, contract: Pick<Contract<undefined, undefined, undefined, undefined>, 'method' | 'path' | 'responses'>, crs: Crs, text: string, check?: boolean) {
  if (check) checkAnswer(contract, 200, JSON.parse(text));
  res.set('Content-Crs', `<${crs.uri}>`).type(GEOJSON).send(text);
}

/** Sends an HTML page of the API (html.ts); the answer's other form is its JSON (Vary: Accept). */
export function sendHtml(res: Response, html: string) {
  res.set('Vary', 'Accept').type('html').send(html);
}

/**
 * The district boundaries drawn around the small maps of the HTML pages, simplified to about 100 m,
 * read again when the districts layer's revision changes.
 */
export function cityOutline(catalog: Catalog) {
  let kept: { revision: number; geometry: object | null } | undefined;
  return async (db: Knex): Promise<object | null> => {
    const districts = catalog.layer('districts');
    if (!districts) return null;
    const { revision } = await catalog.data(districts);
    if (kept?.revision !== revision) {
      const { rows } = await db.raw<{ rows: { g: object | null }[] }>(`SELECT ST_AsGeoJSON(ST_Collect(ST_SimplifyPreserveTopology(geom, 0.001)), 5)::json AS g FROM plan.districts`);
      kept = { revision, geometry: rows[0]?.g ?? null };
    }
    return kept.geometry;
  };
}

/** What an items page is made of, as its HTML page reads it. */
export const htmlPageOf = (text: string) => JSON.parse(text) as Parameters<typeof itemsHtml>[4];

export function ogcRoutes(catalog: Catalog, knex: Knex, opts: OgcOptions): Routes {
  const routes = new Routes('/ogcapi', ['OGC API – Features'], opts);
  const { registry } = catalog;
  const serviceBase = (req: Request) => opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
  const base = (req: Request) => `${serviceBase(req)}/ogcapi`;
  const read = opts.reader ?? (() => knex);
  const collectionParams = z.object({ collectionId: layerIdParam(registry, 'collection (registry layer) id') });
  const layerOf = (id: string) => {
    const layer = catalog.layer(id);
    if (!layer) throw notFound('unknown_collection', messages.unknownCollection(id), { collectionId: id });
    return layer;
  };
  const outline = cityOutline(catalog);
  const HTML = ' With f=html (or a browser’s Accept: text/html) a page, in Chinese or with lang=en in English.';

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'Landing page',
      description: HTML,
      access: guard.staff,
      query: pageQuery(),
      responses: { 200: { description: 'links to the API definition (OpenAPI 3.0 and 3.1), the conformance classes and the collections', schema: LandingPage } },
    },
    ({ req, res, query }) => {
      const landing = landingPage(
        base(req),
        serviceBase(req),
        '大同市五规合一一张图 OGC API – Features',
        'The five plans of Datong, the land-use status, subsidence, PV and approval data, as OGC API – Features collections (CGCS2000).',
      );
      checkFormat(query.f);
      if (!wantsHtml(req, query.f)) return landing;
      sendHtml(res, landingHtml(req, base(req), langOf(query.lang), landing));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/conformance',
      summary: 'Conformance classes',
      description: HTML,
      access: guard.staff,
      query: pageQuery(),
      responses: { 200: { description: 'Part 1 core, GeoJSON and OpenAPI 3.0; Part 2 CRS; Part 3 filter and queryables; CQL2', schema: Conformance } },
    },
    ({ req, res, query }) => {
      checkFormat(query.f);
      if (!wantsHtml(req, query.f)) return { conformsTo: conformanceClasses };
      sendHtml(res, conformanceHtml(req, base(req), langOf(query.lang), conformanceClasses));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/api',
      summary: 'This service’s OpenAPI 3.0 document (the 3.1 one: /api/openapi.json)',
      access: guard.staff,
      responses: { 200: { description: 'OpenAPI 3.0', type: OPENAPI_30, schema: OpenApiDocumentSchema } },
    },
    ({ req, res }) => {
      res.type(OPENAPI_30).send(JSON.stringify(opts.document(req)));
    },
  );

  const collectionOf = async (layer: Layer, b: string) => collectionJson(layer, b, await catalog.data(layer), registry.departments);

  routes.route(
    {
      method: 'get',
      path: '/collections',
      summary: 'The collections (one per registry layer)',
      description: HTML,
      access: guard.staff,
      query: pageQuery(),
      responses: { 200: { description: 'every collection, in the registry’s order', schema: Collections } },
    },
    async ({ req, res, query }) => {
      checkFormat(query.f);
      const b = base(req);
      const answer = collectionsJson(b, await Promise.all(registry.layers.map((l) => collectionOf(l, b))));
      if (!wantsHtml(req, query.f)) return answer;
      sendHtml(res, collectionsHtml(req, b, langOf(query.lang), answer.collections, (id) => catalog.layer(id)));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/collections/:collectionId',
      summary: 'One collection',
      description: HTML,
      access: guard.staff,
      params: collectionParams,
      query: pageQuery(),
      responses: { 200: { description: 'the collection', schema: Collection } },
      errors: [404],
    },
    async ({ req, res, params, query }) => {
      checkFormat(query.f);
      const layer = layerOf(params.collectionId);
      const answer = await collectionOf(layer, base(req));
      if (!wantsHtml(req, query.f)) return answer;
      sendHtml(res, collectionHtml(req, base(req), langOf(query.lang), answer, layer, registry.departments, await outline(read(res, ['districts']))));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/collections/:collectionId/queryables',
      summary: 'The queryables of a collection (OGC API – Features Part 3)',
      description: HTML,
      access: guard.staff,
      params: collectionParams,
      query: pageQuery(),
      responses: { 200: { description: 'a JSON Schema of the properties a filter, sortby and properties may name', type: SCHEMA_JSON, schema: Queryables } },
      errors: [404],
    },
    ({ req, res, params, query }) => {
      checkFormat(query.f);
      const layer = layerOf(params.collectionId);
      const answer = queryablesJson(layer, base(req));
      if (wantsHtml(req, query.f)) return void sendHtml(res, queryablesHtml(req, base(req), langOf(query.lang), layer, answer));
      res.type(SCHEMA_JSON);
      return answer;
    },
  );

  // The items' query: paging, bbox, CRS, format, and an exact-match filter for every name some
  // collection can be filtered by; which of them a collection has, and their types, it checks itself.
  const queries = itemsQuerySchemas(registry.layers, opts);
  const filters = new Map(registry.layers.map((l) => [l.id, filterSchema(l)]));
  const items = {
    method: 'get',
    path: '/collections/:collectionId/items',
    summary: 'Features of a collection, paged, with bbox and attribute filters',
    description: `CQL2 filters (filter, filter-lang, filter-crs), sortby and properties too.${HTML} (a table and a map, in CRS84)`,
    access: guard.staff,
    params: collectionParams,
    query: queries.withFilters,
    responses: { 200: { description: 'GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links', type: GEOJSON, schema: FeatureCollection, headers: { 'Content-Crs': 'the CRS of the coordinates, <uri>' } } },
    errors: [404],
  } satisfies Contract<typeof collectionParams, z.ZodObject, undefined, Account>;

  routes.route(items, async ({ req, res, params, query }) => {
    const layer = layerOf(params.collectionId);
    const q = parseItemsQuery(layer, query, filters.get(layer.id)!);
    const html = wantsHtml(req, query.f);
    // A page's map is drawn in CRS84.
    const page = await queryFeatures(read(res, [layer.id]), layer, html ? { ...q, crs: findCrs(CRS84)! } : q);
    const text = itemsPageText(req, base(req), layer, q, page);
    if (html) return void sendHtml(res, itemsHtml(req, base(req), langOf(query.lang), layer, htmlPageOf(text), q.offset, await outline(read(res, ['districts']))));
    sendGeoJson(res, items, q.crs, text, opts.checkResponses);
  });

  const featureParams = collectionParams.extend({ featureId: checkedText({ type: 'integer', minimum: 0 }, 'feature id (fid); another answers 404') });
  const feature = {
    method: 'get',
    path: '/collections/:collectionId/items/:featureId',
    summary: 'One feature',
    description: HTML,
    access: guard.staff,
    params: featureParams,
    query: queries.feature,
    responses: { 200: { description: 'GeoJSON Feature', type: GEOJSON, schema: Feature, headers: { 'Content-Crs': 'the CRS of the coordinates, <uri>' } } },
    errors: [404],
  } satisfies Contract<typeof featureParams, z.ZodObject, undefined, Account>;

  routes.route(feature, async ({ req, res, params, query }) => {
    const layer = layerOf(params.collectionId);
    const html = wantsHtml(req, query.f);
    // A page's map is drawn in CRS84.
    const crs = parseFeatureQuery(html ? { ...query, crs: CRS84 } : query);
    const id = params.featureId;
    const fid = fidOf(id);
    const text = fid === undefined ? undefined : await queryFeature(read(res, [layer.id]), layer, fid, crs);
    if (fid === undefined || !text) throw notFound('unknown_feature', messages.unknownFeature(layer.id, id), { collectionId: layer.id, featureId: id });
    if (html) return void sendHtml(res, featureHtml(req, base(req), langOf(query.lang), layer, JSON.parse(text), await outline(read(res, ['districts']))));
    sendGeoJson(res, feature, crs, featureText(base(req), layer, fid, text), opts.checkResponses);
  });

  return routes;
}

/** The CRS a crs or bbox-crs parameter names (400 unsupported_crs otherwise). */
function crsOf(raw: string, name: string): Crs {
  const crs = findCrs(raw);
  if (!crs) throw badRequest('unsupported_crs', messages.unsupportedCrs(raw, supportedCrs.map((c) => c.uri)), { parameter: name });
  return crs;
}

/** A bbox must lie within the plausible range of its CRS's axes (400 invalid_parameter). */
function checkBboxRange(bbox: [number, number, number, number], crs: Crs) {
  const [[a0, a1], [b0, b1]] = crs.range;
  const [x1, y1, x2, y2] = bbox;
  if (x1 < a0 || x2 > a1 || y1 < b0 || y2 > b1) {
    throw badRequest('invalid_parameter', messages.badParam('bbox', `coordinates within [${a0}, ${a1}] × [${b0}, ${b1}] for ${crs.uri}`, bbox.join(',')), { parameter: 'bbox' });
  }
}

/** f is json or geojson: the one format there is (400 unsupported_format otherwise). */
export function checkFormat(f: string | undefined) {
  if (f !== undefined && !['json', 'geojson', 'html'].includes(f)) throw badRequest('unsupported_format', messages.badParam('f', 'json, geojson or html', f), { parameter: 'f' });
}
