// Database code (plpgsql and SQL functions, triggers) lives in migrations/functions/*.sql, each
// file the current definition of its topic, applied after the migrations on every start
// (server/platform/db.ts, applyDatabaseCode). This table records the sha256 of each file as last
// applied, so a start whose files are unchanged skips them: it does not rewrite functions and
// triggers (which takes locks on the tables) while other processes run.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE database_code (
  file text PRIMARY KEY,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
  await knex.raw(`COMMENT ON TABLE database_code IS 'migrations/functions/*.sql as last applied: file name and sha256 of its text'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS database_code');
}
