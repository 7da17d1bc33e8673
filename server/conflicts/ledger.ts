// The coordination ledger (冲突台账): one case per conflict patch, ever. Reading cases (the list,
// one case with its history, the exports, the summary per rule × district), and the two things a
// person does to a case: a status change made against a known version of it (optimistic
// concurrency: a stale version is refused with the current state, so nobody's change is lost) and
// a comment (no version: two people commenting at once both land). The statuses, decisions and
// transitions are vocabulary.ts's; what a detection run does to the ledger is ledger-sync.ts.
// Every change appends to conflict_case_events.
import type { Knex } from 'knex';
import { areaFigures } from '../layers/area';
import type { Registry } from '../layers/registry';
import { AppError, notFound } from '../platform/errors';
import type { RuleSet } from './rules';
import type { CaseEventRecord, CaseFilter, CaseRecord, CaseRecordWithGeometry, TransitionBody } from './schemas';
import {
  CLOSED_STATUSES, DECISIONS, OPEN_STATUSES, OUTSIDE_ZH, SEVERITIES, STATUSES, term, TRANSITIONS, type Decision, type Kind, type Severity, type Status,
} from './vocabulary';

/** A validated status change, with the version it is made against and who makes it. */
export type TransitionRequest = Omit<TransitionBody, 'version'> & { version: number; by: string };

/** 404 for a case id that names no case. */
export const unknownCase = (id: string) => notFound('unknown_case', `conflict case '${id}' does not exist`, { caseId: id });

