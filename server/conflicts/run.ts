// A run's record (conflict_runs) and its locks. Runs are serialised by a transaction-level advisory
// lock (any number of service instances and CLIs may ask for one: they take turns). While a run
// lives, its process also holds an advisory lock of its own (RUN_LOCKS, the run's id) on a
// connection of its own, which PostgreSQL lets go when that process or connection dies: so a run
// left 'running' by a killed process stops counting at once (conflict_run_dead in
// migrations/functions/conflicts.sql), and the next run records it as failed, 'interrupted'.
import type { Knex } from 'knex';
import { log } from '../platform/log';
import type { RunMode } from './vocabulary';

/** The advisory lock class of the runs' liveness locks (the object is the run's id). */
export const RUN_LOCKS = 20_261_128;
/** A run's row is written a moment before its lock is taken: rows younger than this count as alive. */
const DEAD_RUN_GRACE = '10 seconds';
/** The transaction-level advisory lock (hashtext of this) that serialises runs. */
const LOCK_KEY = 'onemap:conflicts';

/** What a run is asked for. */
export interface RunRequest {
  mode: RunMode;
  requestedBy: string;
  /** Why the run happens (the layers whose change triggered it, or a user's action). */
  trigger?: Record<string, unknown>;
}

/** SQL condition on conflict_runs: a run left 'running' by a process that is gone (values bound). */
const dead = (knex: Knex) => knex.raw('conflict_run_dead(conflict_runs.id, conflict_runs.status, conflict_runs.started_at, conflict_runs.finished_at, ?, ?::interval)', [RUN_LOCKS, DEAD_RUN_GRACE]);

type RunRow = Record<string, unknown> & { dead: boolean };

/** The latest runs, newest first, with whether each one's process is gone. */
export const readRuns = (knex: Knex, limit: number): Promise<RunRow[]> =>
  knex('conflict_runs').select('*', knex.raw('? AS dead', [dead(knex)])).orderBy('id', 'desc').limit(limit);

/** One run, with whether its process is gone. */
export const readRun = (knex: Knex, id: number): Promise<RunRow | undefined> => knex('conflict_runs').where({ id }).first('*', knex.raw('? AS dead', [dead(knex)]));

/** A run whose process died is shown as what the next run will record it as. */
export const asSeen = ({ dead: gone, ...run }: RunRow) => (gone ? { ...run, status: 'failed', error: 'interrupted' } : run);

/** The id of a run that is going on now (a live process holds it), if any. */
export async function liveRunningRun(knex: Knex): Promise<number | undefined> {
  const row = await knex('conflict_runs').where('status', 'running').whereNull('finished_at').whereRaw('NOT ?', [dead(knex)]).first<{ id: number } | undefined>('id');
  return row?.id;
}

/** Records a new run as running and takes its liveness lock; returns its id and what lets the lock go. */
export async function startRun(knex: Knex, req: RunRequest, ruleIds: string[]): Promise<{ id: number; release: () => Promise<void> }> {
  const [{ id }] = await knex('conflict_runs')
    .insert({ mode: req.mode, status: 'running', trigger: JSON.stringify(req.trigger ?? {}), requested_by: req.requestedBy, rules: ruleIds })
    .returning<{ id: number }[]>('id');
  return { id, release: await holdRunLock(knex, id) };
}

/** Waits for the runs before (the serialising lock, held until the transaction ends). */
export const takeTurn = (trx: Knex.Transaction) => trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [LOCK_KEY]);

/** Runs other than `id` left 'running' by a process that died are recorded as failed, interrupted. */
export const recordInterrupted = (trx: Knex.Transaction, id: number) =>
  trx('conflict_runs').whereNot({ id }).whereRaw('?', [dead(trx)]).update({ status: 'failed', error: 'interrupted', finished_at: trx.fn.now() });

/** A failed run, with PostgreSQL's message (the part after knex's copy of the statement). */
export async function recordFailure(knex: Knex, id: number, err: unknown, ms: number): Promise<void> {
  const message = (String((err as Error).message ?? err).split(' - ').pop() ?? '').slice(0, 2000);
  await knex('conflict_runs').where({ id }).update({ status: 'failed', error: message, finished_at: knex.fn.now(), duration_ms: ms }).catch(() => undefined);
}

/** Takes the run's liveness lock (RUN_LOCKS) on a pooled connection kept for the run; returns what lets both go. */
async function holdRunLock(knex: Knex, id: number): Promise<() => Promise<void>> {
  type Conn = { query(sql: string, values: unknown[]): Promise<unknown> };
  const client = knex.client as { acquireConnection(): Promise<Conn>; releaseConnection(c: Conn): Promise<unknown> };
  const conn = await client.acquireConnection();
  try {
    await conn.query('SELECT pg_advisory_lock($1, $2)', [RUN_LOCKS, id]);
  } catch (err) {
    await client.releaseConnection(conn);
    throw err;
  }
  return async () => {
    try {
      await conn.query('SELECT pg_advisory_unlock($1, $2)', [RUN_LOCKS, id]);
    } catch (err) {
      log.warn({ err, run: id }, 'conflicts: could not release the run lock');
    } finally {
      await client.releaseConnection(conn);
    }
  };
}
