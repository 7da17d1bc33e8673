// Conflict detection (差异图斑) and the coordination ledger (冲突台账).
//
//   conflict_rules          the rules of layers/conflict-rules.json as last applied (with a hash of
//                           each definition: a changed rule is recomputed in full at the next run)
//   conflict_runs           every run: mode, trigger, layer revisions used, counts, areas, duration
//   conflict_state          per source layer, the layer_versions.version the results reflect
//   conflict_sources        per source feature: content key (md5 of class code and geometry bytes)
//                           and the district that wholly contains it, if one does
//   conflict_source_overlaps pairs of features of one layer whose interiors overlap (rare: plans
//                           tile the land); only pieces from such pairs can overlap each other
//   conflict_pieces         the current result: one row per rule × feature of a × feature of b ×
//                           district; raw = their intersection in the district, geom = the part of
//                           raw no earlier piece of the rule covers, minus slivers (NULL: slivers only)
//   conflict_cases          the ledger: one case per patch id, ever; status, decision, reason, the
//                           last geometry and area once the patch is gone
//   conflict_case_events    the full history of every case (detections, status changes, comments)
//   conflict_districts      the districts as a partition (each minus those before it), and
//   conflict_district_parts the same in ≤128-vertex parts (rebuilt when the districts change)
//   conflict_dirty          fids written in the layers rules read, since the last run (triggers)
//
// plan.conflicts (a view) is what the service publishes as the "conflicts" layer: current patches
// with their case, read by OGC API – Features, vector tiles and the exports like any plan layer.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE conflict_rules (
  id text PRIMARY KEY,
  zh text NOT NULL,
  en text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('conflict', 'hazard', 'notice')),
  severity text NOT NULL CHECK (severity IN ('critical', 'major', 'minor')),
  departments text[] NOT NULL,
  a_layer text NOT NULL,
  a_codes text[] NOT NULL,
  b_layer text NOT NULL,
  b_codes text[] NOT NULL,
  min_area_m2 double precision NOT NULL,
  min_thinness double precision NOT NULL,
  definition_hash text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  applied_run integer
)`);
  await knex.raw(`
CREATE TABLE conflict_runs (
  id serial PRIMARY KEY,
  mode text NOT NULL CHECK (mode IN ('full', 'incremental')),
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  trigger jsonb NOT NULL DEFAULT '{}',
  requested_by text,
  rules text[] NOT NULL DEFAULT '{}',
  layers jsonb NOT NULL DEFAULT '{}',
  stats jsonb NOT NULL DEFAULT '{}',
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  duration_ms double precision,
  error text
)`);
  await knex.raw(`COMMENT ON COLUMN conflict_runs.layers IS 'layer id → {revision, version} of every layer the run read'`);
  await knex.raw(`COMMENT ON COLUMN conflict_runs.stats IS 'totals and per rule: patches, area_m2, sliver_parts, sliver_area_m2, opened, closed'`);
  await knex.raw(`
CREATE TABLE conflict_state (
  layer_id text PRIMARY KEY,
  version bigint NOT NULL,
  revision integer NOT NULL DEFAULT 0,
  run_id integer NOT NULL
)`);
  await knex.raw(`
CREATE TABLE conflict_sources (
  layer_id text NOT NULL,
  fid bigint NOT NULL,
  key uuid NOT NULL,
  adcode text,
  PRIMARY KEY (layer_id, fid)
)`);
  await knex.raw(`
CREATE TABLE conflict_source_overlaps (
  layer_id text NOT NULL,
  fid1 bigint NOT NULL,
  fid2 bigint NOT NULL,
  PRIMARY KEY (layer_id, fid1, fid2),
  CHECK (fid1 < fid2)
)`);
  await knex.raw('CREATE INDEX conflict_source_overlaps_fid2 ON conflict_source_overlaps (layer_id, fid2)');
  await knex.raw(`
