-- Layer versions: the change counter of every plan layer (table layer_versions, migration
-- 20261126000003_layer_versions.ts). Tile URLs, tile caches and ETags are keyed to it, so it must
-- move on every write to a layer's table, whatever the path (import, restore, edit, demo load,
-- psql): a statement trigger on each table in schema "plan" bumps it.
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent.

-- Bumps the written table's version (creating its row on a first write) and announces the layer
-- on channel onemap_layer_changed, so every server instance drops that layer's cached tiles at once.
CREATE OR REPLACE FUNCTION plan_layer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_versions AS v (layer_id) VALUES (TG_TABLE_NAME)
  ON CONFLICT (layer_id) DO UPDATE SET version = v.version + 1, changed_at = now();
  PERFORM pg_notify('onemap_layer_changed', TG_TABLE_NAME);
  RETURN NULL;
END $$;

-- The trigger on every base table of schema "plan" (views such as plan.conflicts are bumped by
-- their writers, conflicts_bump), so a layer table added by a later migration gets it too.
DO $$
DECLARE
  t name;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'plan' AND c.relkind = 'r' ORDER BY c.relname
  LOOP
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION plan_layer_changed()', t || '_changed', t);
  END LOOP;
END $$;
