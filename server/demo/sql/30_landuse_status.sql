-- Land-use status (现状, GB/T 21010): survey-like parcels that tile every district. Parcels are the
-- Voronoi cells of seeded points (ST_GeneratePoints(…, seed)), denser around towns, clipped to the
-- district and cut along the river and expressway corridors; a parcel's class comes from where it
-- lies (construction near towns, mining near mines, forest and grass in the hills, irrigated land
-- near rivers) plus a smooth noise field and a per-parcel hash.

-- What a place is like: u = pull of the nearest towns (0..1), mine = pull of a mine (0..1),
-- relief = hills (0..~1), riv_km = distance to the nearest river (km), town = nearest town's name.
CREATE OR REPLACE FUNCTION pg_temp.site(x double precision, y double precision)
RETURNS TABLE (u double precision, mine double precision, relief double precision, riv_km double precision, town text)
LANGUAGE sql STABLE AS $$
  SELECT (SELECT coalesce(max(exp(greatest(-40, -power(pg_temp.km(x, y, t.lon, t.lat) / t.r_km, 2)))), 0) FROM demo_towns t),
         (SELECT coalesce(max(exp(greatest(-40, -power(pg_temp.km(x, y, m.lon, m.lat) / (m.r_km * p.subsidence_scale), 2)))), 0) FROM demo_mines m, demo_params p),
         (SELECT coalesce(sum(m.h * exp(greatest(-40, -(power((x - m.lon) * 85.3 / m.rx_km, 2) + power((y - m.lat) * 111.0 / m.ry_km, 2))))), 0) FROM demo_mountains m),
         (SELECT ST_Distance(ST_SetSRID(ST_MakePoint(x, y), 4490), r.geom) * 95 FROM demo_river_union r),
         (SELECT t.name FROM demo_towns t ORDER BY pg_temp.km(x, y, t.lon, t.lat), t.i LIMIT 1)
$$;

-- The status class of a place (fields from pg_temp.site, n = smooth noise, h = hash in [0, 1)).
CREATE OR REPLACE FUNCTION pg_temp.status_code(u double precision, mine double precision, relief double precision,
                                               riv_km double precision, n double precision, h double precision)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN u > 0.55 THEN CASE WHEN h < 0.52 THEN '0701' WHEN h < 0.66 THEN '05H1' WHEN h < 0.76 THEN '08H1' WHEN h < 0.92 THEN '0601' ELSE '1003' END
    WHEN mine > 0.5 THEN CASE WHEN h < 0.6 THEN '0602' WHEN h < 0.75 THEN '1206' WHEN h < 0.85 THEN '0601' ELSE '0404' END
    WHEN u > 0.2 AND h < 0.4 THEN '0702'
    WHEN h < 0.04 THEN '0702'
    WHEN relief + 0.25 * n > 0.6 THEN CASE WHEN h < 0.6 THEN '0301' WHEN h < 0.9 THEN '0305' ELSE '0404' END
    WHEN relief + 0.25 * n > 0.3 THEN CASE WHEN h < 0.4 THEN '0305' WHEN h < 0.8 THEN '0404' ELSE '0103' END
    WHEN riv_km < 1.0 AND h < 0.08 THEN '1104'
    WHEN riv_km < 4 THEN CASE WHEN n > 0.85 AND h < 0.3 THEN '0101' WHEN h < 0.65 THEN '0102' WHEN h < 0.9 THEN '0103' ELSE '0201' END
    WHEN n < -0.55 THEN CASE WHEN h < 0.45 THEN '0404' WHEN h < 0.6 THEN '1206' ELSE '0103' END
    ELSE CASE WHEN h < 0.7 THEN '0103' WHEN h < 0.86 THEN '0102' WHEN h < 0.92 THEN '0201' ELSE '0404' END
  END
$$;

-- Seed points: a base density over each district plus a halo (1.5 × the town's radius) of denser
-- points around each town. One Voronoi diagram per district, extended beyond its envelope.
CREATE TEMP TABLE demo_ls_cells ON COMMIT DROP AS
WITH pts AS (
  SELECT d.adcode, p.geom
  FROM demo_d d CROSS JOIN demo_params prm
  CROSS JOIN LATERAL pg_temp.seed_points(d.geom, d.area_km2, prm.status_per_km2, 20, prm.town_per_km2, prm.seed) AS p(geom)
), vor AS (
  SELECT adcode, (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom), 0, ST_Expand(ST_Envelope(ST_Collect(geom)), 0.2)))).geom AS cell
  FROM pts GROUP BY adcode
)
SELECT v.adcode,
       CASE WHEN ST_CoveredBy(v.cell, d.geom) THEN v.cell ELSE ST_CollectionExtract(ST_Intersection(v.cell, d.geom), 3) END AS geom
FROM vor v JOIN demo_d d USING (adcode)
WHERE v.cell && d.geom;

-- Cut along the corridors: the parcel minus all corridor pieces it meets, plus one parcel per
-- corridor piece inside it; multi-part results become separate parcels.
CREATE TEMP TABLE demo_ls ON COMMIT DROP AS
SELECT c.adcode, x.code, (ST_Dump(x.geom)).geom AS geom
FROM demo_ls_cells c
LEFT JOIN LATERAL (SELECT ST_Union(k.geom) AS u FROM demo_corr k WHERE k.geom && c.geom AND ST_Intersects(k.geom, c.geom)) cu ON true
CROSS JOIN LATERAL (
  SELECT NULL::text AS code, CASE WHEN cu.u IS NULL THEN c.geom ELSE ST_CollectionExtract(ST_Difference(c.geom, cu.u), 3) END AS geom
  UNION ALL
  SELECT k.code, ST_CollectionExtract(ST_Intersection(c.geom, k.geom), 3)
  FROM demo_corr k WHERE cu.u IS NOT NULL AND k.geom && c.geom AND ST_Intersects(k.geom, c.geom)
) x
WHERE NOT ST_IsEmpty(c.geom);
DELETE FROM demo_ls WHERE geom IS NULL OR ST_IsEmpty(geom) OR ST_Area(geom) = 0;

-- Classify, number (图斑编号: adcode + 6 digits, west to east) and store.
INSERT INTO demo_landuse_status (k, code, parcel_no, owner, geom)
SELECT parcel_no, code, parcel_no,
       CASE WHEN code IN ('0701', '05H1', '08H1', '0601', '0602', '1003', '1101') THEN '国有' ELSE town || '集体' END,
       ST_Multi(geom)
FROM (
  SELECT l.adcode || lpad(row_number() OVER (PARTITION BY l.adcode ORDER BY ST_X(q.pt), ST_Y(q.pt), ST_Area(l.geom))::text, 6, '0') AS parcel_no,
         COALESCE(l.code, pg_temp.status_code(s.u, s.mine, s.relief, s.riv_km, pg_temp.noise(ST_X(q.pt), ST_Y(q.pt), prm.seed),
                                              pg_temp.h01(prm.seed, 'ls' || ST_AsText(ST_SnapToGrid(q.pt, 1e-6))))) AS code,
         s.town, l.geom
  FROM demo_ls l CROSS JOIN demo_params prm
  CROSS JOIN LATERAL (SELECT ST_PointOnSurface(l.geom) AS pt) q
  CROSS JOIN LATERAL pg_temp.site(ST_X(q.pt), ST_Y(q.pt)) s
) z;
