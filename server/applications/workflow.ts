// The joint review's workflow (联动审批), with its rules enforced here, on the server:
//   submit (a window clerk) → the check runs in the same transaction and routes the application to
//   the departments it needs, each with a deadline in working days;
//   each required department's reviewer signs one opinion per version (同意 / 有条件同意 with
//   conditions / 不同意 with a reason); nobody reviews an application they submitted; a signed
//   opinion is immutable, a correction is a new entry naming the one it corrects;
//   the outcome is derived: rejected as soon as any effective opinion rejects, approved when every
//   required department's effective opinion approves (with or without conditions);
//   the window may withdraw, or amend and resubmit (a new version, checked again, opinions anew).
// Writes lock the application's row first, so two departments signing at once both land, in turn,
// and the same department signing twice gets 409.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Account } from '../accounts/accounts';
import { areaFigures } from '../layers/area';
import { sqlType, type Registry } from '../layers/registry';
import { stagedCommit, stagedContentColumns } from '../revisions/commit';
import { layerTable, quoteIdent } from '../platform/sql';
import { AppError, badRequest, notFound, type ErrorCode } from '../platform/errors';
import { beijingDate, type WorkCalendar } from './calendar';
import { checkSite, type Check, type Verdict } from './check';
import { siteGeometry, validateSite, type Site } from './site';
import type { ProjectTypes } from './types';

export const DECISIONS = [
  { code: 'approve', zh: '同意', en: 'Approve' },
  { code: 'conditional', zh: '有条件同意', en: 'Approve with conditions' },
  { code: 'reject', zh: '不同意', en: 'Reject' },
] as const;
export type Decision = (typeof DECISIONS)[number]['code'];
export const STATUSES = ['under_review', 'approved', 'rejected', 'withdrawn'] as const;
/** The registry layer approved sites are published to. */
export const APPROVALS_LAYER = 'approved_projects';
export type Status = (typeof STATUSES)[number];

export interface Opinion {
  id: number;
  version: number;
  department: string;
  decision: Decision;
  conditions: string | null;
  reason: string | null;
  note: string | null;
  author: string;
  author_name: string;
  signed_at: string;
  corrects: number | null;
  corrected_by: number | null;
  signature: string;
}

interface Fields {
  name: string;
  project_type: string;
  investor: string;
  requested_area_m2: number | null;
}

const conflict = (code: ErrorCode, message: string, details?: unknown) => new AppError(409, code, message, details);
/** 403 naming what is needed and who the account is. */
const forbidden = (a: Account, message: string, details: Record<string, unknown> = {}) =>
  new AppError(403, 'forbidden', `${message}; you are ${a.name} (${a.roles.join(', ')}${a.department ? ` of ${a.department}` : ''})`, {
    ...details,
    account: { name: a.name, roles: a.roles, department: a.department },
  });
const text = (v: unknown, field: string, max: number, required: boolean): string | null => {
  if (v === undefined || v === null || (typeof v === 'string' && !v.trim())) {
    if (required) throw badRequest('invalid_body', `'${field}': required`, { field });
    return null;
  }
  if (typeof v !== 'string' || v.length > max) throw badRequest('invalid_body', `'${field}': expected a text of up to ${max} characters`, { field });
  return v.trim();
};

export class Applications {
  constructor(
    readonly knex: Knex,
    readonly registry: Registry,
    readonly types: ProjectTypes,
    readonly calendar: WorkCalendar,
  ) {}

  private fields(body: Record<string, unknown>, base?: Fields): Fields {
    const name = text(body.name, 'name', 200, !base) ?? base!.name;
    const investor = text(body.investor, 'investor', 200, !base) ?? base!.investor;
    const project_type = body.project_type === undefined && base ? base.project_type : body.project_type;
    if (typeof project_type !== 'string' || !this.types.byCode.has(project_type)) {
      throw badRequest('invalid_body', `'project_type': expected one of ${this.types.types.map((t) => t.code).join(', ')}, got ${JSON.stringify(project_type)}`, { field: 'project_type' });
    }
    let requested = base && body.requested_area_m2 === undefined ? base.requested_area_m2 : (body.requested_area_m2 as number | null | undefined) ?? null;
    if (requested !== null && (typeof requested !== 'number' || !(requested > 0) || requested > 1e9)) {
      throw badRequest('invalid_body', "'requested_area_m2': expected the requested area in m² (a positive number)", { field: 'requested_area_m2' });
    }
    requested = requested === null ? null : Number(requested);
    return { name, investor, project_type, requested_area_m2: requested };
  }

