// A change counter per layer, bumped by a statement trigger on every write to its table
// (insert, update, delete, truncate — whatever the path), announced with NOTIFY so every server
// instance drops cached tiles of that layer at once. Tile URLs and ETags carry this version.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE layer_versions (
  layer_id text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 1,
  changed_at timestamptz NOT NULL DEFAULT now()
)`);
  await knex.raw(`
CREATE FUNCTION plan_layer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_versions AS v (layer_id) VALUES (TG_TABLE_NAME)
  ON CONFLICT (layer_id) DO UPDATE SET version = v.version + 1, changed_at = now();
  PERFORM pg_notify('onemap_layer_changed', TG_TABLE_NAME);
  RETURN NULL;
END $$`);
  const { rows } = await knex.raw<{ rows: { table_name: string }[] }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'plan' ORDER BY table_name",
  );
  for (const { table_name: t } of rows) {
    await knex.raw(`INSERT INTO layer_versions (layer_id) VALUES (?) ON CONFLICT DO NOTHING`, [t]);
    await knex.raw(`CREATE TRIGGER "${t}_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan."${t}" FOR EACH STATEMENT EXECUTE FUNCTION plan_layer_changed()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  const { rows } = await knex.raw<{ rows: { table_name: string }[] }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'plan'");
  for (const { table_name: t } of rows) await knex.raw(`DROP TRIGGER IF EXISTS "${t}_changed" ON plan."${t}"`);
  await knex.raw('DROP FUNCTION IF EXISTS plan_layer_changed()');
  await knex.raw('DROP TABLE IF EXISTS layer_versions');
}
