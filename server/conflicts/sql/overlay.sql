-- The overlay of a run (server/conflicts/overlay.ts), steps 1-4 for all the rules of the run at
-- once: pairs, districts, overlaps, slivers. Each rule's parameters are in the temporary table
-- cf_rules; what changed in the sources is in cf_changed and cf_partner (sources.sql). A piece
-- is one rule × feature of a × feature of b × district: raw is their intersection in the
-- district, geom the part of raw no earlier piece (by id) of the rule covers, minus slivers.
-- Bindings: :run (the run id) and those named at each statement.

-- name: rules_table
-- The rules of the run: whole (every pair) or around the changes, and the layer revision that
-- resolves what vanishes.
CREATE TEMP TABLE cf_rules (rule_id text PRIMARY KEY, a_layer text, b_layer text, min_area double precision, min_thin double precision, whole boolean,
                            resolved_layer text, resolved_revision integer) ON COMMIT DROP

-- name: drop_gone
-- Incremental rules: the pieces of features that left go (their geometry is kept in cf_old for
-- the ledger); answers what they held, per rule (for the totals).
WITH ids AS (
  SELECT p.id FROM cf_rules r JOIN cf_changed c ON c.layer_id = r.a_layer AND c.change = 'gone'
    JOIN conflict_pieces p ON p.rule_id = r.rule_id AND p.a_fid = c.fid WHERE NOT r.whole
  UNION
  SELECT p.id FROM cf_rules r JOIN cf_changed c ON c.layer_id = r.b_layer AND c.change = 'gone'
    JOIN conflict_pieces p ON p.rule_id = r.rule_id AND p.b_fid = c.fid WHERE NOT r.whole),
d AS (DELETE FROM conflict_pieces p WHERE p.id IN (SELECT id FROM ids)
      RETURNING p.rule_id, p.id, p.geom, p.area_m2, p.a_fid, p.b_fid, p.sliver_parts, p.sliver_area_m2),
o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING),
t AS (INSERT INTO cf_touched SELECT rule_id, id FROM d ON CONFLICT DO NOTHING)
SELECT rule_id, count(*) FILTER (WHERE geom IS NOT NULL) AS patches, sum(area_m2) AS area_m2, sum(sliver_parts) AS sliver_parts, sum(sliver_area_m2) AS sliver_area_m2
  FROM d GROUP BY rule_id

-- name: pairs
-- 1. The pairs of one rule within :scope (one of the three below): a && b, then the overlay
-- itself says whether they meet (an empty result: no ST_Intersects first, for half the cost),
-- with its measures taken in the same call (conflict_overlay), in parallel workers. A pair whose a
-- or b lies wholly in one district gets its id here; the others are cut below. Bindings: :rule,
-- :a_table, :b_table, :a_layer, :b_layer, :a_codes, :b_codes, :scope.
SELECT :rule::text AS rule_id,
       CASE WHEN COALESCE(sa.adcode, sb.adcode) IS NOT NULL
            THEN md5(concat_ws('|', :rule::text, sa.key, sb.key, COALESCE(sa.adcode, sb.adcode)))::uuid END AS id,
       COALESCE(sa.adcode, sb.adcode) AS adcode,
       a.fid AS a_fid, a.code AS a_code, sa.key AS a_key, b.fid AS b_fid, b.code AS b_code, sb.key AS b_key, i.g, i.n, i.area AS a, i.per
  FROM :a_table a JOIN :b_table b ON a.geom && b.geom
  JOIN conflict_sources sa ON sa.layer_id = :a_layer AND sa.fid = a.fid
  JOIN conflict_sources sb ON sb.layer_id = :b_layer AND sb.fid = b.fid
  CROSS JOIN LATERAL conflict_overlay(a.geom, b.geom) i
 WHERE a.code = ANY(:a_codes) AND b.code = ANY(:b_codes) AND :scope

-- name: every_pair
true

