// The archive of a release (成果包), for offline use and for other agencies: one zip of
//   release-<n>.pmtiles   every layer as vector tiles (PMTiles v3, pmtiles.ts), zooms minZoom..maxZoom,
//                         with the layers' registry entries (legend), the style and the release in its metadata
//   release-<n>.gpkg      every layer in EPSG:4490 (GDAL's ogr2ogr from release_features), and one
//                         more copy per Gauss-Krüger zone asked for (layer names <id>_<epsg>)
//   style.json            the release's MapLibre style on the pmtiles:// source
//   manifest.json         the release, its pins, feature counts, total areas, and the SHA-256 and
//                         size of every other file
// Built once per release (the content never changes) and kept in release_files as large objects,
// all in one transaction: an archive is there whole or not at all. The tiles it renders are the
// release's served tiles and go into release_tiles too (its tiles are then pre-built).
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Knex } from 'knex';
import type pg from 'pg';
import { gdalEnv, type GdalSettings, ogr2ogr } from '../exports/export';
import { exportSql } from '../exports/query';
import { sha256File } from '../platform/files';
import { log } from '../platform/log';
import { scratchFolder } from '../platform/scratch';
import { TILE_MAXZOOM, tileContaining } from '../tiles/mvt';
import { DATONG_BBOX, tileFields } from '../tiles/routes';
import type { RenderedReleaseTile } from './mvt';
import { orderByTileId, PmtilesWriter } from './pmtiles';
import type { StoredRelease } from './store';
import { summaryOf } from './store';

const gzip = promisify(zlib.gzip);

export interface ArchiveOptions {
  minZoom: number;
  maxZoom: number;
  /** Gauss-Krüger EPSG codes (4513–4554 CGCS2000 zones) to add to the GeoPackage. */
  extraCrs?: number[];
  /** Tiles rendered at once (each on a pooled connection). */
  concurrency: number;
  gdal: GdalSettings;
}

export interface ArchiveParts {
  /**
   * A release tile of a pyramid up to `maxZoom` (raw MVT of the pinned layers `layers` asks for;
   * empty buffer for none), and per pinned layer whether any of its features reaches it
   * (mvt.ts's renderReleaseTileLayers).
   */
  renderTile(z: number, x: number, y: number, opts: { layers: boolean[]; maxZoom: number }): Promise<RenderedReleaseTile>;
  /** The release's style with its tiles from the given vector source. */
  style(source: { type: 'vector'; url: string }): object;
}

export interface ArchiveFile {
  name: string;
  contentType: string;
  size: number;
  sha256: string;
}


/** The range of Web Mercator tiles of zoom z that cover a lon/lat box: [x0, y0, x1, y1], inclusive. */
function tileRange(bbox: readonly number[], z: number): [number, number, number, number] {
  const clamp = (v: number) => Math.min(2 ** z - 1, Math.max(0, v));
  const [x0, y0] = tileContaining(bbox[0], bbox[3], z).map(clamp);
  const [x1, y1] = tileContaining(bbox[2], bbox[1], z).map(clamp);
  return [x0, y0, x1, y1];
}

/** The Web Mercator tiles of zoom z that cover a lon/lat box. */
export function tilesCovering(bbox: readonly number[], z: number): { z: number; x: number; y: number }[] {
  const [x0, y0, x1, y1] = tileRange(bbox, z);
  const out: { z: number; x: number; y: number }[] = [];
  for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push({ z, x, y });
  return out;
}

/** The lon/lat box of the release's layers, within Datong. */
export function releaseBounds(r: StoredRelease): [number, number, number, number] {
  const boxes = r.layers.map((l) => l.bbox).filter((b): b is number[] => !!b);
  if (!boxes.length) return [...DATONG_BBOX];
  return [
    Math.max(DATONG_BBOX[0], Math.min(...boxes.map((b) => b[0]))),
    Math.max(DATONG_BBOX[1], Math.min(...boxes.map((b) => b[1]))),
    Math.min(DATONG_BBOX[2], Math.max(...boxes.map((b) => b[2]))),
    Math.min(DATONG_BBOX[3], Math.max(...boxes.map((b) => b[3]))),
  ];
}