CREATE TABLE conflict_pieces (
  id uuid PRIMARY KEY,
  rule_id text NOT NULL,
  adcode text NOT NULL,
  a_layer text NOT NULL,
  a_fid bigint NOT NULL,
  a_key uuid NOT NULL,
  a_code text NOT NULL,
  b_layer text NOT NULL,
  b_fid bigint NOT NULL,
  b_key uuid NOT NULL,
  b_code text NOT NULL,
  raw geometry(MultiPolygon, 4490) NOT NULL,
  geom geometry(MultiPolygon, 4490),
  area_m2 double precision NOT NULL DEFAULT 0,
  parts integer NOT NULL DEFAULT 0,
  thinness double precision,
  sliver_parts integer NOT NULL DEFAULT 0,
  sliver_area_m2 double precision NOT NULL DEFAULT 0,
  trimmed boolean NOT NULL DEFAULT false,
  hash uuid,
  run_id integer NOT NULL
)`);
  await knex.raw(`COMMENT ON COLUMN conflict_pieces.hash IS 'signature of the result (sources, areas, parts, trimmed): a full run rewrites a piece only when it changes'`);
  await knex.raw(`COMMENT ON COLUMN conflict_pieces.trimmed IS 'an earlier piece of the rule covered part of raw (recomputed whenever the rule changes near it)'`);
  await knex.raw(`COMMENT ON COLUMN conflict_pieces.adcode IS 'district (行政区划代码) the piece lies in; empty: outside every district'`);
  await knex.raw(`COMMENT ON COLUMN conflict_pieces.thinness IS 'smallest thinness ratio 4πA/P² of the kept parts (1 = disc)'`);
  await knex.raw('CREATE INDEX conflict_pieces_geom ON conflict_pieces USING gist (geom)');
  await knex.raw('CREATE INDEX conflict_pieces_raw ON conflict_pieces USING gist (raw)');
  await knex.raw('CREATE INDEX conflict_pieces_a ON conflict_pieces (rule_id, a_fid)');
  await knex.raw('CREATE INDEX conflict_pieces_b ON conflict_pieces (rule_id, b_fid)');

  await knex.raw(`
CREATE TABLE conflict_cases (
  fid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id uuid PRIMARY KEY,
  rule_id text NOT NULL,
  adcode text NOT NULL,
  district text,
  a_layer text NOT NULL,
  a_code text NOT NULL,
  b_layer text NOT NULL,
  b_code text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'coordinated', 'verified', 'resolved_by_data')),
  decision text CHECK (decision IN ('follow_a', 'follow_b', 'adjust_both', 'exception')),
  reason text,
  district_opinion text,
  city_opinion text,
  effective_date date,
  version integer NOT NULL DEFAULT 1,
  first_run integer NOT NULL,
  last_run integer NOT NULL,
  resolved_run integer,
  resolved_layer text,
  resolved_revision integer,
  last_area_m2 double precision,
  last_geom geometry(MultiPolygon, 4490),
  last_a_fid bigint,
  last_b_fid bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'coordinated' OR (decision IS NOT NULL AND reason IS NOT NULL))
)`);
  await knex.raw(`COMMENT ON TABLE conflict_cases IS 'the coordination ledger (冲突台账): one case per conflict patch id; survives re-runs'`);
  await knex.raw('CREATE INDEX conflict_cases_rule_status ON conflict_cases (rule_id, status)');
  await knex.raw(`
CREATE TABLE conflict_case_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id uuid NOT NULL REFERENCES conflict_cases (id),
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL,
  action text NOT NULL CHECK (action IN ('detected', 'transition', 'comment', 'resolved_by_data', 'reappeared')),
  from_status text,
  to_status text,
  decision text,
  reason text,
  comment text,
  run_id integer,
  details jsonb
)`);
  await knex.raw('CREATE INDEX conflict_case_events_case ON conflict_case_events (case_id, id)');

  // The districts as a partition (each minus those before it), in ≤128-vertex parts: what a piece
  // is assigned to. Rebuilt by a run whenever the districts layer changed (districts_version).
  await knex.raw(`
CREATE TABLE conflict_district_parts (
  part serial PRIMARY KEY,
  adcode text NOT NULL,
  name text NOT NULL,
  geom geometry(Polygon, 4490) NOT NULL
)`);
  await knex.raw('CREATE INDEX conflict_district_parts_geom ON conflict_district_parts USING gist (geom)');
  // The same partition, one geometry per district: whether a feature lies wholly in one district
  // when it crosses the line between two parts of it.
  await knex.raw(`
CREATE TABLE conflict_districts (
  adcode text PRIMARY KEY,
  name text NOT NULL,
  geom geometry(MultiPolygon, 4490) NOT NULL
)`);
  await knex.raw('CREATE INDEX conflict_districts_geom ON conflict_districts USING gist (geom)');

  // Which features of the layers some rule reads were written since the last run: an incremental
  // run reads this log instead of comparing whole layers. Statement triggers with transition
  // tables log the fids of rows written ('-' old, '+' new; 'T' truncate). The run consumes exactly
  // the rows it saw.
  await knex.raw(`