-- name: new_a
-- Around the changes: the pairs with a new feature of a ...
a.fid IN (SELECT fid FROM cf_changed WHERE layer_id = :a_layer AND change = 'new')

-- name: new_b_only
-- ... and those with a new feature of b and an old one of a.
b.fid IN (SELECT fid FROM cf_changed WHERE layer_id = :b_layer AND change = 'new')
AND NOT a.fid IN (SELECT fid FROM cf_changed WHERE layer_id = :a_layer AND change = 'new')

-- name: cut_by_district
-- 2. The pairs in no single district are cut by district, and what lies in none (beyond the
-- city's edge, or in a gap between two districts) is kept as outside (:outside).
INSERT INTO cf_p
SELECT x.rule_id, md5(concat_ws('|', x.rule_id, x.a_key, x.b_key, x.adcode))::uuid, x.adcode, x.a_fid, x.a_code, x.a_key, x.b_fid, x.b_code, x.b_key, x.g,
       ST_NumGeometries(x.g) AS n, ST_Area(x.g::geography, true) AS a, ST_Perimeter(x.g::geography, false) AS per
  FROM (
    SELECT p.rule_id, p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, d.adcode,
           ST_Multi(ST_CollectionExtract(ST_Union(CASE WHEN ST_CoveredBy(p.g, d.geom) THEN p.g ELSE ST_Intersection(p.g, d.geom) END), 3)) AS g
      FROM cf_p p JOIN conflict_district_parts d ON d.geom && p.g AND ST_Intersects(d.geom, p.g)
     WHERE p.adcode IS NULL
     GROUP BY p.rule_id, p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, d.adcode
    UNION ALL
    SELECT p.rule_id, p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, :outside::text,
           ST_Multi(conflict_subtract(p.g, ARRAY(SELECT d.geom FROM conflict_district_parts d WHERE d.geom && p.g ORDER BY d.part)))
      FROM cf_p p WHERE p.adcode IS NULL) x
 WHERE x.g IS NOT NULL AND NOT ST_IsEmpty(x.g)

-- name: dedupe
-- Identical sources make identical ids: the first stays (the other would be trimmed to nothing).
DELETE FROM cf_p p USING (SELECT id, min(ctid) AS keep FROM cf_p GROUP BY id HAVING count(*) > 1) d
 WHERE p.id = d.id AND p.ctid <> d.keep

-- name: store_new
-- 3. Overlaps. Incremental rules look for them among the stored pieces, to which the new ones
-- are added first (their geometry is set in the last step).
WITH i AS (
  INSERT INTO conflict_pieces (id, rule_id, adcode, a_layer, a_fid, a_key, a_code, b_layer, b_fid, b_key, b_code, raw, run_id)
  SELECT n.id, n.rule_id, n.adcode, r.a_layer, n.a_fid, n.a_key, n.a_code, r.b_layer, n.b_fid, n.b_key, n.b_code, n.g, :run
    FROM cf_p n JOIN cf_rules r ON r.rule_id = n.rule_id AND NOT r.whole
  ON CONFLICT (id) DO NOTHING RETURNING rule_id, id)
INSERT INTO cf_touched SELECT rule_id, id FROM i ON CONFLICT DO NOTHING

-- name: seeds
-- The pieces whose trimming is computed again (the seeds): all new ones ...
CREATE TEMP TABLE cf_seed ON COMMIT DROP AS
SELECT n.rule_id, n.id, n.a_fid, n.b_fid, n.adcode, false AS trimmed FROM cf_p n

-- name: seeds_around
-- ... and, in an incremental rule, the stored pieces whose earlier overlapping pieces changed. A
-- piece's geometry is its raw overlay minus the raw overlays of the earlier pieces that overlap
-- it, so it changes only when one of those comes or goes. One that goes had trimmed it, so it is
-- a trimmed piece of a feature that overlapped (or was) a changed one; one that comes is a new
-- piece, and the stored pieces it is earlier than are added once the candidates are known
-- (more_seeds).
INSERT INTO cf_seed
SELECT p.rule_id, p.id, p.a_fid, p.b_fid, p.adcode, p.trimmed FROM conflict_pieces p JOIN cf_rules r ON r.rule_id = p.rule_id AND NOT r.whole
 WHERE p.trimmed AND p.id NOT IN (SELECT id FROM cf_p)
   AND (EXISTS (SELECT 1 FROM cf_partner x WHERE x.layer_id = r.a_layer AND x.fid = p.a_fid)
     OR EXISTS (SELECT 1 FROM cf_changed x WHERE x.layer_id = r.a_layer AND x.change IN ('gone', 'new') AND x.fid = p.a_fid)
     OR EXISTS (SELECT 1 FROM cf_partner x WHERE x.layer_id = r.b_layer AND x.fid = p.b_fid)
     OR EXISTS (SELECT 1 FROM cf_changed x WHERE x.layer_id = r.b_layer AND x.change IN ('gone', 'new') AND x.fid = p.b_fid))

-- name: whole_pairs
-- Candidate pairs of pieces of the rules recomputed whole, among their new pieces, driven from
-- the (few) overlap pairs: the same a and overlapping b's, overlapping a's and the same b, or both
-- overlapping.
SELECT r.rule_id, p.id AS x, q.id AS y FROM cf_rules r
  JOIN conflict_source_overlaps ob ON ob.layer_id = r.b_layer
  JOIN cf_p p ON p.rule_id = r.rule_id AND p.b_fid = ob.fid1
  JOIN cf_p q ON q.rule_id = r.rule_id AND q.b_fid = ob.fid2 AND q.adcode = p.adcode
 WHERE r.whole
   AND (q.a_fid = p.a_fid OR EXISTS (SELECT 1 FROM conflict_source_overlaps oa WHERE oa.layer_id = r.a_layer AND oa.fid1 = LEAST(p.a_fid, q.a_fid) AND oa.fid2 = GREATEST(p.a_fid, q.a_fid)))
UNION
SELECT r.rule_id, p.id, q.id FROM cf_rules r
  JOIN conflict_source_overlaps oa ON oa.layer_id = r.a_layer
  JOIN cf_p p ON p.rule_id = r.rule_id AND p.a_fid = oa.fid1
  JOIN cf_p q ON q.rule_id = r.rule_id AND q.a_fid = oa.fid2 AND q.adcode = p.adcode AND q.b_fid = p.b_fid
 WHERE r.whole

-- name: seed_pairs
-- Candidate pairs of incremental rules, driven from the seeds (:seeds, all or the new ones) among
-- the stored pieces (the new ones included): per seed, the features overlapping its b (or a)
-- feature, then their pieces, by index.
SELECT s.rule_id, s.id AS x, q.id AS y FROM :seeds s JOIN cf_rules r ON r.rule_id = s.rule_id AND NOT r.whole
 CROSS JOIN LATERAL (SELECT o.fid2 AS f FROM conflict_source_overlaps o WHERE o.layer_id = r.b_layer AND o.fid1 = s.b_fid
                     UNION ALL
                     SELECT o.fid1 FROM conflict_source_overlaps o WHERE o.layer_id = r.b_layer AND o.fid2 = s.b_fid) ob
 CROSS JOIN LATERAL (SELECT q.id, q.a_fid FROM conflict_pieces q WHERE q.rule_id = s.rule_id AND q.b_fid = ob.f AND q.adcode = s.adcode) q
 WHERE (q.a_fid = s.a_fid OR EXISTS (SELECT 1 FROM conflict_source_overlaps oa WHERE oa.layer_id = r.a_layer AND oa.fid1 = LEAST(s.a_fid, q.a_fid) AND oa.fid2 = GREATEST(s.a_fid, q.a_fid)))
UNION
SELECT s.rule_id, s.id, q.id FROM :seeds s JOIN cf_rules r ON r.rule_id = s.rule_id AND NOT r.whole
 CROSS JOIN LATERAL (SELECT o.fid2 AS f FROM conflict_source_overlaps o WHERE o.layer_id = r.a_layer AND o.fid1 = s.a_fid
                     UNION ALL
                     SELECT o.fid1 FROM conflict_source_overlaps o WHERE o.layer_id = r.a_layer AND o.fid2 = s.a_fid) oa
 CROSS JOIN LATERAL (SELECT q.id FROM conflict_pieces q WHERE q.rule_id = s.rule_id AND q.a_fid = oa.f AND q.adcode = s.adcode AND q.b_fid = s.b_fid) q

-- name: all_seeds
cf_seed

-- name: new_seeds
(SELECT * FROM cf_seed WHERE id IN (SELECT id FROM cf_p))

-- name: more_seeds
-- Stored pieces that a new piece comes before and overlaps the features of: their trimming
-- changes, so they are seeds too (with all their candidates, found next). :pairs is seed_pairs of
-- the new seeds.
INSERT INTO cf_seed
SELECT DISTINCT p.rule_id, p.id, p.a_fid, p.b_fid, p.adcode, p.trimmed
  FROM (:pairs) c
  JOIN conflict_pieces p ON p.id = c.y
 WHERE c.y > c.x AND c.y NOT IN (SELECT id FROM cf_seed)

-- name: candidates
-- The candidate pairs (:pairs, whole_pairs and / or seed_pairs), the later piece (by id) first:
-- it loses what the earlier one covers.
CREATE TEMP TABLE cf_cand ON COMMIT DROP AS
WITH pairs AS (:pairs)
SELECT DISTINCT rule_id, GREATEST(x, y) AS later, LEAST(x, y) AS earlier FROM pairs

-- name: raw
-- The pieces the overlaps concern, with their geometry from the new table or the stored one.
CREATE TEMP TABLE cf_raw ON COMMIT DROP AS
WITH ids AS (SELECT later AS id FROM cf_cand UNION SELECT earlier FROM cf_cand UNION SELECT id FROM cf_seed WHERE trimmed)
SELECT n.rule_id, n.id, n.a_fid, n.b_fid, n.g AS raw FROM ids JOIN cf_p n ON n.id = ids.id
UNION ALL
SELECT p.rule_id, p.id, p.a_fid, p.b_fid, p.raw FROM ids JOIN conflict_pieces p ON p.id = ids.id WHERE ids.id NOT IN (SELECT id FROM cf_p)

-- name: valid
-- Overlaps are where overlays leave their rare invalid output (an edge shared by two parts): the
-- pieces that take part are made valid first.
CREATE TEMP TABLE cf_valid ON COMMIT DROP AS
SELECT v.id, CASE WHEN ST_IsValid(v.raw) THEN v.raw ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(v.raw), 3)) END AS g
  FROM cf_raw v WHERE v.id IN (SELECT later FROM cf_cand UNION SELECT earlier FROM cf_cand)

