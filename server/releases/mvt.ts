// A release's vector tiles: one tile holds every pinned layer, each made by the working tiles' own
// statement (tiles/mvt.ts: the same simplification, speck filter and attribute zoom) over the
// release's copy of the layer (release_features), the ST_AsMVT of each layer concatenated (MVT
// layers concatenate as bytes). A release never changes, so a tile is made once: release_tiles
// keeps it (gzip; written once, the table's triggers refuse updates), filled when a tile is first
// asked for or when the archive is built. One layer of a tile is cut out of it (layerOfTile).
//
// An empty tile (no pinned feature in it) is stored as zero bytes.
//
// The statement renders the layers a mask asks for and tells, per layer, whether any of its
// features reaches the tile with its buffer (intersects it, whatever the speck filter leaves out):
// a layer that reaches no tile of zoom z reaches none of their children, so the archive
// (archive.ts) asks a child only for the layers its parent had, and no tile under an empty one.
// Leaving out a layer that does not reach the tile changes no byte of it. The statement is
// prepared once per connection and, from GENERIC_MINZOOM, runs on its one generic plan.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { PbfReader } from 'pbf';
import { positional, queryTileStatement, TILE_ENVELOPE_4490, TILE_MAXZOOM, TILE_PARAMS, tileParams, tileSql, type TileParams, type TileStatement } from '../tiles/mvt';
import { gunzip, gzip, GZIP_LEVEL } from '../tiles/routes';
import { pinnedLayers, releaseTileSource } from './features';
import type { StoredRelease } from './store';

type ReleaseTileParams = TileParams & { release: number; layers: boolean[] };
/**
 * From this zoom a tile runs on the statement's one generic plan: its tiles are many and small, and
 * planning the statement of every layer each time cost more than rendering them (measured on the
 * large data set, see the README's release benchmark). Below it a tile holds up to hundreds of
 * thousands of parcels and a plan for its own envelope pays.
 */
export const GENERIC_MINZOOM = 13;
const NAMES: readonly (keyof ReleaseTileParams)[] = [...TILE_PARAMS, 'release', 'layers'];

/**
 * The tile statement of a release: per pinned layer (in the release's order), when the mask
 * :layers asks for it, its tileSql over release_features and whether any of its features reaches
 * the tile; as two arrays.
 */
export function releaseTileSql(release: StoredRelease): string {
  const layers = pinnedLayers(release);
  const asked = (i: number) => `(:layers::boolean[])[${i + 1}]`;
  const tiles = layers.map((l, i) => `CASE WHEN ${asked(i)} THEN (${tileSql(l, releaseTileSource(l))}) END`);
  const reaches = layers.map((l, i) => {
    const source = releaseTileSource(l);
    return `CASE WHEN ${asked(i)} THEN EXISTS (SELECT 1 FROM ${source.from} WHERE ${source.where} AND ST_Intersects(t.geom, ${TILE_ENVELOPE_4490})) ELSE false END`;
  });
  return `SELECT ARRAY[${tiles.join(',\n')}]::bytea[] AS tiles,\n ARRAY[${reaches.join(',\n')}]::boolean[] AS reaches`;
}

const statements = new WeakMap<StoredRelease, TileStatement<ReleaseTileParams>>();
const statementOf = (release: StoredRelease) => {
  let s = statements.get(release);
  if (!s) {
    s = positional<ReleaseTileParams>(releaseTileSql(release), NAMES);
    s.name = `release_tile_${release.row.number}_${createHash('sha256').update(s.text).digest('hex').slice(0, 16)}`;
    statements.set(release, s);
  }
  return s;
};

export interface RenderedReleaseTile {
  /** The raw (uncompressed) MVT: the asked layers that have a feature in it, concatenated; empty when none has. */
  tile: Buffer;
  /** Per pinned layer: whether it was asked for and any of its features reaches the tile (with its buffer). */
  reaches: boolean[];
}

/**
 * Renders a release's tile z/x/y: the pinned layers `layers` asks for (default: all), by the
 * rules of a pyramid up to `maxZoom` (default the service's: its top zoom keeps every feature).
 */
