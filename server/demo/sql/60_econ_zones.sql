-- Main functional zones (主体功能区) of the development plan, tiling the city: prohibited areas
-- (禁止开发区域: nature reserves, the 恒山 scenic area, 云冈石窟, the volcano geopark) first; the rest
-- of each district by its designation: the central city optimised (优化), the mining districts,
-- 大同县 and 左云县 key development (重点), the five agricultural/ecological counties restricted (限制).
CREATE TEMP TABLE demo_ez_prohibited ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY ord, i)::int AS n, name || '(禁止开发区域)' AS name, g
FROM (
  SELECT 1 AS ord, i, name, pg_temp.blob(lon, lat, rx_km, ry_km, 'reserve' || i, 0.2) AS g FROM demo_areas WHERE kind = 'reserve'
  UNION ALL
  SELECT 2, i, name, pg_temp.blob(lon, lat, rx_km, ry_km, 'prohibited' || i, 0.2) FROM demo_areas WHERE kind = 'prohibited'
) s;
CREATE TEMP TABLE demo_ez ON COMMIT DROP AS
SELECT lpad(a.n::text, 3, '0') AS k, 'prohibited' AS code, a.name,
       pg_temp.poly(ST_Intersection(COALESCE(ST_Difference(a.g, (SELECT ST_Union(b.g) FROM demo_ez_prohibited b WHERE b.n < a.n AND b.g && a.g)), a.g),
                                    (SELECT geom FROM demo_city))) AS geom
FROM demo_ez_prohibited a;
INSERT INTO demo_ez (k, code, name, geom)
SELECT d.adcode || z.part, z.code, d.name || z.label, pg_temp.poly(ST_Difference(z.g, (SELECT ST_Union(geom) FROM demo_ez WHERE code = 'prohibited')))
FROM demo_d d
CROSS JOIN LATERAL (
  SELECT * FROM (VALUES
    ('a', CASE WHEN d.adcode = '140202' THEN 'optimized' WHEN d.adcode IN ('140203', '140211', '140212', '140226', '140227') THEN 'key' ELSE 'restricted' END,
          CASE WHEN d.adcode = '140202' THEN '(优化开发区域·中心城区)' WHEN d.adcode IN ('140203', '140211', '140212', '140226', '140227') THEN '(重点开发区域·晋北城镇群)'
               ELSE '(限制开发区域·农产品主产区与重点生态功能区)' END,
          CASE WHEN d.adcode = '140211' THEN ST_Difference(d.geom, (SELECT geom FROM demo_cc)) ELSE d.geom END),
    ('b', 'optimized', '(优化开发区域·中心城区)', CASE WHEN d.adcode = '140211' THEN ST_Intersection(d.geom, (SELECT geom FROM demo_cc)) END)
  ) v(part, code, label, g) WHERE g IS NOT NULL
) z;
DELETE FROM demo_ez WHERE geom IS NULL;
INSERT INTO demo_econ_zones (k, code, name, geom) SELECT k, code, name, geom FROM demo_ez;
