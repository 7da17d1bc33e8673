// /api/applications: the joint review over HTTP, one contract per route (schemas.ts). Every route
// needs an account (applications name investors and sites not yet public); each write is a need
// of accounts/needs.ts, checked before the body is read, and the commands check the needs that
// depend on the application (its departments, its submitters) once they have read it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Response } from 'express';
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import { amendApplication, prepareSite, reviewing, reviewInbox, submitApplication, withdrawApplication } from '../accounts/needs';
import { uploadTooLarge } from '../imports/messages';
import { receiveUpload } from '../imports/upload';
import { badRequest } from '../platform/errors';
import { paging, param, Routes, validateBody, type RoutesOptions } from '../platform/contract';
import { amend, correct, readSite, sign, submit, withdraw } from './commands';
import { getApplication, getVersion, listApplications, reviewMap } from './queries';
import { recheck } from './recheck';
import { applicationReport } from './report';
import {
  Amendment, Application, ApplicationList, ApplicationVersion, CorrectionBody, Inbox, NewApplication, NormalisedSite, OpinionAnswer, OpinionBody,
  ProjectTypesAnswer, Recheck, ReviewMap, SiteInput, SiteUpload, SiteUploadFields, Withdrawal,
} from './schemas';
import { siteAnswer, siteFromFile, validateSite } from './site';
import { codes, RECHECK_AGAINST, STATUSES } from './vocabulary';
import type { Applications } from './workflow';

export interface ApplicationsRouteOptions extends RoutesOptions {
  defaultLimit: number;
  maxLimit: number;
  uploadMaxMb: number;
}

/** Sites and submissions carry geometry: larger JSON bodies than the default. */
const BODY_LIMIT = '4mb';

// (path parameters take no .describe(): a described copy would lose the integer it is documented as)
const id = param.id();
const ofApplication = z.object({ id });
const ofVersion = z.object({ id, version: param.id() });
const asOfVersion = z.object({ version: param.int(1, 1_000_000).optional().describe('the version (default: the current one)') });
const everyone = guard.staff;
const reviewer = guard.need(reviewing, 'a reviewer of a department the version goes to (the opinion’s department for a correction), never on an application they submitted');

