// Where a committing import puts its checked features until they are applied to the layer, so that
// no import creates tables of its own at run time (server/imports/stage.ts).
//
// An import COPYs each part of a delivery into import_sources and checks it from there in one
// statement that PostgreSQL runs in parallel workers (they can read a regular table, not a
// temporary one), into a temporary table of its session. A committing import does that in a helper
// session of its own while its transaction applies the part before (the two overlap); the
// transaction can only read what the helper has committed, so the checked content of a part goes
// into import_staging, the one table both sessions see. Every row carries its import (run_id) and
// part, and an import deletes its rows when it ends (a dry run's, never committed, go with its
// rollback). Unlogged: the rows are scratch (no WAL; lost in a crash, which also ends every
// import). import_runs names each running import's helper session (pid and start), so the next
// import deletes what a killed one left behind.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE UNLOGGED TABLE import_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  layer_id text NOT NULL,
  pid integer NOT NULL,
  backend_start timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
)`);
  await knex.raw(`COMMENT ON TABLE import_runs IS 'running imports: the helper session (pid, backend_start) that stages each; a run whose session is gone was killed'`);
  // One row per delivered feature as read: its index in the file, the class code, the attributes
  // (typed as the layer stores them; json, which COPY only checks: the check makes them jsonb in its
  // parallel workers), who it is for the report, the geometry in the source CRS.
  await knex.raw(`
CREATE UNLOGGED TABLE import_sources (
  run_id bigint NOT NULL,
  part integer NOT NULL,
  i integer NOT NULL,
  code text,
  attrs json NOT NULL,
  ref text,
  ref_num boolean,
  file smallint,
  g geometry NOT NULL
)`);
  await knex.raw(`COMMENT ON TABLE import_sources IS 'delivered features of running imports as read, by run (import_runs.id, 0 for a dry run) and part; deleted once checked'`);
  // One row per checked feature of a committing import, as the revision takes it (StagedContent in
  // server/revisions/commit.ts): position, code, attributes as jsonb, content hash, final geometry.
  await knex.raw(`
CREATE UNLOGGED TABLE import_staging (
  run_id bigint NOT NULL,
  part integer NOT NULL,
  fid bigint NOT NULL,
  code text,
  _attrs jsonb NOT NULL,
  _hash uuid NOT NULL,
  geom geometry NOT NULL
)`);
  await knex.raw(`COMMENT ON TABLE import_staging IS 'checked content of running imports, by run (import_runs.id) and part; deleted once applied'`);
  // A part is read by run, part and fid (joined to the layer's hashes by fid).
  await knex.raw('CREATE INDEX import_staging_part ON import_staging (run_id, part, fid)');
  // An import analyses both tables after each part, so that the planner knows how many rows a part
  // has: never analysed, it would take a part for a row or two, check it without parallel workers
  // and join it in nested loops. Statistics of the key columns only, on a small sample (300 rows).
  const statistics = (table: string, keys: string[], others: string[]) =>
    knex.raw(`ALTER TABLE ${table} ${[...keys.map((c) => `ALTER COLUMN ${c} SET STATISTICS 1`), ...others.map((c) => `ALTER COLUMN ${c} SET STATISTICS 0`)].join(', ')}`);
  await statistics('import_sources', ['run_id', 'part'], ['i', 'code', 'attrs', 'ref', 'ref_num', 'file', 'g']);
  await statistics('import_staging', ['run_id', 'part', 'fid'], ['code', '_attrs', '_hash', 'geom']);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS import_staging');
  await knex.raw('DROP TABLE IF EXISTS import_sources');
  await knex.raw('DROP TABLE IF EXISTS import_runs');
}
