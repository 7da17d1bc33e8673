// /releases/{n}: a release (成果版本) through the standards, under a URL that carries its number:
//   /releases/{n}/ogcapi …          OGC API – Features (Part 1 core, GeoJSON, OpenAPI 3.0; Part 2 CRS)
//                                   over the release's own copy of its pinned layers (release_features)
//   /releases/{n}/tiles.json        TileJSON 3.0: one vector source, every pinned layer a vector layer
//   /releases/{n}/tiles/{layer}.json  the same for one layer
//   /releases/{n}/tiles/{z}/{x}/{y}.mvt  one tile with every pinned layer, gzip, immutable
//   /releases/{n}/style.json        the MapLibre style of the release (its own registry snapshot)
//   /releases/latest/…              302 to the same path of the current (published) release
// The answers are the working service's (ogcapi/routes.ts, tiles/routes.ts, style/style.ts) from
// another source. Who may read a release is decided per release, in the handler, by the store
// (Releases.read): published and superseded ones are public, a draft is staff-only (404
// unknown_release without an account), a withdrawn one answers 410 release_withdrawn without an
// account and stays readable by staff. The routes are public in the contract for that reason.
//
// Mounted before the service's compression and request log, as the working tiles are: a tile goes
// straight to the socket with its own encoding; the JSON answers are compressed here. A tile is
// made once (release_tiles, mvt.ts) and kept in memory (an LRU); what a tile request knows of its
// release (status, pins) is at most FRESH_MS old, and every other answer reads the release afresh
// (and refreshes that).
import compression from 'compression';
import type { NextFunction, Request, Response } from 'express';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { Account } from '../accounts/accounts';
import { accountOf, guard } from '../accounts/authorize';
import { identify } from '../accounts/identify';
import { checkedText, layerIdParam } from '../layers/params';
import type { Layer } from '../layers/registry';
import { filterSchema, queryFeature, queryFeatures } from '../ogcapi/features';
import {
  collectionJson,
  queryablesJson,
  SCHEMA_JSON,
  collectionsJson,
  conformanceClasses,
  featureText,
  fidOf,
  GEOJSON,
  itemsPageText,
  itemsQuerySchemas,
  landingPage,
  OPENAPI_30,
  parseFeatureQuery,
  parseItemsQuery,
  sendGeoJson,
  checkFormat,
  htmlPageOf,
  pageQuery,
  sendHtml,
} from '../ogcapi/routes';
import { CRS84, findCrs } from '../ogcapi/crs';
import { collectionHtml, collectionsHtml, conformanceHtml, featureHtml, itemsHtml, landingHtml, langOf, queryablesHtml, wantsHtml } from '../ogcapi/html';
import { Collection, Collections, Conformance, Feature, FeatureCollection, LandingPage, Queryables } from '../ogcapi/schemas';
import { Routes, type Contract, type Reply, type RoutesOptions } from '../platform/contract';
import { AppError, messages, notFound } from '../platform/errors';
import { OpenApiDocumentSchema } from '../platform/openapi';
import { INT32 } from '../platform/values';
import { acceptsGzip, DATONG_BBOX, gunzip, gzip, GZIP_LEVEL, MVT_TYPE, TILE_MAXZOOM, TileJson, tileAddress, tileAddressParams, tileFields } from '../tiles/routes';
import { pinnedLayers, releaseFeatureSource } from './features';
import { isEmptyTile, layerOfTile, releaseTile } from './mvt';
import { type Releases, type StoredRelease, unknownRelease } from './store';
import { ReleaseStyle, releaseStyle } from './style';
import { isPublic } from './vocabulary';

export interface ReleaseServiceOptions extends RoutesOptions {
  publicUrl?: string;
  defaultLimit: number;
  maxLimit: number;
  /** In-memory cache of release tiles (MiB); 0 turns it off (release_tiles still keeps them). */
  cacheMb: number;
  /** The service's OpenAPI 3.0 document (platform/openapi.ts), at …/ogcapi/api. */
  document: (req: Request) => object;
  /** The primary's WAL position, when reads may go to replicas: a release is read there only once they replayed where it was read. */
  position?: () => Promise<bigint>;
}

/** How old what a tile request knows of its release may be (status and pins). */
export const FRESH_MS = 1000;
const YEAR_S = 31_536_000;