export function applicationsRoutes(apps: Applications, opts: ApplicationsRouteOptions): Routes {
  const routes = new Routes('/api/applications', ['Applications'], opts);
  /** The application as answered after a write and by GET: with its ETag, never cached. */
  const show = async (res: Response, appId: number) => {
    const a = await getApplication(apps, appId);
    res.set('ETag', `"${a.id}-${a.row_version}"`).set('Cache-Control', 'no-store');
    return a;
  };
  const withOpinion = async (appId: number, opinionId: number) => {
    const application = await getApplication(apps, appId);
    return { opinion: application.opinions.find((o) => o.id === opinionId)!, application };
  };

  routes.route(
    {
      method: 'get',
      path: '/project-types',
      summary: 'Project types with the departments each always requires, their deadlines (working days) and rules; the sensitive zones; the departments',
      access: everyone,
      responses: { 200: { description: 'the types, zones and departments', schema: ProjectTypesAnswer } },
    },
    () => ({
      types: apps.types.types.map((t) => ({ code: t.code, zh: t.zh, en: t.en, departments: t.departments, deadline_days: t.deadline_days, rules: t.rules.map((x) => x.rule.id) })),
      alerts: apps.types.alerts.map((a) => ({ id: a.id, zh: a.zh, en: a.en, layer: a.layer.id, department: a.department })),
      departments: apps.registry.departments,
    }),
  );

  routes.route(
    {
      method: 'post',
      path: '/sites',
      summary: 'A site as the service takes it, before anything is submitted; writes nothing',
      description:
        'A JSON body (`SiteInput`: drawn GeoJSON, or boundary points in a CGCS2000 Gauss-Krüger zone) or a multipart upload (a GeoJSON file or a zipped Shapefile, read by the import readers with their CRS and encoding detection, several polygons united).',
      access: guard.need(prepareSite),
      body: SiteInput,
      bodyLimit: BODY_LIMIT,
      multipart: SiteUpload,
      responses: { 200: { description: 'the site in EPSG:4490 with its area', schema: NormalisedSite } },
      errors: [413, 422],
    },
    async ({ req, body }) => {
      if (!/^multipart\/form-data/i.test(req.get('content-type') ?? '')) {
        const site = await readSite(apps, body);
        return siteAnswer(site, site.source === 'points' ? { srid: site.input.srid, crs: site.input.crs } : {});
      }
      const upload = await receiveUpload(req, opts.uploadMaxMb * 1024 * 1024);
      try {
        if (upload.tooLarge) throw uploadTooLarge(opts.uploadMaxMb);
        if (!upload.file) throw badRequest('invalid_body', "the upload has no field 'file'", { field: 'file' });
        // (a field left empty in a form is one not given)
        const given = Object.fromEntries(Object.entries(upload.fields).filter(([, v]) => v !== ''));
        const f = validateBody(SiteUploadFields, given, 'invalid_parameter');
        const sha256 = createHash('sha256').update(await fs.promises.readFile(upload.file.path)).digest('hex');
        const read = await siteFromFile(apps.knex, upload.file.path, { name: upload.file.name, srid: f.srid, encoding: f.encoding });
        const site = await validateSite(apps.knex, { geometry: read.geometry, source: 'upload', input: { file_name: upload.file.name, file_sha256: sha256 }, warnings: read.warnings });
        return siteAnswer(site, { crs: read.crs, file: { name: upload.file.name, sha256 } });
      } finally {
        if (upload.file) await fs.promises.rm(upload.file.path, { force: true });
      }
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/inbox',
      summary: 'What waits for the reviewer’s department, by deadline, with working days left',
      access: guard.need(reviewInbox),
      query: z.object(paging(opts.defaultLimit, opts.maxLimit)),
      responses: { 200: { description: 'the department’s applications waiting for its opinion', schema: Inbox } },
    },
    async ({ res, query, account }) => {
      const department = account.department!;
      const list = await listApplications(apps, { department, waitingOnly: true, ...query });
      res.set('Cache-Control', 'no-store');
      return { department, department_zh: apps.deptZh(department), ...list };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'Applications, newest first, with what each waits for and whether overdue',
      access: everyone,
      query: z.object({
        status: param.oneOf(codes(STATUSES)).optional().describe('only applications with this status'),
        department: param.oneOf(apps.registry.departments.map((d) => d.id)).optional().describe('only applications that go to this department'),
        ...paging(opts.defaultLimit, opts.maxLimit),
      }),
      responses: { 200: { description: 'summaries', schema: ApplicationList } },
    },
    async ({ res, query }) => {
      res.set('Cache-Control', 'no-store');
      return listApplications(apps, query);
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/',
      summary: 'Submits an application: the site checked against every plan and routed in the same transaction',
      access: guard.need(submitApplication),
      body: NewApplication,
      bodyLimit: BODY_LIMIT,
      responses: { 201: { description: 'the application, checked and routed', schema: Application, headers: { Location: 'the application’s URL', ETag: 'its row version' } } },
      errors: [422],
    },
    async ({ req, res, body, account }) => {
      const appId = await submit(apps, account, body);
      res.location(`${req.baseUrl}/${appId}`);
      return show(res, appId);
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:id',
      summary: 'One application: the current version with its check, required departments and their opinions; the versions, opinions and timeline',
      access: everyone,
      params: ofApplication,
      responses: { 200: { description: 'the application', schema: Application, headers: { ETag: 'its row version' } } },
      errors: [404],
    },
    ({ res, params }) => show(res, params.id),
  );

  routes.route(
    {
      method: 'get',
      path: '/:id/versions/:version',
      summary: 'A version as it was checked',
      access: everyone,
      params: ofVersion,
      responses: { 200: { description: 'the version', schema: ApplicationVersion } },
      errors: [404],
    },
    async ({ res, params }) => {
      res.set('Cache-Control', 'no-store');
      return getVersion(apps, params.id, params.version);
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:id/versions/:version/recheck',
      summary: 'The version’s check run again, writing nothing: against the plan revisions it recorded (reproduced, or the differences) or against today’s plans (what changed)',
      access: everyone,
      params: ofVersion,
      query: z.object({ against: param.oneOf(RECHECK_AGAINST).default('recorded').describe('which plans: the revisions the check recorded, or today’s') }),
      responses: { 200: { description: 'the check run again and the differences', schema: Recheck } },
      errors: [404, 409],
    },
    async ({ res, params, query }) => {
      res.set('Cache-Control', 'no-store');
      return recheck(apps, params.id, params.version, query.against);
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:id/map',
      summary: 'The site and the overlaps the check found (role site | rule | alert), as GeoJSON in EPSG:4490 for the map',
      access: everyone,
      params: ofApplication,
      query: asOfVersion,
      responses: { 200: { description: 'a FeatureCollection', type: 'application/geo+json', schema: ReviewMap } },
      errors: [404],
    },
    async ({ res, params, query }) => {
      res.set('Cache-Control', 'no-store').type('application/geo+json');
      return reviewMap(apps, params.id, query.version);
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/:id/report',
      summary: 'The printable report: map (EPSG:4547, scale bar), rules, zones, verdict per plan with classes and areas, departments and opinions, plan revisions used',
      access: everyone,
      params: ofApplication,
      query: asOfVersion,
      responses: { 200: { description: 'an HTML page for print (A4)', type: 'text/html' } },
      errors: [404],
    },
    async ({ res, params, query }) => {
      res.set('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(await applicationReport(apps, params.id, query.version));
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/:id/opinions',
      summary: 'Signs a department’s opinion on the current version: approve, conditional (with conditions) or reject (with a reason)',
      access: reviewer,
      params: ofApplication,
      body: OpinionBody,
      responses: { 201: { description: 'the signed opinion and the application it leaves', schema: OpinionAnswer } },
      errors: [404, 409],
    },
    async ({ params, body, account }) => withOpinion(params.id, await sign(apps, account, params.id, body)),
  );

  routes.route(
    {
      method: 'post',
      path: '/:id/opinions/:opinionId/corrections',
      summary: 'Corrects a signed opinion with a new entry naming it (the signed one stays as it was)',
      access: reviewer,
      params: z.object({ id, opinionId: param.id() }),
      body: CorrectionBody,
      responses: { 201: { description: 'the correction and the application it leaves', schema: OpinionAnswer } },
      errors: [404, 409],
    },
    async ({ params, body, account }) => withOpinion(params.id, await correct(apps, account, params.id, params.opinionId, body)),
  );

  routes.route(
    {
      method: 'post',
      path: '/:id/withdraw',
      summary: 'Withdraws an application (not once approved)',
      access: guard.need(withdrawApplication),
      params: ofApplication,
      body: Withdrawal,
      responses: { 200: { description: 'the application, withdrawn', schema: Application, headers: { ETag: 'its row version' } } },
      errors: [404, 409],
    },
    async ({ res, params, body, account }) => {
      await withdraw(apps, account, params.id, body);
      return show(res, params.id);
    },
  );

  routes.route(
    {
      method: 'post',
      path: '/:id/versions',
      summary: 'Amends and resubmits: a new version with what changed, checked and routed again; opinions anew',
      access: guard.need(amendApplication),
      params: ofApplication,
      body: Amendment,
      bodyLimit: BODY_LIMIT,
      responses: { 201: { description: 'the application at its new version', schema: Application, headers: { ETag: 'its row version' } } },
      errors: [404, 409, 422],
    },
    async ({ res, params, body, account }) => {
      await amend(apps, account, params.id, body);
      return show(res, params.id);
    },
  );

  return routes;
}
