// /api/applications: the joint review over HTTP (see workflow.ts for the rules). Every route needs
// an account (applications name investors and sites not yet public); writes check the role and
// department in the workflow itself. Errors are the service's JSON errors with a code and where.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import express, { Router, type Request, type Response } from 'express';
import { requireAccount } from '../accounts/authorize';
import type { Account } from '../accounts/accounts';
import { receiveUpload } from '../imports/routes';
import { uploadTooLarge } from '../imports/messages';
import { normaliseEncoding } from '../imports/encoding';
import { AppError, badRequest, messages } from '../platform/errors';
import { intParam, onlyParams, single } from '../platform/params';
import { applicationReport } from './report';
import { siteAnswer, siteFromFile, validateSite } from './site';
import { STATUSES, type Applications, type Status } from './workflow';

export interface ApplicationsRouteOptions {
  defaultLimit: number;
  maxLimit: number;
  uploadMaxMb: number;
}

const idParam = (req: Request, name = 'id'): number => {
  const v = (req.params as Record<string, string>)[name];
  if (!/^\d{1,9}$/.test(v)) throw badRequest('invalid_parameter', messages.badParam(name, 'a whole number', v), { parameter: name });
  return Number(v);
};
const body = (req: Request): Record<string, unknown> => {
  const b = req.body as unknown;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest('invalid_body', 'expected a JSON object (Content-Type: application/json)');
  return b as Record<string, unknown>;
};
const staff = (res: Response, roles: Account['roles'][number][], action: string): Account => {
  const a = requireAccount(res);
  if (!roles.some((r) => a.roles.includes(r))) {
    throw new AppError(403, 'forbidden', `${action} needs a ${roles.join(' or ')}; you are ${a.name} (${a.roles.join(', ')})`, { need: { roles } });
  }
  return a;
};

