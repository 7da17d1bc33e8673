// /api/layers/{layerId}/revisions: a layer's history, any revision's features, the diff between
// two revisions, and restoring one. Each route a contract (schemas.ts); the handlers call the
// use-cases (history.ts, diff.ts, commit.ts) and answer.
import { promisify } from 'node:util';
import express, { type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { guard, layerWrite } from '../accounts/authorize';
import type { Catalog } from '../layers/catalog';
import { layerIdParam } from '../layers/params';
import { paging, param, Routes, validateBody, type RoutesOptions } from '../platform/contract';
import { restoreRevision } from './commit';
import { diffRevisions } from './diff';
import { getRevision, listRevisions, revisionFeatures } from './history';
import { layerOf } from './layer';
import { Diff, LayerRevision, MAX_REVISION, RestoreBody, Restored, revisionNumber, RevisionFeatures, RevisionList } from './schemas';

const GEOJSON = 'application/geo+json';
/** The restore's optional JSON body (read by the handler: a restore may come without one). */
const readJson = promisify(express.json({ limit: '16kb' })) as (req: Request, res: Response) => Promise<void>;

export interface RevisionsOptions extends RoutesOptions {
  defaultLimit: number;
  maxLimit: number;
}

/** The routes of /api/layers/{layerId}/revisions. */
export function revisionsRoutes(catalog: Catalog, knex: Knex, opts: RevisionsOptions): Routes {
  const routes = new Routes('/api/layers/{layerId}/revisions', ['Revisions'], opts);
  const layerId = layerIdParam(catalog.registry, 'a delivered layer of the registry (the conflicts layer has no revisions: 409)');
  const ofLayer = z.object({ layerId });
  const ofRevision = z.object({ layerId, revision: revisionNumber().describe('revision number') });
  const delivered = (id: string) => layerOf(catalog, id, { delivered: true });
  const errors = [404, 409];
  /** What every read of the history is: staff only (working data), about a delivered layer. */
  const read = { method: 'get', access: guard.staff, errors } as const;
  /** A FeatureCollection text around PostGIS's Feature texts (they are never parsed here). */
  const collection = (members: object, features: string[]) => `${JSON.stringify({ type: 'FeatureCollection', ...members }).slice(0, -1)},"features":[${features.join(',')}]}`;

  routes.route(
    {
      ...read,
      path: '/',
      summary: 'A layer’s revisions, oldest first: kind, who, when, source file and SHA-256, feature count, area (m²)',
      params: ofLayer,
      responses: { 200: { description: 'the revisions and the current one', schema: RevisionList } },
    },
    async ({ params }) => {
      const layer = delivered(params.layerId);
      const revisions = await listRevisions(knex, layer);
      return { layerId: layer.id, current: revisions.at(-1)?.revision ?? 0, revisions };
    },
  );

  routes.route(
    {
      ...read,
      path: '/:revision',
      summary: 'One revision’s record',
      params: ofRevision,
      responses: { 200: { description: 'the revision', schema: LayerRevision } },
    },
    async ({ params }) => ({ layerId: params.layerId, ...(await getRevision(knex, delivered(params.layerId), params.revision)) }),
  );

  routes.route(
    {
      ...read,
      path: '/:revision/features',
      summary: 'The features of any revision (EPSG:4490 longitude/latitude), paged',
      params: ofRevision,
      query: z.object(paging(opts.defaultLimit, opts.maxLimit)),
      responses: { 200: { description: 'a GeoJSON FeatureCollection with numberMatched and numberReturned', type: GEOJSON, schema: RevisionFeatures } },
    },
    async ({ params, query, res }) => {
      const layer = delivered(params.layerId);
      const { features, matched } = await revisionFeatures(knex, layer, params.revision, query);
      res.type(GEOJSON).send(collection({ layerId: layer.id, revision: params.revision, numberMatched: matched, numberReturned: features.length }, features));
    },
  );

  routes.route(
    {
      ...read,
      path: '/:revision/diff',
      summary: 'Features added, removed and changed from revision `from` to this one, with counts and areas (m²)',
      params: ofRevision,
      query: z.object({
        from: param.int(0, MAX_REVISION).optional().describe('the revision compared with (default: the one before; 0: the empty layer)'),
        ...paging(opts.defaultLimit, opts.maxLimit),
        limit: param.int(0, opts.maxLimit).default(opts.defaultLimit).describe('page size; 0 answers the summary alone'),
      }),
      responses: {
        200: { description: 'a GeoJSON FeatureCollection: the summary, and each feature with properties._change (a changed one carries its old state as "before")', type: GEOJSON, schema: Diff },
      },
    },
    async ({ params, query, res }) => {
      const layer = delivered(params.layerId);
      const to = params.revision;
      const from = query.from ?? to - 1;
      const diff = await diffRevisions(knex, layer, from, to, query);
      res.type(GEOJSON).send(collection({ layerId: layer.id, from, to, summary: diff.summary, numberMatched: diff.matched, numberReturned: diff.features.length }, diff.features));
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/:revision/restore',
      summary: 'Makes a new revision (kind restore) whose content equals this revision’s',
      description:
        'An optional JSON body `{ "reason": "…" }` (`RestoreBody`, up to 2,000 characters; a reason that is not such a text is 400 invalid_parameter). The revision records the account.',
      // Asked before the body is read: a caller who may not restore is told so, whatever it sent.
      access: guard.need((p: { layerId: string }) => layerWrite(delivered(p.layerId), 'restore a revision of'), 'a plan_editor of the layer’s owning department (registry `department`), or an admin'),
      params: ofRevision,
      responses: { 201: { description: 'the new revision and what the commit did', schema: Restored } },
      errors: [...errors, 400],
    },
    async ({ params, req, res, account }) => {
      const layer = delivered(params.layerId);
      await readJson(req, res);
      const { reason } = validateBody(RestoreBody, req.body ?? {}, 'invalid_parameter');
      const result = await restoreRevision(knex, layer, params.revision, { createdBy: account.name, reason });
      await catalog.versions.reload(); // this instance serves the new revision at once (others follow the NOTIFY)
      return { ...result, ...(await getRevision(knex, layer, result.revision)) };
    },
  );

  return routes;
}
