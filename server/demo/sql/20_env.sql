-- Named features of the environmental, industrial and energy plans: ecological red line, water
-- sources, nature reserves, industrial parks, subsidence, PV plants, approved projects and major
-- project points. Shapes come from pg_temp.blob keyed by the feature (not the seed), so these
-- layers, and the deliberate conflicts built on them, are the same in every load.

-- Ecological red line: one wobbly area per piece, clipped to the city; a later piece loses what an
-- earlier one already covers (the layer has no overlaps).
CREATE TEMP TABLE demo_rl ON COMMIT DROP AS
SELECT i, name, extra, pg_temp.blob(lon, lat, rx_km, ry_km, 'redline' || i, 0.25) AS g FROM demo_areas WHERE kind = 'redline';
INSERT INTO demo_eco_redline (k, code, name, "function", geom)
SELECT lpad(a.i::text, 3, '0'), 'redline', a.name, a.extra,
       pg_temp.poly(ST_Intersection(COALESCE(ST_Difference(a.g, (SELECT ST_Union(b.g) FROM demo_rl b WHERE b.i < a.i AND b.g && a.g)), a.g),
                                    (SELECT geom FROM demo_city)))
FROM demo_rl a;

-- Water sources: grade 1 (一级), 2 (二级) and 3 (准保护区) are homothetic blobs of one key, so they
-- nest exactly: grade n is the blob of radius r_n minus the blob of radius r_(n-1).
CREATE TEMP TABLE demo_ws ON COMMIT DROP AS
SELECT i, name,
       pg_temp.blob(lon, lat, r1, r1 * 0.8, 'water' || i, 0.2) AS g1,
       pg_temp.blob(lon, lat, r2, r2 * 0.8, 'water' || i, 0.2) AS g2,
       pg_temp.blob(lon, lat, r3, r3 * 0.8, 'water' || i, 0.2) AS g3
FROM demo_areas WHERE kind = 'water';
INSERT INTO demo_water_source (k, code, name, geom)
SELECT lpad(i::text, 3, '0') || '-' || z.code, z.code, name, pg_temp.poly(ST_Intersection(z.g, (SELECT geom FROM demo_city)))
FROM demo_ws CROSS JOIN LATERAL (VALUES ('1', g1), ('2', ST_Difference(g2, g1)), ('3', ST_Difference(g3, g2))) AS z(code, g);

-- Nature reserves: core (0.45 of the radius), buffer (to 0.7) and experimental zone (to 1).
CREATE TEMP TABLE demo_nr ON COMMIT DROP AS
SELECT i, name, extra,
       pg_temp.blob(lon, lat, rx_km * 0.45, ry_km * 0.45, 'reserve' || i, 0.2) AS g1,
       pg_temp.blob(lon, lat, rx_km * 0.7, ry_km * 0.7, 'reserve' || i, 0.2) AS g2,
       pg_temp.blob(lon, lat, rx_km, ry_km, 'reserve' || i, 0.2) AS g3
FROM demo_areas WHERE kind = 'reserve';
INSERT INTO demo_nature_reserve (k, code, name, level, geom)
SELECT lpad(i::text, 3, '0') || '-' || z.n, z.code, name, extra, pg_temp.poly(ST_Intersection(z.g, (SELECT geom FROM demo_city)))
FROM demo_nr CROSS JOIN LATERAL (VALUES (1, 'core', g1), (2, 'buffer', ST_Difference(g2, g1)), (3, 'experimental', ST_Difference(g3, g2))) AS z(n, code, g);

-- Industrial parks: each park's area is split into functional zones by the Voronoi cells of a few
-- points in it (fixed seed per park); zones are handed out west to east in the listed order.
CREATE TEMP TABLE demo_pk ON COMMIT DROP AS
SELECT i, name, extra, zones, pg_temp.blob(lon, lat, rx_km, ry_km, 'park' || i, 0.15) AS g FROM demo_areas WHERE kind = 'park';
INSERT INTO demo_industrial_parks (k, code, park, leading_industry, geom)
SELECT lpad(p.i::text, 3, '0') || '-' || lpad(c.n::text, 2, '0'), p.zones[c.n], p.name, p.extra, pg_temp.poly(ST_Intersection(c.cell, p.g))
FROM demo_pk p
CROSS JOIN LATERAL (
  SELECT row_number() OVER (ORDER BY ST_X(ST_PointOnSurface(v.cell)), ST_Y(ST_PointOnSurface(v.cell)))::int AS n, v.cell
  FROM (SELECT (ST_Dump(ST_VoronoiPolygons(ST_GeneratePoints(p.g, array_length(p.zones, 1), 1000 + p.i), 0, ST_Expand(p.g, 0.01)))).geom AS cell) v
) c;