export function applicationsRouter(apps: Applications, opts: ApplicationsRouteOptions): Router {
  const r = Router();
  const json = express.json({ limit: '4mb' });
  const page = (req: Request) => ({
    limit: intParam(req.query, 'limit', 1, opts.maxLimit, opts.defaultLimit)!,
    offset: intParam(req.query, 'offset', 0, 1_000_000, 0)!,
  });
  const show = async (res: Response, id: number, status = 200) => {
    const a = await apps.get(id);
    res.status(status).set('ETag', `"${a.id}-${a.row_version}"`).set('Cache-Control', 'no-store').json(a);
  };

  r.get('/project-types', (_req, res) => {
    requireAccount(res);
    res.json({
      types: apps.types.types.map((t) => ({ code: t.code, zh: t.zh, en: t.en, departments: t.departments, deadline_days: t.deadline_days, rules: t.rules.map((x) => x.rule.id) })),
      alerts: apps.types.alerts.map((a) => ({ id: a.id, zh: a.zh, en: a.en, layer: a.layer.id, department: a.department })),
      departments: apps.registry.departments,
    });
  });

  // Normalises a site before submission (nothing written): JSON drawn/points, or a file upload.
  // express.json leaves a multipart body alone (it parses application/json only).
  r.post('/sites', json, async (req, res) => {
    staff(res, ['window_clerk', 'admin'], 'preparing a site');
    onlyParams(req.query, []);
    if (/^multipart\/form-data/i.test(req.get('content-type') ?? '')) {
      const upload = await receiveUpload(req, opts.uploadMaxMb * 1024 * 1024);
      try {
        if (upload.tooLarge) throw uploadTooLarge(opts.uploadMaxMb);
        if (!upload.file) throw badRequest('invalid_body', "the upload has no field 'file'", { field: 'file' });
        const f = upload.fields;
        const srid = f.srid ? Number(f.srid) : undefined;
        if (srid !== undefined && !(Number.isInteger(srid) && srid > 0 && srid < 999_999)) throw badRequest('invalid_parameter', messages.badParam('srid', 'an EPSG code', f.srid), { field: 'srid' });
        if (f.encoding && !normaliseEncoding(f.encoding)) throw badRequest('invalid_parameter', messages.badParam('encoding', 'gbk or utf8', f.encoding), { field: 'encoding' });
        const sha256 = createHash('sha256').update(await fs.promises.readFile(upload.file.path)).digest('hex');
        const read = await siteFromFile(apps.knex, upload.file.path, { name: upload.file.name, srid, encoding: f.encoding || undefined });
        const site = await validateSite(apps.knex, { geometry: read.geometry, source: 'upload', input: { file_name: upload.file.name, file_sha256: sha256 }, warnings: read.warnings });
        res.json(siteAnswer(site, { crs: read.crs, file: { name: upload.file.name, sha256 } }));
      } finally {
        if (upload.file) await fs.promises.rm(upload.file.path, { force: true });
      }
      return;
    }
    const site = await apps.site(body(req));
    res.json(siteAnswer(site, site.source === 'points' ? { srid: site.input.srid, crs: site.input.crs } : {}));
  });

  r.get('/', async (req, res) => {
    requireAccount(res);
    onlyParams(req.query, ['status', 'department', 'limit', 'offset']);
    const status = single(req.query, 'status');
    if (status !== undefined && !STATUSES.includes(status as Status)) throw badRequest('invalid_parameter', messages.badParam('status', STATUSES.join(' | '), status), { parameter: 'status' });
    const department = single(req.query, 'department');
    if (department !== undefined && !apps.registry.departments.some((d) => d.id === department)) throw badRequest('invalid_parameter', messages.badParam('department', 'a department id', department), { parameter: 'department' });
    res.set('Cache-Control', 'no-store').json(await apps.list({ status: status as Status | undefined, department, ...page(req) }));
  });

  r.get('/inbox', async (req, res) => {
    const a = staff(res, ['reviewer'], 'an inbox');
    onlyParams(req.query, ['limit', 'offset']);
    const list = await apps.list({ department: a.department!, waitingOnly: true, ...page(req) });
    res.set('Cache-Control', 'no-store').json({ department: a.department, department_zh: apps.deptZh(a.department!), ...list });
  });

  r.post('/', json, async (req, res) => {
    const a = staff(res, ['window_clerk'], 'submitting an application');
    onlyParams(req.query, []);
    const id = await apps.submit(a, body(req));
    res.location(`${req.baseUrl}/${id}`);
    await show(res, id, 201);
  });

  r.get('/:id', async (req, res) => {
    requireAccount(res);
    onlyParams(req.query, []);
    await show(res, idParam(req));
  });

  r.get('/:id/versions/:version', async (req, res) => {
    requireAccount(res);
    onlyParams(req.query, []);
    res.set('Cache-Control', 'no-store').json(await apps.version(idParam(req), idParam(req, 'version')));
  });

  r.get('/:id/versions/:version/recheck', async (req, res) => {
    requireAccount(res);
    onlyParams(req.query, ['against']);
    const against = single(req.query, 'against') ?? 'recorded';
    if (against !== 'recorded' && against !== 'current') throw badRequest('invalid_parameter', messages.badParam('against', 'recorded | current', against), { parameter: 'against' });
    res.set('Cache-Control', 'no-store').json(await apps.recheck(idParam(req), idParam(req, 'version'), against));
  });

  r.get('/:id/map', async (req, res) => {
    requireAccount(res);
    onlyParams(req.query, ['version']);
    res.set('Cache-Control', 'no-store').type('application/geo+json').json(await apps.map(idParam(req), intParam(req.query, 'version', 1, 1_000_000)));
  });

  r.get('/:id/report', async (req, res) => {
    requireAccount(res);
    onlyParams(req.query, ['version']);
    res.set('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(await applicationReport(apps, idParam(req), intParam(req.query, 'version', 1, 1_000_000)));
  });

  r.post('/:id/opinions', json, async (req, res) => {
    const a = requireAccount(res);
    onlyParams(req.query, []);
    const id = idParam(req);
    const opinionId = await apps.sign(a, id, body(req));
    const application = await apps.get(id);
    res.status(201).json({ opinion: application.opinions.find((o) => o.id === opinionId), application });
  });

  r.post('/:id/opinions/:opinionId/corrections', json, async (req, res) => {
    const a = requireAccount(res);
    onlyParams(req.query, []);
    const id = idParam(req);
    const opinionId = await apps.correct(a, id, idParam(req, 'opinionId'), body(req));
    const application = await apps.get(id);
    res.status(201).json({ opinion: application.opinions.find((o) => o.id === opinionId), application });
  });

  r.post('/:id/withdraw', json, async (req, res) => {
    const a = requireAccount(res);
    onlyParams(req.query, []);
    const id = idParam(req);
    await apps.withdraw(a, id, body(req));
    await show(res, id);
  });

  r.post('/:id/versions', json, async (req, res) => {
    const a = requireAccount(res);
    onlyParams(req.query, []);
    const id = idParam(req);
    await apps.amend(a, id, body(req));
    await show(res, id, 201);
  });

  return r;
}
