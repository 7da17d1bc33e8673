// The commands of the joint review (联动审批), each one transaction and each checked against its
// need (accounts/needs.ts) on the server, whoever calls it (the routes, the demo):
//   the window: submit (the check runs in the same transaction and routes the application to the
//     departments it needs, each with a deadline in working days), amend and resubmit (a new
//     version, checked again; opinions start anew), withdraw;
//   the departments: sign one opinion per version (同意 / 有条件同意 with conditions / 不同意 with a
//     reason), correct a signed one with a new entry naming it (a signed opinion is immutable).
// Each write locks the application's row first (records.ts); after an opinion the outcome is
// derived again (outcome.ts).
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Account } from '../accounts/accounts';
import { ensureAllowed } from '../accounts/authorize';
import { holdingTheChain } from '../audit/chain';
import { amendApplication, correctOpinion, reviewing, signOpinion, submitApplication, withdrawApplication, type UnderReview } from '../accounts/needs';
import { badRequest, conflict, notFound } from '../platform/errors';
import { beijingDate } from './calendar';
import { checkSite } from './check';
import { settle } from './outcome';
import { lock, recordEvent, submitters, touch, unknownApplication, type Locked } from './records';
import type { Amendment, CorrectionBody, NewApplication, OpinionBody, Routing, SiteInput } from './schemas';
import { siteGeometry, validateSite, type Site } from './site';
import type { Decision } from './vocabulary';
import type { Applications } from './workflow';

/** What a version says of the project. */
interface Fields {
  name: string;
  project_type: string;
  investor: string;
  requested_area_m2: number | null;
}

/** Reads and checks a site (nothing written). */
export async function readSite(apps: Applications, input: SiteInput): Promise<Site> {
  return validateSite(apps.knex, siteGeometry(input));
}

// --- the window ------------------------------------------------------------------------------------------

/** Submits a new application (a window clerk): checked and routed in the same transaction; its id. */
export async function submit(apps: Applications, account: Account, body: NewApplication): Promise<number> {
  ensureAllowed(account, submitApplication);
  const f: Fields = { name: body.name, investor: body.investor, project_type: body.project_type, requested_area_m2: body.requested_area_m2 ?? null };
  const site = await readSite(apps, body.site);
  return checked(apps.knex, async (trx) => {
    const [{ id }] = await trx('applications')
      .insert({ number: trx.raw("'pending-' || gen_random_uuid()"), status: 'under_review', current_version: 1, submitted_by: account.name })
      .returning('id');
    await trx('applications').where({ id }).update({ number: trx.raw("'DT-' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY') || '-' || lpad(id::text, 5, '0')") });
    await writeVersion(apps, trx, id, 1, account, f, site, null);
    await recordEvent(trx, { id, version: 1, kind: 'submitted', actor: account.name, detail: { name: f.name, project_type: f.project_type, site_area_m2: Math.round(site.area_m2 * 100) / 100 } });
    return id;
  });
}

/** Amends and resubmits (a window clerk): a new version with what changed, checked again; opinions start anew. */
export async function amend(apps: Applications, account: Account, id: number, body: Amendment): Promise<void> {
  ensureAllowed(account, amendApplication);
  const current = await currentFields(apps.knex, id);
  const f: Fields = {
    name: body.name ?? current.name,
    investor: body.investor ?? current.investor,
    project_type: body.project_type ?? current.project_type,
    requested_area_m2: body.requested_area_m2 === undefined ? current.requested_area_m2 : body.requested_area_m2,
  };
  // (a type taken out of layers/project-types.json since the last version must be changed too)
  if (!apps.types.byCode.has(f.project_type)) {
    throw badRequest('invalid_body', `'project_type': '${f.project_type}' is no longer a project type; expected one of ${apps.types.types.map((t) => t.code).join(', ')}`, { field: 'project_type' });
  }
  const site = body.site === undefined ? null : await readSite(apps, body.site);
  await checked(apps.knex, async (trx) => {
    const app = await lock(trx, id);
    if (app.status === 'approved') throw conflict('already_approved', `application ${app.number} is approved; a change is a new application`);
    if (body.expected_version !== undefined && body.expected_version !== app.current_version) {
      throw conflict('stale_version', `application ${app.number} is at version ${app.current_version}, not ${body.expected_version}`, { current_version: app.current_version });
    }
    const prev = await trx('application_versions').where({ application_id: id, version: app.current_version }).first();
    const useSite: Site = site ?? (await storedSite(trx, id, app.current_version, prev));
    const version = app.current_version + 1;
    if (prev.outcome === 'under_review') await trx('application_versions').where({ application_id: id, version: app.current_version }).update({ outcome: 'superseded' });
    await writeVersion(apps, trx, id, version, account, f, useSite, body.note);
    await touch(trx, id, { current_version: version, status: 'under_review' });
    await recordEvent(trx, { id, version, kind: 'resubmitted', actor: account.name, detail: { note: body.note, site_changed: site !== null, previous_outcome: app.status } });
  });
}

