-- Land-use plan (土规): land-use zones (TD/T 1024 土地用途区, codes 010..090) that tile every
-- district, much coarser than the status parcels, and the construction-control zones (建设用地管制区,
-- 011..041) derived from them on the same geometry.

-- Zones: Voronoi cells of seeded points (seed + 7919, so not the status parcels' points), a base
-- density plus a denser halo around towns, clipped to each district.
CREATE TEMP TABLE demo_zones ON COMMIT DROP AS
WITH pts AS (
  SELECT d.adcode, p.geom
  FROM demo_d d CROSS JOIN demo_params prm
  CROSS JOIN LATERAL pg_temp.seed_points(d.geom, d.area_km2, prm.zone_per_km2, 8, prm.zone_town_per_km2, prm.seed + 7919) AS p(geom)
), vor AS (
  SELECT adcode, (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom), 0, ST_Expand(ST_Envelope(ST_Collect(geom)), 0.2)))).geom AS cell
  FROM pts GROUP BY adcode
)
SELECT v.adcode, (ST_Dump(CASE WHEN ST_CoveredBy(v.cell, d.geom) THEN v.cell ELSE ST_CollectionExtract(ST_Intersection(v.cell, d.geom), 3) END)).geom AS geom
FROM vor v JOIN demo_d d USING (adcode)
WHERE v.cell && d.geom;
DELETE FROM demo_zones WHERE ST_IsEmpty(geom) OR ST_Area(geom) = 0;
ALTER TABLE demo_zones ADD COLUMN id serial;
ALTER TABLE demo_zones ADD COLUMN code text;

-- A zone's class: the most frequent status class at 7 seeded sample points in it (the same
-- classifier as the status layer, so 基本农田 lies where the status is farmland), mapped to a
-- land-use zone; 75 % of farmland zones are basic farmland (010), the rest general (020).
WITH samples AS (
  SELECT z.id, prm.seed, s.u, s.mine,
         pg_temp.status_code(s.u, s.mine, s.relief, s.riv_km, pg_temp.noise(ST_X(pt.geom), ST_Y(pt.geom), prm.seed),
                             pg_temp.h01(prm.seed, 'lp' || z.id || ':' || pt.path[1])) AS sc
  FROM demo_zones z CROSS JOIN demo_params prm
  CROSS JOIN LATERAL (SELECT g.path, g.geom FROM ST_Dump(CASE WHEN ST_Area(z.geom) > 1e-7 THEN ST_GeneratePoints(z.geom, 7, prm.seed) ELSE ST_PointOnSurface(z.geom) END) g) pt
  CROSS JOIN LATERAL pg_temp.site(ST_X(pt.geom), ST_Y(pt.geom)) s
), major AS (
  SELECT id, seed, mode() WITHIN GROUP (ORDER BY sc) AS sc, avg(u) AS u, avg(mine) AS mine FROM samples GROUP BY id, seed
)
UPDATE demo_zones z SET code = CASE
    WHEN m.sc IN ('0101', '0102', '0103') THEN CASE WHEN pg_temp.h01(m.seed, 'bf' || z.id) < 0.75 THEN '010' ELSE '020' END
    WHEN m.sc = '0201' THEN '020'
    WHEN m.sc = '0702' THEN CASE WHEN m.u > 0.2 THEN '030' ELSE '020' END
    WHEN m.sc IN ('0701', '05H1', '08H1', '1003') THEN '030'
    WHEN m.sc = '0601' THEN CASE WHEN m.mine > 0.3 AND m.u < 0.5 THEN '040' ELSE '030' END
    WHEN m.sc IN ('0602', '1206') THEN CASE WHEN m.mine > 0.3 THEN '040' ELSE '090' END
    WHEN m.sc IN ('0301', '0305') THEN '080'
    WHEN m.sc = '0404' THEN '090'
    ELSE '060' END
FROM major m WHERE m.id = z.id;