  /** Reads and checks a site from a request body (nothing written). */
  async site(input: unknown): Promise<Site> {
    return validateSite(this.knex, siteGeometry(input));
  }

  /** Submits a new application (a window clerk). */
  async submit(account: Account, body: Record<string, unknown>): Promise<number> {
    if (!account.roles.includes('window_clerk')) throw forbidden(account, 'submitting an application needs a window clerk (市政务服务中心窗口)');
    const f = this.fields(body);
    const site = await this.site(body.site);
    return this.checked(async (trx) => {
      const [{ id }] = await trx('applications')
        .insert({ number: trx.raw("'pending-' || gen_random_uuid()"), status: 'under_review', current_version: 1, submitted_by: account.name })
        .returning('id');
      await trx('applications').where({ id }).update({ number: trx.raw("'DT-' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY') || '-' || lpad(id::text, 5, '0')") });
      await this.writeVersion(trx, id, 1, account, f, site, null);
      await this.event(trx, id, 1, 'submitted', account.name, null, { name: f.name, project_type: f.project_type, site_area_m2: Math.round(site.area_m2 * 100) / 100 });
      return id;
    });
  }

  /** Amends and resubmits (a window clerk): a new version, checked again; opinions start anew. */
  async amend(account: Account, id: number, body: Record<string, unknown>): Promise<void> {
    if (!account.roles.includes('window_clerk')) throw forbidden(account, 'amending an application needs a window clerk');
    const note = text(body.note, 'note', 2000, true)!;
    const current = await this.currentVersion(this.knex, id);
    const f = this.fields(body, current);
    const site = body.site === undefined ? null : await this.site(body.site);
    await this.checked(async (trx) => {
      const app = await this.lock(trx, id);
      if (app.status === 'approved') throw conflict('already_approved', `application ${app.number} is approved; a change is a new application`);
      if (body.expected_version !== undefined && body.expected_version !== app.current_version) {
        throw conflict('stale_version', `application ${app.number} is at version ${app.current_version}, not ${JSON.stringify(body.expected_version)}`, { current_version: app.current_version });
      }
      const prev = await trx('application_versions').where({ application_id: id, version: app.current_version }).first();
      const useSite: Site = site ?? (await this.storedSite(trx, id, app.current_version, prev));
      const version = app.current_version + 1;
      if (prev.outcome === 'under_review') await trx('application_versions').where({ application_id: id, version: app.current_version }).update({ outcome: 'superseded' });
      await this.writeVersion(trx, id, version, account, f, useSite, note);
      await trx('applications').where({ id }).update({ current_version: version, status: 'under_review', updated_at: trx.fn.now(), row_version: trx.raw('row_version + 1') });
      await this.event(trx, id, version, 'resubmitted', account.name, null, { note, site_changed: site !== null, previous_outcome: app.status });
    });
  }