export class Ledger {
  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly rules: RuleSet,
  ) {}

  /** The same ledger reading from another pool (a read replica's: platform/replicas.ts). */
  on(knex: Knex): Ledger {
    return knex === this.knex ? this : new Ledger(knex, this.registry, this.rules);
  }

  // --- reading ---------------------------------------------------------------------------------------

  /** One page of the cases matching f, gravest first, then the largest. */
  async list(f: CaseFilter, limit: number, offset: number) {
    const count = await this.where(this.knex('conflict_cases as c').join('conflict_rules as r', 'r.id', 'c.rule_id'), f).count<{ n: string }[]>('* as n');
    const rows = await this.where(this.base(false), f)
      .orderByRaw('array_position(?::text[], r.severity), COALESCE(p.area_m2, c.last_area_m2) DESC NULLS LAST, c.fid', [[...SEVERITIES]])
      .limit(limit)
      .offset(offset);
    return { total: Number(count[0].n), limit, offset, cases: rows.map((r: Record<string, unknown>) => this.shape(r)) };
  }

  /** Every case matching f with its geometry (exports), by rule, district and feature id. */
  async all(f: CaseFilter): Promise<CaseRecordWithGeometry[]> {
    const rows = await this.where(this.base(true), f).orderBy([{ column: 'c.rule_id' }, { column: 'c.adcode' }, { column: 'c.fid' }]);
    return rows.map((r: Record<string, unknown>) => this.shape(r) as CaseRecordWithGeometry);
  }

  /** One case with its geometry and its history. */
  async get(id: string): Promise<CaseRecordWithGeometry & { events: CaseEventRecord[] }> {
    const row = await this.base(true).where('c.id', id).first();
    if (!row) throw unknownCase(id);
    const events = await this.knex('conflict_case_events')
      .where('case_id', id)
      .orderBy('id')
      .select('id', 'at', 'actor', 'action', 'from_status', 'to_status', 'decision', 'reason', 'comment', 'run_id', 'details');
    return { ...(this.shape(row) as CaseRecordWithGeometry), events };
  }

  /** Current patches per rule × district, for the cases matching the filter. */
  async summary(f: CaseFilter) {
    const rows = await this.where(
      this.knex('conflict_cases as c').join('conflict_rules as r', 'r.id', 'c.rule_id').join('conflict_pieces as p', 'p.id', 'c.id').whereNotNull('p.geom'),
      f,
    )
      .groupBy('c.rule_id', 'c.adcode', 'c.district', 'r.severity', 'r.zh')
      .orderBy([{ column: 'c.rule_id' }, { column: 'c.adcode' }])
      .select('c.rule_id', 'r.zh as rule_zh', 'r.severity', 'c.adcode', this.knex.raw('COALESCE(c.district, ?) AS district', [OUTSIDE_ZH]))
      .count<{ rule_id: string; rule_zh: string; severity: Severity; adcode: string; district: string; count: string; area_m2: number }[]>('* as count')
      .sum('p.area_m2 as area_m2');
    const shaped = rows.map((r) => ({ ...r, count: Number(r.count), ...areaFigures(Number(r.area_m2)) }));
    const total = shaped.reduce((s, r) => s + (r.area_m2 ?? 0), 0);
    return { rows: shaped, totals: { count: shaped.reduce((s, r) => s + r.count, 0), ...areaFigures(total) } };
  }

  /** The rules with what the viewer needs to show and filter them, and the ledger's vocabulary. */
  describeRules() {
    const dep = (id: string) => this.registry.departments.find((d) => d.id === id) ?? { id, zh: id, en: id };
    const side = (s: RuleSet['rules'][number]['a']) => ({
      layer: s.layer.id,
      title: s.layer.title,
      classes: s.codes.map((c) => ({ code: c, zh: this.classZh(s.layer.id, c) })),
    });
    const severities = (this.registry.byId.get('conflicts')?.classification.classes ?? []).map((c) => ({ code: c.code, zh: c.zh, en: c.en, color: c.color }));
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
      statuses: STATUSES.map(term),
      decisions: DECISIONS.map(term),
      transitions: TRANSITIONS,
    };
  }

  /** The rule a case belongs to (whose departments act on it); a rule since removed from the file: nobody's but an admin's. */
  async ruleOfCase(id: string): Promise<{ id: string; departments: string[] }> {
    const row = await this.knex('conflict_cases').where({ id }).first<{ rule_id: string } | undefined>('rule_id');
    if (!row) throw unknownCase(id);
    return this.rules.byId.get(row.rule_id) ?? { id: row.rule_id, departments: [] };
  }

  // --- changing ------------------------------------------------------------------------------------

  /** A status change against a known version of the case: 412 when stale, 409 when not allowed from its status. */
  async transition(id: string, req: TransitionRequest) {
    await this.knex.transaction(async (trx) => {
      const cur = await trx('conflict_cases').where({ id }).forUpdate().first<{ status: Status; version: number } | undefined>('status', 'version');
      if (!cur) throw unknownCase(id);
      if (cur.version !== req.version) {
        throw new AppError(412, 'version_conflict', `the case was changed by someone else (version ${cur.version}, your change was made against version ${req.version}); reload it and decide again`, {
          caseId: id,
          currentVersion: cur.version,
          currentStatus: cur.status,
        });
      }
      const allowed = TRANSITIONS[cur.status];
      if (!allowed.includes(req.to)) {
        throw new AppError(409, 'illegal_transition', `a case that is ${cur.status} cannot become ${req.to}; allowed: ${allowed.join(', ') || 'none'}`, {
          caseId: id,
          from: cur.status,
          to: req.to,
          allowed,
        });
      }
      // Coordinating records the decision and the opinions; reopening clears them.
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
    });
    return this.get(id);
  }

  /** A comment (already trimmed and checked by the body schema). */
  async comment(id: string, text: string, by: string) {
    const exists = await this.knex('conflict_cases').where({ id }).first('id');
    if (!exists) throw unknownCase(id);
    const [row] = await this.knex('conflict_case_events').insert({ case_id: id, actor: by, action: 'comment', comment: text }).returning(['id', 'at', 'actor', 'action', 'comment']);
    return row as Pick<CaseEventRecord, 'id' | 'at' | 'actor' | 'action' | 'comment'>;
  }

  // --- the queries behind them ---------------------------------------------------------------------

  /** Bound WHERE clause of a case listing (alias c: conflict_cases, r: conflict_rules). */
  private where(q: Knex.QueryBuilder, f: CaseFilter) {
    if (f.rule) q.where('c.rule_id', f.rule);
    if (f.adcode !== undefined) q.where('c.adcode', f.adcode);
    if (f.severity) q.where('r.severity', f.severity);
    if (f.kind) q.where('r.kind', f.kind);
    if (f.fid !== undefined) q.where('c.fid', f.fid);
    if (f.status) q.where('c.status', f.status);
    if (f.open !== undefined) q.whereIn('c.status', f.open ? OPEN_STATUSES : CLOSED_STATUSES);
    return q;
  }

  /** Case rows with their current (or, once gone, last) patch's sources, area and extent. */
  private base(geometry: boolean) {
    const k = this.knex;
    const cols = [
      'c.id', 'c.fid', 'c.rule_id', 'r.zh as rule_zh', 'r.en as rule_en', 'r.severity', 'r.kind', 'c.status', 'c.decision', 'c.reason',
      'c.district_opinion', 'c.city_opinion', k.raw(`to_char(c.effective_date, 'YYYY-MM-DD') AS effective_date`),
      k.raw('COALESCE(c.district, ?) AS district', [OUTSIDE_ZH]), 'c.adcode', 'c.a_layer', 'c.a_code', 'c.b_layer', 'c.b_code',
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

  /** A case row as the API shows it. */
  private shape(row: Record<string, unknown>): CaseRecord | CaseRecordWithGeometry {
    const side = (l: string, code: string, fid: unknown) => ({ layer: l, layer_zh: this.layerZh(l), fid: fid === null || fid === undefined ? null : Number(fid), code, class_zh: this.classZh(l, code) });
    const str = (k: string) => (row[k] === null || row[k] === undefined ? null : String(row[k]));
    const num = (k: string) => (row[k] === null || row[k] === undefined ? null : Number(row[k]));
    const status = row.status as Status;
    return {
      id: String(row.id),
      fid: Number(row.fid),
      rule_id: String(row.rule_id),
      rule_zh: String(row.rule_zh),
      rule_en: String(row.rule_en),
      severity: row.severity as Severity,
      kind: row.kind as Kind,
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
      allowed: [...TRANSITIONS[status]],
      ...(row.geometry !== undefined ? { geometry: row.geometry as CaseRecordWithGeometry['geometry'] } : {}),
    };
  }

  private classZh(layerId: string, code: string): string | null {
    return this.registry.byId.get(layerId)?.classification.classes.find((c) => c.code === code)?.zh ?? null;
  }

  private layerZh(layerId: string): string {
    return this.registry.byId.get(layerId)?.title.zh ?? layerId;
  }
}