-- name: trim
-- The pieces whose geometry changes here: those with an earlier candidate, and (incremental)
-- those trimmed before (what covered them may be gone); their measures are taken again. Whether
-- two pieces overlap is asked of the overlay (robust, snapping when it must), not of ST_Relate,
-- which can fail on nearly coincident edges ("side location conflict"), as pieces cut from
-- neighbouring features have.
CREATE TEMP TABLE cf_trim ON COMMIT DROP AS
SELECT rule_id, id, g, c_trimmed AS trimmed, ST_NumGeometries(g) AS n, ST_Area(g::geography, true) AS a, ST_Perimeter(g::geography, false) AS per FROM (
  SELECT q.rule_id, q.id, CASE WHEN c.u IS NULL THEN q.raw ELSE ST_Multi(ST_CollectionExtract(ST_Difference(v.g, c.u), 3)) END AS g, c.u IS NOT NULL AS c_trimmed
    FROM cf_raw q
    LEFT JOIN cf_valid v ON v.id = q.id
    LEFT JOIN LATERAL (
      SELECT ST_Union(e.g) AS u FROM cf_cand c JOIN cf_valid e ON e.id = c.earlier
       WHERE c.later = q.id AND v.g IS NOT NULL AND e.g && v.g AND ST_Area(ST_Intersection(e.g, v.g)) > 0) c ON true
   WHERE q.id IN (SELECT later FROM cf_cand WHERE later IN (SELECT id FROM cf_seed) UNION SELECT id FROM cf_seed WHERE trimmed)) t

