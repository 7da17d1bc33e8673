// A release's vector tiles: one tile holds every pinned layer, each made by the working tiles' own
// statement (tiles/mvt.ts: the same simplification, speck filter and attribute zoom) over the
// release's copy of the layer (release_features), the ST_AsMVT of each layer concatenated in one
// statement (MVT layers concatenate as bytes). A release never changes, so a tile is made once:
// release_tiles keeps it (gzip; written once, the table's triggers refuse updates), filled when a
// tile is first asked for or when the archive is built.
//
// An empty tile (no pinned feature in it) is stored as zero bytes.
import type { Knex } from 'knex';
import { positional, runTileStatement, tileParams, tileSql, type TileParams, type TileStatement } from '../tiles/mvt';
import { gunzip, gzip, GZIP_LEVEL } from '../tiles/routes';
import { pinnedLayers, releaseTileSource } from './features';
import type { StoredRelease } from './store';

type ReleaseTileParams = TileParams & { release: number };
const NAMES: readonly (keyof ReleaseTileParams)[] = ['z', 'x', 'y', 'tolerance', 'min_area_m2', 'release'];

/** The tile statement of a release: every pinned layer's tileSql over release_features, concatenated. */
export function releaseTileSql(release: StoredRelease): string {
  const parts = pinnedLayers(release).map((l) => `COALESCE((${tileSql(l, releaseTileSource(l))}), '\\x'::bytea)`);
  return `SELECT ${parts.length ? parts.join('\n || ') : `'\\x'::bytea`} AS tile`;
}

const statements = new WeakMap<StoredRelease, TileStatement<ReleaseTileParams>>();
const statementOf = (release: StoredRelease) => {
  let s = statements.get(release);
  if (!s) statements.set(release, (s = positional<ReleaseTileParams>(releaseTileSql(release), NAMES)));
  return s;
};

/** The raw (uncompressed) MVT of a release's tile z/x/y, every pinned layer in it; empty when none has a feature there. */
export function renderReleaseTile(knex: Knex, release: StoredRelease, z: number, x: number, y: number): Promise<Buffer> {
  return runTileStatement(knex, statementOf(release), { ...tileParams(z, x, y), release: release.row.number });
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
 */
export async function releaseTile(knex: Knex, release: StoredRelease, z: number, x: number, y: number): Promise<Buffer> {
  const n = release.row.number;
  const stored = await storedReleaseTile(knex, n, z, x, y);
  if (stored) return stored;
  const raw = await renderReleaseTile(knex, release, z, x, y);
  const gz = raw.length ? await gzip(raw, { level: GZIP_LEVEL }) : Buffer.alloc(0);
  if (await storeReleaseTile(knex, n, z, x, y, gz)) return gz;
  return (await storedReleaseTile(knex, n, z, x, y)) ?? gz;
}

/** The raw MVT of a stored tile. */
export const unzipTile = (gz: Buffer): Promise<Buffer> => (gz.length ? gunzip(gz) : Promise.resolve(Buffer.alloc(0)));
