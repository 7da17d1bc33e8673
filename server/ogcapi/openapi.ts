// The OpenAPI 3.0 document of the whole service (linked from the OGC API landing page as
// service-desc): the OGC API paths, the tiles, the style, the layer API, revisions, imports and
// exports, conflicts and the ledger, applications, the audit trail, accounts and the health check.
// Every operation states its security: public reads `security: []`; everything that needs an
// account the session cookie (with X-CSRF-Token on writes) or a bearer token, with 401 and 403
// described and, in its description, who may (server/accounts/authorize.ts). A last pass (secure)
// gives an operation without an explicit one the default: public for GET, an account otherwise.
import type { Registry } from '../layers/registry';
import { supportedCrs } from './crs';

const error = { $ref: '#/components/responses/Error' };
const json = (schema: object = { type: 'object' }) => ({ content: { 'application/json': { schema } } });
const param = (name: string, where: 'query' | 'path' | 'header', schema: object, description: string, required = where === 'path') => ({ name, in: where, required, schema, description });
/** An operation that needs an account: a browser session or an API token. */
const ACCOUNT = [{ session: [] }, { bearer: [] }];
const PUBLIC: object[] = [];
const who = (text: string) => `Who may: ${text}. Anonymous requests (or a session cookie without its X-CSRF-Token, an expired or revoked credential) answer 401; an account without the role or department 403.`;

type Operation = { security?: object[]; responses: Record<string, unknown>; description?: string };

/** Fills in each operation's security (GET public, others an account) and describes 401 and 403 where an account is needed. */
function secure<T extends Record<string, Record<string, Operation>>>(paths: T): T {
  for (const ops of Object.values(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      op.security ??= method === 'get' ? PUBLIC : ACCOUNT;
      if (op.security.length) {
        op.responses[401] ??= { $ref: '#/components/responses/Unauthenticated' };
        op.responses[403] ??= { $ref: '#/components/responses/Forbidden' };
      }
    }
  }
  return paths;
}

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
    tags: [{ name: 'OGC API – Features' }, { name: 'Tiles' }, { name: 'Viewer API' }, { name: 'Revisions' }, { name: 'Conflicts' }, { name: 'Applications' }, { name: 'Audit' }, { name: 'Accounts' }, { name: 'Operations' }],
    paths: secure({
      '/': { get: { tags: ['Viewer API'], summary: 'The viewer (MapLibre, HTML and its static assets)', responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } } },
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
          description: who('a plan_editor of the layer’s owning department (registry `department`), or an admin; dry runs too. The revision records the account'),
          security: ACCOUNT,
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
            409: error,
            413: error,
            422: { description: 'import_rejected: the full report (problems with feature index, id, code, message, location) in details', ...json({ $ref: '#/components/schemas/Error' }) },
          },
        },
      },
      '/healthz': { get: { tags: ['Operations'], summary: 'Health: database reachability', responses: { 200: json(), 503: json() } } },
      ...accountPaths(registry),
      ...applicationPaths(registry),
    } as Record<string, Record<string, Operation>>),
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
        },
      },
      responses: {
        Error: { description: 'error', ...json({ $ref: '#/components/schemas/Error' }) },
        Unauthenticated: { description: 'unauthenticated: no account behind the request (log in: POST /api/auth/login, then X-CSRF-Token on writes; or Authorization: Bearer <token>)', ...json({ $ref: '#/components/schemas/Error' }) },
        Forbidden: { description: 'forbidden: the account lacks the role or department the action needs; the message names both', ...json({ $ref: '#/components/schemas/Error' }) },
      },
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
        description: who('a plan_editor of the layer’s owning department (registry `department`), or an admin. The revision records the account'),
        security: ACCOUNT,
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
        description: who('to coordinated or back to pending a reviewer of one of the rule’s departments; to verified (已核验) a reviewer of planning (市规划局); or an admin. The event records the account'),
        security: ACCOUNT,
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
        description: who('a reviewer or plan_editor of one of the rule’s departments, or an admin. The event records the account'),
        security: ACCOUNT,
        parameters: [id],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['text'], properties: { text: text(4000) } } } } },
        responses: { 201: json(), 400: error, 404: error },
      },
    },
    '/api/conflicts/summary': { get: { tags: ['Conflicts'], summary: 'Count and area of current patches per rule × district', parameters: filters, responses: { 200: json(), 400: error } } },
    '/api/conflicts/runs': {
      get: { tags: ['Conflicts'], summary: 'The detection runs, newest first', parameters: [param('limit', 'query', { type: 'integer', minimum: 1, maximum: 500, default: 20 }, 'runs')], responses: { 200: json() } },
      post: {
        tags: ['Conflicts'],
        summary: 'Runs detection: full (every rule) or incremental (what changed since the last run)',
        description: who('a reviewer or plan_editor of planning (市规划局 leads 五规合一), or an admin. The run records the account'),
        security: ACCOUNT,
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { mode: { type: 'string', enum: ['full', 'incremental'], default: 'full' } } } } } },
        responses: { 201: json(), 400: error, 409: error },
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
        description: who('an admin (the entries name people)'),
        security: ACCOUNT,
        parameters: [
          param('limit', 'query', { type: 'integer', minimum: 1, maximum: opts.maxLimit, default: opts.defaultLimit }, 'page size'),
          param('offset', 'query', { type: 'integer', minimum: 0, default: 0 }, 'entries to skip'),
          param('action', 'query', { type: 'string' }, 'action prefix (layer.revision, conflict.case, conflict.run, auth, account)'),
          param('actor', 'query', { type: 'string' }, 'who'),
        ],
        responses: { 200: json(), 400: error },
      },
    },
    '/api/audit/verify': {
      get: { tags: ['Audit'], summary: 'Recomputes the whole chain: ok, the head (id and hash), or the first entry that does not hold', description: who('an admin'), security: ACCOUNT, responses: { 200: json() } },
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
        security: PUBLIC,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'password'], properties: { name: text(40), password: text(200) } } } } },
        responses: { 200: json(), 400: error, 401: error, 429: error },
      },
    },
    '/api/auth/logout': { post: { tags: ['Accounts'], summary: 'Ends the browser session', security: [{ session: [] }], responses: { 204: { description: 'logged out' }, 400: error } } },
    '/api/auth/me': { get: { tags: ['Accounts'], summary: 'The account behind the request (null: anonymous), how it was recognised, the session’s CSRF token', responses: { 200: json() } } },
    '/api/auth/tokens': {
      get: { tags: ['Accounts'], summary: 'The caller’s API tokens (never their secrets)', security: ACCOUNT, responses: { 200: json() } },
      post: {
        tags: ['Accounts'],
        summary: 'Issues an API token for scripts (shown once; Authorization: Bearer <token>)',
        security: ACCOUNT,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['label'], properties: { label: text(100), days: { type: 'integer', minimum: 1, maximum: 365, default: 90 } } } } } },
        responses: { 201: json(), 400: error },
      },
    },
    '/api/auth/tokens/{id}': {
      delete: { tags: ['Accounts'], summary: 'Revokes a token (one’s own; an admin any)', security: ACCOUNT, parameters: [param('id', 'path', { type: 'string', format: 'uuid' }, 'token id')], responses: { 204: { description: 'revoked' }, 400: error, 404: error } },
    },
  };
}

