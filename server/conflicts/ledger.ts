// The coordination ledger (冲突台账): listing and reading cases, the status workflow with
// optimistic concurrency, comments, summaries. Statuses:
//   pending 待协调 → coordinated 已协调 (decision + reason) → verified 已核验
//   coordinated → pending (reopened, with a reason)
//   any open status → resolved_by_data 已消除 (only the detection run does this; a patch that
//   comes back reopens as pending)
// Every change appends to conflict_case_events; a change names the case version it was made
// against, and a stale version is refused with the current state (nobody's change is lost).
import type { Knex } from 'knex';
import { areaFigures } from '../layers/area';
import type { Registry } from '../layers/registry';
import { AppError, badRequest, notFound } from '../platform/errors';
import type { RuleSet } from './rules';

export const STATUSES = [
  { code: 'pending', zh: '待协调', en: 'Pending' },
  { code: 'coordinated', zh: '已协调', en: 'Coordinated' },
  { code: 'verified', zh: '已核验', en: 'Verified' },
  { code: 'resolved_by_data', zh: '已消除(数据更新)', en: 'Resolved by data' },
] as const;
export type Status = (typeof STATUSES)[number]['code'];

export const DECISIONS = [
  { code: 'follow_a', zh: '以规划A为准', en: 'Follow plan A' },
  { code: 'follow_b', zh: '以规划B为准', en: 'Follow plan B' },
  { code: 'adjust_both', zh: '两规共同调整', en: 'Adjust both' },
  { code: 'exception', zh: '保留为例外', en: 'Keep as an exception' },
] as const;
export type Decision = (typeof DECISIONS)[number]['code'];

/** The transitions a user may make (resolved_by_data is the detection's own). */
export const TRANSITIONS: Record<Status, Status[]> = {
  pending: ['coordinated'],
  coordinated: ['verified', 'pending'],
  verified: [],
  resolved_by_data: [],
};

export interface SideView {
  layer: string;
  layer_zh: string;
  /** The source feature (once the patch is gone: the feature it was made from, which may be gone too). */
  fid: number | null;
  code: string;
  class_zh: string | null;
}

/** A case as the API shows it (current patch, or the last one once resolved by data). */
export interface CaseView {
  id: string;
  fid: number;
  rule_id: string;
  rule_zh: string;
  rule_en: string;
  severity: string;
  kind: string;
  status: Status;
  decision: Decision | null;
  reason: string | null;
  district_opinion: string | null;
  city_opinion: string | null;
  effective_date: string | null;
  district: string;
  adcode: string;
  version: number;
  first_run: number;
  resolved_run: number | null;
  resolved_layer: string | null;
  resolved_revision: number | null;
  created_at: Date;
  updated_at: Date;
  thinness: number | null;
  bbox: [number, number, number, number] | null;
  area_m2: number | null;
  area_ha: number | null;
  area_mu: number | null;
  a: SideView;
  b: SideView;
  allowed: Status[];
  geometry?: unknown;
}

export interface CaseFilter {
  rule?: string;
  adcode?: string;
  severity?: string;
  status?: string;
  kind?: string;
  /** The case's feature id in the conflicts layer (tiles and OGC API carry it). */
  fid?: number;
  /** true: open cases only (pending, coordinated), what still needs work; false: closed ones (verified, resolved by data). */
  open?: boolean;
}

export interface TransitionRequest {
  to: Status;
  version: number;
  decision?: Decision;
  reason?: string;
  comment?: string;
  district_opinion?: string;
  city_opinion?: string;
  effective_date?: string;
  by: string;
}

const MAX_TEXT = 4000;

