// Conflict detection: which layers the write log follows, as rows instead of triggers.
//
//   conflict_logged_layers  the layers whose writes conflict_dirty_log() records (the layers the
//                           rules read; each run keeps the list equal to them, by DML). The
//                           triggers themselves are now on every plan table, defined in
//                           migrations/functions/conflicts.sql, where before each run created and
//                           dropped them (DDL while the service ran, locking the tables).
//
// A database whose runs had put the triggers on some tables keeps following exactly those: their
// writes since the last run are in conflict_dirty, and the next run reads them as it would have.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE conflict_logged_layers (
  layer_id text PRIMARY KEY,
  since timestamptz NOT NULL DEFAULT now()
)`);
  await knex.raw(`COMMENT ON TABLE conflict_logged_layers IS 'layers whose writes the conflict write log (conflict_dirty) records: those the conflict rules read'`);
  await knex.raw(`
INSERT INTO conflict_logged_layers (layer_id)
SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'plan' AND t.tgname = c.relname || '_dirty_ins'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS conflict_logged_layers');
}
