-- Urban master plan (城规, GB 50137): street blocks of a jittered grid. Inside the central city the
-- blocks are urban construction land (R A B M W S U G) with a floor-area ratio; in the planning
-- area around it (demo: a ring of urban_ring_km; large: the whole city) coarser cells are 城乡用地
-- (H14 village, H2 regional transport, H5 mining, E1 water, E2 farmland/forest, E9 other).

-- A grid of quadrilaterals over an area's envelope: lattice vertices jittered by up to ±22 % of a
-- cell (so quads never fold), shared by neighbouring quads (so they tile). Cell size in metres.
CREATE OR REPLACE FUNCTION pg_temp.grid(area geometry, cell_m double precision, seed integer, tag text)
RETURNS TABLE (i integer, j integer, geom geometry) LANGUAGE sql STABLE AS $$
  WITH e AS (
    SELECT ST_XMin(area) AS x0, ST_YMin(area) AS y0, ST_XMax(area) AS x1, ST_YMax(area) AS y1,
           cell_m / (111320 * cos(radians(ST_Y(ST_Centroid(area))))) AS dx, cell_m / 110950.0 AS dy
  ), v AS (
    SELECT gi AS i, gj AS j,
           ST_MakePoint(x0 + (gi + 0.44 * (pg_temp.h01(seed, tag || 'x' || gi || ',' || gj) - 0.5)) * dx,
                        y0 + (gj + 0.44 * (pg_temp.h01(seed, tag || 'y' || gi || ',' || gj) - 0.5)) * dy) AS p
    FROM e, generate_series(-1, ceil((x1 - x0) / dx)::int + 1) AS gi, generate_series(-1, ceil((y1 - y0) / dy)::int + 1) AS gj
  )
  SELECT a.i, a.j, ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[a.p, b.p, c.p, d.p, a.p])), 4490)
  FROM v a JOIN v b ON b.i = a.i + 1 AND b.j = a.j JOIN v c ON c.i = a.i + 1 AND c.j = a.j + 1 JOIN v d ON d.i = a.i AND d.j = a.j + 1
$$;

-- Where blocks go: the central city, and the planning area around it cut per district.
CREATE TEMP TABLE demo_up_area ON COMMIT DROP AS
SELECT 'C' AS part, '' AS adcode, geom FROM demo_cc
UNION ALL
SELECT 'P', d.adcode, pg_temp.poly(ST_Difference(ST_Intersection(d.geom, a.g), (SELECT geom FROM demo_cc)))
FROM demo_d d CROSS JOIN demo_params prm
CROSS JOIN LATERAL (SELECT CASE WHEN prm.urban_ring_km IS NULL THEN d.geom
                                ELSE pg_temp.buffer_m((SELECT geom FROM demo_cc), prm.urban_ring_km * 1000) END AS g) a
WHERE a.g && d.geom AND ST_Intersects(a.g, d.geom);
DELETE FROM demo_up_area WHERE geom IS NULL;

-- One lattice per part (computed once, so neighbouring districts share the same quads).
CREATE TEMP TABLE demo_grid ON COMMIT DROP AS
SELECT 'C' AS part, g.* FROM demo_params prm, pg_temp.grid((SELECT geom FROM demo_cc), prm.urban_cell_m, prm.seed, 'C') g
UNION ALL
SELECT 'P', g.* FROM demo_params prm, pg_temp.grid((SELECT ST_Envelope(ST_Collect(geom)) FROM demo_up_area WHERE part = 'P'), prm.urban_outer_cell_m, prm.seed, 'P') g;
CREATE INDEX ON demo_grid USING gist (geom);
ANALYZE demo_grid;

CREATE TEMP TABLE demo_blocks ON COMMIT DROP AS
SELECT a.part, a.adcode, g.i, g.j,
       (ST_Dump(CASE WHEN ST_CoveredBy(g.geom, a.geom) THEN g.geom ELSE ST_CollectionExtract(ST_Intersection(g.geom, a.geom), 3) END)).geom AS geom
FROM demo_up_area a JOIN demo_grid g ON g.part = a.part AND g.geom && a.geom AND ST_Intersects(g.geom, a.geom);
DELETE FROM demo_blocks WHERE ST_IsEmpty(geom) OR ST_Area(geom) = 0;
ALTER TABLE demo_blocks ADD COLUMN code text;
ALTER TABLE demo_blocks ADD COLUMN n serial;

