// The outcome of a version, derived from its effective opinions (the last entry of each
// department's correction chain) after every opinion and correction: rejected as soon as one
// rejects; approved when every required department approves (with or without conditions);
// otherwise still under review. An approved site joins the approval data of the one map in the
// same transaction as the opinion that approved it.
import type { Knex } from 'knex';
import type { Account } from '../accounts/accounts';
import { sqlType } from '../layers/registry';
import { layerTable, quoteIdent } from '../platform/sql';
import { stagedCommit, stagedContentColumns } from '../revisions/commit';
import { recordEvent, touch } from './records';
import type { Routing } from './schemas';
import { APPROVALS_LAYER, type Decision, type Status } from './vocabulary';
import type { Applications } from './workflow';

/** Derives the current version's outcome and keeps it on the version and the application; `a` is whose opinion settled it. */
export async function settle(apps: Applications, trx: Knex.Transaction, id: number, a: Account): Promise<void> {
  const app = await trx('applications').where({ id }).first('current_version', 'status');
  const v = await trx('application_versions').where({ application_id: id, version: app.current_version }).first('required');
  const effective = await effectiveOpinions(trx, id, app.current_version);
  const required = (v.required as Routing[]).map((r) => r.department);
  let outcome: Status = 'under_review';
  if (effective.some((o) => o.decision === 'reject')) outcome = 'rejected';
  else if (required.every((d) => effective.some((o) => o.department === d))) outcome = 'approved';
  await trx('application_versions').where({ application_id: id, version: app.current_version }).update({ outcome });
  await touch(trx, id, { status: outcome });
  if (outcome === app.status) return;
  const event = { id, version: app.current_version, actor: 'system' };
  if (outcome === 'approved') {
    const published = await publishApproval(apps, trx, id, app.current_version, a);
    const conditions = effective.filter((o) => o.decision === 'conditional').length;
    await recordEvent(trx, { ...event, kind: 'approved', detail: { ...(published ? { approved_projects_revision: published } : {}), by: a.name, conditions } });
  } else if (outcome === 'rejected') {
    await recordEvent(trx, { ...event, kind: 'rejected', detail: { by: a.name, departments: effective.filter((o) => o.decision === 'reject').map((o) => o.department) } });
  }
}

/** The last entry of each department's correction chain on a version. */
async function effectiveOpinions(q: Knex, id: number, version: number): Promise<{ id: number; department: string; decision: Decision }[]> {
  return q('application_opinions as o')
    .where({ 'o.application_id': id, 'o.version': version })
    .whereNotExists((s) => s.select(1).from('application_opinions as n').whereRaw('n.corrects = o.id'))
    .select('o.id', 'o.department', 'o.decision');
}

/**
 * An approved site joins the approval data of the one map (registry layer approved_projects,
 * owned by the service centre): a new revision of that layer, in the same transaction as the
 * opinion that approved it, with the application's number as its approval number and the
 * approving reviewer as its author. Returns the revision, or null when the registry has no such layer.
 */
async function publishApproval(apps: Applications, trx: Knex.Transaction, id: number, version: number, a: Account): Promise<number | null> {
  const layer = apps.registry.byId.get(APPROVALS_LAYER);
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
     SELECT row_number() OVER (ORDER BY s.ord, s.fid) AS fid, s.code, s.geom, ${content.attrs.sql} AS _attrs, ${content.hash.sql} AS _hash
     FROM (SELECT 0 AS ord, fid, code, ${attrs.map(quoteIdent).join(', ')}, geom FROM ${layerTable(layer.id)}
           UNION ALL
           SELECT 1, 0, v.project_type, ${attrs.map((c) => `${fromApplication[c] ?? 'NULL'}::${sqlType[layer.attributes.find((x) => x.name === c)!.type]}`).join(', ')}, v.site
             FROM application_versions v JOIN applications a ON a.id = v.application_id
            WHERE v.application_id = ? AND v.version = ?) s`,
    [...content.attrs.bindings, ...content.hash.bindings, id, version],
  );
  const commit = stagedCommit(trx, layer, { kind: 'edit', createdBy: a.name, reason: `联动审批通过：${(await trx('applications').where({ id }).first('number')).number} 第${version}版` });
  await commit.add({ relation: 'approval_stage' });
  const result = await commit.finish();
  return result.revision;
}
