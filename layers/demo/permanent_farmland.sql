-- Demo content of permanent_farmland (永久基本农田): the land-use plan's basic farmland protection zones
-- (010) as the territorial plan kept them, each about 50 m smaller at its edges, and a fifth of the
-- general farmland zones (020) added (补划), chosen by a hash of their zone number; each with a
-- quality grade (耕地质量等别, 1 best … 15).
INSERT INTO demo_permanent_farmland (k, code, plot_no, grade, geom)
SELECT z.zone_no, 'pbf', 'YJJBNT-' || z.zone_no, 1 + floor(pg_temp.h01((SELECT seed FROM demo_params), 'grade' || z.zone_no) * 15)::integer,
       ST_Buffer(z.geom, -0.0005, 'quad_segs=2')
FROM demo_landuse_plan z
WHERE z.code = '010' OR (z.code = '020' AND pg_temp.h01((SELECT seed FROM demo_params), 'pbf' || z.zone_no) < 0.2);