CREATE TABLE conflict_dirty (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  layer_id text NOT NULL,
  fid bigint,
  op text NOT NULL CHECK (op IN ('-', '+', 'T'))
)`);
  await knex.raw('CREATE INDEX conflict_dirty_layer ON conflict_dirty (layer_id, fid)');
  await knex.raw(`
CREATE FUNCTION conflict_dirty_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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
END $$`);
  // The triggers themselves are put on the tables of the layers the rules read, and taken off the
  // others, by each run (server/conflicts/detect.ts): a transition table costs a copy of every
  // written row, which layers no rule reads (the 300,000-parcel status layer) should not pay.

  // The overlay of one pair of features with its measures, in one call: a function in LATERAL
  // keeps PostgreSQL from computing the intersection once per column that uses it, and, being
  // PARALLEL SAFE, lets the pairs statement run in parallel workers.
  await knex.raw(`
CREATE FUNCTION conflict_overlay(a geometry, b geometry, OUT g geometry, OUT n integer, OUT area double precision, OUT per double precision)
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
END $$`);

  // g minus each cutter in turn. Used where a union of the cutters would be the obvious way: GEOS
  // unions of polygons with nearly coincident edges (districts cut from each other, neighbouring
  // plan zones) can drop a whole member, where a chain of differences stays exact.
  await knex.raw(`
CREATE FUNCTION conflict_subtract(g geometry, cutters geometry[]) RETURNS geometry
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
END $$`);

  // The published layer: current patches with their case. Columns follow the layer registry
  // entry layers/registry/conflicts.json (fid, code = severity, attributes, geom, area_m2).
  await knex.raw(`
CREATE VIEW plan.conflicts AS
SELECT c.fid,
       r.severity AS code,
       p.id::text AS patch_id,
       p.rule_id,
       r.zh AS rule_zh,
       r.kind,
       c.status,
       c.decision,
       COALESCE(c.district, '区外') AS district,
       p.adcode,
       p.a_layer,
       p.a_fid::integer AS a_fid,
       p.a_code,
       p.b_layer,
       p.b_fid::integer AS b_fid,
       p.b_code,
       round(p.thinness::numeric, 4)::double precision AS thinness,
       p.geom,
       p.area_m2,
       c.updated_at
  FROM conflict_pieces p
  JOIN conflict_cases c ON c.id = p.id
  JOIN conflict_rules r ON r.id = p.rule_id
 WHERE p.geom IS NOT NULL`);

  // The published layer's data version, bumped (and announced like a plan layer's: tile caches,
  // ETags) by a detection run and a ledger change as their last statement. Not by triggers on the
  // tables: the version row would then stay locked from a run's first write to its commit, and a
  // planner's status change (case row, then version row) could deadlock with the run.
  await knex.raw(`INSERT INTO layer_versions (layer_id) VALUES ('conflicts') ON CONFLICT DO NOTHING`);
  await knex.raw(`
CREATE FUNCTION conflicts_bump() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_versions AS v (layer_id) VALUES ('conflicts')
  ON CONFLICT (layer_id) DO UPDATE SET version = v.version + 1, changed_at = now();
  PERFORM pg_notify('onemap_layer_changed', 'conflicts');
END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS plan.conflicts');
  const { rows: tables } = await knex.raw<{ rows: { table_name: string }[] }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'plan' AND table_type = 'BASE TABLE'",
  );
  for (const { table_name: t } of tables) {
    for (const k of ['ins', 'upd', 'del', 'trunc']) await knex.raw(`DROP TRIGGER IF EXISTS "${t}_dirty_${k}" ON plan."${t}"`);
  }
  await knex.raw('DROP FUNCTION IF EXISTS conflict_dirty_log()');
  await knex.raw('DROP TABLE IF EXISTS conflict_dirty, conflict_district_parts, conflict_districts');
  for (const t of ['conflict_case_events', 'conflict_cases', 'conflict_pieces', 'conflict_source_overlaps', 'conflict_sources', 'conflict_state', 'conflict_runs', 'conflict_rules']) {
    await knex.raw(`DROP TABLE IF EXISTS "${t}"`);
  }
  await knex.raw('DROP FUNCTION IF EXISTS conflicts_bump()');
  await knex.raw('DROP FUNCTION IF EXISTS conflict_subtract(geometry, geometry[])');
  await knex.raw('DROP FUNCTION IF EXISTS conflict_overlay(geometry, geometry)');
  await knex.raw(`DELETE FROM layer_versions WHERE layer_id = 'conflicts'`);
}
