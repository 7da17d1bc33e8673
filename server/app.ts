// The Express application: the capabilities mounted side by side, one error handler.
import fs from 'node:fs';
import path from 'node:path';
import compression from 'compression';
import express from 'express';
import { accountRoutes } from './accounts/admin-routes';
import { authRoutes, identify } from './accounts/routes';
import { WorkCalendar } from './applications/calendar';
import { applicationsRoutes } from './applications/routes';
import { loadProjectTypes } from './applications/types';
import { Applications } from './applications/workflow';
import { auditRoutes } from './audit/routes';
import { ConflictEngine } from './conflicts/detect';
import { conflictsRoutes } from './conflicts/routes';
import { loadRules } from './conflicts/rules';
import { ConflictWatcher } from './conflicts/watcher';
import { exportsRoutes } from './exports/routes';
import { importsRoutes } from './imports/routes';
import { Catalog } from './layers/catalog';
import type { Registry } from './layers/registry';
import { layersRoutes } from './layers/routes';
import { LayerVersions } from './layers/versions';
import { ogcRoutes } from './ogcapi/routes';
import type { Config } from './platform/config';
import { PROJECT_ROOT } from './platform/config';
import type { Routes, RoutesOptions } from './platform/contract';
import type { Database } from './platform/db';
import { apiNotFound, errorHandler } from './platform/errors';
import { log } from './platform/log';
import { Consistency } from './platform/replicas';
import { healthRoutes } from './platform/health';
import { apiDocument, documentRoutes } from './platform/openapi';
import { securityHeaders } from './platform/security';
import { archiveRoutes } from './releases/archive-routes';
import { renderReleaseTileLayers } from './releases/mvt';
import { printRoutes } from './releases/print-routes';
import { releaseStyle } from './releases/style';
import { releasesRoutes } from './releases/routes';
import { releaseServiceRoutes } from './releases/service';
import { Releases } from './releases/store';
import { revisionsRoutes } from './revisions/routes';
import { staticRoutes, styleRoutes } from './style/routes';
import { tilesRoutes } from './tiles/routes';

export interface App {
  app: express.Express;
  catalog: Catalog;
  releases: Releases;
  conflicts: { engine: ConflictEngine; watcher: ConflictWatcher };
  close(): Promise<void>;
}

export const WEB_DIST = path.join(PROJECT_ROOT, 'web', 'dist');

