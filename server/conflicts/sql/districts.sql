-- The districts of a run (server/conflicts/districts.ts): the 2015 districts made a partition, so
-- that a patch never straddles two, and the district a geometry lies wholly in.

-- name: partition
-- conflict_districts: each district (its features unioned) minus those before it by division
-- code, with conflict_subtract's chain of differences (a union of nearly coincident neighbours
-- could drop one). :table is the districts layer.
INSERT INTO conflict_districts (adcode, name, geom)
WITH d AS (SELECT adcode, min(name) AS name, ST_Multi(ST_Union(geom)) AS geom, row_number() OVER (ORDER BY adcode) AS n FROM :table GROUP BY adcode)
SELECT adcode, name, g FROM (
  SELECT d.adcode, d.name,
         ST_Multi(conflict_subtract(d.geom, ARRAY(SELECT e.geom FROM d e WHERE e.n < d.n AND e.geom && d.geom ORDER BY e.n))) AS g
    FROM d) p
 WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)

-- name: parts
-- conflict_district_parts: the same partition cut into parts of at most :vertices vertices, for
-- fast CoveredBy tests and overlays.
INSERT INTO conflict_district_parts (adcode, name, geom)
SELECT adcode, name, geom
  FROM (SELECT adcode, name, ST_Subdivide(geom, :vertices::integer) AS geom FROM conflict_districts) s
 WHERE ST_GeometryType(geom) = 'ST_Polygon'
 ORDER BY adcode

-- name: district_of_t
-- A fragment: the district that wholly contains t.geom, or NULL. First one of the small parts
-- (fast), and for what crosses a line between parts, the whole district its parts belong to.
COALESCE((SELECT d.adcode FROM conflict_district_parts d WHERE d.geom && t.geom AND ST_CoveredBy(t.geom, d.geom) LIMIT 1),
         (SELECT w.adcode FROM conflict_districts w
           WHERE w.adcode = (SELECT min(d.adcode) FROM conflict_district_parts d WHERE d.geom && t.geom AND ST_Intersects(d.geom, t.geom))
             AND ST_CoveredBy(t.geom, w.geom)))
