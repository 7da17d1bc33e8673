-- Helper functions of the demo generator, in pg_temp (they vanish with the session and never
-- touch the schema). Everything is deterministic: no random(); "randomness" is an md5 hash of
-- (seed, key), and smooth variation is a sum of sines whose phases come from the seed.
-- Units: lon/lat in degrees (EPSG:4490), distances and radii in km, site sizes in metres.

-- A hash in [0, 1) of (seed, key): the same inputs give the same number in every run.
CREATE OR REPLACE FUNCTION pg_temp.h01(seed integer, key text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ('x' || substr(md5(seed::text || ':' || key), 1, 8))::bit(32)::bigint / 4294967296.0
$$;

-- A smooth field in about [-1, 1] over lon/lat: four sine waves with wavelengths of about
-- 25, 9, 5 and 3 km, phases shifted by the seed.
CREATE OR REPLACE FUNCTION pg_temp.noise(x double precision, y double precision, seed integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (sin(x * 23.1 + y * 7.3 + seed * 1.618)
        + 0.8 * sin(-x * 9.7 + y * 31.3 + seed * 2.718)
        + 0.5 * sin(x * 61.0 - y * 47.0 + seed * 3.141)
        + 0.3 * sin(-x * 113.0 + y * 127.0 + seed * 0.577)) / 2.0
$$;

-- Distance in km between two lon/lat points, flat-earth at Datong's latitude (≈ 40°N): good to
-- about 1 % over the city, plenty for fields that only shape the demo.
CREATE OR REPLACE FUNCTION pg_temp.km(x1 double precision, y1 double precision, x2 double precision, y2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sqrt(power((x1 - x2) * 85.3, 2) + power((y1 - y2) * 111.0, 2))
$$;

-- A rectangle of w_m × h_m metres centred on lon/lat.
CREATE OR REPLACE FUNCTION pg_temp.rect(lon double precision, lat double precision, w_m double precision, h_m double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_MakeEnvelope(lon - w_m / 2 / (111320 * cos(radians(lat))), lat - h_m / 2 / 110950,
                         lon + w_m / 2 / (111320 * cos(radians(lat))), lat + h_m / 2 / 110950, 4490)
$$;

-- A natural-looking closed area: an ellipse (semi-axes in km) whose radius wobbles by up to
-- ±wobble with three harmonics whose phases come from the key (not the seed: named features keep
-- their shape in every load). Star-shaped, so always a valid polygon.
CREATE OR REPLACE FUNCTION pg_temp.blob(lon double precision, lat double precision, rx_km double precision, ry_km double precision,
                                        key text, wobble double precision DEFAULT 0.18)
RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_SetSRID(ST_MakePolygon(ST_MakeLine(array_agg(ST_MakePoint(
           lon + f * rx_km * cos(t) / (111.32 * cos(radians(lat))),
           lat + f * ry_km * sin(t) / 110.95) ORDER BY a))), 4490)
  FROM (SELECT a, t, 1 + wobble * (0.5 * sin(3 * t + 6.283 * pg_temp.h01(0, key || 'a'))
                                 + 0.3 * sin(5 * t + 6.283 * pg_temp.h01(0, key || 'b'))
                                 + 0.2 * sin(8 * t + 6.283 * pg_temp.h01(0, key || 'c'))) AS f
        FROM (SELECT a, radians((a % 72) * 5.0) AS t FROM generate_series(0, 72) AS a) s) q
$$;

-- Polygons only, as a MultiPolygon (or NULL when nothing is left): the shape every overlay result
-- is brought to before it is stored.
CREATE OR REPLACE FUNCTION pg_temp.poly(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN g IS NULL THEN NULL
              WHEN ST_IsEmpty(ST_CollectionExtract(g, 3)) THEN NULL
              ELSE ST_Multi(ST_CollectionExtract(CASE WHEN ST_IsValid(g) THEN g ELSE ST_MakeValid(g) END, 3)) END
$$;

-- A buffer of m metres (on the ellipsoid, via geography), back in EPSG:4490: PostGIS returns
-- geography buffers as SRID 4326, which must not meet 4490 geometries.
CREATE OR REPLACE FUNCTION pg_temp.buffer_m(g geometry, m double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ST_SetSRID(ST_Buffer(g::geography, m, 'quad_segs=4')::geometry, 4490)
$$;

-- Seed points for a tiling layer's Voronoi cells in one district: a base density over the whole
-- district (at least min_n points) plus a denser halo (1.5 × the town's radius) around each town.
-- Used by the status parcels and the plan zones with different densities and seeds.
CREATE OR REPLACE FUNCTION pg_temp.seed_points(district geometry, area_km2 double precision, per_km2 double precision,
    min_n integer, town_per_km2 double precision, seed integer) RETURNS SETOF geometry
LANGUAGE sql STABLE AS $$
  SELECT (ST_Dump(ST_GeneratePoints(district, greatest(min_n, round(area_km2 * per_km2))::int, seed))).geom
  UNION ALL
  SELECT (ST_Dump(ST_GeneratePoints(h.g, greatest(1, round(ST_Area(h.g::geography) / 1e6 * town_per_km2))::int, seed + h.i))).geom
  FROM (SELECT t.i, ST_CollectionExtract(ST_Intersection(district, pg_temp.buffer_m(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4490), t.r_km * 1500)), 3) AS g
        FROM demo_towns t WHERE ST_DWithin(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4490), district, t.r_km * 1.5 / 80)) h
  WHERE NOT ST_IsEmpty(h.g) AND ST_Area(h.g) > 0
$$;