/** Builds the application on an open database; starts the layer-version listener. */
export async function createApp(config: Config, db: Database, registry: Registry): Promise<App> {
  const versions = new LayerVersions(db.knex);
  await versions.start();
  const catalog = new Catalog(registry, db.knex, versions);
  const rules = loadRules(registry);
  const engine = new ConflictEngine(db.knex, registry, rules);
  const applications = new Applications(db.knex, registry, loadProjectTypes(registry, rules), WorkCalendar.load());
  const watcher = new ConflictWatcher(engine, versions);
  const releases = new Releases(db.knex, registry, rules);
  const app = express();
  app.disable('x-powered-by');
  // Which proxies may tell the client's address and protocol (req.ip, req.secure): ONEMAP_TRUST_PROXY.
  app.set('trust proxy', config.ONEMAP_TRUST_PROXY);
  app.set('query parser', 'simple');
  // Security headers on every answer, tiles included (platform/security.ts).
  app.use(securityHeaders(config.ONEMAP_PUBLIC_URL));
  app.use((_req, res, next) => {
    // Any web map may use the published releases; the working data needs an account (a bearer
    // token from a script or another site, or this site's own session cookie).
    res.setHeader('Access-Control-Allow-Origin', '*');
    next();
  });
  // Who a request is from (a session cookie with its CSRF token, or a bearer token), for every
  // route, the tiles too: the working data needs an account (guard.staff).
  app.use(identify(db.knex));
  // Reads on streaming replicas that have replayed what the answer shows (ONEMAP_READ_DATABASE_URL),
  // the client's own writes included: the WAL position each request must reach (platform/replicas.ts).
  const consistency = new Consistency(db.reads);
  app.use(consistency.middleware());
  const publicUrl = config.ONEMAP_PUBLIC_URL;
  const paging = { defaultLimit: config.ONEMAP_ITEMS_DEFAULT_LIMIT, maxLimit: config.ONEMAP_ITEMS_MAX_LIMIT };
  const contractOpts: RoutesOptions = {
    checkResponses: config.ONEMAP_CHECK_RESPONSES,
    ...(consistency.enabled && {
      afterWrite: (req, res) => consistency.afterWrite(req, res),
      reader: (res, layerIds = [], atLeast = 0n) => {
        const data = versions.position(layerIds);
        return consistency.reader(res, data > atLeast ? data : atLeast);
      },
    }),
  };
  // Every capability's routes, declared as contracts (platform/contract.ts): mounted here, and the
  // OpenAPI document generated from them (platform/openapi.ts).
  const capabilities: Routes[] = [];
  const mount = (routes: Routes) => {
    capabilities.push(routes);
    app.use(routes.mount.replace(/\{([A-Za-z_]\w*)\}/g, ':$1'), routes.router, apiNotFound);
  };
  // The document depends only on the contracts (fixed once the app is built) and the base URL.
  const documents = new Map<string, object>();
  const documentOf = (base: string, version: '3.0' | '3.1') => {
    const key = `${version} ${base}`;
    if (documents.size > 8) documents.clear(); // the Host header is the client's: keep a few
    if (!documents.has(key)) documents.set(key, apiDocument(capabilities.flatMap((c) => c.contracts), base, version));
    return documents.get(key)!;
  };
  const baseOf = (req: express.Request) => publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
  // Tiles first: they carry their own compression and headers, and skip the per-request log line.
  mount(tilesRoutes(catalog, db.knex, { cacheMb: config.ONEMAP_TILE_CACHE_MB, publicUrl, ...contractOpts }));
  mount(releaseServiceRoutes(releases, { ...paging, ...contractOpts, position: consistency.enabled ? () => db.reads.primaryPosition() : undefined, publicUrl, cacheMb: config.ONEMAP_TILE_CACHE_MB, document: (req) => documentOf(baseOf(req), '3.0') }));
  app.use(compression());
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      log.info({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
    });
    next();
  });
  mount(healthRoutes(db, contractOpts));
  mount(styleRoutes(registry, { publicUrl, ...contractOpts }));
  mount(revisionsRoutes(catalog, db.knex, { ...paging, ...contractOpts }));
  mount(exportsRoutes(catalog, db.knex, { connection: db.connection, statementTimeoutMs: config.ONEMAP_STATEMENT_TIMEOUT_MS }, contractOpts));
  mount(importsRoutes(catalog, db.knex, { uploadMaxMb: config.ONEMAP_UPLOAD_MAX_MB, ...contractOpts }));
  mount(
    authRoutes(db.knex, {
      ...contractOpts,
      throttle: {
        freePerAccount: config.ONEMAP_LOGIN_FREE_FAILURES_ACCOUNT,
        freePerAddress: config.ONEMAP_LOGIN_FREE_FAILURES_ADDRESS,
        maxDelayAccountS: config.ONEMAP_LOGIN_MAX_DELAY_ACCOUNT_S,
        maxDelayAddressS: config.ONEMAP_LOGIN_MAX_DELAY_ADDRESS_S,
        forgetAfterS: config.ONEMAP_LOGIN_FORGET_AFTER_S,
        maxRows: config.ONEMAP_LOGIN_THROTTLE_MAX_ROWS,
      },
    }),
  );
  mount(accountRoutes(db.knex, registry, contractOpts));
  mount(auditRoutes(db.knex, { ...paging, ...contractOpts }));
  mount(documentRoutes((req) => documentOf(baseOf(req), '3.1'), contractOpts));
  mount(conflictsRoutes(db.knex, engine, watcher, { ...paging, ...contractOpts }));
  mount(applicationsRoutes(applications, { ...paging, uploadMaxMb: config.ONEMAP_UPLOAD_MAX_MB, ...contractOpts }));
  mount(printRoutes(releases, { publicUrl, ...contractOpts })); // before /api/releases, whose router ends in a 404
  mount(
    archiveRoutes(releases, {
      ...contractOpts,
      archive: {
        minZoom: config.ONEMAP_ARCHIVE_MINZOOM,
        maxZoom: config.ONEMAP_ARCHIVE_MAXZOOM,
        concurrency: config.ONEMAP_ARCHIVE_CONCURRENCY,
        extraCrs: [4547],
        gdal: { connection: db.connection, statementTimeoutMs: Math.max(config.ONEMAP_STATEMENT_TIMEOUT_MS, 600_000) },
      },
      parts: (r) => ({
        renderTile: (z, x, y, o) => renderReleaseTileLayers(db.knex, r, z, x, y, o),
        // The archive's style reads the tiles from the archive itself; its glyphs from the service (or the viewer's own).
        style: (source) => ({ ...releaseStyle(r, registry, publicUrl?.replace(/\/$/, '') ?? `http://localhost:${config.PORT}`), sources: { release: source } }),
      }),
    }),
  ); // before /api/releases too
  mount(releasesRoutes(releases, { publicUrl, ...contractOpts }));
  // Last of /api: its mount is /api itself (its 404 answers every /api path not mounted before it).
  mount(layersRoutes(catalog, db.knex, contractOpts));
  mount(ogcRoutes(catalog, db.knex, { ...paging, ...contractOpts, publicUrl, document: (req) => documentOf(baseOf(req), '3.0') }));
  // Glyph ranges are protobuf (as documented), not the octet-stream express.static guesses for .pbf.
  const glyphs = { maxAge: '7d', fallthrough: true, setHeaders: (res: express.Response) => res.type('application/x-protobuf') };
  app.use('/fonts', express.static(path.join(WEB_DIST, 'fonts'), glyphs), apiNotFound);
  if (fs.existsSync(WEB_DIST)) app.use(express.static(WEB_DIST, { maxAge: '1h', index: 'index.html' }));
  else log.warn({ WEB_DIST }, 'viewer is not built: run `npm run build`');
  capabilities.push(staticRoutes()); // the viewer and the glyphs above, in the document
  app.use(apiNotFound);
  app.use(errorHandler);

  return {
    app,
    catalog,
    releases,
    conflicts: { engine, watcher },
    close: async () => {
      await watcher.stop();
      await versions.stop();
    },
  };
}
