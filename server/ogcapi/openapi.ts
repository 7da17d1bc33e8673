// The OpenAPI 3.0 document of the whole service (linked from the OGC API landing page as
// service-desc): the OGC API paths, the tiles, the style, the layer API and the health check.
import type { Registry } from '../layers/registry';
import { supportedCrs } from './crs';

const error = { $ref: '#/components/responses/Error' };
const json = (schema: object = { type: 'object' }) => ({ content: { 'application/json': { schema } } });
const param = (name: string, where: 'query' | 'path' | 'header', schema: object, description: string, required = where === 'path') => ({ name, in: where, required, schema, description });

export function openApiDocument(registry: Registry, ogcBase: string, opts: { defaultLimit: number; maxLimit: number }) {
  const serviceBase = ogcBase.replace(/\/ogcapi$/, '');
  const collectionId = param('collectionId', 'path', { type: 'string', enum: registry.layers.map((l) => l.id) }, 'collection (registry layer) id');
  const crs = param('crs', 'query', { type: 'string', enum: supportedCrs.map((c) => c.uri), default: supportedCrs[0].uri }, 'CRS of the returned coordinates (OGC API – Features Part 2); EPSG axis order');
  const filterNames = [...new Set(registry.layers.flatMap((l) => ['code', ...l.attributes.map((a) => a.name)]))].sort();
  return {
    openapi: '3.0.3',
    info: {
      title: '大同市五规合一一张图 — Datong One Map service',
      version: '0.1.0',
      description: 'The five plans of Datong on one map: OGC API – Features, Mapbox Vector Tiles, a MapLibre style and the viewer API.',
      license: { name: 'MIT' },
    },
    servers: [{ url: serviceBase }],
    tags: [{ name: 'OGC API – Features' }, { name: 'Tiles' }, { name: 'Viewer API' }, { name: 'Revisions' }, { name: 'Conflicts' }, { name: 'Audit' }, { name: 'Accounts' }, { name: 'Operations' }],
    paths: {
      '/ogcapi': { get: { tags: ['OGC API – Features'], summary: 'Landing page', responses: { 200: json() } } },
      '/ogcapi/conformance': { get: { tags: ['OGC API – Features'], summary: 'Conformance classes', responses: { 200: json() } } },
      '/ogcapi/api': { get: { tags: ['OGC API – Features'], summary: 'This OpenAPI document', responses: { 200: { description: 'OpenAPI 3.0' } } } },
      '/ogcapi/collections': { get: { tags: ['OGC API – Features'], summary: 'The collections (one per registry layer)', responses: { 200: json() } } },
      '/ogcapi/collections/{collectionId}': {
        get: { tags: ['OGC API – Features'], summary: 'One collection', parameters: [collectionId], responses: { 200: json(), 404: error } },
      },
      '/ogcapi/collections/{collectionId}/items': {
        get: {
          tags: ['OGC API – Features'],
          summary: 'Features of a collection, paged, with bbox and attribute filters',
          parameters: [
            collectionId,
            param('limit', 'query', { type: 'integer', minimum: 1, maximum: opts.maxLimit, default: opts.defaultLimit }, 'page size'),
            param('offset', 'query', { type: 'integer', minimum: 0, default: 0 }, 'features to skip (the next/prev links carry it)'),
            param('bbox', 'query', { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 }, 'minx,miny,maxx,maxy in bbox-crs axis order'),
            param('bbox-crs', 'query', { type: 'string', enum: supportedCrs.map((c) => c.uri) }, 'CRS of bbox (default CRS84)'),
            crs,
            ...filterNames.map((n) => param(n, 'query', { type: 'string' }, `exact-match filter on '${n}' (for the collections that have it; the value is parsed by the attribute's type)`)),
          ],
          responses: {
            200: { description: 'GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links', headers: { 'Content-Crs': { schema: { type: 'string' } } }, content: { 'application/geo+json': { schema: { type: 'object' } } } },
            400: error,
            404: error,
          },
        },
      },
      '/ogcapi/collections/{collectionId}/items/{featureId}': {
        get: {
          tags: ['OGC API – Features'],
          summary: 'One feature',
          parameters: [collectionId, param('featureId', 'path', { type: 'integer' }, 'feature id (fid)'), crs],
          responses: { 200: { description: 'GeoJSON Feature', content: { 'application/geo+json': { schema: { type: 'object' } } } }, 400: error, 404: error },
        },
      },
      '/tiles/{layerId}.json': {
        get: { tags: ['Tiles'], summary: 'TileJSON 3.0 of a layer', parameters: [{ ...collectionId, name: 'layerId' }], responses: { 200: json(), 404: error } },
      },
      '/tiles/{layerId}/{z}/{x}/{y}.mvt': {
        get: {
          tags: ['Tiles'],
          summary: 'Mapbox Vector Tile of a layer (Web Mercator tile matrix)',
          parameters: [
            { ...collectionId, name: 'layerId' },
            param('z', 'path', { type: 'integer', minimum: 0, maximum: 22 }, 'zoom'),
            param('x', 'path', { type: 'integer', minimum: 0 }, 'column'),
            param('y', 'path', { type: 'integer', minimum: 0 }, 'row'),
            param('v', 'query', { type: 'integer' }, 'data version (from the TileJSON); a current one makes the tile cacheable for a year'),
          ],
          responses: { 200: { description: 'tile', content: { 'application/vnd.mapbox-vector-tile': { schema: { type: 'string', format: 'binary' } } } }, 304: { description: 'not modified' }, 400: error, 404: error },
        },
      },
      '/style.json': { get: { tags: ['Tiles'], summary: 'MapLibre style of all layers, colours from the registry', responses: { 200: json() } } },
      '/fonts/{fontstack}/{range}.pbf': { get: { tags: ['Tiles'], summary: 'Label glyphs (SDF protobuf)', parameters: [param('fontstack', 'path', { type: 'string' }, 'font stack'), param('range', 'path', { type: 'string' }, 'e.g. 0-255')], responses: { 200: { description: 'glyphs' }, 404: error } } },
      '/api/layers': { get: { tags: ['Viewer API'], summary: 'The layer registry with each layer’s revision, version, count and extent', responses: { 200: json() } } },
      '/api/identify': {
        get: {
          tags: ['Viewer API'],
          summary: 'Features of the given layers at a point, with areas in m², 公顷 and 亩',
          parameters: [
            param('lon', 'query', { type: 'number', minimum: -180, maximum: 180 }, 'CGCS2000 longitude', true),
            param('lat', 'query', { type: 'number', minimum: -90, maximum: 90 }, 'CGCS2000 latitude', true),
            param('zoom', 'query', { type: 'number', minimum: 0, maximum: 24, default: 12 }, 'map zoom (search radius for points and lines)'),
            param('layers', 'query', { type: 'string' }, 'comma-separated layer ids (default: all)'),
          ],
          responses: { 200: json(), 400: error },
        },
      },
      ...revisionPaths(collectionId, opts),
      ...conflictPaths(opts),
      ...auditPaths(opts),
      ...authPaths(),
      '/api/layers/{layerId}/export': {
        get: {
          tags: ['Revisions'],
          summary: 'A layer’s current content or any kept revision as a file (server/exports): code, class_zh, every attribute, area_m2 (ellipsoidal m²)',
          parameters: [
            { ...collectionId, name: 'layerId' },
            param('format', 'query', { type: 'string', enum: ['geojson', 'shapefile', 'gpkg'], default: 'geojson' }, 'GeoJSON (RFC 7946), zipped Shapefile (.shp .shx .dbf .prj .cpg) or GeoPackage'),
            param('revision', 'query', { type: 'integer', minimum: 1 }, 'the revision to export (default: the current content)'),
            param('crs', 'query', { type: 'string', default: 'CRS84 (geojson), EPSG:4490 (shapefile, gpkg)' }, 'geojson: CRS84 only; shapefile and gpkg: EPSG:4490 or a CGCS2000 Gauss-Krüger zone, EPSG:4491–4512 (6°) or EPSG:4513–4554 (3°)'),
            param('encoding', 'query', { type: 'string', enum: ['utf8', 'gbk'], default: 'utf8' }, 'attribute encoding of the Shapefile (named in its .cpg); the other formats are UTF-8'),
          ],
          responses: {
            200: {
              description: 'the file, as an attachment named <layer>-r<revision>-<CRS>[-gbk].<ext>',
              content: { 'application/geo+json': {}, 'application/zip': {}, 'application/geopackage+sqlite3': {} },
            },
            400: error,
            404: error,
          },
        },
      },
      '/api/layers/{layerId}/imports': {
        post: {
          tags: ['Revisions'],
          summary: 'Imports a delivered file (zipped Shapefile, GeoPackage, GeoJSON (text sequence), boundary-point CSV) as a new revision; every problem is reported and nothing is written when there is one',
          parameters: [{ ...collectionId, name: 'layerId' }],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['file'],
                  properties: {
                    file: { type: 'string', format: 'binary', description: 'the file; its name picks the format (.zip, .gpkg, .geojson, .geojsonl, .csv); at most ONEMAP_UPLOAD_MAX_MB' },
                    srid: { type: 'integer', description: 'EPSG code of the coordinates, overriding the .prj / crs' },
                    encoding: { type: 'string', description: 'text encoding (gbk, utf8), overriding .cpg and detection' },
                    dryRun: { type: 'boolean', default: false, description: 'validate and report, write nothing' },
                    repair: { type: 'boolean', default: false, description: 'repair invalid geometries with ST_MakeValid and report the changes' },
                    reason: { type: 'string', maxLength: 2000, description: 'why, for the history' },
                  },
                },
              },
            },
          },
          responses: {
            200: json(),
            201: json(),
            400: error,
            404: error,
            413: error,
            422: { description: 'import_rejected: the full report (problems with feature index, id, code, message, location) in details', ...json({ $ref: '#/components/schemas/Error' }) },
          },
        },
      },
      '/healthz': { get: { tags: ['Operations'], summary: 'Health: database reachability', responses: { 200: json(), 503: json() } } },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
        },
      },
      responses: { Error: { description: 'error', ...json({ $ref: '#/components/schemas/Error' }) } },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'onemap_session', description: 'browser session from POST /api/auth/login; writes also send its CSRF token as X-CSRF-Token' },
        bearer: { type: 'http', scheme: 'bearer', description: 'API token from POST /api/auth/tokens' },
      },
    },
  };
}