/** Said in every route's description: the contract is public, the release decides. */
const ACCESS =
  'Public in the contract; who may read is the release’s own: a published or superseded release is public, a draft is for staff only (404 unknown_release without an account), a withdrawn one answers 410 release_withdrawn without an account and stays readable by staff.';
const LATEST: Record<number, Reply> = {
  302: { description: '`latest`: to the same path of the current release (the query kept); 404 no_current_release when none is published', headers: { Location: 'the same path under /releases/{current}' } },
};

type Box = [number, number, number, number];

export function releaseServiceRoutes(releases: Releases, opts: ReleaseServiceOptions): Routes {
  const routes = new Routes('/releases', ['Releases: OGC API, tiles, style'], opts);
  const { knex, registry } = releases;
  const site = (req: Request) => opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
  const base = (req: Request, r: StoredRelease) => `${site(req)}/releases/${r.row.number}`;

  // The hot path of a cached public tile (hotTile, with the tiles below), first of all.
  routes.router.use(hotTile);
  // Who the request is from, when the application did not say yet (mounted before its identify, or after).
  const identifyRequest = identify(knex);
  routes.router.use((req, res, next) => (res.locals.account || res.locals.authProblem ? next() : identifyRequest(req, res, next)));
  // JSON answers compressed here; tiles carry their own encoding.
  const compress = compression();
  routes.router.use((req, res, next) => (req.path.endsWith('.mvt') ? next() : compress(req, res, next)));

  // --- which release, as whoever asks may read it -------------------------------------------------

  const known = new LRUCache<string, { at: number; value: StoredRelease | AppError }>({ max: 1024 });
  /** The primary's WAL position just after each release was read (with replicas): its features are read where that is replayed. */
  const readAt = new WeakMap<StoredRelease, bigint>();
  /** The pool a release's features are read from (res undefined: a tile, shared by every request for it). */
  const from = (res: Response | undefined, r: StoredRelease) => {
    const at = readAt.get(r);
    return opts.reader && at !== undefined ? opts.reader(res, [], at) : knex;
  };
  /** Releases.read, or its answer of at most maxAgeMs ago (404 and 410 remembered as well). */
  async function read(n: number, who: Account | undefined, maxAgeMs: number): Promise<StoredRelease> {
    const key = `${n}/${who ? 'staff' : 'public'}`;
    const hit = known.get(key);
    if (hit && Date.now() - hit.at < maxAgeMs) {
      if (hit.value instanceof AppError) throw hit.value;
      return hit.value;
    }
    const at = Date.now();
    try {
      const r = await releases.read(n, who);
      if (opts.position) readAt.set(r, await opts.position());
      known.set(key, { at, value: r });
      return r;
    } catch (err) {
      if (err instanceof AppError && (err.status === 404 || err.status === 410)) known.set(key, { at, value: err });
      throw err;
    }
  }

  /** A published (or superseded) release as read for the public within FRESH_MS, if it was. */
  function releaseSeen(n: number): StoredRelease | undefined {
    const hit = known.get(`${n}/public`);
    if (!hit || hit.value instanceof AppError || Date.now() - hit.at >= FRESH_MS || !isPublic(hit.value.row.status)) return undefined;
    return hit.value;
  }

  /**
   * The release a request names, or undefined when it was answered already: `latest` redirects to
   * the current release's same path. Errors are never cached by the client (no-cache), as who may
   * see a release changes with its status.
   */
  async function open(req: Request, res: Response, raw: string, maxAgeMs = 0): Promise<StoredRelease | undefined> {
    res.set('Cache-Control', 'no-cache');
    if (raw === 'latest') {
      const current = await releases.currentNumber();
      if (current === null) throw notFound('no_current_release', 'no release is published yet: `latest` names none; see /api/releases', {});
      const q = req.originalUrl.indexOf('?');
      res.redirect(302, `${site(req)}${req.baseUrl}/${current}${req.path.replace(/^\/latest/, '')}${q >= 0 ? req.originalUrl.slice(q) : ''}`);
      return undefined;
    }
    const n = /^[1-9]\d{0,9}$/.test(raw) && Number(raw) <= INT32 ? Number(raw) : undefined;
    if (n === undefined) throw unknownRelease(raw);
    return read(n, accountOf(res), maxAgeMs);
  }

  /** JSON of a public release may be kept a minute; a draft's or a withdrawn one's (staff) by the browser only, revalidated. */
  // Vary: Accept, since a browser asking the same address gets the HTML page (ogcapi/html.ts).
  const cacheJson = (res: Response, r: StoredRelease) => res.vary('Accept').set('Cache-Control', isPublic(r.row.status) ? 'public, max-age=60' : 'private, no-cache');
  /** The district boundaries a release pins, for the maps of its HTML pages (a release never changes). */
  const outlines = new LRUCache<number, { geometry: object | null }>({ max: 64 });
  const outlineOf = async (res: Response, r: StoredRelease): Promise<object | null> => {
    let kept = outlines.get(r.row.number);
    if (!kept) {
      const { rows } = await from(res, r).raw<{ rows: { g: object | null }[] }>(
        `SELECT ST_AsGeoJSON(ST_Collect(ST_SimplifyPreserveTopology(geom, 0.001)), 5)::json AS g FROM release_features WHERE release = ? AND layer_id = 'districts'`,
        [r.row.number],
      );
      outlines.set(r.row.number, (kept = { geometry: rows[0]?.g ?? null }));
    }
    return kept.geometry;
  };
  const HTML = ' With f=html (or a browser’s Accept: text/html) a page, in Chinese or with lang=en in English.';

  const releaseParam = checkedText(
    { oneOf: [{ type: 'integer', minimum: 1, maximum: INT32 }, { type: 'string', enum: ['latest'] }] },
    'release number, or latest (302 to the current release)',
  );
  const ofRelease = z.object({ release: releaseParam });

  // --- OGC API – Features ---------------------------------------------------------------------------

  const ogc = (req: Request, r: StoredRelease) => `${base(req, r)}/ogcapi`;
  const layerOf = (r: StoredRelease, id: string): Layer => {
    const layer = r.registry.get(id);
    if (!layer) throw notFound('unknown_collection', `collection '${id}' is not in release ${r.row.number}; see /releases/${r.row.number}/ogcapi/collections`, { collectionId: id, release: r.row.number });
    return layer;
  };
  const collectionOf = (req: Request, r: StoredRelease, layer: Layer) => {
    const pin = r.layers.find((l) => l.layer_id === layer.id)!;
    return collectionJson(layer, ogc(req, r), { revision: pin.revision, extent: (pin.bbox as Box | null) ?? null }, registry.departments);
  };
  const tags = ['Releases: OGC API – Features'];

  routes.route(
    {
      method: 'get',
      path: '/:release/ogcapi',
      summary: 'Landing page of a release’s OGC API – Features',
      description: ACCESS + HTML,
      tags,
      access: guard.public,
      params: ofRelease,
      query: pageQuery(),
      responses: { 200: { description: 'links to the API definition, the conformance classes and the release’s collections', schema: LandingPage }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params, query }) => {
      checkFormat(query.f);
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      const { row } = r;
      const date = row.published_at ? `published ${row.published_at.toISOString().slice(0, 10)}` : row.status;
      const landing = landingPage(
        ogc(req, r),
        site(req),
        `大同市五规合一一张图 第${row.number}版 ${row.title} OGC API – Features`,
        `Release ${row.number} of the one map (${row.status}; ${date}; 审图号 ${row.review_number ?? '—'}; 批复文号 ${row.approval_number ?? '—'}): its ${r.layers.length} layers as pinned, CGCS2000. A release never changes: a correction is a new release.`,
      );
      if (!wantsHtml(req, query.f)) return landing;
      sendHtml(res, landingHtml(req, ogc(req, r), langOf(query.lang), landing));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/ogcapi/conformance',
      summary: 'Conformance classes of a release’s OGC API',
      description: ACCESS + HTML,
      tags,
      access: guard.public,
      params: ofRelease,
      query: pageQuery(),
      responses: { 200: { description: 'Part 1 core, GeoJSON and OpenAPI 3.0; Part 2 CRS', schema: Conformance }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params, query }) => {
      checkFormat(query.f);
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      if (!wantsHtml(req, query.f)) return { conformsTo: conformanceClasses };
      sendHtml(res, conformanceHtml(req, ogc(req, r), langOf(query.lang), conformanceClasses));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/ogcapi/api',
      summary: 'The OpenAPI 3.0 document (the service’s own, which describes the release routes too)',
      description: ACCESS,
      tags,
      access: guard.public,
      params: ofRelease,
      responses: { 200: { description: 'OpenAPI 3.0', type: OPENAPI_30, schema: OpenApiDocumentSchema }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      res.type(OPENAPI_30).send(JSON.stringify(opts.document(req)));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/ogcapi/collections',
      summary: 'The collections of a release (one per pinned layer)',
      description: ACCESS + HTML,
      tags,
      access: guard.public,
      params: ofRelease,
      query: pageQuery(),
      responses: { 200: { description: 'every pinned layer, in the release’s order; extent from its pinned content', schema: Collections }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params, query }) => {
      checkFormat(query.f);
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      const answer = collectionsJson(ogc(req, r), pinnedLayers(r).map((l) => collectionOf(req, r, l)));
      if (!wantsHtml(req, query.f)) return answer;
      sendHtml(res, collectionsHtml(req, ogc(req, r), langOf(query.lang), answer.collections, (id) => r.registry.get(id)));
    },
  );

  const collectionParams = ofRelease.extend({ collectionId: layerIdParam(registry, 'collection (pinned layer) id; a layer the release does not pin answers 404 unknown_collection') });
  routes.route(
    {
      method: 'get',
      path: '/:release/ogcapi/collections/:collectionId',
      summary: 'One collection of a release',
      description: ACCESS + HTML,
      tags,
      access: guard.public,
      params: collectionParams,
      query: pageQuery(),
      responses: { 200: { description: 'the collection', schema: Collection }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params, query }) => {
      checkFormat(query.f);
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      const layer = layerOf(r, params.collectionId);
      const answer = collectionOf(req, r, layer);
      if (!wantsHtml(req, query.f)) return answer;
      sendHtml(res, collectionHtml(req, ogc(req, r), langOf(query.lang), answer, layer, registry.departments, await outlineOf(res, r)));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/ogcapi/collections/:collectionId/queryables',
      summary: 'The queryables of a release’s collection (OGC API – Features Part 3)',
      description: `${ACCESS} As the release's own registry entry of the layer has them.${HTML}`,
      tags,
      access: guard.public,
      params: collectionParams,
      query: pageQuery(),
      responses: { 200: { description: 'a JSON Schema of the properties a filter, sortby and properties may name', type: SCHEMA_JSON, schema: Queryables }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params, query }) => {
      checkFormat(query.f);
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      const layer = layerOf(r, params.collectionId);
      const answer = queryablesJson(layer, ogc(req, r));
      if (wantsHtml(req, query.f)) return void sendHtml(res, queryablesHtml(req, ogc(req, r), langOf(query.lang), layer, answer));
      res.type(SCHEMA_JSON);
      return answer;
    },
  );

  const queries = itemsQuerySchemas(registry.layers, opts);
  // A layer's filter schema, made once per shape of its attributes (a release's entry may be older than the registry's).
  const filterSchemas = new LRUCache<string, ReturnType<typeof filterSchema>>({ max: 256 });
  const filtersOf = (layer: Layer) => {
    const key = `${layer.id}:${JSON.stringify(layer.attributes.map((a) => [a.name, a.type]))}`;
    let s = filterSchemas.get(key);
    if (!s) filterSchemas.set(key, (s = filterSchema(layer)));
    return s;
  };
  const items = {
    method: 'get',
    path: '/:release/ogcapi/collections/:collectionId/items',
    summary: 'Features of a release’s collection, paged, with bbox and attribute filters',
    description: `${ACCESS} The features are the release's own copy: later imports, restores and edits of the working layer do not reach them; fid is the feature's snapshot id (the same in every release that holds the feature unchanged).`,
    tags,
    access: guard.public,
    params: collectionParams,
    query: queries.withFilters,
    responses: {
      200: { description: 'GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links', type: GEOJSON, schema: FeatureCollection, headers: { 'Content-Crs': 'the CRS of the coordinates, <uri>' } },
      ...LATEST,
    },
    errors: [404, 410],
  } satisfies Contract<typeof collectionParams, z.ZodObject, undefined, undefined>;

  routes.route(items, async ({ req, res, params, query }) => {
    const r = await open(req, res, params.release);
    if (!r) return;
    const layer = layerOf(r, params.collectionId);
    const q = parseItemsQuery(layer, query, filtersOf(layer));
    const html = wantsHtml(req, query.f);
    const page = await queryFeatures(from(res, r), layer, html ? { ...q, crs: findCrs(CRS84)! } : q, releaseFeatureSource(r.row.number, layer));
    cacheJson(res, r);
    const text = itemsPageText(req, ogc(req, r), layer, q, page);
    if (html) return void sendHtml(res, itemsHtml(req, ogc(req, r), langOf(query.lang), layer, htmlPageOf(text), q.offset, await outlineOf(res, r)));
    sendGeoJson(res, items, q.crs, text, opts.checkResponses);
  });

  const featureParams = collectionParams.extend({ featureId: checkedText({ type: 'integer', minimum: 0 }, 'feature id (fid); another answers 404') });
  const feature = {
    method: 'get',
    path: '/:release/ogcapi/collections/:collectionId/items/:featureId',
    summary: 'One feature of a release',
    description: ACCESS,
    tags,
    access: guard.public,
    params: featureParams,
    query: queries.feature,
    responses: { 200: { description: 'GeoJSON Feature', type: GEOJSON, schema: Feature, headers: { 'Content-Crs': 'the CRS of the coordinates, <uri>' } }, ...LATEST },
    errors: [404, 410],
  } satisfies Contract<typeof featureParams, z.ZodObject, undefined, undefined>;

  routes.route(feature, async ({ req, res, params, query }) => {
    const r = await open(req, res, params.release);
    if (!r) return;
    const layer = layerOf(r, params.collectionId);
    const html = wantsHtml(req, query.f);
    const crs = parseFeatureQuery(html ? { ...query, crs: CRS84 } : query);
    const id = params.featureId;
    const fid = fidOf(id);
    const text = fid === undefined ? undefined : await queryFeature(from(res, r), layer, fid, crs, releaseFeatureSource(r.row.number, layer));
    if (fid === undefined || !text) throw notFound('unknown_feature', messages.unknownFeature(layer.id, id), { collectionId: layer.id, featureId: id, release: r.row.number });
    cacheJson(res, r);
    if (html) return void sendHtml(res, featureHtml(req, ogc(req, r), langOf(query.lang), layer, JSON.parse(text), await outlineOf(res, r)));
    sendGeoJson(res, feature, crs, featureText(ogc(req, r), layer, fid, text), opts.checkResponses);
  });

  // --- TileJSON, tiles, style -----------------------------------------------------------------------

  const tileTags = ['Releases: tiles and style'];
  /** The TileJSON of the release's tiles (every layer), or of one layer's tiles. */
  const tileJson = (req: Request, r: StoredRelease, one?: Layer): z.output<typeof TileJson> => {
    const layers = one ? [one] : pinnedLayers(r);
    const boxes = r.layers.filter((p) => p.bbox && layers.some((l) => l.id === p.layer_id)).map((p) => p.bbox as Box);
    const [w, s, e, n] = boxes.length
      ? [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))]
      : DATONG_BBOX;
    const { row } = r;
    return {
      tilejson: '3.0.0',
      name: one ? `${one.title.zh}（第${row.number}版）` : `${row.title}（第${row.number}版）`,
      description: `release ${row.number} of the one map (${row.status}), ${one ? `layer ${one.id}` : `${layers.length} layers, every pinned layer in each tile`}`,
      version: `${row.number}.0.0`,
      attribution: `大同市五规合一一张图 第${row.number}版 · 审图号 ${row.review_number ?? '—'}`,
      scheme: 'xyz',
      tiles: [`${base(req, r)}/tiles/${one ? `${one.id}/` : ''}{z}/{x}/{y}.mvt`],
      minzoom: 0,
      maxzoom: TILE_MAXZOOM,
      bounds: [w, s, e, n],
      center: [(w + e) / 2, (s + n) / 2, 8],
      vector_layers: layers.map((l) => ({ id: l.id, description: l.title.zh, minzoom: 0, maxzoom: TILE_MAXZOOM, fields: tileFields(l) })),
    };
  };

  routes.route(
    {
      method: 'get',
      path: '/:release/tiles.json',
      summary: 'TileJSON 3.0 of a release: one vector source, a vector layer per pinned layer',
      description: ACCESS,
      tags: tileTags,
      access: guard.public,
      params: ofRelease,
      responses: { 200: { description: 'TileJSON; its tiles are immutable', schema: TileJson }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      return tileJson(req, r);
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/tiles/:layerId.json',
      summary: 'TileJSON 3.0 of one layer of a release: its own tiles (the layer cut out of the release’s tiles)',
      description: ACCESS,
      tags: tileTags,
      access: guard.public,
      params: ofRelease.extend({ layerId: layerIdParam(registry, 'a pinned layer; another answers 404 unknown_layer') }),
      responses: { 200: { description: 'TileJSON with the one vector layer', schema: TileJson }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const r = await open(req, res, params.release);
      if (!r) return;
      const layer = r.registry.get(params.layerId);
      if (!layer) throw notFound('unknown_layer', `layer '${params.layerId}' is not in release ${r.row.number}; see /releases/${r.row.number}/tiles.json`, { layerId: params.layerId, release: r.row.number });
      cacheJson(res, r);
      return tileJson(req, r, layer);
    },
  );

  const cache = new LRUCache<string, Buffer>({ maxSize: Math.max(1, opts.cacheMb) * 1024 * 1024, sizeCalculation: (b) => b.length + 64 });
  const useCache = opts.cacheMb > 0;
  const making = new Map<string, Promise<Buffer>>();
  /** A release's tile (gzip; zero bytes when empty): from memory, else release_tiles, else made once however many ask at a time. */
  async function tileOf(r: StoredRelease, z: number, x: number, y: number): Promise<Buffer> {
    const key = `${r.row.number}/${z}/${x}/${y}`;
    const hit = useCache ? cache.get(key) : undefined;
    if (hit) return hit;
    let p = making.get(key);
    if (!p) {
      p = releaseTile(knex, r, z, x, y, from(undefined, r)).finally(() => making.delete(key));
      making.set(key, p);
    }
    const gz = await p;
    if (useCache) cache.set(key, gz);
    return gz;
  }

  /** One layer of a release's tile (gzip; zero bytes when the tile has none of it): cut out of the tile, kept in memory too. */
  async function layerTileOf(r: StoredRelease, layerId: string, z: number, x: number, y: number): Promise<Buffer> {
    const key = `${r.row.number}/${layerId}/${z}/${x}/${y}`;
    const hit = useCache ? cache.get(key) : undefined;
    if (hit) return hit;
    const whole = await tileOf(r, z, x, y);
    const raw = isEmptyTile(whole) ? whole : layerOfTile(await gunzip(whole), layerId);
    const gz = raw.length ? await gzip(raw, { level: GZIP_LEVEL }) : Buffer.alloc(0);
    if (useCache) cache.set(key, gz);
    return gz;
  }

  const tileResponses = (what: string) => ({
    200: {
      description: 'the tile, gzip-compressed when the client takes it',
      type: MVT_TYPE,
      headers: { ETag: 'strong: the release, its content hash and the tile', 'Cache-Control': 'public, max-age=31536000, immutable (a draft or withdrawn release, for staff: private)' },
    },
    204: { description: `an empty tile: ${what} in it (same caching)` },
    ...LATEST,
    304: { description: 'not modified (If-None-Match)' },
  });

  /** The headers of a tile of a release: immutable caching, a strong ETag of the release, the tile and its encoding. */
  const tileHeaders = (r: StoredRelease, address: string, gzipped: boolean): Record<string, string | number> => ({
    'Cache-Control': `${isPublic(r.row.status) ? 'public' : 'private'}, max-age=${YEAR_S}, immutable`,
    ETag: `"r${r.row.number}-${r.row.content_sha256.slice(0, 16)}-${address}${gzipped ? '' : '-identity'}"`,
    Vary: 'Accept-Encoding',
  });
  const notModified = (req: Request, headers: Record<string, string | number>) => {
    const inm = req.headers['if-none-match'];
    return !!inm && inm.split(/\s*,\s*/).includes(headers.ETag as string);
  };
  /** Writes a tile (gzip; zero bytes: 204), as it is or unzipped for a client that does not take gzip. */
  async function writeTile(res: Response, headers: Record<string, string | number>, gz: Buffer, gzipped: boolean) {
    if (isEmptyTile(gz)) return void res.writeHead(204, headers).end();
    const body = gzipped ? gz : await gunzip(gz);
    if (gzipped) headers['Content-Encoding'] = 'gzip';
    headers['Content-Type'] = MVT_TYPE;
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers).end(body);
  }

  /** Answers a tile of a release: 304 on a matching ETag, else the tile `tile` gives. */
  async function sendTile(req: Request, res: Response, r: StoredRelease, address: string, tile: () => Promise<Buffer>) {
    const gzipped = acceptsGzip(req);
    const headers = tileHeaders(r, address, gzipped);
    if (notModified(req, headers)) return void res.writeHead(304, headers).end();
    await writeTile(res, headers, await tile(), gzipped);
  }

  // The hot path of a map: a tile of a published release that is in memory already, answered here
  // before identify and the contract's validation (it is the same for whoever asks). What this path
  // does not know — a release not read within FRESH_MS, a tile not in memory, a client without
  // gzip, a path not in its canonical form — goes the whole way below, which fills what it reads.
  const HOT_TILE = /^\/([1-9]\d{0,8})\/tiles\/(?:([a-z][a-z0-9_]*)\/)?(\d{1,2})\/(\d{1,8})\/(\d{1,8})\.mvt$/;
  function hotTile(req: Request, res: Response, next: NextFunction) {
    const m = req.method === 'GET' && useCache ? HOT_TILE.exec(req.path) : null;
    if (!m || !acceptsGzip(req)) return next();
    const [, n, layer, z, x, y] = m;
    const known = releaseSeen(Number(n));
    const gz = known && cache.get(layer ? `${n}/${layer}/${z}/${x}/${y}` : `${n}/${z}/${x}/${y}`);
    if (!known || !gz) return next();
    const headers = tileHeaders(known, layer ? `${layer}-${z}-${x}-${y}` : `${z}-${x}-${y}`, true);
    if (notModified(req, headers)) return void res.writeHead(304, headers).end();
    writeTile(res, headers, gz, true).catch(next);
  }

  routes.route(
    {
      method: 'get',
      path: '/:release/tiles/:z/:x/:y.mvt',
      summary: 'Mapbox Vector Tile of a release: every pinned layer in one tile (Web Mercator tile matrix)',
      description: `${ACCESS} A release never changes: its tiles are cached for a year (immutable), made once and kept (release_tiles).`,
      tags: tileTags,
      access: guard.public,
      params: ofRelease.extend(tileAddressParams()),
      responses: tileResponses('no pinned feature'),
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const [z, x, y] = tileAddress(params);
      const r = await open(req, res, params.release, FRESH_MS);
      if (!r) return;
      await sendTile(req, res, r, `${z}-${x}-${y}`, () => tileOf(r, z, x, y));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/tiles/:layerId/:z/:x/:y.mvt',
      summary: 'Mapbox Vector Tile of one layer of a release (the layer of the release’s tile, cut out of it)',
      description: `${ACCESS} For clients that take one layer at a time; the same features and bytes as that layer in the release’s tile, cached alike.`,
      tags: tileTags,
      access: guard.public,
      params: ofRelease.extend({ layerId: layerIdParam(registry, 'a pinned layer; another answers 404 unknown_layer'), ...tileAddressParams() }),
      responses: tileResponses('no feature of the layer'),
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const [z, x, y] = tileAddress(params);
      const r = await open(req, res, params.release, FRESH_MS);
      if (!r) return;
      if (!r.registry.get(params.layerId)) throw notFound('unknown_layer', `layer '${params.layerId}' is not in release ${r.row.number}; see /releases/${r.row.number}/tiles.json`, { layerId: params.layerId, release: r.row.number });
      await sendTile(req, res, r, `${params.layerId}-${z}-${x}-${y}`, () => layerTileOf(r, params.layerId, z, x, y));
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:release/style.json',
      summary: 'MapLibre style of a release: its own registry entries, one vector source `release`',
      description: ACCESS,
      tags: tileTags,
      access: guard.public,
      params: ofRelease,
      responses: { 200: { description: 'the style: the working map’s look from the release’s registry snapshot; the release (审图号, date) in metadata["onemap:release"]', schema: ReleaseStyle }, ...LATEST },
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const r = await open(req, res, params.release);
      if (!r) return;
      cacheJson(res, r);
      return releaseStyle(r, registry, site(req));
    },
  );

  return routes;
}