/** Withdraws (the window, or an admin); not once approved. */
export async function withdraw(apps: Applications, account: Account, id: number, body: { reason: string }): Promise<void> {
  ensureAllowed(account, withdrawApplication);
  await apps.knex.transaction(async (trx) => {
    const app = await lock(trx, id);
    if (app.status === 'approved' || app.status === 'withdrawn') throw conflict(`already_${app.status}`, `application ${app.number} is ${app.status}; it cannot be withdrawn`);
    await touch(trx, id, { status: 'withdrawn' });
    await trx('application_versions').where({ application_id: id, version: app.current_version }).update({ outcome: 'withdrawn' });
    await recordEvent(trx, { id, version: app.current_version, kind: 'withdrawn', actor: account.name, detail: { reason: body.reason } });
  });
}

// --- the departments -------------------------------------------------------------------------------------

/** Signs a department's opinion on the current version (a reviewer of a required department); the opinion's id. */
export async function sign(apps: Applications, account: Account, id: number, body: OpinionBody): Promise<number> {
  ensureAllowed(account, reviewing);
  return apps.knex.transaction(async (trx) => {
    const app = await lock(trx, id);
    const { version } = body;
    const v = await trx('application_versions').where({ application_id: id, version }).first('required');
    if (!v) throw notFound('unknown_version', `application ${app.number} has no version ${version}`);
    const required = (v.required as Routing[]).map((r) => apps.department(r.department));
    ensureAllowed(account, signOpinion(await underReview(trx, app), required));
    if (version !== app.current_version) throw conflict('stale_version', `version ${version} of ${app.number} was superseded by version ${app.current_version}; review the current one`, { current_version: app.current_version });
    if (app.status !== 'under_review') throw conflict('not_under_review', `application ${app.number} is ${app.status}; no more opinions are taken`, { status: app.status });
    const dept = account.department!;
    const already = await trx('application_opinions').where({ application_id: id, version, department: dept }).whereNull('corrects').first('id', 'author');
    if (already) throw conflict('already_signed', `${apps.deptZh(dept)} has already signed its opinion on ${app.number} version ${version} (opinion ${already.id} by ${already.author}); a change is a correction of it`, { opinion: already.id });
    const o = decision(body);
    const opinionId = await insertOpinion(trx, app, version, dept, account, o, null);
    await recordEvent(trx, { id, version, kind: 'opinion', actor: account.name, department: dept, detail: { opinion: opinionId, decision: o.decision, conditions: o.conditions, reason: o.reason } });
    await settle(apps, trx, id, account);
    return opinionId;
  });
}

/** Corrects a signed opinion with a new, linked entry (a reviewer of the same department); the new entry's id. */
export async function correct(apps: Applications, account: Account, id: number, opinionId: number, body: CorrectionBody): Promise<number> {
  ensureAllowed(account, reviewing);
  return apps.knex.transaction(async (trx) => {
    const app = await lock(trx, id);
    const prev = await trx('application_opinions').where({ id: opinionId, application_id: id }).first();
    if (!prev) throw notFound('unknown_opinion', `application ${app.number} has no opinion ${opinionId}`);
    ensureAllowed(account, correctOpinion(await underReview(trx, app), { id: opinionId, department: apps.department(prev.department) }));
    if (prev.version !== app.current_version) throw conflict('stale_version', `opinion ${opinionId} is on version ${prev.version}, superseded by version ${app.current_version}`);
    if (app.status !== 'under_review') throw conflict('not_under_review', `application ${app.number} is ${app.status}; its opinions are final`, { status: app.status });
    const next = await trx('application_opinions').where({ corrects: opinionId }).first('id');
    if (next) throw conflict('already_corrected', `opinion ${opinionId} was already corrected by opinion ${next.id}; correct the latest entry`, { corrected_by: next.id });
    const o = decision(body);
    const newId = await insertOpinion(trx, app, prev.version, prev.department, account, o, opinionId);
    await recordEvent(trx, {
      id, version: prev.version, kind: 'correction', actor: account.name, department: prev.department,
      detail: { opinion: newId, corrects: opinionId, decision: o.decision, conditions: o.conditions, reason: o.reason, note: o.note },
    });
    await settle(apps, trx, id, account);
    return newId;
  });
}