-- Central-city blocks: commerce and public services in the old-town core, industry and logistics
-- towards the development zone (south-east) and the railway (north), green along the 御河.
UPDATE demo_blocks b SET code = c.code FROM (
  SELECT b.n, CASE
    WHEN ST_DWithin(q.pt, (SELECT geom FROM demo_l WHERE kind = 'rivers' AND name = '御河'), 0.004) THEN 'G'
    WHEN pg_temp.km(ST_X(q.pt), ST_Y(q.pt), 113.3, 40.09) < 1.8 THEN
      CASE WHEN h < 0.35 THEN 'B' WHEN h < 0.6 THEN 'A' WHEN h < 0.9 THEN 'R' ELSE 'G' END
    WHEN ST_X(q.pt) > 113.37 AND ST_Y(q.pt) < 40.06 THEN
      CASE WHEN h < 0.45 THEN 'M' WHEN h < 0.6 THEN 'W' WHEN h < 0.8 THEN 'R' WHEN h < 0.85 THEN 'U' WHEN h < 0.95 THEN 'G' ELSE 'S' END
    WHEN ST_Y(q.pt) > 40.125 THEN
      CASE WHEN h < 0.25 THEN 'W' WHEN h < 0.45 THEN 'M' WHEN h < 0.85 THEN 'R' WHEN h < 0.9 THEN 'U' ELSE 'G' END
    ELSE CASE WHEN h < 0.58 THEN 'R' WHEN h < 0.68 THEN 'A' WHEN h < 0.78 THEN 'B' WHEN h < 0.87 THEN 'G' WHEN h < 0.91 THEN 'U'
              WHEN h < 0.95 THEN 'S' ELSE 'M' END
  END AS code
  FROM demo_blocks b CROSS JOIN demo_params prm
  CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS pt, pg_temp.h01(prm.seed, 'up' || b.i || ',' || b.j) AS h) q
  WHERE b.part = 'C'
) c WHERE c.n = b.n;

-- Planning-area cells: what the land is (the status classifier) as 城乡用地.
UPDATE demo_blocks b SET code = c.code FROM (
  SELECT b.n, CASE
    WHEN EXISTS (SELECT 1 FROM demo_corr k WHERE k.code = '1003' AND ST_DWithin(q.pt, k.geom, 0.0025)) THEN 'H2'
    ELSE CASE pg_temp.status_code(s.u, s.mine, s.relief, s.riv_km, pg_temp.noise(ST_X(q.pt), ST_Y(q.pt), prm.seed), pg_temp.h01(prm.seed, 'uo' || b.i || ',' || b.j))
      WHEN '0701' THEN 'H14' WHEN '05H1' THEN 'H14' WHEN '08H1' THEN 'H14' WHEN '0702' THEN 'H14' WHEN '0601' THEN 'H14'
      WHEN '0602' THEN 'H5' WHEN '1003' THEN 'H2' WHEN '1101' THEN 'E1' WHEN '1104' THEN 'E1' WHEN '1206' THEN 'E9'
      ELSE 'E2' END
  END AS code
  FROM demo_blocks b CROSS JOIN demo_params prm
  CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS pt) q
  CROSS JOIN LATERAL pg_temp.site(ST_X(q.pt), ST_Y(q.pt)) s
  WHERE b.part = 'P'
) c WHERE c.n = b.n;

-- Stamps (deliberate conflicts): the stamp replaces the blocks under it.
CREATE TEMP TABLE demo_up_stamp ON COMMIT DROP AS
SELECT s.i, s.code, pg_temp.rect(s.lon, s.lat, s.w_m, s.h_m) AS g FROM demo_stamps s WHERE s.layer = 'urban_plan';
UPDATE demo_blocks b SET geom = ST_CollectionExtract(ST_Difference(b.geom, (SELECT ST_Union(s.g) FROM demo_up_stamp s WHERE s.g && b.geom)), 3)
WHERE EXISTS (SELECT 1 FROM demo_up_stamp s WHERE s.g && b.geom AND ST_Intersects(s.g, b.geom));
INSERT INTO demo_blocks (part, adcode, i, j, geom, code)
SELECT a.part, a.adcode, -1, s.i, ST_CollectionExtract(ST_Intersection(s.g, a.geom), 3), s.code
FROM demo_up_stamp s JOIN demo_up_area a ON s.g && a.geom AND ST_Intersects(s.g, a.geom);
DELETE FROM demo_blocks WHERE geom IS NULL OR ST_IsEmpty(geom) OR ST_Area(geom) = 0;

-- Block numbers: C (central city) or P (planning area), row and column of the grid, part number.
INSERT INTO demo_urban_plan (k, code, block_no, far, geom)
SELECT block_no, code, block_no,
       round((CASE code WHEN 'R' THEN 1.8 + 1.2 * h WHEN 'B' THEN 2.5 + 2.5 * h WHEN 'A' THEN 1.2 + 1.3 * h WHEN 'M' THEN 0.8 + 0.7 * h
                 WHEN 'W' THEN 0.6 + 0.6 * h WHEN 'U' THEN 0.5 + 0.5 * h WHEN 'G' THEN 0.1 * h WHEN 'H14' THEN 0.8 + 0.4 * h END)::numeric, 2)::double precision,
       ST_Multi(geom)
FROM (
  SELECT b.code, b.geom, pg_temp.h01(prm.seed, 'far' || b.part || b.i || ',' || b.j) AS h,
         b.part || b.adcode || '-' || lpad((b.j + 1)::text, 3, '0') || lpad((b.i + 1)::text, 3, '0') || '-'
           || row_number() OVER (PARTITION BY b.part, b.adcode, b.i, b.j ORDER BY ST_XMin(b.geom), ST_YMin(b.geom), ST_Area(b.geom)) AS block_no
  FROM demo_blocks b CROSS JOIN demo_params prm
) z;