-- name: final
-- 4. Polygons and slivers, for the new pieces and the trimmed ones. A one-polygon piece is
-- decided by its measures; a piece of several polygons is taken apart, each polygon alone. A
-- polygon is kept when its area is at least the rule's min_area (m²) and its thinness 4πA/P² at
-- least min_thin; the others are slivers, counted. sig is what a full run compares a stored
-- piece by: same sources, same result.
CREATE TEMP TABLE cf_final ON COMMIT DROP AS
WITH geo AS MATERIALIZED (
  SELECT COALESCE(n.rule_id, t.rule_id) AS rule_id, COALESCE(n.id, t.id) AS id, COALESCE(t.g, n.g) AS g, COALESCE(t.trimmed, false) AS trimmed,
         COALESCE(t.n, n.n) AS n, COALESCE(t.a, n.a) AS a, COALESCE(t.per, n.per) AS per
    FROM cf_p n FULL JOIN cf_trim t ON t.id = n.id)
, fids AS (SELECT id, a_fid, b_fid FROM cf_p UNION ALL SELECT id, a_fid, b_fid FROM cf_raw WHERE id NOT IN (SELECT id FROM cf_p))
, f AS (
SELECT g1.id, g1.rule_id, g1.trimmed, CASE WHEN k THEN g END AS geom, CASE WHEN k THEN a ELSE 0 END AS area_m2, CASE WHEN k THEN 1 ELSE 0 END AS parts,
       CASE WHEN k THEN 4 * pi() * a / NULLIF(per * per, 0) END AS thinness, CASE WHEN k THEN 0 ELSE 1 END AS sliver_parts, CASE WHEN k THEN 0 ELSE a END AS sliver_area_m2
  FROM (SELECT geo.*, COALESCE(geo.a >= r.min_area AND 4 * pi() * geo.a / NULLIF(geo.per * geo.per, 0) >= r.min_thin, false) AS k
          FROM geo JOIN cf_rules r ON r.rule_id = geo.rule_id WHERE geo.n = 1) g1
UNION ALL
SELECT id, rule_id, trimmed, ST_Multi(ST_Collect(pg) FILTER (WHERE k)), COALESCE(sum(pa) FILTER (WHERE k), 0), count(*) FILTER (WHERE k),
       min(4 * pi() * pa / NULLIF(pper * pper, 0)) FILTER (WHERE k), count(*) FILTER (WHERE NOT k), COALESCE(sum(pa) FILTER (WHERE NOT k), 0)
  FROM (SELECT m.*, COALESCE(m.pa >= r.min_area AND 4 * pi() * m.pa / NULLIF(m.pper * m.pper, 0) >= r.min_thin, false) AS k
          FROM (SELECT geo.id, geo.rule_id, geo.trimmed, d.geom AS pg, ST_Area(d.geom::geography, true) AS pa, ST_Perimeter(d.geom::geography, false) AS pper
                  FROM geo CROSS JOIN LATERAL ST_Dump(geo.g) d WHERE geo.n > 1) m JOIN cf_rules r ON r.rule_id = m.rule_id) k
 GROUP BY id, rule_id, trimmed
UNION ALL
SELECT id, rule_id, trimmed, NULL, 0, 0, NULL, 0, 0 FROM geo WHERE COALESCE(n, 0) = 0)
SELECT f.*, md5(concat_ws('|', x.a_fid, x.b_fid, f.area_m2, f.sliver_area_m2, f.parts, f.sliver_parts, f.trimmed))::uuid AS sig FROM f JOIN fids x ON x.id = f.id