export class Ledger {
  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly rules: RuleSet,
  ) {}

  private classZh(layerId: string, code: string): string | null {
    return this.registry.byId.get(layerId)?.classification.classes.find((c) => c.code === code)?.zh ?? null;
  }

  private layerZh(layerId: string): string {
    return this.registry.byId.get(layerId)?.title.zh ?? layerId;
  }

  /** Bound WHERE clause of a case listing (alias c: conflict_cases, r: conflict_rules). */
  private where(q: Knex.QueryBuilder, f: CaseFilter) {
    if (f.rule) q.where('c.rule_id', f.rule);
    if (f.adcode !== undefined) q.where('c.adcode', f.adcode);
    if (f.severity) q.where('r.severity', f.severity);
    if (f.kind) q.where('r.kind', f.kind);
    if (f.fid !== undefined) q.where('c.fid', f.fid);
    if (f.status) q.where('c.status', f.status);
    if (f.open === true) q.whereIn('c.status', ['pending', 'coordinated']);
    if (f.open === false) q.whereIn('c.status', ['verified', 'resolved_by_data']);
    return q;
  }

  /** Case rows with their current (or, once gone, last) geometry's area and extent. */
  private base(geometry: boolean) {
    const k = this.knex;
    const cols = [
      'c.id', 'c.fid', 'c.rule_id', 'r.zh as rule_zh', 'r.en as rule_en', 'r.severity', 'r.kind', 'c.status', 'c.decision', 'c.reason',
      'c.district_opinion', 'c.city_opinion', k.raw(`to_char(c.effective_date, 'YYYY-MM-DD') AS effective_date`),
      k.raw(`COALESCE(c.district, '区外') AS district`), 'c.adcode', 'c.a_layer', 'c.a_code', 'c.b_layer', 'c.b_code',
      k.raw('COALESCE(p.a_fid, c.last_a_fid) AS a_fid'), k.raw('COALESCE(p.b_fid, c.last_b_fid) AS b_fid'), 'c.version', 'c.first_run', 'c.resolved_run', 'c.resolved_layer', 'c.resolved_revision', 'c.created_at', 'c.updated_at',
      k.raw('COALESCE(p.area_m2, c.last_area_m2) AS area_m2'),
      'p.thinness',
      k.raw(`(SELECT json_build_array(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)) FROM (SELECT COALESCE(p.geom, c.last_geom)::box2d AS e) x) AS bbox`),
    ];
    if (geometry) cols.push(k.raw('ST_AsGeoJSON(COALESCE(p.geom, c.last_geom), 7)::json AS geometry'));
    return k('conflict_cases as c')
      .join('conflict_rules as r', 'r.id', 'c.rule_id')
      .leftJoin('conflict_pieces as p', function () {
        this.on('p.id', 'c.id').andOnNotNull('p.geom');
      })
      .select(cols);
  }

  private shape(row: Record<string, unknown>): CaseView {
    const side = (l: string, code: string, fid: unknown): SideView => ({ layer: l, layer_zh: this.layerZh(l), fid: fid === null || fid === undefined ? null : Number(fid), code, class_zh: this.classZh(l, code) });
    const str = (k: string) => (row[k] === null || row[k] === undefined ? null : String(row[k]));
    const num = (k: string) => (row[k] === null || row[k] === undefined ? null : Number(row[k]));
    const status = row.status as Status;
    return {
      id: String(row.id),
      fid: Number(row.fid),
      rule_id: String(row.rule_id),
      rule_zh: String(row.rule_zh),
      rule_en: String(row.rule_en),
      severity: String(row.severity),
      kind: String(row.kind),
      status,
      decision: str('decision') as Decision | null,
      reason: str('reason'),
      district_opinion: str('district_opinion'),
      city_opinion: str('city_opinion'),
      effective_date: str('effective_date'),
      district: String(row.district),
      adcode: String(row.adcode),
      version: Number(row.version),
      first_run: Number(row.first_run),
      resolved_run: num('resolved_run'),
      resolved_layer: str('resolved_layer'),
      resolved_revision: num('resolved_revision'),
      created_at: row.created_at as Date,
      updated_at: row.updated_at as Date,
      thinness: num('thinness'),
      bbox: (row.bbox as [number, number, number, number] | null) ?? null,
      ...areaFigures(num('area_m2')),
      a: side(String(row.a_layer), String(row.a_code), row.a_fid),
      b: side(String(row.b_layer), String(row.b_code), row.b_fid),
      allowed: TRANSITIONS[status],
      ...(row.geometry !== undefined ? { geometry: row.geometry } : {}),
    };
  }

  async list(f: CaseFilter, limit: number, offset: number) {
    const count = await this.where(
      this.knex('conflict_cases as c').join('conflict_rules as r', 'r.id', 'c.rule_id'),
      f,
    ).count<{ n: string }[]>('* as n');
    const rows = await this.where(this.base(false), f)
      .orderByRaw(`CASE r.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 ELSE 2 END, COALESCE(p.area_m2, c.last_area_m2) DESC NULLS LAST, c.fid`)
      .limit(limit)
      .offset(offset);
    return { total: Number(count[0].n), limit, offset, cases: rows.map((r: Record<string, unknown>) => this.shape(r)) };
  }

  /** Every case matching f with its geometry (exports); ordered like the list. */
  async all(f: CaseFilter): Promise<CaseView[]> {
    const rows = await this.where(this.base(true), f).orderBy([{ column: 'c.rule_id' }, { column: 'c.adcode' }, { column: 'c.fid' }]);
    return rows.map((r: Record<string, unknown>) => this.shape(r));
  }

  async get(id: string) {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('unknown_case', `conflict case '${id}' does not exist`, { caseId: id });
    const row = await this.base(true).where('c.id', id).first();
    if (!row) throw notFound('unknown_case', `conflict case '${id}' does not exist`, { caseId: id });
    const events = await this.knex('conflict_case_events')
      .where('case_id', id)
      .orderBy('id')
      .select('id', 'at', 'actor', 'action', 'from_status', 'to_status', 'decision', 'reason', 'comment', 'run_id', 'details');
    return { ...this.shape(row), events };
  }

  /** A status change against a known version of the case (see the top of this file). */
  async transition(id: string, req: TransitionRequest) {
    checkTransition(req);
    return this.knex.transaction(async (trx) => {
      const cur = await trx('conflict_cases').where({ id }).forUpdate().first<{ status: Status; version: number } | undefined>('status', 'version');
      if (!cur) throw notFound('unknown_case', `conflict case '${id}' does not exist`, { caseId: id });
      if (cur.version !== req.version) {
        throw new AppError(412, 'version_conflict', `the case was changed by someone else (version ${cur.version}, your change was made against version ${req.version}); reload it and decide again`, {
          caseId: id,
          currentVersion: cur.version,
          currentStatus: cur.status,
        });
      }
      if (!TRANSITIONS[cur.status].includes(req.to)) {
        throw new AppError(409, 'illegal_transition', `a case that is ${cur.status} cannot become ${req.to}; allowed: ${TRANSITIONS[cur.status].join(', ') || 'none'}`, {
          caseId: id,
          from: cur.status,
          to: req.to,
          allowed: TRANSITIONS[cur.status],
        });
      }
      const update: Record<string, unknown> = { status: req.to, version: cur.version + 1, updated_at: trx.fn.now() };
      if (req.to === 'coordinated') {
        Object.assign(update, {
          decision: req.decision,
          reason: req.reason,
          district_opinion: req.district_opinion ?? null,
          city_opinion: req.city_opinion ?? null,
          effective_date: req.effective_date ?? null,
        });
      }
      if (req.to === 'pending') Object.assign(update, { decision: null, reason: null, district_opinion: null, city_opinion: null, effective_date: null });
      await trx('conflict_cases').where({ id }).update(update);
      await trx('conflict_case_events').insert({
        case_id: id,
        actor: req.by,
        action: 'transition',
        from_status: cur.status,
        to_status: req.to,
        decision: req.to === 'coordinated' ? req.decision : null,
        reason: req.reason ?? null,
        comment: req.comment ?? null,
        details: JSON.stringify({
          ...(req.district_opinion ? { district_opinion: req.district_opinion } : {}),
          ...(req.city_opinion ? { city_opinion: req.city_opinion } : {}),
          ...(req.effective_date ? { effective_date: req.effective_date } : {}),
        }),
      });
      // The conflicts layer shows the status: its version moves (last, see conflicts_bump).
      await trx.raw('SELECT conflicts_bump()');
      return id;
    }).then((caseId) => this.get(caseId));
  }

  /** Comments need no version: two people commenting at once both land. */
  async comment(id: string, text: string, by: string) {
    if (typeof text !== 'string' || !text.trim() || text.length > MAX_TEXT) throw badRequest('invalid_body', `'text' should be a comment of 1–${MAX_TEXT} characters`, { field: 'text' });
    const exists = await this.knex('conflict_cases').where({ id }).first('id');
    if (!exists) throw notFound('unknown_case', `conflict case '${id}' does not exist`, { caseId: id });
    const [row] = await this.knex('conflict_case_events')
      .insert({ case_id: id, actor: by, action: 'comment', comment: text.trim() })
      .returning(['id', 'at', 'actor', 'action', 'comment']);
    return row;
  }

  /** Current patches per rule × district, for the cases matching the filter. */
  async summary(f: CaseFilter) {
    const rows = await this.where(
      this.knex('conflict_cases as c')
        .join('conflict_rules as r', 'r.id', 'c.rule_id')
        .join('conflict_pieces as p', 'p.id', 'c.id')
        .whereNotNull('p.geom'),
      f,
    )
      .groupBy('c.rule_id', 'c.adcode', 'c.district', 'r.severity', 'r.zh')
      .orderBy([{ column: 'c.rule_id' }, { column: 'c.adcode' }])
      .select('c.rule_id', 'r.zh as rule_zh', 'r.severity', 'c.adcode', this.knex.raw(`COALESCE(c.district, '区外') AS district`))
      .count<Record<string, unknown>[]>('* as count')
      .sum('p.area_m2 as area_m2');
    const shaped = rows.map((r) => ({ ...r, count: Number(r.count), ...areaFigures(Number(r.area_m2)) }));
    const total = shaped.reduce((s, r) => s + (r.area_m2 ?? 0), 0);
    return { rows: shaped, totals: { count: shaped.reduce((s, r) => s + r.count, 0), ...areaFigures(total) } };
  }

  /** The rules with what the viewer needs to show and filter them. */
  describeRules() {
    const dep = (id: string) => this.registry.departments.find((d) => d.id === id) ?? { id, zh: id, en: id };
    const side = (s: RuleSet['rules'][number]['a']) => ({
      layer: s.layer.id,
      title: s.layer.title,
      classes: s.codes.map((c) => ({ code: c, zh: this.classZh(s.layer.id, c) })),
    });
    const severities = this.registry.byId.get('conflicts')?.classification.classes.map((c) => ({ code: c.code, zh: c.zh, en: c.en, color: c.color })) ?? [];
    return {
      rules: this.rules.rules.map((r) => ({
        id: r.id,
        zh: r.zh,
        en: r.en,
        kind: r.kind,
        severity: r.severity,
        departments: r.departments.map(dep),
        a: side(r.a),
        b: side(r.b),
        min_area_m2: r.min_area_m2,
        min_thinness: r.min_thinness,
      })),
      severities,
      statuses: STATUSES,
      decisions: DECISIONS,
      transitions: TRANSITIONS,
    };
  }
}

