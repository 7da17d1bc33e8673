// A feature's content hash (revision_feature_hash: what commits, diffs and restores compare) reads
// its geometry on a 1e-8° grid (about 1 mm) instead of its exact bytes. A department re-delivering
// the same plan through another GIS (an export and import round trip leaves noise in the last
// digits of coordinates) then makes a revision in which those features are unchanged — they keep
// their fid, their snapshot rows and the ids of their conflicts — instead of one in which every
// feature was "changed". Differences below a millimetre are not changes a planner can mean.
// The grid's origin is offset by an odd fraction of a cell: coordinates that are short binary
// fractions (113.248046875, as quantised sources have them) would otherwise sit exactly on the
// rounding boundary, where the least noise flips them. The geometry is also normalised (ring
// direction, start vertex and part order do not count: a Shapefile writes rings clockwise).
// The hashes already stored are recomputed.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('SET LOCAL statement_timeout = 0');
  await knex.raw(`
CREATE OR REPLACE FUNCTION revision_feature_hash(code text, attrs jsonb, geom geometry) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5(convert_to(jsonb_build_array(code, attrs)::text, 'UTF8') || ST_AsEWKB(ST_Normalize(ST_SnapToGrid(geom, 3.14159265e-9, 2.71828183e-9, 1e-8, 1e-8))))::uuid
$$`);
  await knex.raw(`COMMENT ON FUNCTION revision_feature_hash(text, jsonb, geometry) IS 'content identity: class code, attributes, geometry on a 1e-8 degree grid (about 1 mm, origin offset), normalised'`);
  await knex.raw('UPDATE revision_features SET hash = revision_feature_hash(code, attrs, geom)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('SET LOCAL statement_timeout = 0');
  await knex.raw(`
CREATE OR REPLACE FUNCTION revision_feature_hash(code text, attrs jsonb, geom geometry) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT md5(convert_to(jsonb_build_array(code, attrs)::text, 'UTF8') || ST_AsEWKB(geom))::uuid
$$`);
  await knex.raw('UPDATE revision_features SET hash = revision_feature_hash(code, attrs, geom)');
}
