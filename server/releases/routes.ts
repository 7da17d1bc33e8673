// /api/releases: preparing, publishing and withdrawing releases of the one map (成果发布), and
// reading them. Anonymous visitors read the published and superseded releases only; staff read
// every one. The standards services of a release (OGC API, tiles, style) are served under
// /releases/{n} (service.ts).
import type { Request, Response } from 'express';
import { z } from 'zod';
import { accountOf, guard } from '../accounts/authorize';
import { prepareRelease, publishRelease, withdrawRelease } from '../accounts/needs';
import { describeNeed } from '../accounts/needs';
import { requireAccount } from '../accounts/authorize';
import { FeatureCollection } from '../ogcapi/schemas';
import { paging, param, Routes, type RoutesOptions } from '../platform/contract';
import { changedFeatures, checkDistinct, compare, loadKeyTotals, type Side, workingSide } from './compare';
import { Comparison, compareWith, PrepareBody, PreparedRelease, PublishBody, Release, ReleaseList, releaseNumber, WithdrawBody } from './schemas';
import { type Releases, releaseOf, summaryOf } from './store';

const GEOJSON = 'application/geo+json';

export interface ReleasesOptions extends RoutesOptions {
  publicUrl?: string;
}

export function releasesRoutes(releases: Releases, opts: ReleasesOptions): Routes {
  const routes = new Routes('/api/releases', ['Releases'], opts);
  const base = (req: Request) => opts.publicUrl?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
  const ofRelease = z.object({ number: releaseNumber().describe('release number') });

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'The releases, newest first (anonymous visitors: the published and superseded ones)',
      access: guard.public,
      responses: { 200: { description: 'the releases and which one is current', schema: ReleaseList } },
    },
    async ({ res }) => {
      const who = accountOf(res);
      const rows = await releases.list(who);
      res.set('Cache-Control', 'no-cache');
      return { current: rows.find((r) => r.status === 'published')?.number ?? null, releases: rows.map(summaryOf) };
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/',
      summary: 'Prepares a draft release: the layers pinned at their revisions and their content copied, the conflict situation recorded',
      description: 'Default: every delivered layer at its current revision. The draft is staff-only until it is published.',
      access: guard.need(prepareRelease),
      body: PrepareBody,
      responses: { 201: { description: 'the draft', schema: PreparedRelease, headers: { Location: 'the release’s URL' } } },
      errors: [404, 409],
    },
    async ({ req, res, body, account }) => {
      const { number, skipped } = await releases.prepare(account, body);
      res.status(201).location(`${base(req)}/api/releases/${number}`);
      return { ...releaseOf(await releases.read(number, account), base(req)), skipped };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:number',
      summary: 'One release: its pins, figures, conflict situation and links to its services',
      access: guard.public,
      params: ofRelease,
      responses: { 200: { description: 'the release', schema: Release } },
      errors: [404, 410],
    },
    async ({ req, res, params }) => {
      const r = await releases.read(params.number, accountOf(res));
      res.set('Cache-Control', 'no-cache');
      return releaseOf(r, base(req));
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/:number/publish',
      summary: 'Publishes a draft (with its 审图号); the current release becomes superseded',
      description: 'Four eyes: never by the account that prepared the release.',
      access: guard.need(() => publishRelease({ number: 0, preparedBy: '' }), `${describeNeed(publishRelease({ number: 0, preparedBy: '' }))}; never the account that prepared it`),
      params: ofRelease,
      body: PublishBody,
      responses: { 200: { description: 'the published release', schema: Release } },
      errors: [404, 409],
    },
    async ({ req, params, body, account }) => {
      await releases.publish(account, params.number, body);
      return releaseOf(await releases.read(params.number, account), base(req));
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/:number/withdraw',
      summary: 'Withdraws a release with a reason (it stays readable by staff, never deleted)',
      access: guard.need(() => withdrawRelease({ number: 0 }), describeNeed(withdrawRelease({ number: 0 }))),
      params: ofRelease,
      body: WithdrawBody,
      responses: { 200: { description: 'the withdrawn release', schema: Release } },
      errors: [404, 409],
    },
    async ({ req, params, body, account }) => {
      await releases.withdraw(account, params.number, body.reason);
      return releaseOf(await releases.read(params.number, account), base(req));
    },
  );

  // --- comparison (对比分析) -------------------------------------------------------------------------------
  const totals = loadKeyTotals(releases.registry);
  /** The two sides: the release of the path and ?with= (another release, or the working layers for staff). */
  const sides = async (res: Response, number: number, withWhat: string): Promise<[Side, Side, z.output<typeof Comparison>['to']]> => {
    const who = accountOf(res);
    const other = withWhat === 'working' ? 'working' : Number(withWhat);
    checkDistinct(number, other);
    const from = await releases.read(number, who);
    if (other === 'working') {
      requireAccount(res);
      return [{ kind: 'release', release: from }, await workingSide(releases.knex, releases.registry), { working: true }];
    }
    const to = await releases.read(other, who);
    return [{ kind: 'release', release: from }, { kind: 'release', release: to }, { release: to.row.number, title: to.row.title }];
  };

  routes.route(
    {
      method: 'get',
      path: '/:number/compare',
      summary: 'Compares the release with another one, or with the working data (staff): changes per layer in 公顷, key totals, conflicts gained and lost',
      description: 'Public when both releases are; `with=working` needs an account.',
      access: guard.public,
      params: ofRelease,
      query: z.object({ with: compareWith() }),
      responses: { 200: { description: 'the comparison, from the release of the path to the other side', schema: Comparison } },
      errors: [401, 404, 410],
    },
    async ({ res, params, query }) => {
      const [from, to, toRef] = await sides(res, params.number, query.with);
      const result = await compare(releases.knex, from, to, totals);
      return { from: { release: params.number, title: from.kind === 'release' ? from.release.row.title : '' }, to: toRef, ...result };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:number/compare/features',
      summary: 'The features of one layer that differ between the two sides (GeoJSON; properties._change = added, removed or changed)',
      access: guard.public,
      params: ofRelease,
      query: z.object({ with: compareWith(), layer: param.text(64).describe('a layer id one of the sides pins'), ...paging(1000, 10_000) }),
      responses: { 200: { description: 'a FeatureCollection of the changes (added and changed in their new state, removed in their old)', type: GEOJSON, schema: FeatureCollection } },
      errors: [401, 404, 410],
    },
    async ({ req, res, params, query }) => {
      const [from, to] = await sides(res, params.number, query.with);
      const { features, matched } = await changedFeatures(releases.knex, from, to, query.layer, { limit: query.limit, offset: query.offset });
      const self = `${base(req)}${req.originalUrl}`;
      const head = { type: 'FeatureCollection', timeStamp: new Date().toISOString(), numberMatched: matched, numberReturned: features.length, links: [{ href: self, rel: 'self', type: GEOJSON, title: 'this page' }] };
      const text = `${JSON.stringify(head).slice(0, -1)},"features":[${features.join(',')}]}`;
      res.type(GEOJSON).send(text);
    },
  );

  return routes;
}