-- name: write_whole_gone
-- Rules recomputed whole: only what differs is written. A stored piece without a new one of the
-- same id and signature goes ...
WITH d AS (
  DELETE FROM conflict_pieces p USING cf_rules r
   WHERE p.rule_id = r.rule_id AND r.whole
     AND NOT EXISTS (SELECT 1 FROM cf_final f WHERE f.id = p.id AND f.sig = p.hash)
  RETURNING p.rule_id, p.id, p.geom, p.area_m2, p.a_fid, p.b_fid),
o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING)
INSERT INTO cf_touched SELECT rule_id, id FROM d ON CONFLICT DO NOTHING

-- name: write_whole_new
-- ... and a new piece without a stored one comes (a piece whose result is unchanged stays).
WITH i AS (
  INSERT INTO conflict_pieces (id, rule_id, adcode, a_layer, a_fid, a_key, a_code, b_layer, b_fid, b_key, b_code, raw, geom, area_m2, parts, thinness, sliver_parts, sliver_area_m2, trimmed, hash, run_id)
  SELECT n.id, n.rule_id, n.adcode, r.a_layer, n.a_fid, n.a_key, n.a_code, r.b_layer, n.b_fid, n.b_key, n.b_code, n.g, f.geom, f.area_m2, f.parts, f.thinness, f.sliver_parts, f.sliver_area_m2, f.trimmed, f.sig, :run
    FROM cf_final f JOIN cf_p n ON n.id = f.id JOIN cf_rules r ON r.rule_id = n.rule_id AND r.whole
   WHERE NOT EXISTS (SELECT 1 FROM conflict_pieces p WHERE p.id = f.id)
  RETURNING rule_id, id)
