-- Revisions: the content identity of a feature and the snapshot store (table revision_features,
-- migration 20261127000001_revisions.ts), which keeps every revision of every layer.
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent.

-- Content identity of a feature: class code, attributes (jsonb text is canonical: keys sorted,
-- typed values) and the geometry with its SRID, read on a 1e-8° grid (about 1 mm) and normalised.
-- Commits, diffs and restores compare features by it (server/revisions/commit.ts calls it too), so
-- a re-delivery through another GIS (noise in the last digits, rings written the other way round,
-- another start vertex or part order) leaves those features unchanged: they keep their fid, their
-- snapshot rows and their conflicts' ids. The grid's origin is offset by an odd fraction of a cell
-- because coordinates that are short binary fractions (113.248046875, as quantised sources have
-- them) would otherwise sit exactly on a rounding boundary, where the least noise flips them
-- (migration 20261128000002_revision_hash_grid.ts). Changing it changes every stored hash: such a
-- change comes with a migration that recomputes revision_features.hash.
CREATE OR REPLACE FUNCTION revision_feature_hash(code text, attrs jsonb, geom geometry) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5(convert_to(jsonb_build_array(code, attrs)::text, 'UTF8') || ST_AsEWKB(ST_Normalize(ST_SnapToGrid(geom, 3.14159265e-9, 2.71828183e-9, 1e-8, 1e-8))))::uuid
$$;
COMMENT ON FUNCTION revision_feature_hash(text, jsonb, geometry) IS 'content identity: class code, attributes, geometry on a 1e-8 degree grid (about 1 mm, origin offset), normalised';

-- Makes the live content of plan.<p_layer> the snapshot of revision p_revision: the open rows are
-- closed and every feature is written anew (a full replace). For revisions written without the
-- commit path, which writes only what changed: demo loads (the trigger below) and the revisions
-- that existed before snapshots were kept (the migration that introduced them).
CREATE OR REPLACE FUNCTION capture_layer_snapshot(p_layer text, p_revision integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  attrs text;
  area text;
BEGIN
  -- The attribute columns by name (jsonb_build_object: to_jsonb(row) would render the geometry too).
  SELECT string_agg(format('%L, t.%I', column_name, column_name), ', ' ORDER BY ordinal_position) INTO attrs
  FROM information_schema.columns
  WHERE table_schema = 'plan' AND table_name = p_layer AND column_name <> ALL ('{fid,code,geom,updated_at,area_m2}');
  area := CASE WHEN EXISTS (SELECT 1 FROM information_schema.columns
                            WHERE table_schema = 'plan' AND table_name = p_layer AND column_name = 'area_m2')
               THEN 't.area_m2' ELSE 'NULL::double precision' END;
  UPDATE revision_features SET revision_to = p_revision WHERE layer_id = p_layer AND revision_to IS NULL;
  EXECUTE format($q$
    INSERT INTO revision_features (layer_id, revision_from, hash, code, attrs, geom, area_m2)
    SELECT $1, $2, revision_feature_hash(t.code, a.attrs, t.geom), t.code, a.attrs, t.geom, %s
    FROM plan.%I t CROSS JOIN LATERAL (SELECT jsonb_build_object(%s) AS attrs) a
    ORDER BY t.fid$q$, area, p_layer, COALESCE(attrs, ''))
  USING p_layer, p_revision;
END $$;

-- A revision recorded by the demo loader (kind 'demo', the column's default: that loader knows
-- nothing of snapshots) is captured in the loader's own transaction, so every revision has its
-- content kept.
CREATE OR REPLACE FUNCTION layer_revision_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM capture_layer_snapshot(NEW.layer_id, NEW.revision);
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER layer_revisions_capture AFTER INSERT ON layer_revisions
FOR EACH ROW WHEN (NEW.kind = 'demo') EXECUTE FUNCTION layer_revision_capture();
