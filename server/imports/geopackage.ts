// GeoPackage (OGC 12-128r18): SQLite through better-sqlite3, read-only. The CRS comes from
// gpkg_geometry_columns.srs_id and gpkg_spatial_ref_sys (organization EPSG + id, else its WKT);
// rows are streamed with a statement iterator. Each geometry blob is a GeoPackage header followed
// by standard WKB (parsed by wkx): 'GP', version, flags, srs_id, then an envelope whose length the
// flags give. A blob whose srs_id differs from its column's is a feature in another CRS.
import fs from 'node:fs';
import Database from 'better-sqlite3'; // SQLite (GeoPackage is a SQLite file)
import wkx from 'wkx'; // WKB → GeoJSON geometry
import type { Geometry } from 'geojson';
import { checkedFeatures, failed } from './common';
import { crsFromWkt, extendBbox, geometryCoordinates, knownCrs, noCrs, resolveCrs, type KnownCrs } from './crs';
import type { DetectedCrs, ImportFeature, ImportOptions, ImportProblem, ImportSource } from './types';

type Bbox = [number, number, number, number];
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Envelope bytes by the flags' envelope indicator (bits 1–3): none, xy, xyz, xym, xyzm. */
const ENVELOPE_BYTES = [0, 32, 48, 48, 64];

/** A SQLite identifier in double quotes (table and column names come from the file, not from us). */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Decodes a GeoPackage geometry blob: its srs_id and the GeoJSON geometry (null when empty). */
export function decodeGpkgGeometry(blob: Buffer): { srsId: number; geometry: Geometry | null } {
  if (blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) throw new Error("not a GeoPackage geometry (no 'GP' magic)");
  const flags = blob[3];
  if (flags & 0x20) throw new Error('an extended GeoPackage geometry (vendor extension) is not supported');
  const littleEndian = (flags & 1) === 1;
  const srsId = littleEndian ? blob.readInt32LE(4) : blob.readInt32BE(4);
  const envelope = ENVELOPE_BYTES[(flags >> 1) & 7];
  if (envelope === undefined) throw new Error(`invalid envelope indicator ${(flags >> 1) & 7}`);
  if (flags & 0x10) return { srsId, geometry: null }; // the empty-geometry flag
  const wkb = blob.subarray(8 + envelope);
  return { srsId, geometry: wkx.Geometry.parse(wkb).toGeoJSON() as Geometry };
}

interface FeatureTable {
  table: string;
  column: string;
  srsId: number;
  pk?: string;
}