  /**
   * A transaction that runs a check: repeatable read, so every plan layer is read in one snapshot
   * (the revisions recorded are the ones read). When the application's row changed after the
   * snapshot began (an opinion landed meanwhile), PostgreSQL refuses the lock with a serialization
   * failure; the whole transaction is then run again, on a new snapshot.
   */
  private async checked<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.knex.transaction(fn, { isolationLevel: 'repeatable read' });
      } catch (err) {
        if ((err as { code?: string }).code !== '40001' || attempt >= 5) throw err;
      }
    }
  }

  /** Withdraws (the window, or an admin). */
  async withdraw(account: Account, id: number, body: Record<string, unknown>): Promise<void> {
    if (!account.roles.includes('window_clerk') && !account.roles.includes('admin')) {
      throw forbidden(account, 'withdrawing an application needs a window clerk or an admin');
    }
    const reason = text(body.reason, 'reason', 2000, true)!;
    await this.knex.transaction(async (trx) => {
      const app = await this.lock(trx, id);
      if (app.status === 'approved' || app.status === 'withdrawn') throw conflict(`already_${app.status}`, `application ${app.number} is ${app.status}; it cannot be withdrawn`);
      await trx('applications').where({ id }).update({ status: 'withdrawn', updated_at: trx.fn.now(), row_version: trx.raw('row_version + 1') });
      await trx('application_versions').where({ application_id: id, version: app.current_version }).update({ outcome: 'withdrawn' });
      await this.event(trx, id, app.current_version, 'withdrawn', account.name, null, { reason });
    });
  }

  /** Signs a department's opinion on the current version (a reviewer of a required department). */
  async sign(account: Account, id: number, body: Record<string, unknown>): Promise<number> {
    const o = this.opinionBody(body, false);
    return this.knex.transaction(async (trx) => {
      const app = await this.lock(trx, id);
      const version = body.version;
      if (typeof version !== 'number' || !Number.isInteger(version)) throw badRequest('invalid_body', "'version': expected the version number the opinion is on", { field: 'version' });
      const v = await trx('application_versions').where({ application_id: id, version }).first('required', 'submitted_by');
      if (!v) throw notFound('unknown_version', `application ${app.number} has no version ${version}`);
      await this.mayReview(trx, account, app, v.required as { department: string }[]);
      if (version !== app.current_version) throw conflict('stale_version', `version ${version} of ${app.number} was superseded by version ${app.current_version}; review the current one`, { current_version: app.current_version });
      if (app.status !== 'under_review') throw conflict('not_under_review', `application ${app.number} is ${app.status}; no more opinions are taken`, { status: app.status });
      const dept = account.department!;
      const already = await trx('application_opinions').where({ application_id: id, version, department: dept }).whereNull('corrects').first('id', 'author');
      if (already) throw conflict('already_signed', `${this.deptZh(dept)} has already signed its opinion on ${app.number} version ${version} (opinion ${already.id} by ${already.author}); a change is a correction of it`, { opinion: already.id });
      const opinionId = await this.insertOpinion(trx, app.number, id, version, dept, account, o, null);
      await this.event(trx, id, version, 'opinion', account.name, dept, { opinion: opinionId, decision: o.decision, conditions: o.conditions, reason: o.reason });
      await this.settle(trx, id, account);
      return opinionId;
    });
  }

  /** Corrects a signed opinion with a new, linked entry (a reviewer of the same department). */
  async correct(account: Account, id: number, opinionId: number, body: Record<string, unknown>): Promise<number> {
    const o = this.opinionBody(body, true);
    return this.knex.transaction(async (trx) => {
      const app = await this.lock(trx, id);
      const prev = await trx('application_opinions').where({ id: opinionId, application_id: id }).first();
      if (!prev) throw notFound('unknown_opinion', `application ${app.number} has no opinion ${opinionId}`);
      const v = await trx('application_versions').where({ application_id: id, version: prev.version }).first('required');
      await this.mayReview(trx, account, app, v.required, prev.department);
      if (prev.version !== app.current_version) throw conflict('stale_version', `opinion ${opinionId} is on version ${prev.version}, superseded by version ${app.current_version}`);
      if (app.status !== 'under_review') throw conflict('not_under_review', `application ${app.number} is ${app.status}; its opinions are final`, { status: app.status });
      const next = await trx('application_opinions').where({ corrects: opinionId }).first('id');
      if (next) throw conflict('already_corrected', `opinion ${opinionId} was already corrected by opinion ${next.id}; correct the latest entry`, { corrected_by: next.id });
      const newId = await this.insertOpinion(trx, app.number, id, prev.version, prev.department, account, o, opinionId);
      await this.event(trx, id, prev.version, 'correction', account.name, prev.department, { opinion: newId, corrects: opinionId, decision: o.decision, conditions: o.conditions, reason: o.reason, note: o.note });
      await this.settle(trx, id, account);
      return newId;
    });
  }

  private opinionBody(body: Record<string, unknown>, correction: boolean) {
    const decision = body.decision as Decision;
    if (!DECISIONS.some((d) => d.code === decision)) throw badRequest('invalid_body', `'decision': expected approve (同意), conditional (有条件同意) or reject (不同意), got ${JSON.stringify(body.decision)}`, { field: 'decision' });
    const conditions = text(body.conditions, 'conditions', 4000, decision === 'conditional');
    const reason = text(body.reason, 'reason', 4000, decision === 'reject');
    const note = text(body.note, 'note', 2000, correction);
    return { decision, conditions: decision === 'conditional' ? conditions : null, reason, note };
  }

  /** Only a reviewer of a required department, never the submitter of any version, never the window. */
  private async mayReview(trx: Knex.Transaction, a: Account, app: { id: number; number: string }, required: { department: string }[], department?: string) {
    if (!a.roles.includes('reviewer') || !a.department) {
      throw forbidden(a, "an opinion is signed by a department's reviewer");
    }
    if (department && department !== a.department) {
      throw forbidden(a, `this opinion is ${this.deptZh(department)}'s; only its reviewers correct it`);
    }
    if (!required.some((r) => r.department === a.department)) {
      throw forbidden(a, `${app.number} does not go to ${this.deptZh(a.department)}; it goes to ${required.map((r) => this.deptZh(r.department)).join('、')}`, { required: required.map((r) => r.department) });
    }
    const own = await trx('application_versions').where({ application_id: app.id, submitted_by_id: a.id }).first('version');
    if (own) throw forbidden(a, `nobody reviews an application they submitted, and ${a.name} submitted ${app.number} (version ${own.version})`);
  }

  private async insertOpinion(trx: Knex.Transaction, number: string, id: number, version: number, department: string, a: Account, o: ReturnType<Applications['opinionBody']>, corrects: number | null) {
    const signedAt = new Date();
    // The signature covers what was decided, by whom, when, on which version of which application.
    const signature = createHash('sha256')
      .update(JSON.stringify([number, version, department, o.decision, o.conditions, o.reason, o.note, corrects, a.name, signedAt.toISOString()]))
      .digest('hex');
    const [{ id: opinionId }] = await trx('application_opinions')
      .insert({ application_id: id, version, department, decision: o.decision, conditions: o.conditions, reason: o.reason, note: o.note, corrects, author: a.name, author_id: a.id, signed_at: signedAt, signature })
      .returning('id');
    return opinionId as number;
  }

  /** Derives the outcome of the current version from its effective opinions. */
  private async settle(trx: Knex.Transaction, id: number, a: Account) {
    const app = await trx('applications').where({ id }).first('current_version', 'status');
    const v = await trx('application_versions').where({ application_id: id, version: app.current_version }).first('required');
    const effective = await this.effectiveOpinions(trx, id, app.current_version);
    const required = (v.required as { department: string }[]).map((r) => r.department);
    let outcome: Status = 'under_review';
    if (effective.some((o) => o.decision === 'reject')) outcome = 'rejected';
    else if (required.every((d) => effective.some((o) => o.department === d))) outcome = 'approved';
    await trx('application_versions').where({ application_id: id, version: app.current_version }).update({ outcome });
    await trx('applications').where({ id }).update({ status: outcome, updated_at: trx.fn.now(), row_version: trx.raw('row_version + 1') });
    if (outcome !== 'under_review' && outcome !== app.status) {
      const published = outcome === 'approved' ? await this.publishApproval(trx, id, app.current_version, a) : null;
      await this.event(trx, id, app.current_version, outcome === 'approved' ? 'approved' : 'rejected', 'system', null, {
        ...(published ? { approved_projects_revision: published } : {}),
        by: a.name,
        ...(outcome === 'rejected' ? { departments: effective.filter((o) => o.decision === 'reject').map((o) => o.department) } : { conditions: effective.filter((o) => o.decision === 'conditional').length }),
      });
    }
  }

  /**
   * An approved site joins the approval data of the one map (registry layer approved_projects,
   * owned by the service centre): a new revision of that layer, in the same transaction as the
   * opinion that approved it, with the application's number as its approval number. Returns the
   * revision, or null when the registry has no such layer.
   */
  private async publishApproval(trx: Knex.Transaction, id: number, version: number, a: Account): Promise<number | null> {
    const layer = this.registry.byId.get(APPROVALS_LAYER);
    if (!layer || layer.derived) return null;
    const attrs = layer.attributes.map((x) => x.name);
    // What an application gives each attribute of the layer (others stay empty).
    const fromApplication: Record<string, string> = {
      name: 'v.name',
      approval_no: 'a.number',
      approved_on: "(now() AT TIME ZONE 'Asia/Shanghai')::date",
      investor: 'v.investor',
    };
    const missing = layer.attributes.filter((x) => x.required && !fromApplication[x.name]).map((x) => x.name);
    if (missing.length) throw new Error(`layer ${layer.id} requires ${missing.join(', ')}, which an application does not give`);
    const content = stagedContentColumns(layer, 's', 's.geom');
    await trx.raw(`DROP TABLE IF EXISTS approval_stage`);
    await trx.raw(
      `CREATE TEMP TABLE approval_stage ON COMMIT DROP AS
       SELECT row_number() OVER (ORDER BY s.ord, s.fid) AS fid, s.code, ${attrs.map((c) => `s.${quoteIdent(c)}`).join(', ')}, s.geom, ${content.sql}
       FROM (SELECT 0 AS ord, fid, code, ${attrs.map(quoteIdent).join(', ')}, geom FROM ${layerTable(layer.id)}
             UNION ALL
             SELECT 1, 0, v.project_type, ${attrs.map((c) => `${fromApplication[c] ?? 'NULL'}::${sqlType[layer.attributes.find((x) => x.name === c)!.type]}`).join(', ')}, v.site
               FROM application_versions v JOIN applications a ON a.id = v.application_id
              WHERE v.application_id = ? AND v.version = ?) s`,
      [...content.bindings, id, version],
    );
    const commit = stagedCommit(trx, layer, { kind: 'edit', createdBy: a.name, reason: `联动审批通过：${(await trx('applications').where({ id }).first('number')).number} 第${version}版` });
    await commit.add({ table: 'approval_stage' });
    const result = await commit.finish();
    return result.revision;
  }

  /** The last entry of each department's correction chain on a version. */
  private async effectiveOpinions(q: Knex, id: number, version: number): Promise<{ id: number; department: string; decision: Decision }[]> {
    return q('application_opinions as o')
      .where({ 'o.application_id': id, 'o.version': version })
      .whereNotExists((s) => s.select(1).from('application_opinions as n').whereRaw('n.corrects = o.id'))
      .select('o.id', 'o.department', 'o.decision');
  }

  private async lock(trx: Knex.Transaction, id: number) {
    const app = await trx('applications').where({ id }).forUpdate().first('id', 'number', 'status', 'current_version', 'submitted_by');
    if (!app) throw notFound('unknown_application', `application ${id} does not exist`, { applicationId: id });
    return app as { id: number; number: string; status: Status; current_version: number; submitted_by: string };
  }

  private async currentVersion(q: Knex, id: number): Promise<Fields> {
    const v = await q('application_versions as v')
      .join('applications as a', function () {
        this.on('a.id', 'v.application_id').andOn('a.current_version', 'v.version');
      })
      .where('a.id', id)
      .first('v.name', 'v.project_type', 'v.investor', 'v.requested_area_m2');
    if (!v) throw notFound('unknown_application', `application ${id} does not exist`, { applicationId: id });
    return v;
  }

  private async storedSite(trx: Knex.Transaction, id: number, version: number, prev: { site_source: Site['source']; site_input: Record<string, unknown>; site_area_m2: number }): Promise<Site> {
    const { rows } = await trx.raw<{ rows: { ewkb: string; geojson: string }[] }>(
      "SELECT encode(ST_AsEWKB(site), 'hex') AS ewkb, ST_AsGeoJSON(site, 9) AS geojson FROM application_versions WHERE application_id = ? AND version = ?",
      [id, version],
    );
    return { ewkb: rows[0].ewkb, geometry: JSON.parse(rows[0].geojson), area_m2: prev.site_area_m2, source: prev.site_source, input: prev.site_input, warnings: [] };
  }

  private async writeVersion(trx: Knex.Transaction, id: number, version: number, a: Account, f: Fields, site: Site, note: string | null) {
    const type = this.types.byCode.get(f.project_type)!;
    const { check, findings } = await checkSite(trx, this.registry, this.types, type, site);
    const today = beijingDate();
    const deadline = this.calendar.addWorkdays(today, type.deadline_days);
    await trx('application_versions').insert({
      application_id: id,
      version,
      name: f.name,
      project_type: f.project_type,
      investor: f.investor,
      requested_area_m2: f.requested_area_m2,
      site: trx.raw("ST_GeomFromEWKB(decode(?, 'hex'))", [site.ewkb]),
      site_area_m2: site.area_m2,
      site_source: site.source,
      site_input: JSON.stringify(site.input),
      note,
      submitted_by: a.name,
      submitted_by_id: a.id,
      deadline,
      verdict: check.verdict,
      check: JSON.stringify(check),
      required: JSON.stringify(check.required),
      outcome: 'under_review',
    });
    for (const x of findings) {
      await trx('application_findings').insert({ application_id: id, version, kind: x.kind, ref: x.ref, area_m2: x.area_m2, geom: trx.raw("ST_GeomFromEWKB(decode(?, 'hex'))", [x.ewkb]) });
    }
  }

  private async event(trx: Knex.Transaction, id: number, version: number, kind: string, actor: string, department: string | null, detail: Record<string, unknown>) {
    await trx('application_events').insert({ application_id: id, version, kind, actor, department, detail: JSON.stringify(detail) });
  }

  deptZh(id: string): string {
    return this.registry.departments.find((d) => d.id === id)?.zh ?? id;
  }

  /**
   * Runs a version's check again: against the plan revisions it recorded (read from the snapshot
   * store: the same result, or the differences if anything was lost), or against the plans as they
   * are now (what changed since the application was checked). Nothing is written.
   */
  async recheck(id: number, version: number, against: 'recorded' | 'current') {
    const { rows } = await this.knex.raw<{ rows: { ewkb: string; site_area_m2: number; project_type: string; check: Check }[] }>(
      "SELECT encode(ST_AsEWKB(site), 'hex') AS ewkb, site_area_m2, project_type, \"check\" FROM application_versions WHERE application_id = ? AND version = ?",
      [id, version],
    );
    if (!rows.length) throw notFound('unknown_version', `application ${id} has no version ${version}`);
    const v = rows[0];
    const stored = v.check;
    const type = this.types.byCode.get(v.project_type);
    if (!type) throw conflict('unknown_project_type', `project type '${v.project_type}' is no longer in layers/project-types.json`);
    if (against === 'recorded') {
      const recorded = Object.entries(stored.revisions).filter(([, r]) => r !== null) as [string, number][];
      const { rows: kept } = await this.knex.raw<{ rows: { layer_id: string; revision: number; content_kept: boolean }[] }>(
        'SELECT layer_id, revision, content_kept FROM layer_revisions WHERE (layer_id, revision) IN (SELECT x ->> 0, (x ->> 1)::int FROM jsonb_array_elements(?::jsonb) x)',
        [JSON.stringify(recorded)],
      );
      const lost = recorded.filter(([l, r]) => !kept.some((k) => k.layer_id === l && k.revision === r && k.content_kept));
      if (lost.length) throw conflict('content_not_kept', `the content of ${lost.map(([l, r]) => `${l}@${r}`).join(', ')} is not kept; the check cannot be reproduced`, { revisions: lost });
    }
    const { check } = await checkSite(this.knex, this.registry, this.types, type, { ewkb: v.ewkb, area_m2: v.site_area_m2 }, against === 'recorded' ? stored.revisions : undefined);
    const differences = compareChecks(stored, check);
    return { against, reproduced: differences.length === 0, differences, stored_revisions: stored.revisions, check };
  }

  // ——— reads ———

  /** One application with its current version, versions, opinions and timeline. */
  async get(id: number) {
    const app = await this.knex('applications').where({ id }).first();
    if (!app) throw notFound('unknown_application', `application ${id} does not exist`, { applicationId: id });
    const versions = await this.knex('application_versions').where({ application_id: id }).orderBy('version')
      .select('version', 'name', 'project_type', 'investor', 'requested_area_m2', 'site_area_m2', 'site_source', 'site_input', 'note', 'submitted_by', 'submitted_at', this.knex.raw('deadline::text AS deadline'), 'verdict', 'check', 'required', 'outcome');
    const opinions = await this.opinions(id);
    const events = await this.knex('application_events').where({ application_id: id }).orderBy('id').select('at', 'actor', 'kind', 'version', 'department', 'detail');
    const today = beijingDate();
    const cur = versions.find((v) => v.version === app.current_version)!;
    return {
      id: app.id,
      number: app.number,
      status: app.status as Status,
      version: app.current_version,
      row_version: app.row_version,
      submitted_by: app.submitted_by,
      created_at: app.created_at,
      updated_at: app.updated_at,
      current: this.versionView(cur, opinions, today, app.status),
      versions: versions.map((v) => ({ version: v.version, name: v.name, project_type: v.project_type, submitted_at: v.submitted_at, submitted_by: v.submitted_by, note: v.note, verdict: v.verdict, outcome: v.outcome })),
      opinions,
      timeline: events.map((e) => ({ at: e.at, actor: e.actor, kind: e.kind, version: e.version, department: e.department ?? undefined, detail: e.detail })),
    };
  }

  /** A version as the client sees it (any version: GET …/:id/versions/:v). */
  async version(id: number, version: number) {
    const app = await this.knex('applications').where({ id }).first('status', 'current_version');
    const v = await this.knex('application_versions').where({ application_id: id, version }).first('*', this.knex.raw('deadline::text AS deadline'));
    if (!app || !v) throw notFound('unknown_version', `application ${id} has no version ${version}`);
    return this.versionView(v, await this.opinions(id), beijingDate(), version === app.current_version ? app.status : v.outcome);
  }

  private versionView(v: Record<string, any>, opinions: Opinion[], today: string, status: string) {
    const effective = opinions.filter((o) => o.version === v.version && o.corrected_by === null);
    const deadline = v.deadline as string;
    const area = areaFigures(v.site_area_m2);
    return {
      version: v.version,
      name: v.name,
      project_type: v.project_type,
      investor: v.investor,
      requested_area_m2: v.requested_area_m2,
      site_source: v.site_source,
      site_input: v.site_input,
      site_area_m2: area.area_m2,
      site_area_ha: area.area_ha,
      site_area_mu: area.area_mu,
      submitted_by: v.submitted_by,
      submitted_at: v.submitted_at,
      note: v.note,
      deadline,
      /** Working days until the deadline (negative: overdue). */
      days_left: this.calendar.workdaysLeft(today, deadline),
      outcome: v.outcome,
      verdict: v.verdict as Verdict,
      check: v.check as Check,
      required: (v.required as { department: string; reasons: string[] }[]).map((r) => {
        const d = this.registry.departments.find((x) => x.id === r.department);
        const opinion = effective.find((o) => o.department === r.department) ?? null;
        return { department: r.department, zh: d?.zh ?? r.department, en: d?.en ?? r.department, reasons: r.reasons, deadline, days_left: this.calendar.workdaysLeft(today, deadline), overdue: !opinion && status === 'under_review' && today > deadline, opinion };
      }),
    };
  }

  private async opinions(id: number): Promise<Opinion[]> {
    const rows = await this.knex('application_opinions as o')
      .join('accounts as a', 'a.id', 'o.author_id')
      .leftJoin('application_opinions as n', 'n.corrects', 'o.id')
      .where('o.application_id', id)
      .orderBy('o.id')
      .select('o.id', 'o.version', 'o.department', 'o.decision', 'o.conditions', 'o.reason', 'o.note', 'o.author', 'a.display_name as author_name', 'o.signed_at', 'o.corrects', 'n.id as corrected_by', 'o.signature');
    return rows.map((r: Opinion & { signed_at: Date }) => ({ ...r, signed_at: r.signed_at.toISOString() }));
  }

  /** Summaries for lists and inboxes. */
  async list(opts: { status?: Status; department?: string; waitingOnly?: boolean; limit: number; offset: number }) {
    const q = this.knex('applications as a')
      .join('application_versions as v', function () {
        this.on('v.application_id', 'a.id').andOn('v.version', 'a.current_version');
      })
      .modify((b) => {
        if (opts.status) b.where('a.status', opts.status);
        if (opts.department) {
          b.whereRaw("v.required @> jsonb_build_array(jsonb_build_object('department', ?::text))", [opts.department]);
          if (opts.waitingOnly) {
            b.where('a.status', 'under_review').whereNotExists((s) =>
              s.select(1).from('application_opinions as o').whereRaw('o.application_id = a.id AND o.version = a.current_version AND o.department = ?', [opts.department!]),
            );
          }
        }
      });
    const [{ n }] = await q.clone().count({ n: '*' });
    const rows = await q
      .clone()
      .orderBy(opts.waitingOnly ? 'v.deadline' : 'a.id', opts.waitingOnly ? 'asc' : 'desc')
      .limit(opts.limit)
      .offset(opts.offset)
      .select('a.id', 'a.number', 'a.status', 'a.current_version as version', 'v.name', 'v.project_type', 'v.investor', 'v.site_area_m2', 'v.verdict', 'v.submitted_by', 'v.submitted_at', this.knex.raw('v.deadline::text AS deadline'), 'v.required',
        this.knex.raw('(SELECT coalesce(jsonb_agg(DISTINCT o.department), \'[]\') FROM application_opinions o WHERE o.application_id = a.id AND o.version = a.current_version) AS signed'));
    const today = beijingDate();
    return {
      total: Number(n),
      items: (rows as Record<string, any>[]).map((r) => {
        const deadline = r.deadline as string;
        const waiting = r.status === 'under_review' ? (r.required as { department: string }[]).map((x) => x.department).filter((d) => !(r.signed as string[]).includes(d)) : [];
        return {
          id: r.id, number: r.number, status: r.status, version: r.version, name: r.name, project_type: r.project_type, investor: r.investor,
          site_area_ha: areaFigures(r.site_area_m2).area_ha, verdict: r.verdict, submitted_by: r.submitted_by, submitted_at: r.submitted_at, deadline,
          waiting_for: waiting, overdue: waiting.length > 0 && today > deadline, days_left: this.calendar.workdaysLeft(today, deadline),
        };
      }),
    };
  }

  /** The site and the check's overlaps of a version, as GeoJSON for the map. */
  async map(id: number, version?: number) {
    const app = await this.knex('applications').where({ id }).first('current_version', 'number');
    if (!app) throw notFound('unknown_application', `application ${id} does not exist`, { applicationId: id });
    const v = version ?? app.current_version;
    const { rows } = await this.knex.raw<{ rows: { fc: Record<string, unknown> | null }[] }>(
      `SELECT jsonb_build_object('type', 'FeatureCollection', 'features', jsonb_agg(f ORDER BY ord)) AS fc FROM (
         SELECT 0 AS ord, jsonb_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(site, 8)::jsonb,
                'properties', jsonb_build_object('role', 'site', 'number', ?::text, 'version', version, 'name', name, 'area_ha', round((site_area_m2 / 10000)::numeric, 4))) AS f
           FROM application_versions WHERE application_id = ? AND version = ?
         UNION ALL
         SELECT CASE x.kind WHEN 'rule' THEN 1 ELSE 2 END, jsonb_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(x.geom, 8)::jsonb,
                'properties', jsonb_build_object('role', x.kind, 'id', x.ref, 'rule', CASE WHEN x.kind = 'rule' THEN x.ref END, 'area_ha', round((x.area_m2 / 10000)::numeric, 4)))
           FROM application_findings x WHERE x.application_id = ? AND x.version = ?) s`,
      [app.number, id, v, id, v],
    );
    const fc = rows[0].fc as { features: { properties: Record<string, unknown> }[] } | null;
    if (!fc?.features) throw notFound('unknown_version', `application ${id} has no version ${v}`);
    // Names of the rules and zones, from the stored check (what they were called when checked).
    const check = (await this.knex('application_versions').where({ application_id: id, version: v }).first('check')).check as Check;
    for (const f of fc.features) {
      const p = f.properties;
      if (p.role === 'rule') {
        const r = check.rules.find((x) => x.rule === p.id);
        Object.assign(p, { zh: r?.zh, en: r?.en, severity: r?.severity, layer: r?.layer });
      } else if (p.role === 'alert') {
        const a = check.alerts.find((x) => x.id === p.id);
        Object.assign(p, { zh: a?.zh, en: a?.en, layer: a?.layer });
      }
    }
    return fc;
  }
}