/** /api/layers/{layerId}/revisions: history, a revision's features, diff, restore (server/revisions). */
function revisionPaths(collectionId: ReturnType<typeof param>, opts: { defaultLimit: number; maxLimit: number }) {
  const layerId = { ...collectionId, name: 'layerId' };
  const revision = param('revision', 'path', { type: 'integer', minimum: 1 }, 'revision number');
  const page = (min: number) => [
    param('limit', 'query', { type: 'integer', minimum: min, maximum: opts.maxLimit, default: opts.defaultLimit }, 'page size'),
    param('offset', 'query', { type: 'integer', minimum: 0, default: 0 }, 'features to skip'),
  ];
  const geojson = (description: string) => ({ description, content: { 'application/geo+json': { schema: { type: 'object' } } } });
  return {
    '/api/layers/{layerId}/revisions': {
      get: { tags: ['Revisions'], summary: 'A layer’s revisions, oldest first: kind, who, when, source file and SHA-256, feature count, area (m²)', parameters: [layerId], responses: { 200: json(), 404: error } },
    },
    '/api/layers/{layerId}/revisions/{revision}': {
      get: { tags: ['Revisions'], summary: 'One revision’s record', parameters: [layerId, revision], responses: { 200: json(), 400: error, 404: error } },
    },
    '/api/layers/{layerId}/revisions/{revision}/features': {
      get: {
        tags: ['Revisions'],
        summary: 'The features of any revision (EPSG:4490 longitude/latitude), paged',
        parameters: [layerId, revision, ...page(1)],
        responses: { 200: geojson('GeoJSON FeatureCollection with numberMatched and numberReturned'), 400: error, 404: error },
      },
    },
    '/api/layers/{layerId}/revisions/{revision}/diff': {
      get: {
        tags: ['Revisions'],
        summary: 'Features added, removed and changed from revision `from` to this one, with counts and areas (m²)',
        parameters: [layerId, revision, param('from', 'query', { type: 'integer', minimum: 0 }, 'the revision compared with (default: the one before; 0: the empty layer)'), ...page(0)],
        responses: { 200: geojson('GeoJSON FeatureCollection: summary, and each feature with properties._change (added | removed | changed; a changed one carries its old state as "before")'), 400: error, 404: error },
      },
    },
    '/api/layers/{layerId}/revisions/{revision}/restore': {
      post: {
        tags: ['Revisions'],
        summary: 'Makes a new revision (kind restore) whose content equals this revision’s',
        parameters: [layerId, revision],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { reason: { type: 'string', maxLength: 2000 } } } } } },
        responses: { 201: json(), 400: error, 404: error, 409: error },
      },
    },
  };
}

