// Releases (成果版本) of the one map: numbered, immutable snapshots of a chosen set of layers, each
// pinned to one of its revisions, with what a public map needs (批复文号, 审图号, who prepared and
// published it) and the conflict situation when it was prepared. A release stores what it pins:
// its features are copied out of the snapshot store (revision_features) into release_features when
// it is prepared, so nothing done later to the working layers or their history reaches it.
//
//   releases           one row per release; only its lifecycle changes it (draft → published →
//                      superseded, or → withdrawn), the content columns never (migrations/functions/releases.sql)
//   release_layers     the pins: layer, revision, counts, area and extent, in registry order
//   release_features   the pinned content; fid is the snapshot row's id (the same for an unchanged
//                      feature in every revision, hence in every release)
//   release_conflicts  the ledger's open cases at preparation (what a comparison gains and loses)
//   release_tiles      its vector tiles (all layers in one tile, gzip), written once: when first
//                      asked for, or all at once when the archive is built
//   release_files      the archive (成果包) once built: the files of the zip, each with its SHA-256
// Everything but the lifecycle columns is append-only (triggers in migrations/functions/releases.sql).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // GiST over (release, layer, geometry) in one index: a tile or a bbox query of one release's layer.
  await knex.raw('CREATE EXTENSION IF NOT EXISTS btree_gist');
  await knex.raw(`
CREATE TABLE releases (
  number integer PRIMARY KEY CHECK (number > 0),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'superseded', 'withdrawn')),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  notes text NOT NULL DEFAULT '',
  approval_number text,
  review_number text,
  department text NOT NULL,
  prepared_by text NOT NULL,
  prepared_at timestamptz NOT NULL DEFAULT now(),
  published_by text,
  published_at timestamptz,
  superseded_by integer REFERENCES releases (number),
  superseded_at timestamptz,
  withdrawn_by text,
  withdrawn_at timestamptz,
  withdrawn_reason text,
  conflicts jsonb NOT NULL,
  registry jsonb NOT NULL,
  content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
  CHECK (status = 'draft' OR status = 'withdrawn' OR (published_at IS NOT NULL AND review_number IS NOT NULL)),
  CHECK (status <> 'withdrawn' OR (withdrawn_at IS NOT NULL AND withdrawn_reason IS NOT NULL)),
  CHECK (status <> 'superseded' OR superseded_by IS NOT NULL)
)`);
  await knex.raw(`COMMENT ON COLUMN releases.approval_number IS '批复文号: the approval document the release carries'`);
  await knex.raw(`COMMENT ON COLUMN releases.review_number IS '审图号: the map review number, required before a map is shown publicly'`);
  await knex.raw(`COMMENT ON COLUMN releases.conflicts IS 'open ledger cases at preparation: {open, byRule, byDistrict, byRuleDistrict}'`);
  await knex.raw(`COMMENT ON COLUMN releases.registry IS 'the pinned layers'' registry entries at preparation (titles, classes, colours, style)'`);
  await knex.raw(`COMMENT ON COLUMN releases.content_sha256 IS 'SHA-256 over the pins and the content hashes of every pinned feature'`);
  // At most one current release.
  await knex.raw(`CREATE UNIQUE INDEX releases_one_published ON releases ((true)) WHERE status = 'published'`);

  await knex.raw(`
CREATE TABLE release_layers (
  release integer NOT NULL REFERENCES releases (number) DEFERRABLE INITIALLY DEFERRED,
  layer_id text NOT NULL,
  position integer NOT NULL,
  revision integer NOT NULL,
  feature_count integer NOT NULL,
  area_m2 double precision,
  bbox double precision[],
  PRIMARY KEY (release, layer_id)
)`);
  await knex.raw(`
CREATE TABLE release_features (
  release integer NOT NULL,
  layer_id text NOT NULL,
  fid bigint NOT NULL,
  hash uuid NOT NULL,
  code text NOT NULL,
  attrs jsonb NOT NULL,
  geom geometry(Geometry, 4490) NOT NULL,
  area_m2 double precision,
  PRIMARY KEY (release, layer_id, fid),
  FOREIGN KEY (release, layer_id) REFERENCES release_layers (release, layer_id) DEFERRABLE INITIALLY DEFERRED
)`);
  await knex.raw('CREATE INDEX release_features_geom ON release_features USING gist (release, layer_id, geom)');
  await knex.raw(`
CREATE TABLE release_conflicts (
  release integer NOT NULL REFERENCES releases (number) DEFERRABLE INITIALLY DEFERRED,
  case_id uuid NOT NULL,
  rule_id text NOT NULL,
  adcode text NOT NULL,
  area_m2 double precision NOT NULL,
  PRIMARY KEY (release, case_id)
)`);
  await knex.raw(`
CREATE TABLE release_tiles (
  release integer NOT NULL REFERENCES releases (number),
  z integer NOT NULL,
  x integer NOT NULL,
  y integer NOT NULL,
  tile bytea NOT NULL,
  PRIMARY KEY (release, z, x, y)
)`);
  await knex.raw(`COMMENT ON TABLE release_tiles IS 'a release''s vector tiles, gzip MVT with all its layers; written once, never changed'`);
  await knex.raw(`
CREATE TABLE release_files (
  release integer NOT NULL REFERENCES releases (number),
  name text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  data oid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (release, name)
)`);
  await knex.raw(`COMMENT ON COLUMN release_files.data IS 'the file as a large object (lo_*): the archive is a few hundred MB on a city-scale data set'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('SELECT lo_unlink(data) FROM release_files');
  for (const t of ['release_files', 'release_tiles', 'release_conflicts', 'release_features', 'release_layers', 'releases']) await knex.raw(`DROP TABLE IF EXISTS ${t}`);
}
