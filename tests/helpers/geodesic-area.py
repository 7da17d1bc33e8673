# Ellipsoidal (GRS80, CGCS2000's ellipsoid) areas of GeoJSON polygons, computed by GeographicLib
# through pyproj: the independent reference the tests hold the service's areas to.
# stdin: a JSON array of GeoJSON Polygon/MultiPolygon geometries (lon/lat degrees);
# stdout: a JSON array of areas in m² (outer rings minus holes).
import json
import sys

from pyproj import Geod

geod = Geod(ellps="GRS80")


def ring_area(ring):
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    area, _ = geod.polygon_area_perimeter(lons, lats)
    return abs(area)


def polygon_area(rings):
    return ring_area(rings[0]) - sum(ring_area(r) for r in rings[1:])


def area(g):
    if g["type"] == "Polygon":
        return polygon_area(g["coordinates"])
    if g["type"] == "MultiPolygon":
        return sum(polygon_area(p) for p in g["coordinates"])
    raise ValueError(f"not a polygon: {g['type']}")


print(json.dumps([area(g) for g in json.load(sys.stdin)]))