/** /api/conflicts: rules, cases (the ledger), transitions, comments, summaries, runs, exports, report (server/conflicts). */
function conflictPaths(opts: { defaultLimit: number; maxLimit: number }) {
  const filters = [
    param('rule', 'query', { type: 'string' }, 'rule id (layers/conflict-rules.json)'),
    param('adcode', 'query', { type: 'string', pattern: '^(\\d{6})?$' }, 'district division code; empty: outside every district'),
    param('severity', 'query', { type: 'string', enum: ['critical', 'major', 'minor'] }, 'severity'),
    param('status', 'query', { type: 'string', enum: ['pending', 'coordinated', 'verified', 'resolved_by_data'] }, 'ledger status'),
    param('kind', 'query', { type: 'string', enum: ['conflict', 'hazard', 'notice'] }, 'kind of rule'),
    param('open', 'query', { type: 'boolean' }, 'only cases still open (pending or coordinated)'),
    param('fid', 'query', { type: 'integer', minimum: 1 }, 'the case’s feature id in the conflicts layer'),
  ];
  const id = param('id', 'path', { type: 'string', format: 'uuid' }, 'case id (the patch’s stable id)');
  const text = (max: number) => ({ type: 'string', maxLength: max });
  return {
    '/api/conflicts/rules': { get: { tags: ['Conflicts'], summary: 'The conflict rules with layers, classes and departments; severities, statuses, decisions and transitions', responses: { 200: json() } } },
    '/api/conflicts/cases': {
      get: {
        tags: ['Conflicts'],
        summary: 'Ledger cases, gravest and largest first, with areas in m², 公顷 and 亩 and both source features',
        parameters: [...filters, param('limit', 'query', { type: 'integer', minimum: 1, maximum: opts.maxLimit, default: opts.defaultLimit }, 'page size'), param('offset', 'query', { type: 'integer', minimum: 0, default: 0 }, 'cases to skip')],
        responses: { 200: json(), 400: error },
      },
    },
    '/api/conflicts/cases/{id}': { get: { tags: ['Conflicts'], summary: 'One case with its geometry and history; ETag = its version', parameters: [id], responses: { 200: json(), 400: error, 404: error } } },
    '/api/conflicts/cases/{id}/transitions': {
      post: {
        tags: ['Conflicts'],
        summary: 'Changes the status (pending → coordinated with a decision and reason → verified; coordinated → pending with a reason) against a known version',
        parameters: [id, param('If-Match', 'header', { type: 'string' }, 'the case’s ETag ("3"); or "version" in the body')],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['to'],
                properties: {
                  to: { type: 'string', enum: ['pending', 'coordinated', 'verified'] },
                  version: { type: 'integer', minimum: 1 },
                  decision: { type: 'string', enum: ['follow_a', 'follow_b', 'adjust_both', 'exception'] },
                  reason: text(4000),
                  comment: text(4000),
                  district_opinion: text(4000),
                  city_opinion: text(4000),
                  effective_date: { type: 'string', format: 'date' },
                  by: text(100),
                },
              },
            },
          },
        },
        responses: { 200: json(), 400: error, 404: error, 409: error, 412: error, 428: error },
      },
    },
    '/api/conflicts/cases/{id}/comments': {
      post: {
        tags: ['Conflicts'],
        summary: 'Adds a comment to a case’s history (no version needed)',
        parameters: [id],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['text'], properties: { text: text(4000), by: text(100) } } } } },
        responses: { 201: json(), 400: error, 404: error },
      },
    },
    '/api/conflicts/summary': { get: { tags: ['Conflicts'], summary: 'Count and area of current patches per rule × district', parameters: filters, responses: { 200: json(), 400: error } } },
    '/api/conflicts/runs': {
      get: { tags: ['Conflicts'], summary: 'The detection runs, newest first', parameters: [param('limit', 'query', { type: 'integer', minimum: 1, maximum: 500, default: 20 }, 'runs')], responses: { 200: json() } },
      post: {
        tags: ['Conflicts'],
        summary: 'Runs detection: full (every rule) or incremental (what changed since the last run)',
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { mode: { type: 'string', enum: ['full', 'incremental'], default: 'full' }, by: text(100) } } } } },
        responses: { 201: json(), 400: error },
      },
    },
    '/api/conflicts/runs/{runId}': { get: { tags: ['Conflicts'], summary: 'One run', parameters: [param('runId', 'path', { type: 'integer', minimum: 1 }, 'run number')], responses: { 200: json(), 400: error } } },
    '/api/conflicts/ledger.csv': { get: { tags: ['Conflicts'], summary: 'The ledger as CSV (UTF-8 with BOM)', parameters: filters, responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } }, 400: error } } },
    '/api/conflicts/ledger.geojson': { get: { tags: ['Conflicts'], summary: 'The ledger as GeoJSON', parameters: filters, responses: { 200: { description: 'GeoJSON', content: { 'application/geo+json': { schema: { type: 'object' } } } }, 400: error } } },
    '/api/conflicts/report': {
      get: {
        tags: ['Conflicts'],
        summary: 'Printable per-district report (HTML: map, summary by rule, case table)',
        parameters: [param('adcode', 'query', { type: 'string', pattern: '^\\d{6}$' }, 'district division code', true)],
        responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, 400: error, 404: error },
      },
    },
  };
}

