-- Demo content of spatial_zones (三区): per district, ecological space (生态空间) is the territorial
-- red line and the nature reserves with 500 m around them; urban space (城镇空间) the urban development
-- boundary with 400 m around it, less the ecological space; agricultural space (农业空间) the rest.
CREATE TEMP TABLE demo_sz ON COMMIT DROP AS
WITH eco AS (
  SELECT ST_Union(ST_Buffer(geom, 0.005, 'quad_segs=2')) AS g
  FROM (SELECT geom FROM demo_eco_redline_gtkj UNION ALL SELECT geom FROM demo_nature_reserve) e
), urb AS (
  SELECT ST_Difference(ST_Union(ST_Buffer(geom, 0.004, 'quad_segs=2')), (SELECT g FROM eco)) AS g FROM demo_urban_dev_boundary
)
SELECT d.adcode, d.name, z.code, ST_Intersection(z.g, d.geom) AS g
FROM demo_d d
CROSS JOIN LATERAL (VALUES ('ecological', (SELECT g FROM eco)),
                           ('urban', (SELECT g FROM urb)),
                           ('agricultural', ST_Difference(d.geom, ST_Union((SELECT g FROM eco), (SELECT g FROM urb))))) AS z(code, g)
WHERE z.g && d.geom;

INSERT INTO demo_spatial_zones (k, code, zone_no, district, geom)
SELECT adcode || '-' || code, code, adcode || '-' || upper(left(code, 1)), name, g FROM demo_sz;
