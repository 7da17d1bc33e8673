// Audited writes in one snapshot. The chain is extended at commit by audit_append
// (migrations/functions/audit.sql), which reads the last entry under the advisory lock AUDIT_LOCK.
// A REPEATABLE READ transaction reads its first snapshot throughout: an entry another write
// committed after that snapshot is invisible to it, and it would chain to the entry before (a
// fork). Holding the lock from before the snapshot to the commit keeps every other append out
// meanwhile, so the snapshot's last entry is the chain's last entry; audit_append refuses a
// REPEATABLE READ append that does not hold it.
import type { Knex } from 'knex';
import type pg from 'pg';

/** The advisory lock (hashtext of this) that serialises the chain's appends. */
export const AUDIT_LOCK = 'onemap:audit';

/**
 * Runs `fn` in a REPEATABLE READ transaction on a connection that holds the chain's lock from
 * before the transaction began to after it ended. Other audited writes wait at their commit
 * meanwhile (keep `fn` short: a check, not an import).
 */
export async function holdingTheChain<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as pg.ClientBase;
  try {
    await connection.query('SELECT pg_advisory_lock(hashtext($1))', [AUDIT_LOCK]);
    try {
      return await knex.transaction(fn, { isolationLevel: 'repeatable read', connection });
    } finally {
      await connection.query('SELECT pg_advisory_unlock(hashtext($1))', [AUDIT_LOCK]).catch(() => undefined);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