-- Coal-mining subsidence: a basin per mine (radius × subsidence_scale), clipped to the four mining
-- districts (矿区, 南郊区, 左云县, 新荣区); an earlier mine in the list keeps shared ground. Within a
-- basin: unstable core (to 0.45 of the radius), basically stable ring (to 0.75), stable rim.
CREATE TEMP TABLE demo_mine_basin ON COMMIT DROP AS
SELECT m.i, m.name, m.stage, m.lon, m.lat, m.r_km * p.subsidence_scale AS r,
       pg_temp.blob(m.lon, m.lat, m.r_km * p.subsidence_scale * 1.1, m.r_km * p.subsidence_scale * 0.9, 'mine' || m.i, 0.25) AS g
FROM demo_mines m CROSS JOIN demo_params p;
CREATE TEMP TABLE demo_mine_owned ON COMMIT DROP AS
SELECT a.*, ST_Intersection(COALESCE(ST_Difference(a.g, (SELECT ST_Union(b.g) FROM demo_mine_basin b WHERE b.i < a.i AND b.g && a.g)), a.g),
                            (SELECT ST_Union(geom) FROM demo_d WHERE adcode IN ('140203', '140211', '140212', '140226'))) AS owned
FROM demo_mine_basin a;
INSERT INTO demo_subsidence (k, code, mine, villages, households, stage, geom)
SELECT lpad(i::text, 3, '0') || '-' || n, code, name,
       round(ST_Area(geom::geography) / 1e6 * 0.9 * (0.5 + pg_temp.h01(seed, 'sv' || i || n)))::int,
       round(ST_Area(geom::geography) / 1e6 * 0.9 * (0.5 + pg_temp.h01(seed, 'sv' || i || n)))::int * (60 + round(140 * pg_temp.h01(seed, 'sh' || i || n)))::int,
       stage, geom
FROM (
  SELECT o.i, z.n, z.code, o.name, o.stage, p.seed,
         pg_temp.poly(ST_Intersection(o.owned, z.g)) AS geom
  FROM demo_mine_owned o CROSS JOIN demo_params p
  CROSS JOIN LATERAL (SELECT pg_temp.blob(o.lon, o.lat, o.r * 1.1 * 0.45, o.r * 0.9 * 0.45, 'mine' || o.i, 0.25) AS c,
                             pg_temp.blob(o.lon, o.lat, o.r * 1.1 * 0.75, o.r * 0.9 * 0.75, 'mine' || o.i, 0.25) AS m) b
  CROSS JOIN LATERAL (VALUES (1, 'unstable', b.c), (2, 'basically_stable', ST_Difference(b.m, b.c)), (3, 'stable', ST_Difference(o.g, b.m))) AS z(n, code, g)
) s WHERE geom IS NOT NULL;

-- PV plants: a rectangle (1.6 : 1) whose area follows the capacity, 2.5 ha per MW on the ground and
-- 1 ha per MW on roofs. on_subsidence is what the geometry says (most of the site on subsidence).
INSERT INTO demo_pv_sites (k, code, name, capacity_mw, grid_status, grid_date, on_subsidence, geom)
SELECT lpad(i::text, 3, '0'), code, name, capacity_mw, grid_status, grid_date::date,
       COALESCE((SELECT sum(ST_Area(ST_Intersection(s.geom, r.g))) FROM demo_subsidence s WHERE s.geom && r.g) > 0.5 * ST_Area(r.g), false),
       ST_Multi(r.g)
FROM demo_pv v
CROSS JOIN LATERAL (SELECT v.capacity_mw * CASE v.code WHEN 'ground' THEN 25000 ELSE 10000 END AS a_m2) a
CROSS JOIN LATERAL (SELECT pg_temp.rect(v.lon, v.lat, sqrt(a.a_m2 * 1.6), a.a_m2 / sqrt(a.a_m2 * 1.6)) AS g) r;

INSERT INTO demo_approved_projects (k, code, name, approval_no, approved_on, investor, geom)
SELECT lpad(i::text, 3, '0'), code, name, approval_no, approved_on::date, investor, ST_Multi(pg_temp.rect(lon, lat, w_m, h_m)) FROM demo_approved;

INSERT INTO demo_econ_projects (k, code, name, investment_cny_100m, start_year, geom)
SELECT lpad(i::text, 3, '0'), code, name, inv, year, ST_SetSRID(ST_MakePoint(lon, lat), 4490) FROM demo_econ_projects_src;