/** /api/accounts: account management (server/accounts/admin.ts), admins only. */
function accountPaths(registry: Registry) {
  const name = param('name', 'path', { type: 'string', pattern: '^[a-z][a-z0-9_.-]{1,39}$' }, 'account name');
  const roles = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['window_clerk', 'reviewer', 'plan_editor', 'admin'] } };
  const department = { type: 'string', nullable: true, enum: [...registry.departments.map((d) => d.id), null], description: 'layers/departments.json; null only for an admin' };
  const password = { type: 'string', minLength: 10, maxLength: 200 };
  const admin = who('an admin');
  return {
    '/api/accounts': {
      get: { tags: ['Accounts'], summary: 'The accounts (never their password hashes) with their current sessions and tokens, the roles and departments', description: admin, security: ACCOUNT, responses: { 200: json() } },
      post: {
        tags: ['Accounts'],
        summary: 'Creates an account (audited as account.created)',
        description: admin,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['name', 'display_name', 'department', 'roles', 'password'],
                properties: { name: { type: 'string', pattern: '^[a-z][a-z0-9_.-]{1,39}$' }, display_name: { type: 'string', maxLength: 100 }, department, roles, password },
              },
            },
          },
        },
        responses: { 201: json(), 400: error, 409: { description: 'account_exists', ...json({ $ref: '#/components/schemas/Error' }) } },
      },
    },
    '/api/accounts/{name}': {
      patch: {
        tags: ['Accounts'],
        summary: 'Changes an account’s display name, department, roles or active flag; deactivating revokes its sessions and tokens (audited as account.updated)',
        description: `${admin} An admin cannot deactivate or demote themselves (409 self_lockout).`,
        parameters: [name],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { display_name: { type: 'string', maxLength: 100 }, department, roles, active: { type: 'boolean' } } } } } },
        responses: { 200: json(), 400: error, 404: error, 409: error },
      },
    },
    '/api/accounts/{name}/password': {
      post: {
        tags: ['Accounts'],
        summary: 'Sets a new password and revokes the account’s sessions (audited as account.password_changed, never the hash)',
        description: admin,
        parameters: [name],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['password'], properties: { password } } } } },
        responses: { 200: json(), 400: error, 404: error },
      },
    },
    '/api/accounts/{name}/revoke': {
      post: { tags: ['Accounts'], summary: 'Revokes every current session and API token of the account', description: admin, parameters: [name], responses: { 200: json(), 404: error } },
    },
  };
}

