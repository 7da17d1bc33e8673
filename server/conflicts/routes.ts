// /api/conflicts: rules, runs, the ledger (cases, status changes, comments), summaries, exports
// (CSV, GeoJSON) and the printable per-district report. The patches themselves are also the
// "conflicts" layer (OGC API collection, vector tiles, style) through the view plan.conflicts.
import express, { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { AppError, badRequest, messages, notFound } from '../platform/errors';
import { intParam, onlyParams, single } from '../platform/params';
import { DEAD_RUN, type ConflictEngine, type RunMode } from './detect';
import { type CaseFilter, type Decision, Ledger, type Status } from './ledger';
import { conflictRun, ledgerComment, ledgerTransition, requireAccount, requireAllowed } from '../accounts/authorize';
import { districtReport } from './report';
import type { ConflictWatcher } from './watcher';

const FILTERS = ['rule', 'adcode', 'severity', 'status', 'kind', 'open', 'fid'];

export function conflictsRouter(knex: Knex, engine: ConflictEngine, watcher: ConflictWatcher, opts: { defaultLimit: number; maxLimit: number }): Router {
  const r = Router();
  // Every write here needs an account: an anonymous one is told to log in (401) before its body
  // is read, so a malformed body does not answer first.
  r.use((req, res, next) => {
    if (req.method === 'POST') requireAccount(res);
    next();
  });
  r.use(express.json({ limit: '64kb' }));
  const ledger = new Ledger(knex, engine.registry, engine.rules);
  // Writes need an account (server/accounts/authorize.ts); the actor recorded is the account's name.
  // A ledger action's permission depends on the case's rule: its departments act on it.
  const ruleOfCase = async (id: string) => {
    const row = await knex('conflict_cases').where({ id }).first<{ rule_id: string } | undefined>('rule_id');
    if (!row) throw notFound('unknown_case', `conflict case '${id}' does not exist`, { caseId: id });
    const rule = engine.rules.byId.get(row.rule_id);
    // A case of a rule that was removed from conflict-rules.json: only an admin acts on it.
    return rule ?? { id: row.rule_id, departments: [] as string[] };
  };
  // A run whose process died is shown as what the next run will record it as.
  const asSeen = ({ dead, ...run }: { dead: boolean; [column: string]: unknown }) => (dead ? { ...run, status: 'failed', error: 'interrupted' } : run);
  const filterOf = (req: Request): CaseFilter => {
    const f: CaseFilter = {};
    const rule = single(req.query, 'rule');
    if (rule !== undefined) {
      if (!engine.rules.byId.has(rule)) throw badRequest('invalid_parameter', messages.badParam('rule', `a rule id (${[...engine.rules.byId.keys()].join(', ')})`, rule), { parameter: 'rule' });
      f.rule = rule;
    }
    const adcode = single(req.query, 'adcode');
    if (adcode !== undefined) {
      if (!/^(\d{6})?$/.test(adcode)) throw badRequest('invalid_parameter', messages.badParam('adcode', 'a 6-digit division code (empty: outside every district)', adcode), { parameter: 'adcode' });
      f.adcode = adcode;
    }
    const oneOf = (name: 'severity' | 'status' | 'kind', values: string[]) => {
      const v = single(req.query, name);
      if (v === undefined) return;
      if (!values.includes(v)) throw badRequest('invalid_parameter', messages.badParam(name, `one of ${values.join(', ')}`, v), { parameter: name });
      f[name] = v;
    };
    oneOf('severity', ['critical', 'major', 'minor']);
    oneOf('status', ['pending', 'coordinated', 'verified', 'resolved_by_data']);
    oneOf('kind', ['conflict', 'hazard', 'notice']);
    const fid = intParam(req.query, 'fid', 1, Number.MAX_SAFE_INTEGER);
    if (fid !== undefined) f.fid = fid;
    const open = single(req.query, 'open');
    if (open !== undefined) {
      if (open !== 'true' && open !== 'false') throw badRequest('invalid_parameter', messages.badParam('open', 'true or false', open), { parameter: 'open' });
      f.open = open === 'true';
    }
    return f;
  };
  const caseId = (req: Request) => {
    const id = (req.params as { id: string }).id;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw badRequest('invalid_parameter', messages.badParam('id', 'a case id (uuid)', id), { parameter: 'id' });
    return id;
  };

  r.get('/rules', (req, res) => {
    onlyParams(req.query, []);
    res.json(ledger.describeRules());
  });

  r.get('/runs', async (req, res) => {
    onlyParams(req.query, ['limit']);
    const limit = intParam(req.query, 'limit', 1, 500, 20)!;
    const runs = await knex('conflict_runs').select('*', knex.raw(`${DEAD_RUN} AS dead`)).orderBy('id', 'desc').limit(limit);
    res.json({ runs: runs.map(asSeen), busy: watcher.busy });
  });

  r.get('/runs/:id', async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1) throw badRequest('invalid_parameter', messages.badParam('id', 'a run number', req.params.id), { parameter: 'id' });
    const run = await knex('conflict_runs').where({ id }).first('*', knex.raw(`${DEAD_RUN} AS dead`));
    if (!run) throw notFound('unknown_run', `run ${id} does not exist`, { runId: id });
    res.json(asSeen(run));
  });

  // An explicit run: 'full' recomputes every rule; 'incremental' catches up with what changed.
  r.post('/runs', async (req, res) => {
    const account = requireAllowed(res, conflictRun);
    const body = (req.body ?? {}) as { mode?: unknown };
    const mode = body.mode ?? 'full';
    if (mode !== 'full' && mode !== 'incremental') throw badRequest('invalid_body', `'mode': expected full or incremental, got ${JSON.stringify(mode)}`, { field: 'mode' });
    // One run at a time: a request while one is going is told so at once, instead of holding a
    // database connection while it waits (the running one includes every change made before it).
    // (A run whose process is gone does not count: see RUN_LOCKS.)
    const running = await knex('conflict_runs').where('status', 'running').whereNull('finished_at').whereRaw(`NOT ${DEAD_RUN}`).first('id');
    if (running) throw new AppError(409, 'run_in_progress', `detection run ${running.id} is in progress; try again when it has finished`, { runId: running.id });
    const result = await engine.run({ mode: mode as RunMode, requestedBy: account.name, trigger: { via: 'api' } });
    res.status(201).json(result);
  });

  r.get('/summary', async (req, res) => {
    onlyParams(req.query, FILTERS);
    res.json(await ledger.summary(filterOf(req)));
  });

  r.get('/cases', async (req, res) => {
    onlyParams(req.query, [...FILTERS, 'limit', 'offset']);
    const limit = intParam(req.query, 'limit', 1, opts.maxLimit, opts.defaultLimit)!;
    const offset = intParam(req.query, 'offset', 0, 1_000_000_000, 0)!;
    res.json(await ledger.list(filterOf(req), limit, offset));
  });

  r.get('/cases/:id', async (req, res) => {
    onlyParams(req.query, []);
    const c = await ledger.get(caseId(req));
    // The ETag names the version changes are made against (If-Match); comments do not change it,
    // so the response is not to be reused from a cache.
    res.set('ETag', `"${c.version}"`).set('Cache-Control', 'no-store').json(c);
  });

  r.post('/cases/:id/transitions', async (req, res) => {
    const id = caseId(req);
    requireAccount(res);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const account = requireAllowed(res, ledgerTransition(await ruleOfCase(id), String(b.to)));
    // The version the change is made against: If-Match ("3" or W/"3") or the body's version.
    const ifMatch = req.get('If-Match');
    let version = b.version as number;
    if (ifMatch !== undefined) {
      const m = /^(?:W\/)?"(\d+)"$/.exec(ifMatch.trim());
      if (!m) throw badRequest('invalid_header', `If-Match: expected the case's ETag such as "3", got ${JSON.stringify(ifMatch)}`, { header: 'If-Match' });
      version = Number(m[1]);
    }
    if (version === undefined) {
      throw new AppError(428, 'version_required', 'say which version of the case the change is made against: the If-Match header (the ETag of GET /cases/{id}) or "version" in the body', { caseId: id });
    }
    const c = await ledger.transition(id, {
      to: b.to as Status,
      version,
      decision: b.decision as Decision | undefined,
      reason: b.reason as string | undefined,
      comment: b.comment as string | undefined,
      district_opinion: b.district_opinion as string | undefined,
      city_opinion: b.city_opinion as string | undefined,
      effective_date: b.effective_date as string | undefined,
      by: account.name,
    });
    res.set('ETag', `"${c.version}"`).json(c);
  });

  r.post('/cases/:id/comments', async (req, res) => {
    const id = caseId(req);
    requireAccount(res);
    const account = requireAllowed(res, ledgerComment(await ruleOfCase(id)));
    const text = ((req.body ?? {}) as { text?: unknown }).text;
    res.status(201).json(await ledger.comment(id, text as string, account.name));
  });

  // The ledger as a file: every case (open and closed) matching the filters.
  r.get('/ledger.csv', async (req, res) => {
    onlyParams(req.query, FILTERS);
    const rows = await ledger.all(filterOf(req));
    const head = ['id', 'rule_id', 'rule_zh', 'severity', 'kind', 'district', 'adcode', 'status', 'decision', 'reason', 'district_opinion', 'city_opinion', 'effective_date', 'area_m2', 'area_ha', 'area_mu',
      'a_layer', 'a_fid', 'a_code', 'a_class', 'b_layer', 'b_fid', 'b_code', 'b_class', 'resolved_layer', 'resolved_revision', 'version', 'updated_at'];
    const cell = (v: unknown) => {
      if (v === null || v === undefined) return '';
      // Text that a spreadsheet would take for a formula is kept as text.
      const s = v instanceof Date ? v.toISOString() : typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
      return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    };
    const lines = rows.map((c) => {
      const x = c as unknown as Record<string, unknown>;
      return [x.id, x.rule_id, x.rule_zh, x.severity, x.kind, x.district, x.adcode, x.status, x.decision, x.reason, x.district_opinion, x.city_opinion, x.effective_date, x.area_m2, x.area_ha, x.area_mu,
        c.a.layer, c.a.fid, c.a.code, c.a.class_zh, c.b.layer, c.b.fid, c.b.code, c.b.class_zh, x.resolved_layer, x.resolved_revision, x.version, x.updated_at].map(cell).join(',');
    });
    // UTF-8 with a byte-order mark: spreadsheet programs then read the Chinese text correctly.
    res.type('text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="conflict-ledger.csv"').send(`\ufeff${[head.join(','), ...lines].join('\r\n')}\r\n`);
  });

  r.get('/ledger.geojson', async (req, res) => {
    onlyParams(req.query, FILTERS);
    const rows = await ledger.all(filterOf(req));
    const features = rows.map((c) => {
      const { geometry, ...props } = c as unknown as Record<string, unknown> & { geometry: unknown };
      return { type: 'Feature', id: c.id, geometry: geometry ?? null, properties: props };
    });
    res.type('application/geo+json').set('Content-Disposition', 'attachment; filename="conflict-ledger.geojson"').send(JSON.stringify({ type: 'FeatureCollection', features }));
  });

  r.get('/report', async (req, res) => {
    onlyParams(req.query, ['adcode']);
    const adcode = single(req.query, 'adcode');
    if (!adcode || !/^\d{6}$/.test(adcode)) throw badRequest('invalid_parameter', messages.badParam('adcode', 'a 6-digit division code of a district', adcode ?? null), { parameter: 'adcode' });
    res.type('text/html; charset=utf-8').send(await districtReport(knex, ledger, engine, adcode));
  });

  return r;
}
