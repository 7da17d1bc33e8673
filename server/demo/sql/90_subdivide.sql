-- Large scale only: split every feature of a staging table into the Voronoi cells of
-- :pieces seeded points spread over the layer (a benchmark needs many features; the pieces keep
-- the feature's class and attributes, and still do not overlap). {{table}} is a staging table
-- name chosen by the loader from the registry, never from input.
CREATE TEMP TABLE demo_sub_cells ON COMMIT DROP AS
SELECT (ST_Dump(ST_VoronoiPolygons(ST_GeneratePoints(u.g, p.subdivide_pieces, p.seed + 31337), 0, ST_Expand(ST_Envelope(u.g), 0.1)))).geom AS cell
FROM (SELECT ST_Union(geom) AS g FROM {{table}}) u, demo_params p;
CREATE INDEX ON demo_sub_cells USING gist (cell);
ANALYZE demo_sub_cells;
CREATE TEMP TABLE demo_sub_out ON COMMIT DROP AS
SELECT f.*, x.piece
FROM {{table}} f
CROSS JOIN LATERAL (
  SELECT (ST_Dump(CASE WHEN ST_CoveredBy(c.cell, f.geom) THEN c.cell ELSE ST_CollectionExtract(ST_Intersection(c.cell, f.geom), 3) END)).geom AS piece
  FROM demo_sub_cells c WHERE c.cell && f.geom AND ST_Intersects(c.cell, f.geom)
) x;
DELETE FROM demo_sub_out WHERE ST_IsEmpty(piece) OR ST_Area(piece) = 0;
TRUNCATE {{table}};
ALTER TABLE demo_sub_out DROP COLUMN geom;
ALTER TABLE demo_sub_out RENAME COLUMN piece TO geom;
INSERT INTO {{table}} SELECT * FROM demo_sub_out;
UPDATE {{table}} t SET k = t.k || '-' || lpad(n.rn::text, 6, '0')
FROM (SELECT ctid AS c, row_number() OVER (PARTITION BY k ORDER BY ST_XMin(geom), ST_YMin(geom), ST_Area(geom)) AS rn FROM {{table}}) n WHERE n.c = t.ctid;
DROP TABLE demo_sub_cells;
DROP TABLE demo_sub_out;