function checkTransition(req: TransitionRequest) {
  const bad = (field: string, expected: string) => badRequest('invalid_body', `'${field}': expected ${expected}`, { field });
  if (!STATUSES.some((s) => s.code === req.to) || req.to === 'resolved_by_data') throw bad('to', `one of ${Object.keys(TRANSITIONS).filter((s) => s !== 'resolved_by_data').join(', ')}`);
  if (!Number.isInteger(req.version) || req.version < 1) throw bad('version', 'the case version the change is made against (an integer ≥ 1; or the If-Match header)');
  const text = (field: keyof TransitionRequest) => {
    const v = req[field];
    if (v !== undefined && v !== null && (typeof v !== 'string' || v.length > MAX_TEXT)) throw bad(field, `a text of up to ${MAX_TEXT} characters`);
  };
  for (const f of ['reason', 'comment', 'district_opinion', 'city_opinion'] as const) text(f);
  if (req.to === 'coordinated') {
    if (!DECISIONS.some((d) => d.code === req.decision)) throw bad('decision', `one of ${DECISIONS.map((d) => d.code).join(', ')}`);
    if (!req.reason?.trim()) throw bad('reason', 'the reason for the decision (协调理由)');
  } else if (req.decision !== undefined) throw bad('decision', `no decision when the case becomes ${req.to}`);
  if (req.to === 'pending' && !req.reason?.trim()) throw bad('reason', 'why the case is reopened');
  if (req.effective_date !== undefined && !isCalendarDate(req.effective_date)) throw bad('effective_date', 'a date YYYY-MM-DD that exists');
}

/** YYYY-MM-DD naming a day that exists (2024-02-30 does not). */
function isCalendarDate(v: unknown): boolean {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}
