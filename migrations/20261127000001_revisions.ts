// Versioned revisions: who made each revision of a layer, from which file, of which kind, and a
// snapshot store that keeps every revision's full content (view, export, diff, restore).
//
// Storage: one temporal table, revision_features, for all layers. A row is one feature as it was
// in the revisions [revision_from, revision_to) of its layer (revision_to NULL: still current).
// A new revision writes only what changed: features that left get revision_to set, features that
// arrived get a new row; unchanged features (same content hash) keep their row. So a re-delivery
// of a 300,000-parcel layer in which 2 % changed costs ~6,000 row updates and ~6,000 inserts,
// where a full copy per revision would write (and keep) 300,000 geometries every time; a genuine
// whole-layer replacement costs one insert per feature, the same as the copy. Reading revision r
// is one filtered scan; a diff of two revisions only touches the rows whose range ends or starts
// between them. Attributes are jsonb (cast back through the layer table's row type on restore),
// so a layer added to the registry later needs no history table of its own. Kept out of schema
// "plan", which the start-up check reserves for registry layers.
//
// Revision 1 of every existing layer came from the demo loader without a snapshot: this migration
// captures the current content as the snapshot of each layer's latest revision (older ones, if
// any, are marked content_kept = false). Later revisions written by the demo loader (kind 'demo',
// the column default, since that loader does not know about snapshots) are captured by a trigger
// on layer_revisions in the loader's own transaction.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Capturing a large layer (the 324,867-parcel benchmark set) outlasts the service's statement
  // timeout; the migration runs in its own transaction, so this setting ends with it.
  await knex.raw('SET LOCAL statement_timeout = 0');
  await knex.raw(`
ALTER TABLE layer_revisions
  ADD COLUMN kind text NOT NULL DEFAULT 'demo' CHECK (kind IN ('import', 'restore', 'demo', 'edit')),
  ADD COLUMN created_by text,
  ADD COLUMN source_name text,
  ADD COLUMN source_sha256 text CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
  ADD COLUMN restored_from integer,
  ADD COLUMN content_kept boolean NOT NULL DEFAULT true`);
  await knex.raw(`COMMENT ON COLUMN layer_revisions.kind IS 'import | restore | demo | edit; demo rows are snapshotted by a trigger'`);
  await knex.raw(`COMMENT ON COLUMN layer_revisions.content_kept IS 'false for revisions recorded before snapshots were kept'`);

  await knex.raw(`
CREATE TABLE revision_features (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  layer_id text NOT NULL,
  revision_from integer NOT NULL,
  revision_to integer,
  hash uuid NOT NULL,
  code text NOT NULL,
  attrs jsonb NOT NULL,
  geom geometry(Geometry, 4490) NOT NULL,
  area_m2 double precision,
  CHECK (revision_to IS NULL OR revision_to > revision_from)
)`);
  await knex.raw(`COMMENT ON TABLE revision_features IS 'every revision of every layer: a row is valid for revisions [revision_from, revision_to), revision_to NULL while current'`);
  await knex.raw(`COMMENT ON COLUMN revision_features.hash IS 'md5 of code, attributes and EWKB (revision_feature_hash): equal hash = same feature content'`);
  await knex.raw(`COMMENT ON COLUMN revision_features.area_m2 IS 'ellipsoidal area (m², GRS80) for polygons, as the layer table computes it'`);
  // Paging a revision in id order; the rows that start or end at a revision (diffs); the open rows by hash (commits).
  await knex.raw('CREATE INDEX revision_features_layer_id ON revision_features (layer_id, id)');
  await knex.raw('CREATE INDEX revision_features_from ON revision_features (layer_id, revision_from)');
  await knex.raw('CREATE INDEX revision_features_to ON revision_features (layer_id, revision_to)');
  await knex.raw('CREATE INDEX revision_features_open ON revision_features (layer_id, hash) WHERE revision_to IS NULL');

  // Content identity of a feature: class code, attributes (jsonb text is canonical: keys sorted,
  // typed values) and geometry bytes with SRID. The commit path uses the same function.
  await knex.raw(`
CREATE FUNCTION revision_feature_hash(code text, attrs jsonb, geom geometry) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5(convert_to(jsonb_build_array(code, attrs)::text, 'UTF8') || ST_AsEWKB(geom))::uuid
$$`);

  // The live content of plan.<layer> becomes the snapshot of the given revision (a full replace
  // of the open rows: used for demo loads and for the revision that existed before this migration).
  await knex.raw(`
CREATE FUNCTION capture_layer_snapshot(p_layer text, p_revision integer) RETURNS void
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
END $$`);

  await knex.raw(`
CREATE FUNCTION layer_revision_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM capture_layer_snapshot(NEW.layer_id, NEW.revision);
  RETURN NULL;
END $$`);
  await knex.raw(`
CREATE TRIGGER layer_revisions_capture AFTER INSERT ON layer_revisions
FOR EACH ROW WHEN (NEW.kind = 'demo') EXECUTE FUNCTION layer_revision_capture()`);

  // The revisions already recorded: the latest of each layer gets the current content.
  const { rows } = await knex.raw<{ rows: { layer_id: string; revision: number }[] }>(`
    SELECT r.layer_id, max(r.revision) AS revision FROM layer_revisions r
    JOIN information_schema.tables t ON t.table_schema = 'plan' AND t.table_name = r.layer_id
    GROUP BY r.layer_id ORDER BY r.layer_id`);
  for (const r of rows) {
    await knex.raw('SELECT capture_layer_snapshot(?, ?)', [r.layer_id, r.revision]);
    await knex.raw('UPDATE layer_revisions SET content_kept = false WHERE layer_id = ? AND revision < ?', [r.layer_id, r.revision]);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS layer_revisions_capture ON layer_revisions');
  await knex.raw('DROP FUNCTION IF EXISTS layer_revision_capture()');
  await knex.raw('DROP FUNCTION IF EXISTS capture_layer_snapshot(text, integer)');
  await knex.raw('DROP TABLE IF EXISTS revision_features');
  await knex.raw('DROP FUNCTION IF EXISTS revision_feature_hash(text, jsonb, geometry)');
  await knex.raw(`ALTER TABLE layer_revisions DROP COLUMN kind, DROP COLUMN created_by, DROP COLUMN source_name,
    DROP COLUMN source_sha256, DROP COLUMN restored_from, DROP COLUMN content_kept`);
}