/** /api/audit: the hash-chained audit trail and its verification (server/audit). */
function auditPaths(opts: { defaultLimit: number; maxLimit: number }) {
  return {
    '/api/audit': {
      get: {
        tags: ['Audit'],
        summary: 'Audit entries, newest first: who, what, when, the object and its details, with the chain hashes',
        parameters: [
          param('limit', 'query', { type: 'integer', minimum: 1, maximum: opts.maxLimit, default: opts.defaultLimit }, 'page size'),
          param('offset', 'query', { type: 'integer', minimum: 0, default: 0 }, 'entries to skip'),
          param('action', 'query', { type: 'string' }, 'action prefix (layer.revision, conflict.case, conflict.run)'),
          param('actor', 'query', { type: 'string' }, 'who'),
        ],
        responses: { 200: json(), 400: error },
      },
    },
    '/api/audit/verify': {
      get: { tags: ['Audit'], summary: 'Recomputes the whole chain: ok, the head (id and hash), or the first entry that does not hold', responses: { 200: json() } },
    },
  };
}

/** /api/auth: sessions (cookie + CSRF token) and API tokens (server/accounts). */
function authPaths() {
  const text = (max: number) => ({ type: 'string', maxLength: max });
  return {
    '/api/auth/login': {
      post: {
        tags: ['Accounts'],
        summary: 'Logs in: sets the httpOnly, SameSite=Strict session cookie and returns the CSRF token that writes made with the cookie must send as X-CSRF-Token',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'password'], properties: { name: text(40), password: text(200) } } } } },
        responses: { 200: json(), 400: error, 401: error, 429: error },
      },
    },
    '/api/auth/logout': { post: { tags: ['Accounts'], summary: 'Ends the browser session', security: [{ session: [] }], responses: { 204: { description: 'logged out' }, 401: error } } },
    '/api/auth/me': { get: { tags: ['Accounts'], summary: 'The account behind the request (null: anonymous), how it was recognised, the session’s CSRF token', responses: { 200: json() } } },
    '/api/auth/tokens': {
      get: { tags: ['Accounts'], summary: 'The caller’s API tokens (never their secrets)', security: [{ session: [] }, { bearer: [] }], responses: { 200: json(), 401: error } },
      post: {
        tags: ['Accounts'],
        summary: 'Issues an API token for scripts (shown once; Authorization: Bearer <token>)',
        security: [{ session: [] }, { bearer: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['label'], properties: { label: text(100), days: { type: 'integer', minimum: 1, maximum: 365, default: 90 } } } } } },
        responses: { 201: json(), 400: error, 401: error },
      },
    },
    '/api/auth/tokens/{id}': {
      delete: { tags: ['Accounts'], summary: 'Revokes a token (one’s own; an admin any)', security: [{ session: [] }, { bearer: [] }], parameters: [param('id', 'path', { type: 'string', format: 'uuid' }, 'token id')], responses: { 204: { description: 'revoked' }, 401: error, 404: error } },
    },
  };
}
