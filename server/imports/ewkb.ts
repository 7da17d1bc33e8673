// GeoJSON geometries as PostGIS EWKB (little-endian WKB with the SRID flag), hex-encoded: the form a
// geometry takes in a text COPY into PostGIS (geometry_in reads hex EWKB without the checks its WKT
// reader makes, so an unclosed ring arrives as it was delivered and ST_IsValidDetail names it, as it
// did for GeoJSON). Writing only: the readers of delivered files are libraries. Coordinates are
// written in x, y order (easting/longitude first) and 2-D: a third ordinate is dropped, as the layer
// tables are 2-D.
//
//   ewkbHex({ type: 'Point', coordinates: [113.3, 40.1] }, 4490) → '0101000020aa110000…'
import type { Geometry, Position } from 'geojson';

const SRID_FLAG = 0x20000000;
const TYPE: Record<Geometry['type'], number> = {
  Point: 1,
  LineString: 2,
  Polygon: 3,
  MultiPoint: 4,
  MultiLineString: 5,
  MultiPolygon: 6,
  GeometryCollection: 7,
};

/** Raised for a geometry whose structure is not GeoJSON's (it becomes the feature's problem). */
export class GeometryEncodingError extends Error {}

/** A reusable writer: one buffer grown as needed, so encoding 300,000 parcels allocates little. */
export class EwkbWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  /** The geometry as hex EWKB with the given SRID. Throws GeometryEncodingError for a malformed geometry. */
  hex(g: Geometry, srid: number): string {
    this.at = 0;
    this.geometry(g, srid);
    return this.buf.toString('hex', 0, this.at);
  }

  private ensure(bytes: number) {
    if (this.at + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  private header(type: number, srid?: number) {
    this.ensure(9);
    this.buf[this.at] = 1; // little-endian
    this.buf.writeUInt32LE(srid === undefined ? type : (type | SRID_FLAG) >>> 0, this.at + 1);
    this.at += 5;
    if (srid !== undefined) {
      this.buf.writeInt32LE(srid, this.at);
      this.at += 4;
    }
  }

  private count(n: number) {
    this.ensure(4);
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4;
  }

  private point(p: Position) {
    if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') throw new GeometryEncodingError(`a position must be [x, y], got ${JSON.stringify(p)?.slice(0, 60)}`);
    this.ensure(16);
    this.buf.writeDoubleLE(p[0], this.at);
    this.buf.writeDoubleLE(p[1], this.at + 8);
    this.at += 16;
  }

  private points(ps: Position[]) {
    if (!Array.isArray(ps)) throw new GeometryEncodingError('expected an array of positions');
    this.count(ps.length);
    this.ensure(16 * ps.length);
    for (const p of ps) this.point(p);
  }

  private rings(rs: Position[][]) {
    if (!Array.isArray(rs)) throw new GeometryEncodingError('expected an array of rings');
    this.count(rs.length);
    for (const r of rs) this.points(r);
  }

  private geometry(g: Geometry, srid?: number) {
    const type = g && typeof g === 'object' ? TYPE[g.type] : undefined;
    if (!type) throw new GeometryEncodingError(`unknown geometry type ${JSON.stringify((g as { type?: unknown })?.type)}`);
    this.header(type, srid);
    switch (g.type) {
      case 'Point':
        // An empty point (coordinates []) is NaN, NaN in WKB, as PostGIS writes it.
        if (Array.isArray(g.coordinates) && g.coordinates.length === 0) this.point([NaN, NaN]);
        else this.point(g.coordinates);
        return;
      case 'LineString':
        return this.points(g.coordinates);
      case 'Polygon':
        return this.rings(g.coordinates);
      case 'MultiPoint':
        return this.parts(g.coordinates, (p) => this.geometry({ type: 'Point', coordinates: p }));
      case 'MultiLineString':
        return this.parts(g.coordinates, (l) => this.geometry({ type: 'LineString', coordinates: l }));
      case 'MultiPolygon':
        return this.parts(g.coordinates, (r) => this.geometry({ type: 'Polygon', coordinates: r }));
      case 'GeometryCollection':
        return this.parts(g.geometries, (m) => this.geometry(m));
    }
  }

  private parts<T>(xs: T[], write: (x: T) => void) {
    if (!Array.isArray(xs)) throw new GeometryEncodingError('expected an array of parts');
    this.count(xs.length);
    for (const x of xs) write(x);
  }
}