-- Protected land decides over the status: scenic areas (恒山) 050, world heritage and reserve
-- core/buffer zones 070, the rest of the red line 060 (unless already construction).
UPDATE demo_zones z SET code = '050' FROM demo_areas a
WHERE a.kind = 'prohibited' AND a.name LIKE '%风景名胜区%' AND ST_Intersects(ST_PointOnSurface(z.geom), pg_temp.blob(a.lon, a.lat, a.rx_km, a.ry_km, 'prohibited' || a.i, 0.2));
UPDATE demo_zones z SET code = '070' FROM demo_areas a
WHERE a.kind = 'prohibited' AND a.name LIKE '%遗产%' AND ST_Intersects(ST_PointOnSurface(z.geom), pg_temp.blob(a.lon, a.lat, a.rx_km, a.ry_km, 'prohibited' || a.i, 0.2));
UPDATE demo_zones z SET code = '070' FROM demo_nature_reserve r
WHERE r.code IN ('core', 'buffer') AND ST_Intersects(ST_PointOnSurface(z.geom), r.geom);
UPDATE demo_zones z SET code = '060' FROM demo_eco_redline r
WHERE z.code NOT IN ('030', '040', '050', '070') AND ST_Intersects(ST_PointOnSurface(z.geom), r.geom);

-- Stamps (deliberate conflicts): the stamp's area replaces the zones under it, per district.
CREATE TEMP TABLE demo_lp_stamp ON COMMIT DROP AS
SELECT s.i, s.code, pg_temp.rect(s.lon, s.lat, s.w_m, s.h_m) AS g FROM demo_stamps s WHERE s.layer = 'landuse_plan';
UPDATE demo_zones z SET geom = ST_CollectionExtract(ST_Difference(z.geom, (SELECT ST_Union(s.g) FROM demo_lp_stamp s WHERE s.g && z.geom)), 3)
WHERE EXISTS (SELECT 1 FROM demo_lp_stamp s WHERE s.g && z.geom AND ST_Intersects(s.g, z.geom));
INSERT INTO demo_zones (adcode, geom, code)
SELECT d.adcode, ST_CollectionExtract(ST_Intersection(s.g, d.geom), 3), s.code
FROM demo_lp_stamp s JOIN demo_d d ON s.g && d.geom AND ST_Intersects(s.g, d.geom);
DELETE FROM demo_zones WHERE geom IS NULL OR ST_IsEmpty(geom) OR ST_Area(geom) = 0;

-- Numbering (区块编号): adcode, zone code, running number west to east.
ALTER TABLE demo_zones ADD COLUMN zone_no text;
UPDATE demo_zones z SET zone_no = n.zone_no FROM (
  SELECT id, adcode || '-' || code || '-' || lpad(row_number() OVER (PARTITION BY adcode, code ORDER BY ST_XMin(geom), ST_YMin(geom), ST_Area(geom))::text, 5, '0') AS zone_no
  FROM demo_zones) n
WHERE n.id = z.id;

INSERT INTO demo_landuse_plan (k, code, zone_no, geom) SELECT zone_no, code, zone_no, ST_Multi(geom) FROM demo_zones;

-- Construction control on the same zones: construction zones (030, 040) may be built (011);
-- heritage, scenic and red-line zones may not (041); general farmland and pasture near towns are
-- conditional (021); everything else is restricted (031).
INSERT INTO demo_landuse_control (k, code, zone_no, geom)
SELECT zone_no, code, zone_no, geom FROM (
  SELECT z.zone_no, ST_Multi(z.geom) AS geom,
         CASE WHEN z.code IN ('030', '040') THEN '011'
              WHEN z.code IN ('050', '060', '070') THEN '041'
              WHEN z.code IN ('020', '090') AND s.u > 0.1 THEN '021'
              ELSE '031' END AS code
  FROM demo_zones z
  CROSS JOIN LATERAL (SELECT ST_PointOnSurface(z.geom) AS pt) q
  CROSS JOIN LATERAL pg_temp.site(ST_X(q.pt), ST_Y(q.pt)) s
) c;