/** One difference between two checks of a site: what, its names, the value before and after (areas in m²; null: absent). */
export interface CheckDifference {
  what: 'verdict' | 'rule' | 'zone' | 'class' | 'departments';
  key: string;
  zh: string;
  en: string;
  before: number | string | null;
  after: number | string | null;
  /** The same in one English line. */
  text: string;
}

/** Where two checks of one site differ: verdict, rules, zones, per-layer class areas (1 mm² or 1e-9 relative), routing. */
export function compareChecks(a: Check, b: Check): CheckDifference[] {
  const out: CheckDifference[] = [];
  const same = (x: number, y: number) => Math.abs(x - y) <= Math.max(1e-6, 1e-9 * Math.max(Math.abs(x), Math.abs(y)));
  const m2 = (x: number | null) => (x === null ? 'absent' : `${x.toFixed(2)} m²`);
  if (a.verdict !== b.verdict) out.push({ what: 'verdict', key: 'verdict', zh: '综合结论', en: 'verdict', before: a.verdict, after: b.verdict, text: `verdict: ${a.verdict} → ${b.verdict}` });
  type Named = { area_m2: number; zh: string; en: string };
  const pairs = (what: 'rule' | 'zone' | 'class', x: Map<string, Named>, y: Map<string, Named>) => {
    for (const k of new Set([...x.keys(), ...y.keys()])) {
      const p = x.get(k), q = y.get(k);
      const before = p?.area_m2 ?? null, after = q?.area_m2 ?? null;
      if (before !== null && after !== null && same(before, after)) continue;
      const n = (p ?? q)!;
      const text = before === null ? `${what} ${k}: new (${m2(after)})` : after === null ? `${what} ${k}: gone (was ${m2(before)})` : `${what} ${k}: ${m2(before)} → ${m2(after)}`;
      out.push({ what, key: k, zh: n.zh, en: n.en, before, after, text });
    }
  };
  pairs('rule', new Map(a.rules.map((r) => [r.rule, r])), new Map(b.rules.map((r) => [r.rule, r])));
  pairs('zone', new Map(a.alerts.map((r) => [r.id, r])), new Map(b.alerts.map((r) => [r.id, r])));
  const classes = (c: Check) => new Map(c.plans.flatMap((p) => p.layers.flatMap((l) => l.classes.map((k) => [`${l.layer}/${k.code}`, { area_m2: k.area_m2, zh: `${l.zh}·${k.zh}`, en: `${l.en}: ${k.en}` }] as const))));
  pairs('class', classes(a), classes(b));
  const deps = (c: Check) => c.required.map((r) => r.department).sort().join(',');
  if (deps(a) !== deps(b)) out.push({ what: 'departments', key: 'departments', zh: '审查部门', en: 'departments', before: deps(a), after: deps(b), text: `departments: ${deps(a)} → ${deps(b)}` });
  return out;
}