export interface BuiltArchive {
  files: ArchiveFile[];
  manifest: object;
  tiles: { addressed: number; unique: number; rendered: number; skipped: number; ms: number };
  /** The GeoPackage step (ogr2ogr per layer and zone) and the storing of the files, each on its own. */
  gpkgMs: number;
  storeMs: number;
  ms: number;
}

export interface BuiltTiles {
  /** The release's lon/lat box the tiles cover (releaseBounds). */
  bounds: [number, number, number, number];
  /** Tiles of the box rendered, and left out because no feature reaches their parent. */
  rendered: number;
  skipped: number;
  /** The style on the archive's pmtiles:// source, as the archive's metadata holds it. */
  style: object;
  pm: Awaited<ReturnType<PmtilesWriter['finish']>>;
  ms: number;
}

/**
 * Step 1 of the archive: the release's tiles over its bounds, zooms minZoom..maxZoom, zoom by zoom
 * in tile-id order, `concurrency` rendered at a time, written to the PMTiles file `file` (its name
 * is the style's pmtiles:// source) and kept in release_tiles (the release's tiles are then
 * pre-built). A tile is rendered only for the layers that reach its parent, and not at all under a
 * parent no layer reaches: it would be empty (most of the box's z15–z16 tiles lie outside the
 * districts). The top zoom keeps every feature (tileParams' `whole`): below the service's own top
 * zoom those tiles are not the served ones, so they stay out of release_tiles. Exported for the
 * benchmark (bench/release.ts), which times it on its own.
 */
export async function buildTiles(knex: Knex, release: StoredRelease, parts: ArchiveParts, opts: Pick<ArchiveOptions, 'minZoom' | 'maxZoom' | 'concurrency'>, file: string): Promise<BuiltTiles> {
  const tileStarted = Date.now();
  const n = release.row.number;
  const bounds = releaseBounds(release);
  const style = parts.style({ type: 'vector', url: `pmtiles://${path.basename(file)}` });
  const layers = release.layers.map((l) => release.registry.get(l.layer_id)!);
  const writer = new PmtilesWriter(file, {
    minZoom: opts.minZoom,
    maxZoom: opts.maxZoom,
    bounds,
    center: [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, Math.min(opts.maxZoom, Math.max(opts.minZoom, 9))],
    metadata: {
      name: release.row.title,
      description: `大同市五规合一一张图 第${n}版`,
      attribution: `${release.row.review_number ? `审图号：${release.row.review_number} ` : ''}大同市规划局`,
      vector_layers: layers.map((l) => ({ id: l.id, description: l.title.zh, minzoom: opts.minZoom, maxzoom: opts.maxZoom, fields: tileFields(l) })),
      onemap: { release: summaryOf(release.row), layers, style },
    },
  });
  const cached: { z: number; x: number; y: number; tile: Buffer }[] = [];
  const flushCache = async () => {
    if (!cached.length) return;
    const batch = cached.splice(0);
    await knex.raw(
      `INSERT INTO release_tiles (release, z, x, y, tile) SELECT ?, t.z, t.x, t.y, decode(t.b, 'base64') FROM jsonb_to_recordset(?::jsonb) AS t(z int, x int, y int, b text) ON CONFLICT DO NOTHING`,
      [n, JSON.stringify(batch.map((t) => ({ z: t.z, x: t.x, y: t.y, b: t.tile.toString('base64') })))],
    );
  };
  type Wanted = { z: number; x: number; y: number; layers: boolean[] };
  let wanted: Wanted[] = tilesCovering(bounds, opts.minZoom).map((t) => ({ ...t, layers: layers.map(() => true) }));
  let rendered = 0;
  let boxTiles = 0;
  for (let z = opts.minZoom; z <= opts.maxZoom; z++) {
    const level = orderByTileId(wanted);
    const kept = z < opts.maxZoom || opts.maxZoom >= TILE_MAXZOOM;
    const [cx0, cy0, cx1, cy1] = z < opts.maxZoom ? tileRange(bounds, z + 1) : [0, 0, -1, -1];
    const [x0, y0, x1, y1] = tileRange(bounds, z);
    boxTiles += (x1 - x0 + 1) * (y1 - y0 + 1);
    const children: Wanted[] = [];
    // A sliding window: up to `concurrency` renders in flight, written in order.
    const pending: Promise<{ gz: Buffer; reaches: boolean[] }>[] = [];
    let next = 0;
    const launch = () => {
      const t = level[next++];
      pending.push(
        parts.renderTile(t.z, t.x, t.y, { layers: t.layers, maxZoom: opts.maxZoom }).then(async (r) => ({ gz: r.tile.length ? await gzip(r.tile, { level: 6 }) : r.tile, reaches: r.reaches })),
      );
    };
    while (next < Math.min(opts.concurrency, level.length)) launch();
    for (let i = 0; i < level.length; i++) {
      const { gz, reaches } = await pending[i];
      pending[i] = undefined as never; // let the tile go once written
      if (next < level.length) launch();
      const t = level[i];
      await writer.addTile(t.z, t.x, t.y, gz);
      if (gz.length && kept) cached.push({ z: t.z, x: t.x, y: t.y, tile: gz });
      if (cached.length >= 500) await flushCache();
      if (reaches.some(Boolean)) {
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const x = 2 * t.x + dx;
          const y = 2 * t.y + dy;
          if (x >= cx0 && x <= cx1 && y >= cy0 && y <= cy1) children.push({ z: z + 1, x, y, layers: reaches });
        }
      }
    }
    rendered += level.length;
    wanted = children;
  }
  await flushCache();
  const pm = await writer.finish();
  return { bounds, style, pm, rendered, skipped: boxTiles - rendered, ms: Date.now() - tileStarted };
}