/** A GeoPackage file: every feature table, or only `opts.table`. */
export async function openGeoPackage(filePath: string, file: string, opts: ImportOptions): Promise<ImportSource> {
  const problems: ImportProblem[] = [];
  const warnings: ImportProblem[] = [];
  const fd = fs.openSync(filePath, 'r');
  const head = Buffer.alloc(16);
  const got = fs.readSync(fd, head, 0, 16, 0);
  fs.closeSync(fd);
  if (got === 0) return failed('geopackage', [{ code: 'file_empty', file, message: 'the file is empty' }]);
  if (got < 16 || !head.equals(SQLITE_MAGIC)) return failed('geopackage', [{ code: 'format_unknown', file, message: 'not a SQLite database, so not a GeoPackage' }]);

  let db: Database.Database;
  let tables: FeatureTable[];
  try {
    db = new Database(filePath, { readonly: true, fileMustExist: true });
    const hasGeomColumns = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_geometry_columns'").get();
    if (!hasGeomColumns) {
      db.close();
      return failed('geopackage', [{ code: 'not_spatial', file, message: 'the GeoPackage has no gpkg_geometry_columns table: it holds no feature tables' }]);
    }
    tables = (db.prepare('SELECT table_name AS "table", column_name AS "column", srs_id AS "srsId" FROM gpkg_geometry_columns ORDER BY table_name').all() as FeatureTable[]).filter(
      (t) => !opts.table || t.table === opts.table,
    );
    for (const t of tables) {
      const cols = db.prepare(`PRAGMA table_info(${ident(t.table)})`).all() as { name: string; pk: number; type: string }[];
      t.pk = cols.find((c) => c.pk === 1 && /^integer$/i.test(c.type))?.name;
    }
  } catch (err) {
    const msg = (err as Error).message;
    const truncated = /malformed|not a database|disk image/i.test(msg);
    return failed('geopackage', [{ code: truncated ? 'format_truncated' : 'file_unreadable', file, message: `the GeoPackage cannot be read: ${msg}`, hint: truncated ? 'the file may be truncated; send it again' : undefined }]);
  }
  if (!tables.length) {
    db.close();
    return failed('geopackage', [{ code: opts.table ? 'no_features' : 'not_spatial', file, message: opts.table ? `the GeoPackage has no feature table '${opts.table}'` : 'the GeoPackage has no feature table' }]);
  }

  // The CRS of each table's geometry column.
  const srsCrs = new Map<number, { crs?: KnownCrs; method: DetectedCrs['method']; reason?: string }>();
  for (const srsId of new Set(tables.map((t) => t.srsId))) {
    const row = db.prepare('SELECT srs_name, organization, organization_coordsys_id AS code, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?').get(srsId) as
      | { srs_name: string; organization: string; code: number; definition: string }
      | undefined;
    if (!row) srsCrs.set(srsId, { method: 'gpkg-srs', reason: `srs_id ${srsId} is not in gpkg_spatial_ref_sys` });
    else if (/^epsg$/i.test(row.organization) && knownCrs(row.code)) srsCrs.set(srsId, { crs: knownCrs(row.code), method: 'gpkg-srs' });
    else if (srsId <= 0) srsCrs.set(srsId, { method: 'gpkg-srs', reason: `the GeoPackage says '${row.srs_name}' (srs_id ${srsId})` });
    else {
      const r = crsFromWkt(row.definition ?? '');
      srsCrs.set(srsId, r.ok ? { crs: r.crs, method: r.method } : { method: 'gpkg-srs', reason: `srs '${row.srs_name}' (${row.organization} ${row.code}): ${r.reason}` });
    }
  }
  const byEpsg = new Map<string, string[]>();
  for (const t of tables) {
    const c = srsCrs.get(t.srsId)!;
    const key = c.crs ? `EPSG:${c.crs.epsg}` : `srs_id ${t.srsId}`;
    byEpsg.set(key, [...(byEpsg.get(key) ?? []), t.table]);
  }
  if (byEpsg.size > 1) {
    problems.push({ code: 'crs_mixed', file, message: `the feature tables are in different coordinate systems: ${[...byEpsg].map(([k, v]) => `${v.join(', ')}: ${k}`).join('; ')}`, hint: 'deliver one layer in one coordinate system' });
  }

  // Extent: gpkg_contents when it is filled in, else the rows' envelopes.
  let bbox: Bbox | null = null;
  for (const t of tables) {
    const c = db.prepare('SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?').get(t.table) as { min_x: number | null; min_y: number | null; max_x: number | null; max_y: number | null } | undefined;
    if (c && [c.min_x, c.min_y, c.max_x, c.max_y].every((v) => typeof v === 'number' && Number.isFinite(v))) {
      bbox = extendBbox(bbox, [[c.min_x, c.min_y], [c.max_x, c.max_y]]);
      continue;
    }
    for (const r of db.prepare(`SELECT ${ident(t.column)} AS g FROM ${ident(t.table)}`).iterate() as IterableIterator<{ g: Buffer | null }>) {
      try {
        if (r.g) bbox = extendBbox(bbox, geometryCoordinates(decodeGpkgGeometry(r.g).geometry));
      } catch {
        // reported while reading the features
      }
    }
  }
  const first = tables[0];
  const crs = srsCrs.size ? resolveCrs(srsCrs.get(first.srsId), { srid: opts.srid, bbox, file: first.table, problems }) : noCrs();

  async function* read(): AsyncGenerator<ImportFeature> {
    let index = 0;
    for (const t of tables) {
      const rows = db.prepare(`SELECT * FROM ${ident(t.table)}${t.pk ? ` ORDER BY ${ident(t.pk)}` : ''}`).iterate() as IterableIterator<Record<string, unknown>>;
      for (const row of rows) {
        let geometry: Geometry | null = null;
        const blob = row[t.column];
        if (blob instanceof Buffer) {
          try {
            const g = decodeGpkgGeometry(blob);
            geometry = g.geometry;
            if (g.srsId !== t.srsId) problems.push({ code: 'crs_mixed', file: t.table, feature: index, message: `feature ${index} has srs_id ${g.srsId}, its column ${t.column} has ${t.srsId}` });
          } catch (err) {
            problems.push({ code: 'geometry_unsupported', file: t.table, feature: index, message: `feature ${index}: ${(err as Error).message}` });
          }
        }
        const properties: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) if (k !== t.column && k !== t.pk) properties[k] = v instanceof Buffer ? v.toString('base64') : v;
        // Primary keys are unique within a table, not across tables: a feature's id is its key only when there is one table.
        const id = t.pk && tables.length === 1 ? (row[t.pk] as number) : undefined;
        yield { index: index++, file: t.table, id, geometry, properties };
      }
    }
  }
  return {
    format: 'geopackage',
    crs,
    encoding: { name: 'utf-8', method: 'format' }, // SQLite text is UTF-8
    problems,
    warnings,
    bbox,
    features: checkedFeatures(read, problems, opts, file, () => {
      if (db.open) db.close();
    }),
    close: async () => {
      if (db.open) db.close();
    },
  };
}
