-- Demo content of eco_redline_gtkj (生态保护红线, 三区三线): the environmental plan's red line as the
-- territorial plan re-drew it (评估调整): every area widened by about 200 m, clipped to the city; and a
-- new one, the 御河 river corridor (河流生态廊道: 300 m either side of the river north of the central
-- city), which crosses the towns' growth: the demo's overlap of the urban development boundary with
-- the red line (rule udb_in_redline_gtkj). Reads the demo's staging tables of the other layers.
INSERT INTO demo_eco_redline_gtkj (k, code, name, "function", geom)
SELECT r.k, 'redline', r.name, r."function", ST_Intersection(ST_Buffer(r.geom, 0.002, 'quad_segs=4'), (SELECT geom FROM demo_city))
FROM demo_eco_redline r
UNION ALL
SELECT 'yuhe', 'redline', '御河河流生态廊道', '水源涵养与河流生态',
       ST_Intersection(ST_Buffer(ST_Intersection(r.geom, ST_MakeEnvelope(113.2, 40.08, 113.4, 40.6, 4490)), 0.0035, 'quad_segs=4'), (SELECT geom FROM demo_city))
FROM demo_rivers r WHERE r.name = '御河';