/** /api/applications: project applications at the government service centre's window and the departments' opinions (server/applications). */
function applicationPaths(registry: Registry) {
  const id = param('id', 'path', { type: 'string' }, 'application id');
  const opinionId = param('opinionId', 'path', { type: 'string' }, 'opinion id');
  const version = param('version', 'query', { type: 'integer', minimum: 1 }, 'version of the application (default: the current one)');
  const departments = registry.departments.map((d) => d.id);
  const text = (max: number) => ({ type: 'string', maxLength: max });
  const decision = { type: 'string', enum: ['approve', 'conditional', 'reject'] };
  const siteSchema = {
    type: 'object',
    required: ['source'],
    properties: {
      source: { type: 'string', enum: ['drawn', 'points', 'upload'] },
      geometry: { type: 'object', description: 'GeoJSON Polygon or MultiPolygon, CGCS2000 longitude/latitude (source drawn)' },
      srid: { type: 'integer', description: 'CGCS2000 Gauss-Krüger EPSG code of the points (source points), e.g. 4547, 4526' },
      points: {
        type: 'array',
        description: 'boundary points (界址点): x the northing, y the easting',
        items: { type: 'object', required: ['x', 'y'], properties: { polygon: { type: 'integer' }, ring: { type: 'integer', description: '1 outer, 2… holes' }, order: { type: 'integer' }, x: { type: 'number' }, y: { type: 'number' } } },
      },
      file: { type: 'object', properties: { name: { type: 'string' }, sha256: { type: 'string' } }, description: 'the uploaded file the site was read from (POST /api/applications/sites)' },
    },
  };
  const account = who('any logged-in account');
  const conflict = (codes: string) => ({ description: codes, ...json({ $ref: '#/components/schemas/Error' }) });
  return {
    '/api/applications/project-types': {
      get: { tags: ['Applications'], summary: 'Project types with the departments each always requires and their deadlines (days); the departments', description: account, security: ACCOUNT, responses: { 200: json() } },
    },
    '/api/applications': {
      get: {
        tags: ['Applications'],
        summary: 'Applications (summaries: number, status, verdict, waiting for, deadline, overdue)',
        description: account,
        security: ACCOUNT,
        parameters: [
          param('status', 'query', { type: 'string', enum: ['under_review', 'approved', 'rejected', 'withdrawn'] }, 'status'),
          param('department', 'query', { type: 'string', enum: departments }, 'only applications that go to this department'),
          param('limit', 'query', { type: 'integer', minimum: 1 }, 'page size'),
          param('offset', 'query', { type: 'integer', minimum: 0, default: 0 }, 'applications to skip'),
        ],
        responses: { 200: json(), 400: error },
      },
      post: {
        tags: ['Applications'],
        summary: 'Submits an application; the compliance check against every plan runs in the same transaction',
        description: who('a window_clerk (市政务服务中心)'),
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['name', 'project_type', 'investor', 'site'],
                properties: { name: text(200), project_type: { type: 'string', enum: ['industrial', 'residential', 'public', 'infrastructure', 'energy', 'mining', 'other'] }, investor: text(200), requested_area_m2: { type: 'number', minimum: 0 }, site: siteSchema },
              },
            },
          },
        },
        responses: { 201: json(), 400: error, 422: error },
      },
    },
    '/api/applications/inbox': {
      get: { tags: ['Applications'], summary: 'The caller’s department’s applications waiting for its opinion, by deadline', description: who('a reviewer'), security: ACCOUNT, responses: { 200: json() } },
    },
    '/api/applications/sites': {
      post: {
        tags: ['Applications'],
        summary: 'Normalises a site before submission (drawn polygon, boundary points in Gauss-Krüger, or an uploaded GeoJSON / zipped Shapefile); writes nothing',
        description: who('a window_clerk or an admin'),
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: siteSchema },
            'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' }, srid: { type: 'integer' }, encoding: { type: 'string' } } } },
          },
        },
        responses: { 200: json(), 400: error, 413: error, 422: error },
      },
    },
    '/api/applications/{id}': {
      get: { tags: ['Applications'], summary: 'One application: its versions, the compliance check, the required departments and their opinions, the timeline (ETag)', description: account, security: ACCOUNT, parameters: [id], responses: { 200: json(), 404: error } },
    },
    '/api/applications/{id}/versions/{version}': {
      get: {
        tags: ['Applications'],
        summary: 'One version of an application as submitted, with its compliance check and required departments',
        description: account,
        security: ACCOUNT,
        parameters: [id, param('version', 'path', { type: 'integer', minimum: 1 }, 'version number')],
        responses: { 200: json(), 400: error, 404: error },
      },
    },
    '/api/applications/{id}/versions/{version}/recheck': {
      get: {
        tags: ['Applications'],
        summary: 'Runs a version’s compliance check again: against the plan revisions it recorded (reproduces it) or against the current plans (what changed); writes nothing',
        description: account,
        security: ACCOUNT,
        parameters: [id, param('version', 'path', { type: 'integer', minimum: 1 }, 'version number'), param('against', 'query', { type: 'string', enum: ['recorded', 'current'], default: 'recorded' }, 'which plans to check against')],
        responses: { 200: json(), 400: error, 404: error, 409: error },
      },
    },
    '/api/applications/{id}/map': {
      get: {
        tags: ['Applications'],
        summary: 'The site, the broken rules and the touched alerts as GeoJSON (EPSG:4490 longitude/latitude) for the report’s map',
        description: account,
        security: ACCOUNT,
        parameters: [id, version],
        responses: { 200: { description: 'GeoJSON FeatureCollection (properties.role site | rule | alert)', content: { 'application/geo+json': { schema: { type: 'object' } } } }, 400: error, 404: error },
      },
    },
    '/api/applications/{id}/report': {
      get: { tags: ['Applications'], summary: 'Printable report (HTML: map and tables)', description: account, security: ACCOUNT, parameters: [id, version], responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, 400: error, 404: error } },
    },
    '/api/applications/{id}/opinions': {
      post: {
        tags: ['Applications'],
        summary: 'Signs a department’s opinion on the current version (approve, conditional with conditions, reject with a reason)',
        description: who(`a reviewer of a department the current version requires (${departments.join(', ')}), never on an application they submitted`),
        parameters: [id],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['version', 'decision'], properties: { version: { type: 'integer', minimum: 1 }, decision, conditions: text(4000), reason: text(4000) } } } } },
        responses: { 201: json(), 400: error, 404: error, 409: conflict('already_signed | not_under_review | stale_version') },
      },
    },
    '/api/applications/{id}/opinions/{opinionId}/corrections': {
      post: {
        tags: ['Applications'],
        summary: 'Corrects a signed opinion with a new one (the old one stays in the record)',
        description: who('a reviewer of the opinion’s department'),
        parameters: [id, opinionId],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['decision', 'note'], properties: { decision, conditions: text(4000), reason: text(4000), note: text(4000) } } } } },
        responses: { 201: json(), 400: error, 404: error, 409: conflict('already_corrected | not_under_review') },
      },
    },
    '/api/applications/{id}/withdraw': {
      post: {
        tags: ['Applications'],
        summary: 'Withdraws an application',
        description: who('a window_clerk or an admin'),
        parameters: [id],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['reason'], properties: { reason: text(4000) } } } } },
        responses: { 200: json(), 400: error, 404: error, 409: conflict('approved or already withdrawn') },
      },
    },
    '/api/applications/{id}/versions': {
      post: {
        tags: ['Applications'],
        summary: 'Amends and resubmits: a new version, the check re-run, fresh opinions',
        description: who('a window_clerk'),
        parameters: [id],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['note'],
                properties: { note: text(2000), name: text(200), project_type: { type: 'string' }, investor: text(200), requested_area_m2: { type: 'number', minimum: 0 }, site: siteSchema, expected_version: { type: 'integer', description: 'the version the amendment is made against (409 stale_version otherwise)' } },
              },
            },
          },
        },
        responses: { 201: json(), 400: error, 404: error, 409: conflict('approved') },
      },
    },
  };
}
