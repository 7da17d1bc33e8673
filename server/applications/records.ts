// The rows every write of the joint review touches: the application's row, locked first (so two
// departments signing at once both land, one after the other), and the timeline, whose every
// event goes to the hash-chained audit trail at commit (migrations/…_applications.ts).
import type { Knex } from 'knex';
import { notFound } from '../platform/errors';
import type { EventDetail } from './schemas';
import type { EventKind, Status } from './vocabulary';

/** The application's row as the commands read it. */
export interface Locked {
  id: number;
  number: string;
  status: Status;
  current_version: number;
  submitted_by: string;
}

/** Locks the application's row for the transaction (404 when there is none). */
export async function lock(trx: Knex.Transaction, id: number): Promise<Locked> {
  const app = await trx('applications').where({ id }).forUpdate().first('id', 'number', 'status', 'current_version', 'submitted_by');
  if (!app) throw unknownApplication(id);
  return app as Locked;
}

export const unknownApplication = (id: number) => notFound('unknown_application', `application ${id} does not exist`, { applicationId: id });

/** Marks a write on the application's row: its status and the row version (its ETag). */
export async function touch(trx: Knex.Transaction, id: number, change: { status: Status; current_version?: number }): Promise<void> {
  await trx('applications').where({ id }).update({ ...change, updated_at: trx.fn.now(), row_version: trx.raw('row_version + 1') });
}

/** Records an event of the timeline (and so of the audit trail), its detail as its kind's schema says. */
export async function recordEvent<K extends EventKind>(trx: Knex.Transaction, e: { id: number; version: number; kind: K; actor: string; department?: string | null; detail: EventDetail<K> }): Promise<void> {
  await trx('application_events').insert({ application_id: e.id, version: e.version, kind: e.kind, actor: e.actor, department: e.department ?? null, detail: JSON.stringify(e.detail) });
}

/** Who submitted the versions of an application (nobody reviews what they submitted). */
export async function submitters(q: Knex | Knex.Transaction, id: number): Promise<string[]> {
  return q('application_versions').where({ application_id: id }).distinct('submitted_by').orderBy('submitted_by').pluck('submitted_by');
}
