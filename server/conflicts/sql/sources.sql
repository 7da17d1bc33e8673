-- The source features of a run (server/conflicts/sources.ts): conflict_sources keeps, per feature
-- of a layer some rule reads, its content key and the district that wholly contains it; a run
-- brings it up to the layer's content and records what changed in cf_changed ('gone' and 'new'
-- fids) and the overlap partners of those in cf_partner. Bindings: :layer (the layer id), :table
-- (its table), :district_of_t (districts.sql's fragment, on alias t).

-- name: compare_keys
-- Compared whole: every feature's current content key.
CREATE TEMP TABLE cf_cur ON COMMIT DROP AS SELECT t.fid, conflict_content_key(t.code, t.geom) AS key FROM :table t

-- name: compare_gone
-- Sources whose feature left or changed its content go.
WITH g AS (
  DELETE FROM conflict_sources s WHERE s.layer_id = :layer
     AND NOT EXISTS (SELECT 1 FROM cf_cur c WHERE c.fid = s.fid AND c.key = s.key)
  RETURNING s.fid, s.key)
INSERT INTO cf_changed SELECT :layer, fid, 'gone', key FROM g

-- name: compare_new
-- Features without a source (new, or changed) get one.
WITH n AS (
  INSERT INTO conflict_sources (layer_id, fid, key, adcode)
  SELECT :layer, c.fid, c.key, :district_of_t
    FROM cf_cur c JOIN :table t ON t.fid = c.fid
   WHERE NOT EXISTS (SELECT 1 FROM conflict_sources s WHERE s.layer_id = :layer AND s.fid = c.fid)
  RETURNING fid)
INSERT INTO cf_changed SELECT :layer, fid, 'new' FROM n

-- name: log_gone
-- From the write log: every fid written since the last run leaves ...
WITH g AS (
  DELETE FROM conflict_sources s WHERE s.layer_id = :layer
     AND s.fid IN (SELECT fid FROM cf_dirty WHERE layer_id = :layer AND fid IS NOT NULL)
  RETURNING s.fid, s.key)
INSERT INTO cf_changed SELECT :layer, fid, 'gone', key FROM g

-- name: log_new
-- ... and, if it is still there, comes back with its current content (an unchanged content key
-- gives the same piece ids again).
WITH n AS (
  INSERT INTO conflict_sources (layer_id, fid, key, adcode)
  SELECT :layer, t.fid, conflict_content_key(t.code, t.geom), :district_of_t
    FROM :table t WHERE t.fid IN (SELECT DISTINCT fid FROM cf_dirty WHERE layer_id = :layer AND fid IS NOT NULL)
  RETURNING fid)
INSERT INTO cf_changed SELECT :layer, fid, 'new' FROM n

-- name: twins
-- A feature identical to one that left (same content key) made the same pieces, which were kept
-- once, under the one that left: its pairs are computed again.
INSERT INTO cf_changed
SELECT :layer, s.fid, 'new', s.key FROM conflict_sources s
 WHERE s.layer_id = :layer AND s.key IN (SELECT key FROM cf_changed WHERE layer_id = :layer AND change = 'gone')
   AND s.fid NOT IN (SELECT fid FROM cf_changed WHERE layer_id = :layer AND change = 'new')

-- name: partners
-- The overlap partners of the features that changed (:change 'gone': their pieces may have been
-- trimmed by the ones that left; 'new': by the ones that came).
INSERT INTO cf_partner
SELECT o.layer_id, o.fid2 FROM conflict_source_overlaps o JOIN cf_changed c ON c.layer_id = o.layer_id AND c.fid = o.fid1 AND c.change = :change WHERE o.layer_id = :layer
UNION ALL
SELECT o.layer_id, o.fid1 FROM conflict_source_overlaps o JOIN cf_changed c ON c.layer_id = o.layer_id AND c.fid = o.fid2 AND c.change = :change WHERE o.layer_id = :layer

-- name: forget_overlaps
-- The overlap pairs of features that left go.
DELETE FROM conflict_source_overlaps o WHERE o.layer_id = :layer
   AND (o.fid1 IN (SELECT fid FROM cf_changed WHERE layer_id = :layer AND change = 'gone')
     OR o.fid2 IN (SELECT fid FROM cf_changed WHERE layer_id = :layer AND change = 'gone'))

-- name: find_overlaps
-- The pairs of new features whose interiors overlap (:overlaps, one of the two below): touching
-- neighbours are not overlaps.
INSERT INTO conflict_source_overlaps (layer_id, fid1, fid2)
SELECT :layer, LEAST(n.fid, t.fid), GREATEST(n.fid, t.fid)
  FROM cf_changed c JOIN :table n ON n.fid = c.fid
  JOIN :table t ON t.geom && n.geom AND t.fid <> n.fid
 WHERE c.layer_id = :layer AND c.change = 'new' AND :overlaps
ON CONFLICT DO NOTHING

-- name: overlaps_by_relate
-- DE-9IM 2********: the interiors meet in an area. Can fail on nearly coincident edges ("side
-- location conflict").
ST_Relate(n.geom, t.geom, '2********')

-- name: overlaps_by_overlay
-- The overlay decides (robust, slower): what ST_Relate cannot.
ST_Area(ST_Intersection(n.geom, t.geom)) > 0

-- name: recover
-- After the districts changed: every source's district is found again.
UPDATE conflict_sources s SET adcode = :district_of_t
  FROM :table t WHERE s.layer_id = :layer AND t.fid = s.fid
