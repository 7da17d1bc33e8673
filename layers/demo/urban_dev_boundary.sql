-- Demo content of urban_dev_boundary (城镇开发边界): per district, the urban plan's construction land
-- closed up (150 m out, 100 m back in) and dissolved is the concentrated construction area (集中建设区);
-- a 300 m ring around it the flexible development area (弹性发展区).
CREATE TEMP TABLE demo_udb ON COMMIT DROP AS
WITH blocks AS (
  SELECT d.adcode, u.geom
  FROM demo_urban_plan u JOIN demo_d d ON ST_Intersects(ST_PointOnSurface(u.geom), d.geom)
  WHERE u.code NOT IN ('E1', 'E2', 'E9')
)
SELECT adcode, ST_Buffer(ST_Union(ST_Buffer(geom, 0.0015, 'quad_segs=2')), -0.001, 'quad_segs=2') AS g FROM blocks GROUP BY adcode;

INSERT INTO demo_urban_dev_boundary (k, code, name, approval_no, geom)
SELECT u.adcode || '-' || z.code, z.code, d.name || '城镇开发边界（' || z.zh || '）', '晋政函〔2023〕' || (10 + row_number() OVER (ORDER BY u.adcode)) || '号',
       ST_Intersection(z.g, d.geom)
FROM demo_udb u JOIN demo_d d USING (adcode)
CROSS JOIN LATERAL (VALUES ('concentrated', '集中建设区', u.g),
                           ('flexible', '弹性发展区', ST_Difference(ST_Buffer(u.g, 0.003, 'quad_segs=2'), u.g))) AS z(code, zh, g);