/** What an opinion records: conditions only with 有条件同意; absent texts as null. */
const decision = (b: OpinionBody | CorrectionBody) => ({
  decision: b.decision as Decision,
  conditions: b.decision === 'conditional' ? (b.conditions ?? null) : null,
  reason: b.reason ?? null,
  note: b.note ?? null,
});

/** The application as its reviews see it (for the needs). */
const underReview = async (trx: Knex.Transaction, app: Locked): Promise<UnderReview> => ({ number: app.number, submitters: await submitters(trx, app.id) });

async function insertOpinion(trx: Knex.Transaction, app: Locked, version: number, department: string, a: Account, o: ReturnType<typeof decision>, corrects: number | null): Promise<number> {
  const signedAt = new Date();
  // The signature covers what was decided, by whom, when, on which version of which application.
  const signature = createHash('sha256')
    .update(JSON.stringify([app.number, version, department, o.decision, o.conditions, o.reason, o.note, corrects, a.name, signedAt.toISOString()]))
    .digest('hex');
  const [{ id: opinionId }] = await trx('application_opinions')
    .insert({ application_id: app.id, version, department, ...o, corrects, author: a.name, author_id: a.id, signed_at: signedAt, signature })
    .returning('id');
  return opinionId as number;
}

// --- versions --------------------------------------------------------------------------------------------

/**
 * A transaction that runs a check: repeatable read, so every plan layer is read in one snapshot
 * (the revisions recorded are the ones read), holding the audit chain from before that snapshot
 * (audit/chain.ts: else its entries, written at commit, could fork the chain). When the
 * application's row changed after the snapshot began (an opinion landed meanwhile), PostgreSQL
 * refuses the lock with a serialization failure, or finds the opinion waiting for the chain
 * (a deadlock); the whole transaction is then run again, on a new snapshot (at most 5 times).
 */
async function checked<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await holdingTheChain(knex, fn);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== '40001' && code !== '40P01') || attempt >= 5) throw err;
    }
  }
}

/** Checks the site for the type, and writes the version with its check, routing, deadline and findings. */
async function writeVersion(apps: Applications, trx: Knex.Transaction, id: number, version: number, a: Account, f: Fields, site: Site, note: string | null) {
  const type = apps.types.byCode.get(f.project_type)!;
  const { check, findings } = await checkSite(trx, apps.registry, apps.types, type, site);
  const deadline = apps.calendar.addWorkdays(beijingDate(), type.deadline_days);
  await trx('application_versions').insert({
    application_id: id,
    version,
    ...f,
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

/** The fields of the current version (404 when there is no such application). */
async function currentFields(q: Knex, id: number): Promise<Fields> {
  const v = await q('application_versions as v')
    .join('applications as a', function () {
      this.on('a.id', 'v.application_id').andOn('a.current_version', 'v.version');
    })
    .where('a.id', id)
    .first('v.name', 'v.project_type', 'v.investor', 'v.requested_area_m2');
  if (!v) throw unknownApplication(id);
  return v;
}

/** A version's site as stored (an amendment that keeps the site checks it again). */
async function storedSite(trx: Knex.Transaction, id: number, version: number, prev: { site_source: Site['source']; site_input: Site['input']; site_area_m2: number }): Promise<Site> {
  const { rows } = await trx.raw<{ rows: { ewkb: string; geojson: string }[] }>(
    "SELECT encode(ST_AsEWKB(site), 'hex') AS ewkb, ST_AsGeoJSON(site, 9) AS geojson FROM application_versions WHERE application_id = ? AND version = ?",
    [id, version],
  );
  return { ewkb: rows[0].ewkb, geometry: JSON.parse(rows[0].geojson), area_m2: prev.site_area_m2, source: prev.site_source, input: prev.site_input, warnings: [] };
}