INSERT INTO cf_touched SELECT rule_id, id FROM i ON CONFLICT DO NOTHING

-- name: write_incremental
-- Incremental rules: the new and re-trimmed pieces are updated in place; what they were is kept
-- for the ledger (cf_old), and with what they are, per rule, for the totals (k: before, after).
WITH b AS (
  SELECT p.rule_id, p.id, p.geom, p.area_m2, p.a_fid, p.b_fid, p.sliver_parts, p.sliver_area_m2
    FROM cf_final f JOIN cf_rules r ON r.rule_id = f.rule_id AND NOT r.whole JOIN conflict_pieces p ON p.id = f.id),
o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM b WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING),
u AS (
  UPDATE conflict_pieces p
     SET geom = f.geom, area_m2 = f.area_m2, parts = f.parts, thinness = f.thinness, sliver_parts = f.sliver_parts,
         sliver_area_m2 = f.sliver_area_m2, trimmed = f.trimmed, hash = f.sig, run_id = :run
    FROM cf_final f JOIN cf_rules r ON r.rule_id = f.rule_id AND NOT r.whole
   WHERE p.id = f.id
  RETURNING p.rule_id, p.id, p.geom IS NOT NULL AS kept, p.area_m2, p.sliver_parts, p.sliver_area_m2),
t AS (INSERT INTO cf_touched SELECT rule_id, id FROM u ON CONFLICT DO NOTHING)
SELECT 'before' AS k, rule_id, count(*) FILTER (WHERE geom IS NOT NULL) AS patches, sum(area_m2) AS area_m2, sum(sliver_parts) AS sliver_parts, sum(sliver_area_m2) AS sliver_area_m2
  FROM b GROUP BY rule_id
UNION ALL
SELECT 'after', rule_id, count(*) FILTER (WHERE kept), sum(area_m2), sum(sliver_parts), sum(sliver_area_m2)
  FROM u GROUP BY rule_id
