// /api/layers/{layerId}/revisions: a layer's history, any revision's features, the diff between
// two revisions, and restoring one. Thin: parse and check the request, call the use-case, answer.
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import type { Catalog } from '../layers/catalog';
import { layerWrite, requireAllowed } from '../accounts/authorize';
import { badRequest, messages, notFound, derivedLayer } from '../platform/errors';
import { intParam, onlyParams } from '../platform/params';
import { restoreRevision } from './commit';
import { diffRevisions } from './diff';
import { getRevision, listRevisions, revisionFeatures } from './history';

const GEOJSON = 'application/geo+json';
const MAX_REVISION = 2_147_483_647; // layer_revisions.revision is an integer

export interface RevisionsOptions {
  defaultLimit: number;
  maxLimit: number;
}

/** Mounted at /api/layers/:layerId/revisions (mergeParams: the layer id comes from the mount path). */
export function revisionsRouter(catalog: Catalog, knex: Knex, opts: RevisionsOptions): Router {
  const r = Router({ mergeParams: true });

  const layerOf = (req: Request) => {
    const id = (req.params as { layerId: string }).layerId;
    const layer = catalog.layer(id);
    if (!layer) throw notFound('unknown_layer', messages.unknownLayer(id), { layerId: id });
    if (layer.derived) throw derivedLayer(layer.id);
    return layer;
  };
  const revisionOf = (raw: string, name = 'revision') => {
    const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 1 && n <= MAX_REVISION)) throw badRequest('invalid_parameter', messages.badParam(name, `a revision number from 1 to ${MAX_REVISION}`, raw), { parameter: name });
    return n;
  };
  const pageOf = (req: Request, min = 1) => ({
    limit: intParam(req.query, 'limit', min, opts.maxLimit, opts.defaultLimit)!,
    offset: intParam(req.query, 'offset', 0, 1_000_000_000, 0)!,
  });
  const collection = (members: object, features: string[]) => `${JSON.stringify({ type: 'FeatureCollection', ...members }).slice(0, -1)},"features":[${features.join(',')}]}`;

  r.get('/', async (req, res) => {
    const layer = layerOf(req);
    onlyParams(req.query, []);
    const revisions = await listRevisions(knex, layer);
    res.json({ layerId: layer.id, current: revisions.at(-1)?.revision ?? 0, revisions });
  });

  r.get('/:revision', async (req, res) => {
    const layer = layerOf(req);
    onlyParams(req.query, []);
    res.json({ layerId: layer.id, ...(await getRevision(knex, layer, revisionOf(req.params.revision))) });
  });

  r.get('/:revision/features', async (req, res) => {
    const layer = layerOf(req);
    onlyParams(req.query, ['limit', 'offset']);
    const revision = revisionOf(req.params.revision);
    const page = pageOf(req);
    const { features, matched } = await revisionFeatures(knex, layer, revision, page);
    res.type(GEOJSON).send(collection({ layerId: layer.id, revision, numberMatched: matched, numberReturned: features.length }, features));
  });

  // ?from=N (default: the revision before); limit=0 answers the summary alone.
  r.get('/:revision/diff', async (req, res) => {
    const layer = layerOf(req);
    onlyParams(req.query, ['from', 'limit', 'offset']);
    const to = revisionOf(req.params.revision);
    const from = intParam(req.query, 'from', 0, MAX_REVISION, to - 1)!;
    const diff = await diffRevisions(knex, layer, from, to, pageOf(req, 0));
    res.type(GEOJSON).send(collection({ layerId: layer.id, from, to, summary: diff.summary, numberMatched: diff.matched, numberReturned: diff.features.length }, diff.features));
  });

  // A plan_editor of the layer's owning department (layer.department) or an admin may restore
  // (401 / 403 otherwise, server/accounts/authorize.ts); the revision records the account's name.
  // (Asked before the body is read: a caller who may not restore is told so, whatever it sent.)
  const mayRestore = (req: Request, res: Response, next: NextFunction) => {
    requireAllowed(res, layerWrite(layerOf(req), 'restore a revision of'));
    next();
  };
  r.post('/:revision/restore', mayRestore, express.json({ limit: '16kb' }), async (req, res) => {
    const layer = layerOf(req);
    const account = requireAllowed(res, layerWrite(layer, 'restore a revision of'));
    onlyParams(req.query, []);
    const revision = revisionOf(String(req.params.revision));
    const body: unknown = req.body ?? {};
    const reason = typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 2000)) {
      throw badRequest('invalid_parameter', messages.badParam('reason', 'a text of up to 2000 characters', reason), { parameter: 'reason' });
    }
    const result = await restoreRevision(knex, layer, revision, { createdBy: account.name, reason });
    await catalog.versions.reload(); // this instance serves the new revision at once (others follow the NOTIFY)
    res.status(201).json({ ...result, ...(await getRevision(knex, layer, result.revision)) });
  });

  return r;
}
