-- Conflict detection (差异图斑): the database code of server/conflicts/ (tables in migrations
-- 20261128000001_conflicts.ts, 20261201000001_conflict_source_keys.ts and
-- 20261203000001_conflicts_logged_layers.ts).
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent.

-- The write log. Which features of the layers some rule reads were written since the last run:
-- an incremental run reads conflict_dirty instead of comparing whole layers, and consumes exactly
-- the rows it saw. Statement triggers with transition tables log the fids of the rows written
-- ('-' old, '+' new; 'T' truncate) of the layers listed in conflict_logged_layers, which each run
-- keeps equal to the layers its rules read (rows, not triggers: no DDL while the service runs).
CREATE OR REPLACE FUNCTION conflict_dirty_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM conflict_logged_layers WHERE layer_id = TG_TABLE_NAME) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO conflict_dirty (layer_id, fid, op) VALUES (TG_TABLE_NAME, NULL, 'T');
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO conflict_dirty (layer_id, fid, op) SELECT TG_TABLE_NAME, fid, '-' FROM old_rows;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO conflict_dirty (layer_id, fid, op) SELECT TG_TABLE_NAME, fid, '+' FROM new_rows;
  END IF;
  RETURN NULL;
END $$;

-- The four triggers on every base table of schema "plan" (a layer table added by a later
-- migration gets them too). A transition table is a copy of the rows a statement wrote; for a
-- layer no rule reads the function returns at once, and the copy is all that layer pays.
DO $$
DECLARE
  t name;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'plan' AND c.relkind = 'r' ORDER BY c.relname
  LOOP
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT ON plan.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION conflict_dirty_log()', t || '_dirty_ins', t);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON plan.%I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION conflict_dirty_log()', t || '_dirty_upd', t);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER DELETE ON plan.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION conflict_dirty_log()', t || '_dirty_del', t);
    EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER TRUNCATE ON plan.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION conflict_dirty_log()', t || '_dirty_trunc', t);
  END LOOP;
END $$;

-- A source feature's content key: its class code and its geometry on a 1e-8° grid (about 1 mm).
-- The grid keeps the key, and so the ids of its conflicts and their ledger cases, through a
-- re-delivery that went through another program's export (last-digit noise in coordinates); its
-- origin is offset so that short binary fractions (quantised sources) do not sit on its
-- boundaries, and it is normalised (ST_Normalize) so that ring direction, start vertex and part
-- order do not count. STABLE like convert_to, so that PostgreSQL inlines it into the statements
-- that read whole layers. Changing it changes every patch id.
CREATE OR REPLACE FUNCTION conflict_content_key(code text, geom geometry) RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT md5(convert_to(code, 'UTF8') || ST_AsEWKB(ST_Normalize(ST_SnapToGrid(geom, 3.14159265e-9, 2.71828183e-9, 1e-8, 1e-8))))::uuid
$$;

-- The overlay of one pair of features with its measures, in one call: a function in LATERAL
-- keeps PostgreSQL from computing the intersection once per column that uses it, and, being
-- PARALLEL SAFE, lets the pairs statement run in parallel workers. Parts, ellipsoidal area (m²),
-- spherical perimeter (m).
CREATE OR REPLACE FUNCTION conflict_overlay(a geometry, b geometry, OUT g geometry, OUT n integer, OUT area double precision, OUT per double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  g := ST_Multi(ST_CollectionExtract(ST_Intersection(a, b), 3));
  n := ST_NumGeometries(g);
  IF n > 0 THEN
    area := ST_Area(g::geography, true);
    per := ST_Perimeter(g::geography, false);
  ELSE
    area := 0;
    per := 0;
  END IF;
END $$;

-- g minus each cutter in turn. Used where a union of the cutters would be the obvious way: GEOS
-- unions of polygons with nearly coincident edges (districts cut from each other, neighbouring
-- plan zones) can drop a whole member, where a chain of differences stays exact.
CREATE OR REPLACE FUNCTION conflict_subtract(g geometry, cutters geometry[]) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  c geometry;
BEGIN
  IF cutters IS NULL THEN RETURN g; END IF;
  FOREACH c IN ARRAY cutters LOOP
    EXIT WHEN g IS NULL OR ST_IsEmpty(g);
    IF g && c THEN g := ST_CollectionExtract(ST_Difference(g, c), 3); END IF;
  END LOOP;
  RETURN g;
END $$;

-- The published layer's data version, bumped (and announced like a plan layer's: tile caches,
-- ETags) by a detection run and a ledger change as their last statement. Not by triggers on the
-- tables: the version row would then stay locked from a run's first write to its commit, and a
-- planner's status change (case row, then version row) could deadlock with the run.
CREATE OR REPLACE FUNCTION conflicts_bump() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_versions AS v (layer_id) VALUES ('conflicts')
  ON CONFLICT (layer_id) DO UPDATE SET version = v.version + 1, changed_at = now();
  PERFORM pg_notify('onemap_layer_changed', 'conflicts');
END $$;

-- Whether a run left 'running' belongs to a process that is gone. A run's process holds the
-- advisory lock (lock_class, run id) on a connection of its own from just after its row is written
-- until it ends, and PostgreSQL lets go of it when that connection goes (a killed process, a lost
-- server). A row younger than `grace` counts as alive: its lock is being taken.
-- (Columns, not the conflict_runs row type: a function taking a table's row type depends on the
-- table, and the conflicts migration could no longer drop it on the way down.)
DROP FUNCTION IF EXISTS conflict_run_dead(conflict_runs, integer, interval);
CREATE OR REPLACE FUNCTION conflict_run_dead(run_id integer, status text, started_at timestamptz, finished_at timestamptz, lock_class integer, grace interval) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT status = 'running' AND finished_at IS NULL AND started_at < now() - grace
     AND NOT EXISTS (SELECT 1 FROM pg_locks l
                      WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        AND l.classid = lock_class AND l.objid = run_id AND l.objsubid = 2 AND l.granted)
$$;