/** Builds the archive of a release and stores it (one transaction); returns what it holds. */
export async function buildArchive(knex: Knex, release: StoredRelease, parts: ArchiveParts, opts: ArchiveOptions): Promise<BuiltArchive> {
  const started = Date.now();
  const n = release.row.number;
  const dir = await scratchFolder(`release-${n}`);
  try {
    const pmName = `release-${n}.pmtiles`;
    const layers = release.layers.map((l) => release.registry.get(l.layer_id)!);
    // 1. The vector tiles, in tile-id order, `concurrency` at a time; written to the archive and to release_tiles.
    const { bounds, style, pm, rendered, skipped, ms: tileMs } = await buildTiles(knex, release, parts, opts, path.join(dir, pmName));

    // 2. The GeoPackage: every layer in EPSG:4490, and a copy per extra zone.
    const gpkgStarted = Date.now();
    const gpkgName = `release-${n}.gpkg`;
    const gpkg = path.join(dir, gpkgName);
    for (const srid of [4490, ...(opts.extraCrs ?? [])]) {
      for (const layer of layers) {
        const sql = exportSql(knex, layer, { revision: null, release: n, textWidth: null });
        const name = srid === 4490 ? layer.id : `${layer.id}_${srid}`;
        await ogr2ogr(
          ['-f', 'GPKG', gpkg, 'PG:', '-sql', sql, '-nln', name, '-nlt', layer.geometry.toUpperCase(), '-s_srs', 'EPSG:4490', '-t_srs', `EPSG:${srid}`, '-update', '-append',
            '-lco', `IDENTIFIER=${layer.title.zh}${srid === 4490 ? '' : ` (EPSG:${srid})`}`, '-lco', `DESCRIPTION=${layer.title.en} (${layer.standard}), release ${n} revision ${release.layers.find((l) => l.layer_id === layer.id)!.revision}`],
          gdalEnv(opts.gdal, dir),
          AbortSignal.timeout(30 * 60_000),
        );
      }
    }

    const gpkgMs = Date.now() - gpkgStarted;

    // 3. The style and the manifest.
    await fs.writeFile(path.join(dir, 'style.json'), JSON.stringify(style, null, 2));
    const files: ArchiveFile[] = [];
    for (const [name, contentType] of [[pmName, 'application/vnd.pmtiles'], [gpkgName, 'application/geopackage+sqlite3'], ['style.json', 'application/json']] as const) {
      files.push({ name, contentType, ...(await sha256File(path.join(dir, name))) });
    }
    const manifest = {
      release: summaryOf(release.row),
      notes: release.row.notes,
      contentSha256: release.row.content_sha256,
      crs: { storage: 'EPSG:4490 (CGCS2000)', geopackage: [4490, ...(opts.extraCrs ?? [])].map((s) => `EPSG:${s}`), tiles: 'EPSG:3857 (Web Mercator tile matrix)' },
      zooms: { min: opts.minZoom, max: opts.maxZoom },
      bounds,
      layers: release.layers.map((l) => ({
        layerId: l.layer_id,
        title: release.registry.get(l.layer_id)!.title.zh,
        revision: l.revision,
        featureCount: l.feature_count,
        area_m2: l.area_m2 === null ? null : Math.round(l.area_m2 * 100) / 100,
        area_ha: l.area_m2 === null ? null : Math.round(l.area_m2) / 10_000,
      })),
      conflicts: release.row.conflicts,
      tiles: { addressed: pm.tiles, unique: pm.uniqueTiles, entries: pm.tileEntries, leafDirectories: pm.leafDirectories },
      files,
    };
    await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    files.push({ name: 'manifest.json', contentType: 'application/json', ...(await sha256File(path.join(dir, 'manifest.json'))) });

    // 4. Stored, all files in one transaction.
    const storeStarted = Date.now();
    await knex.transaction(async (trx) => {
      for (const f of files) await storeFile(trx, n, f, path.join(dir, f.name));
    });
    const storeMs = Date.now() - storeStarted;
    const ms = Date.now() - started;
    log.info({ release: n, tiles: pm.tiles, uniqueTiles: pm.uniqueTiles, rendered, skipped, tileMs, ms, bytes: files.reduce((s, f) => s + f.size, 0) }, 'release archive built');
    return { files, manifest, tiles: { addressed: pm.tiles, unique: pm.uniqueTiles, rendered, skipped, ms: tileMs }, gpkgMs, storeMs, ms };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Chunk of a large object written or read per statement. */
const CHUNK = 1 << 20;

/** Writes a file as a large object and its release_files row (in the caller's transaction). */
async function storeFile(trx: Knex.Transaction, release: number, f: ArchiveFile, file: string) {
  const { rows } = await trx.raw<{ rows: { oid: number }[] }>('SELECT lo_create(0) AS oid');
  const oid = rows[0].oid;
  let offset = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    await trx.raw('SELECT lo_put(?::oid, ?, ?)', [oid, offset, chunk as Buffer]);
    offset += (chunk as Buffer).length;
  }
  await trx.raw('INSERT INTO release_files (release, name, content_type, size, sha256, data) VALUES (?, ?, ?, ?, ?, ?)', [release, f.name, f.contentType, f.size, f.sha256, oid]);
}

/** The stored files of a release's archive (empty: not built). */
export async function archiveFiles(knex: Knex, release: number): Promise<(ArchiveFile & { data: number })[]> {
  const { rows } = await knex.raw<{ rows: (ArchiveFile & { data: number })[] }>(
    'SELECT name, content_type AS "contentType", size::float8 AS size, sha256, data FROM release_files WHERE release = ? ORDER BY name',
    [release],
  );
  return rows;
}

/** Reads a stored file chunk by chunk (one transaction, so the large object stays readable). */
export async function* readFile(knex: Knex, file: { data: number; size: number }): AsyncGenerator<Buffer> {
  const conn = (await knex.client.acquireConnection()) as pg.PoolClient;
  try {
    for (let offset = 0; offset < file.size; offset += CHUNK) {
      const r = await conn.query<{ b: Buffer }>('SELECT lo_get($1::oid, $2, $3) AS b', [file.data, offset, CHUNK]);
      yield r.rows[0].b;
    }
  } finally {
    await knex.client.releaseConnection(conn);
  }
}
