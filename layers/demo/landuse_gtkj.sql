-- Demo content of landuse_gtkj (国土空间规划用地布局, 用地用海分类 2023): the land-use plan's zones
-- re-classified by the 2023 guide's codes, with the planned growth of the towns: a general farmland
-- zone (020) within 1 km of the urban plan's construction land becomes planned construction land
-- (urban housing, industry or commerce, by a hash of its number).
CREATE TEMP TABLE demo_lg ON COMMIT DROP AS
SELECT z.zone_no, z.code AS old, z.geom,
       EXISTS (SELECT 1 FROM demo_urban_plan u WHERE u.code NOT IN ('E1', 'E2', 'E9') AND ST_DWithin(u.geom, z.geom, 0.01)) AS near_town,
       pg_temp.h01((SELECT seed FROM demo_params), 'gtkj' || z.zone_no) AS h
FROM demo_landuse_plan z;

INSERT INTO demo_landuse_gtkj (k, code, parcel_no, geom)
SELECT zone_no,
       CASE
         WHEN old = '010' THEN CASE WHEN h < 0.5 THEN '0103' WHEN h < 0.8 THEN '0102' ELSE '0101' END
         WHEN old = '020' AND near_town AND h < 0.35 THEN CASE WHEN h < 0.15 THEN '0701' WHEN h < 0.27 THEN '1001' ELSE '09' END
         WHEN old = '020' THEN CASE WHEN h < 0.7 THEN '0103' ELSE '0201' END
         WHEN old = '030' THEN CASE WHEN h < 0.45 THEN '0701' WHEN h < 0.6 THEN '0703' WHEN h < 0.7 THEN '08' WHEN h < 0.8 THEN '09' WHEN h < 0.9 THEN '1001' ELSE '12' END
         WHEN old = '040' THEN '1002'
         WHEN old = '050' THEN '14'
         WHEN old IN ('060', '070', '080') THEN '0301'
         WHEN old = '090' THEN '0401'
         ELSE '23'
       END,
       'GT-' || zone_no, geom
FROM demo_lg;
