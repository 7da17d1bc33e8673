// A run's record (conflict_runs) and its locks. Runs are serialised by a transaction-level advisory
// lock (any number of service instances and CLIs may ask for one: they take turns). While a run
// lives, its process also holds an advisory lock of its own (RUN_LOCKS, the run's id) on a
// connection of its own, taken by the very statement that writes the run's row (so the row is
// never seen without its lock), which PostgreSQL lets go when that process or connection dies: so
// a run left 'running' by a killed process stops counting at once (conflict_run_dead in
// migrations/functions/conflicts.sql), and the next run, or the next start of the service
// (recordAllInterrupted), records it as failed, 'interrupted'.
import type { Knex } from 'knex';
import { log } from '../platform/log';
import type { RunMode } from './vocabulary';

/** The advisory lock class of the runs' liveness locks (the object is the run's id). */
export const RUN_LOCKS = 20_261_128;
/**
 * Rows younger than this count as alive. None: a row is written together with its lock
 * (startRun). (A process killed within seconds of starting a run, then restarted by its
 * supervisor, would otherwise find its run still "alive" at the start.)
 */
const DEAD_RUN_GRACE = '0 seconds';
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

/**
 * Records a new run as running and takes its liveness lock, in one statement on a pooled connection
 * kept for the run (the lock is a session lock: it outlives the statement's own transaction, and
 * the row is seen by others only once committed, the lock held by then); returns its id and what
 * lets the lock and the connection go.
 */
export async function startRun(knex: Knex, req: RunRequest, ruleIds: string[]): Promise<{ id: number; release: () => Promise<void> }> {
  type Conn = { query<R>(sql: string, values: unknown[]): Promise<{ rows: R[] }> };
  const client = knex.client as { acquireConnection(): Promise<Conn>; releaseConnection(c: Conn): Promise<unknown> };
  const conn = await client.acquireConnection();
  let id: number;
  try {
    const { rows } = await conn.query<{ id: number }>(
      `INSERT INTO conflict_runs (mode, status, trigger, requested_by, rules) VALUES ($1, 'running', $2, $3, $4)
       RETURNING id, pg_advisory_lock($5, id)`,
      [req.mode, JSON.stringify(req.trigger ?? {}), req.requestedBy, ruleIds, RUN_LOCKS],
    );
    id = rows[0].id;
  } catch (err) {
    await client.releaseConnection(conn);
    throw err;
  }
  return {
    id,
    release: async () => {
      try {
        await conn.query('SELECT pg_advisory_unlock($1, $2)', [RUN_LOCKS, id]);
      } catch (err) {
        log.warn({ err, run: id }, 'conflicts: could not release the run lock');
      } finally {
        await client.releaseConnection(conn);
      }
    },
  };
}

/** Waits for the runs before (the serialising lock, held until the transaction ends). */
export const takeTurn = (trx: Knex.Transaction) => trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [LOCK_KEY]);

/** Runs other than `id` left 'running' by a process that died are recorded as failed, interrupted. */
export const recordInterrupted = (trx: Knex.Transaction, id: number) =>
  trx('conflict_runs').whereNot({ id }).whereRaw('?', [dead(trx)]).update({ status: 'failed', error: 'interrupted', finished_at: trx.fn.now() });

/** Every run left 'running' by a process that died, recorded as failed, interrupted (at start-up); their ids. */
export async function recordAllInterrupted(knex: Knex): Promise<number[]> {
  const rows = await knex('conflict_runs').whereRaw('?', [dead(knex)]).update({ status: 'failed', error: 'interrupted', finished_at: knex.fn.now() }).returning<{ id: number }[]>('id');
  return rows.map((r) => r.id);
}

/** A failed run, with PostgreSQL's message (the part after knex's copy of the statement). */
export async function recordFailure(knex: Knex, id: number, err: unknown, ms: number): Promise<void> {
  const message = (String((err as Error).message ?? err).split(' - ').pop() ?? '').slice(0, 2000);
  await knex('conflict_runs').where({ id }).update({ status: 'failed', error: message, finished_at: knex.fn.now(), duration_ms: ms }).catch(() => undefined);
}
