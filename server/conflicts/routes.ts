// /api/conflicts: the rules, detection runs, the ledger (cases, status changes, comments), the
// summary per rule × district, the ledger as files (CSV, GeoJSON) and the printable per-district
// report. Each route is a contract (platform/contract.ts) over the schemas of schemas.ts. The
// patches themselves are also the "conflicts" layer (OGC API collection, vector tiles, style)
// through the view plan.conflicts.
//
// Reads need an account of any role (working data: 401 without). Writes need an account, asked
// for before the body is read (401); what the account may do is a need of accounts/needs.ts: runs
// are the planning bureau's (403 before the body too); a case's status changes and comments belong
// to its rule's departments, so that need is known once the case is read: body (400), then the
// case (404), then the need (403).
import { stringify } from 'csv-stringify/sync';
import type { Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { conflictRun, ensureAllowed, guard, ledgerComment, ledgerTransition } from '../accounts/authorize';
import { paging, param, Routes, type RoutesOptions } from '../platform/contract';
import { AppError, badRequest, conflict, notFound } from '../platform/errors';
import type { ConflictEngine } from './detect';
import { Ledger } from './ledger';
import { districtReport } from './report';
import { asSeen, liveRunningRun, readRun, readRuns } from './run';
import {
  CaseDetail, CaseIdParams, caseFilters, CaseList, CommentBody, CommentEvent, LedgerGeoJson, ReportQuery, RulesInfo, RunBody, RunIdParams, RunList, RunRecord,
  RunResult, Summary, TransitionBody,
} from './schemas';
import type { ConflictWatcher } from './watcher';

/** The ledger's columns in the CSV export, in order. */
const CSV_COLUMNS = [
  'id', 'rule_id', 'rule_zh', 'severity', 'kind', 'district', 'adcode', 'status', 'decision', 'reason', 'district_opinion', 'city_opinion', 'effective_date',
  'area_m2', 'area_ha', 'area_mu', 'a_layer', 'a_fid', 'a_code', 'a_class', 'b_layer', 'b_fid', 'b_code', 'b_class', 'resolved_layer', 'resolved_revision', 'version', 'updated_at',
];

export function conflictsRoutes(knex: Knex, engine: ConflictEngine, watcher: ConflictWatcher, opts: { defaultLimit: number; maxLimit: number } & RoutesOptions): Routes {
  const routes = new Routes('/api/conflicts', ['Conflicts'], opts);
  const ledger = new Ledger(knex, engine.registry, engine.rules);
  // The lists and a case's detail may come from a read replica (the client's own writes included).
  const reading = (res: Response) => (opts.reader ? ledger.on(opts.reader(res)) : ledger);
  const filters = caseFilters([...engine.rules.byId.keys()]);
  const FilterQuery = z.object(filters);
  const caseWriter = guard.account("a reviewer of one of the rule's departments (for a comment also a plan_editor); to verified (已核验) a reviewer of planning; or an admin");
  const bodyLimit = '64kb';

  routes.route(
    {
      method: 'get',
      path: '/rules',
      summary: 'The rules with their layers, classes and departments; the severities, statuses, decisions and transitions',
      access: guard.staff,
      responses: { 200: { description: 'the rules and the vocabulary of the ledger', schema: RulesInfo } },
    },
    () => ledger.describeRules(),
  );

  // --- runs --------------------------------------------------------------------------------------

  routes.route(
    {
      method: 'get',
      path: '/runs',
      summary: 'The detection runs, newest first',
      access: guard.staff,
      query: z.object({ limit: param.int(1, 500).default(20).describe('how many') }),
      responses: { 200: { description: 'the runs, and whether an automatic one is going on', schema: RunList } },
    },
    async ({ query }) => ({ runs: (await readRuns(knex, query.limit)).map(asSeen), busy: watcher.busy }),
  );

  routes.route(
    {
      method: 'get',
      path: '/runs/:id',
      summary: 'One detection run',
      access: guard.staff,
      params: RunIdParams,
      responses: { 200: { description: 'the run: mode, layer revisions read, counts, areas, slivers, duration', schema: RunRecord } },
      errors: [404],
    },
    async ({ params }) => {
      const run = await readRun(knex, params.id);
      if (!run) throw notFound('unknown_run', `run ${params.id} does not exist`, { runId: params.id });
      return asSeen(run);
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/runs',
      summary: "Starts a run: 'full' recomputes every rule, 'incremental' catches up with what changed",
      description: 'One run at a time: while another lives, 409 run_in_progress at once (the running one includes every change made before it).',
      access: guard.need(conflictRun),
      body: RunBody,
      bodyLimit,
      responses: { 201: { description: 'the run, finished', schema: RunResult } },
      errors: [409],
    },
    async ({ body, account }) => {
      // Told at once, instead of holding a database connection while it waits. (A run whose
      // process is gone does not count: see run.ts.)
      const running = await liveRunningRun(knex);
      if (running) throw conflict('run_in_progress', `detection run ${running} is in progress; try again when it has finished`, { runId: running });
      return engine.run({ mode: body.mode, requestedBy: account.name, trigger: { via: 'api' } });
    },
  );

  // --- the ledger ----------------------------------------------------------------------------------

  routes.route(
    {
      method: 'get',
      path: '/summary',
      summary: 'Count and area of the current patches per rule × district (same filters as the cases)',
      access: guard.staff,
      query: FilterQuery,
      responses: { 200: { description: 'rows and totals in m², 公顷 and 亩', schema: Summary } },
    },
    ({ query, res }) => reading(res).summary(query),
  );

  routes.route(
    {
      method: 'get',
      path: '/cases',
      summary: 'The cases, gravest first, then the largest',
      access: guard.staff,
      query: z.object({ ...filters, ...paging(opts.defaultLimit, opts.maxLimit) }),
      responses: { 200: { description: 'one page of cases and how many match', schema: CaseList } },
    },
    ({ query: { limit, offset, ...f }, res }) => reading(res).list(f, limit, offset),
  );

  routes.route(
    {
      method: 'get',
      path: '/cases/:id',
      summary: 'One case with its geometry and history',
      access: guard.staff,
      params: CaseIdParams,
      responses: { 200: { description: 'the case', schema: CaseDetail, headers: { ETag: 'the case version, what a status change is made against (If-Match)' } } },
      errors: [404],
    },
    async ({ params, res }) => {
      const c = await reading(res).get(params.id);
      // Comments do not change the version (the ETag), so the answer is not to be reused from a cache.
      res.set('ETag', `"${c.version}"`).set('Cache-Control', 'no-store');
      return c;
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/cases/:id/transitions',
      summary: 'Changes the status of a case, against the version it was read at',
      description:
        'The version comes from If-Match (the ETag of GET /cases/{id}: "3" or W/"3") or the body\'s `version`: without either 428, a stale one 412 with the current state, a move its status does not allow 409. The actor is the account (a `by` in the body is ignored).',
      access: caseWriter,
      params: CaseIdParams,
      body: TransitionBody,
      bodyLimit,
      responses: { 200: { description: 'the changed case with its history', schema: CaseDetail, headers: { ETag: 'the new version' } } },
      errors: [404, 409, 412, 428],
    },
    async ({ params: { id }, body, account, req, res }) => {
      ensureAllowed(account, ledgerTransition(await ledger.ruleOfCase(id), body.to));
      const version = versionOf(req.get('If-Match'), body.version, id);
      const c = await ledger.transition(id, { ...body, version, by: account.name });
      res.set('ETag', `"${c.version}"`);
      return c;
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/cases/:id/comments',
      summary: 'Comments on a case (no version needed: two people commenting at once both land)',
      access: caseWriter,
      params: CaseIdParams,
      body: CommentBody,
      bodyLimit,
      responses: { 201: { description: 'the comment as it is in the history', schema: CommentEvent } },
      errors: [404],
    },
    async ({ params: { id }, body, account }) => {
      ensureAllowed(account, ledgerComment(await ledger.ruleOfCase(id)));
      return ledger.comment(id, body.text, account.name);
    },
  );

  // --- the ledger as files, and the report ----------------------------------------------------------

  routes.route(
    {
      method: 'get',
      path: '/ledger.csv',
      summary: 'The ledger as CSV: every case (open and closed) matching the filters',
      description: 'UTF-8 with a byte-order mark and CRLF line ends, so spreadsheet programs read the Chinese text; text that would start a formula is kept as text.',
      access: guard.staff,
      query: FilterQuery,
      responses: { 200: { description: 'the ledger', type: 'text/csv' } },
    },
    async ({ query, res }) => {
      const rows = (await ledger.all(query)).map((c) => ({ ...c, a_layer: c.a.layer, a_fid: c.a.fid, a_code: c.a.code, a_class: c.a.class_zh, b_layer: c.b.layer, b_fid: c.b.fid, b_code: c.b.code, b_class: c.b.class_zh }));
      const csv = stringify(rows, {
        bom: true,
        header: true,
        columns: CSV_COLUMNS,
        record_delimiter: 'windows',
        escape_formulas: true,
        cast: { date: (d) => d.toISOString() },
      });
      res.type('text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="conflict-ledger.csv"').send(csv);
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/ledger.geojson',
      summary: 'The ledger as GeoJSON: every case (open and closed) matching the filters, with its (last) geometry',
      access: guard.staff,
      query: FilterQuery,
      responses: { 200: { description: 'the ledger', type: 'application/geo+json', schema: LedgerGeoJson } },
    },
    async ({ query, res }) => {
      const features = (await ledger.all(query)).map(({ geometry, ...properties }) => ({ type: 'Feature' as const, id: properties.id, geometry, properties }));
      res.type('application/geo+json').set('Content-Disposition', 'attachment; filename="conflict-ledger.geojson"');
      return { type: 'FeatureCollection' as const, features };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/report',
      summary: 'The printable report of one district: a map, the summary by rule and the case table',
      access: guard.staff,
      query: ReportQuery,
      responses: { 200: { description: 'self-contained HTML (A4)', type: 'text/html' } },
      errors: [404],
    },
    async ({ query, res }) => {
      res.type('text/html; charset=utf-8').send(await districtReport(knex, ledger, engine, query.adcode));
    },
  );

  return routes;
}

/** The version a change is made against: If-Match ("3" or W/"3") first, else the body's; neither: 428. */
function versionOf(ifMatch: string | undefined, fromBody: number | undefined, caseId: string): number {
  if (ifMatch === undefined) {
    if (fromBody !== undefined) return fromBody;
    throw new AppError(428, 'version_required', 'say which version of the case the change is made against: the If-Match header (the ETag of GET /cases/{id}) or "version" in the body', { caseId });
  }
  const m = /^(?:W\/)?"(\d+)"$/.exec(ifMatch.trim());
  if (!m) throw badRequest('invalid_header', `If-Match: expected the case's ETag such as "3", got ${JSON.stringify(ifMatch)}`, { header: 'If-Match' });
  const version = Number(m[1]);
  if (!Number.isSafeInteger(version) || version < 1) throw badRequest('invalid_body', `'version': expected the case version the change is made against (an integer ≥ 1)`, { field: 'version' });
  return version;
}
