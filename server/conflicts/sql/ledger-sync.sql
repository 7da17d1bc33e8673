-- What a detection run does to the ledger (server/conflicts/ledger-sync.ts): new patch ids open a
-- case (待协调), vanished ones close theirs as resolved by data (with the layer revision that did
-- it, and the last geometry, area and source features from cf_old), ids that come back reopen
-- theirs; each move is an event in the case's history, by 'system'. The pieces in scope are
-- every piece of the rules recomputed whole (:whole) and the pieces this run touched (cf_touched)
-- of the others (:incr), as two driving sets, never an OR.

-- name: reopen
-- Cases resolved by data whose patch is back: pending again, the decision cleared.
WITH t AS (
  SELECT c.id, c.rule_id
    FROM (SELECT p.* FROM conflict_pieces p WHERE p.rule_id = ANY(:whole)
          UNION ALL
          SELECT p.* FROM cf_touched t JOIN conflict_pieces p ON p.id = t.id WHERE t.rule_id = ANY(:incr)) p
    JOIN conflict_cases c ON c.id = p.id
   WHERE c.status = 'resolved_by_data' AND p.geom IS NOT NULL),
u AS (
  UPDATE conflict_cases c SET status = 'pending', decision = NULL, reason = NULL, district_opinion = NULL, city_opinion = NULL, effective_date = NULL, version = c.version + 1,
         resolved_run = NULL, resolved_layer = NULL, resolved_revision = NULL, last_run = :run, updated_at = now()
    FROM t WHERE c.id = t.id RETURNING c.id, c.rule_id),
e AS (
  INSERT INTO conflict_case_events (case_id, actor, action, from_status, to_status, run_id, details)
  SELECT u.id, 'system', 'reappeared', 'resolved_by_data', 'pending', :run,
         jsonb_strip_nulls(jsonb_build_object('layer', r.resolved_layer, 'revision', r.resolved_revision))
    FROM u JOIN cf_rules r ON r.rule_id = u.rule_id)
SELECT rule_id, count(*) AS n FROM u GROUP BY rule_id

-- name: open
-- Patches without a case get one, pending, named after their district.
WITH n AS (
  INSERT INTO conflict_cases (id, rule_id, adcode, district, a_layer, a_code, b_layer, b_code, first_run, last_run)
  SELECT p.id, p.rule_id, p.adcode, (SELECT d.name FROM conflict_districts d WHERE d.adcode = p.adcode), p.a_layer, p.a_code, p.b_layer, p.b_code, :run, :run
    FROM (SELECT p.* FROM conflict_pieces p WHERE p.rule_id = ANY(:whole)
          UNION ALL
          SELECT p.* FROM cf_touched t JOIN conflict_pieces p ON p.id = t.id WHERE t.rule_id = ANY(:incr)) p
   WHERE p.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conflict_cases c WHERE c.id = p.id)
  RETURNING id, rule_id),
e AS (INSERT INTO conflict_case_events (case_id, actor, action, to_status, run_id) SELECT id, 'system', 'detected', 'pending', :run FROM n)
SELECT rule_id, count(*) AS n FROM n GROUP BY rule_id

-- name: close
-- Open cases whose patch is gone close as resolved by data: every open case of the rules in
-- :whole, the touched ones of the rules in :incr. The revision that resolved them is given per
-- rule (:resolved_rules, :resolved_layers, :resolved_revisions); a retired rule gives none and a
-- :note instead.
WITH resolution AS (
  SELECT * FROM unnest(:resolved_rules::text[], :resolved_layers::text[], :resolved_revisions::integer[]) AS x(rule_id, layer, revision)),
t AS (
  SELECT c.id, c.rule_id, c.status FROM conflict_cases c
   WHERE c.rule_id = ANY(:whole)
     AND c.status <> 'resolved_by_data' AND NOT EXISTS (SELECT 1 FROM conflict_pieces p WHERE p.id = c.id AND p.geom IS NOT NULL)
  UNION ALL
  SELECT c.id, c.rule_id, c.status FROM cf_touched x JOIN conflict_cases c ON c.id = x.id
   WHERE x.rule_id = ANY(:incr)
     AND c.status <> 'resolved_by_data' AND NOT EXISTS (SELECT 1 FROM conflict_pieces p WHERE p.id = c.id AND p.geom IS NOT NULL)),
u AS (
  UPDATE conflict_cases c
     SET status = 'resolved_by_data', version = c.version + 1, resolved_run = :run, resolved_layer = r.layer, resolved_revision = r.revision,
         last_geom = COALESCE((SELECT ST_Multi(o.geom) FROM cf_old o WHERE o.id = c.id), c.last_geom),
         last_area_m2 = COALESCE((SELECT o.area_m2 FROM cf_old o WHERE o.id = c.id), c.last_area_m2),
         last_a_fid = COALESCE((SELECT o.a_fid FROM cf_old o WHERE o.id = c.id), c.last_a_fid),
         last_b_fid = COALESCE((SELECT o.b_fid FROM cf_old o WHERE o.id = c.id), c.last_b_fid),
         updated_at = now()
    FROM t LEFT JOIN resolution r ON r.rule_id = t.rule_id
   WHERE c.id = t.id RETURNING c.id, c.rule_id, t.status, r.layer AS resolved_layer, r.revision AS resolved_revision),
e AS (
  INSERT INTO conflict_case_events (case_id, actor, action, from_status, to_status, run_id, details)
  SELECT id, 'system', 'resolved_by_data', status, 'resolved_by_data', :run,
         jsonb_strip_nulls(jsonb_build_object('layer', resolved_layer, 'revision', resolved_revision, 'note', :note::text)) FROM u)
SELECT rule_id, count(*) AS n FROM u GROUP BY rule_id

-- name: retire
-- A rule no longer in the file: its pieces go (their geometry kept for the ledger).
WITH d AS (DELETE FROM conflict_pieces WHERE rule_id = :rule RETURNING id, geom, area_m2, a_fid, b_fid),
     o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING)
INSERT INTO cf_touched SELECT :rule, id FROM d ON CONFLICT DO NOTHING