export async function renderReleaseTileLayers(
  knex: Knex,
  release: StoredRelease,
  z: number,
  x: number,
  y: number,
  opts: { layers?: boolean[]; maxZoom?: number } = {},
): Promise<RenderedReleaseTile> {
  const layers = opts.layers ?? pinnedLayers(release).map(() => true);
  const row = await queryTileStatement<ReleaseTileParams, { tiles: (Buffer | null)[]; reaches: boolean[] }>(
    knex,
    statementOf(release),
    { ...tileParams(z, x, y, opts.maxZoom ?? TILE_MAXZOOM), release: release.row.number, layers },
    { generic: z >= GENERIC_MINZOOM },
  );
  const parts = (row?.tiles ?? []).filter((t): t is Buffer => t !== null && t.length > 0);
  return { tile: parts.length === 1 ? parts[0] : Buffer.concat(parts), reaches: row?.reaches ?? layers.map(() => false) };
}

/** The raw (uncompressed) MVT of a release's tile z/x/y, every pinned layer in it; empty when none has a feature there. */
export async function renderReleaseTile(knex: Knex, release: StoredRelease, z: number, x: number, y: number): Promise<Buffer> {
  return (await renderReleaseTileLayers(knex, release, z, x, y)).tile;
}

/**
 * One layer of a raw MVT, as a tile of its own (the layer's message, as the tile holds it); empty
 * when the tile has no layer of that name.
 */
export function layerOfTile(raw: Buffer, name: string): Buffer {
  let found: Buffer = Buffer.alloc(0);
  const pbf = new PbfReader(raw);
  pbf.readFields((tag, _acc, p) => {
    if (tag !== 3) return; // Tile.layers (field 3, length-delimited): its key is the one byte before
    const start = p.pos - 1;
    const layer = p.readMessage((t, l: { name: string }, q) => {
      if (t === 1) l.name = q.readString();
    }, { name: '' });
    if (layer.name === name) found = raw.subarray(start, p.pos);
  }, null);
  return found;
}

/**
 * Whether a stored (gzip) tile is empty: zero bytes, or a gzip stream of nothing (its trailer's
 * ISIZE, the size mod 2^32, is 0: a tile is far below 4 GiB).
 */
export const isEmptyTile = (gz: Buffer): boolean => gz.length === 0 || (gz.length >= 18 && gz.readUInt32LE(gz.length - 4) === 0);

/** The stored tile, if it was made before. */
export async function storedReleaseTile(knex: Knex, release: number, z: number, x: number, y: number): Promise<Buffer | undefined> {
  const { rows } = await knex.raw<{ rows: { tile: Buffer }[] }>('SELECT tile FROM release_tiles WHERE release = ? AND z = ? AND x = ? AND y = ?', [release, z, x, y]);
  return rows[0]?.tile;
}

/**
 * Keeps a made tile (gzip, or zero bytes when empty); one kept before (another request, another
 * process, the archive build) stays (ON CONFLICT DO NOTHING). Returns whether this one was kept.
 */
export async function storeReleaseTile(knex: Knex, release: number, z: number, x: number, y: number, gz: Buffer): Promise<boolean> {
  const { rows } = await knex.raw<{ rows: unknown[] }>('INSERT INTO release_tiles (release, z, x, y, tile) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1', [release, z, x, y, gz]);
  return rows.length > 0;
}

/**
 * A release's tile as gzip (zero bytes when empty): the stored one, or made now and stored. Once
 * stored, its bytes are the ones served, whoever stored them (the archive compresses harder).
 * `read`: where the stored tile and the features are read (a read replica that has replayed the
 * release), `knex` where a made tile is stored (the primary).
 */
export async function releaseTile(knex: Knex, release: StoredRelease, z: number, x: number, y: number, read: Knex = knex): Promise<Buffer> {
  const n = release.row.number;
  const stored = await storedReleaseTile(read, n, z, x, y);
  if (stored) return stored;
  const raw = await renderReleaseTile(read, release, z, x, y);
  const gz = raw.length ? await gzip(raw, { level: GZIP_LEVEL }) : Buffer.alloc(0);
  if (await storeReleaseTile(knex, n, z, x, y, gz)) return gz;
  return (await storedReleaseTile(knex, n, z, x, y)) ?? gz;
}

/** The raw MVT of a stored tile. */
export const unzipTile = (gz: Buffer): Promise<Buffer> => (gz.length ? gunzip(gz) : Promise.resolve(Buffer.alloc(0)));
