// A PMTiles v3 writer (https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md) for the
// release archive (成果包). The npm registry has PMTiles readers only (`pmtiles`, which the viewer
// and the tests read with, and loaders built on it), so the writer is here, small:
//
//   header (127 bytes) | root directory | JSON metadata | leaf directories | tile data
//
// Tiles come in ascending Hilbert tile id (clustered order) and their bytes go straight to a
// temporary file beside the archive; only the directory entries (four numbers a tile, in typed
// arrays) and one content hash per distinct tile stay in memory. Identical tiles are stored once
// (the same offset in several entries), and a run of consecutive tile ids with the same content is
// one entry with a run length. finish() lays out the directories — the root alone if it fits in
// the first 16 KiB with the header, else a root of leaf pointers — and writes the archive under a
// temporary name, renamed into place at the end: a killed process leaves no half archive.
import { createHash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

/** The largest zoom whose tile ids stay exact in a JavaScript number (4^27 > 2^53). */
export const MAX_ZOOM = 26;
export const HEADER_BYTES = 127;
/** Header and root directory together stay under this (spec: less than 16,384 bytes, the reader's first request). */
export const ROOT_LIMIT_BYTES = 16_384;
/** Entries a leaf directory starts with; grown by a fifth until the root fits (as go-pmtiles). */
const LEAF_ENTRIES = 4096;
/** Tile bytes gathered before one write to the temporary file. */
const FLUSH_BYTES = 1 << 20;
/** Tells the temporary files of writers in one process apart. */
let writers = 0;

// Enumerations of the header (spec, "Header Design").
const COMPRESSION_GZIP = 2;
const TILE_TYPE_MVT = 1;

// ——— Hilbert tile ids ———

function checkZxy(z: number, x: number, y: number): void {
  if (!Number.isInteger(z) || z < 0 || z > MAX_ZOOM) throw new RangeError(`zoom ${z} is not an integer in 0..${MAX_ZOOM}`);
  const n = 2 ** z;
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= n || y >= n) {
    throw new RangeError(`tile ${z}/${x}/${y} is outside zoom ${z} (0..${n - 1})`);
  }
}

/** Tiles of all zooms below z: (4^z − 1) / 3, the id of tile z/0/0. */
function zoomBase(z: number): number {
  return (4 ** z - 1) / 3;
}

/**
 * The PMTiles tile id of z/x/y: the tiles of all lower zooms, then the position of x/y on the
 * zoom's Hilbert curve (which starts at 0/0 and ends at 2^z−1/0).
 */
export function zxyToTileId(z: number, x: number, y: number): number {
  checkZxy(z, x, y);
  const n = 2 ** z;
  let d = 0;
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = x & s ? 1 : 0;
    const ry = y & s ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        x = n - 1 - x;
        y = n - 1 - y;
      }
      const t = x;
      x = y;
      y = t;
    }
  }
  return zoomBase(z) + d;
}

/** The z/x/y of a PMTiles tile id (the inverse of zxyToTileId). */
export function tileIdToZxy(id: number): [number, number, number] {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`tile id ${id} is not a non-negative safe integer`);
  let z = 0;
  while (z <= MAX_ZOOM && zoomBase(z + 1) <= id) z++;
  if (z > MAX_ZOOM) throw new RangeError(`tile id ${id} is beyond zoom ${MAX_ZOOM}`);
  let t = id - zoomBase(z);
  let x = 0;
  let y = 0;
  for (let s = 1; s < 2 ** z; s *= 2) {
    const rx = 1 & Math.floor(t / 2);
    const ry = 1 & (t % 2 ^ rx);
    if (ry === 0) {
      if (rx === 1) {
        x = s - 1 - x;
        y = s - 1 - y;
      }
      const u = x;
      x = y;
      y = u;
    }
    x += s * rx;
    y += s * ry;
    t = Math.floor(t / 4);
  }
  return [z, x, y];
}

/** The tiles in the order PmtilesWriter.addTile takes them (ascending tile id); a new array. */
export function orderByTileId<T extends { z: number; x: number; y: number }>(tiles: readonly T[]): T[] {
  return tiles
    .map((t) => ({ t, id: zxyToTileId(t.z, t.x, t.y) }))
    .sort((a, b) => a.id - b.id)
    .map((e) => e.t);
}

// ——— Directories ———

/** Directory entries, column by column (spec, "Entries"). runLength 0: a leaf directory. */
class Entries {
  tileId = new Float64Array(1024);
  offset = new Float64Array(1024);
  length = new Uint32Array(1024);
  runLength = new Uint32Array(1024);
  count = 0;

  push(tileId: number, offset: number, length: number, runLength: number): void {
    if (this.count === this.tileId.length) {
      const grow = <A extends Float64Array | Uint32Array>(a: A): A => {
        const b = new (a.constructor as new (n: number) => A)(a.length * 2);
        b.set(a);
        return b;
      };
      this.tileId = grow(this.tileId);
      this.offset = grow(this.offset);
      this.length = grow(this.length);
      this.runLength = grow(this.runLength);
    }
    const i = this.count++;
    this.tileId[i] = tileId;
    this.offset[i] = offset;
    this.length[i] = length;
    this.runLength[i] = runLength;
  }
}

/** Little-endian base-128 varint of a non-negative safe integer; returns the next position. */
function putVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Entries [from, to) serialised (spec, "Directory Serialization"): the count, then the tile ids as
 * deltas, the run lengths, the lengths, and the offsets (0 when contiguous with the previous
 * entry, else offset + 1), all varints; gzipped.
 */
function serializeDirectory(e: Entries, from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(10 + (to - from) * 30);
  let pos = putVarint(buf, 0, to - from);
  let last = 0;
  for (let i = from; i < to; i++) {
    pos = putVarint(buf, pos, e.tileId[i] - last);
    last = e.tileId[i];
  }
  for (let i = from; i < to; i++) pos = putVarint(buf, pos, e.runLength[i]);
  for (let i = from; i < to; i++) pos = putVarint(buf, pos, e.length[i]);
  for (let i = from; i < to; i++) {
    const contiguous = i > from && e.offset[i] === e.offset[i - 1] + e.length[i - 1];
    pos = putVarint(buf, pos, contiguous ? 0 : e.offset[i] + 1);
  }
  return gzipSync(buf.subarray(0, pos));
}

/**
 * The root directory and the leaf directories of the entries: the root alone if it fits beside the
 * header under ROOT_LIMIT_BYTES, else leaves of `leafSize` entries (grown until the root of leaf
 * pointers fits) — one level of leaves, which covers any archive a release makes.
 */
function buildDirectories(e: Entries): { root: Buffer; leaves: Buffer[]; leavesLength: number } {
  const limit = ROOT_LIMIT_BYTES - HEADER_BYTES;
  const root = serializeDirectory(e, 0, e.count);
  if (root.length < limit) return { root, leaves: [], leavesLength: 0 };
  for (let leafSize = LEAF_ENTRIES; ; leafSize = Math.ceil(leafSize * 1.2)) {
    const pointers = new Entries();
    const leaves: Buffer[] = [];
    let offset = 0;
    for (let from = 0; from < e.count; from += leafSize) {
      const leaf = serializeDirectory(e, from, Math.min(from + leafSize, e.count));
      pointers.push(e.tileId[from], offset, leaf.length, 0);
      leaves.push(leaf);
      offset += leaf.length;
    }
    const root = serializeDirectory(pointers, 0, pointers.count);
    if (root.length < limit) return { root, leaves, leavesLength: offset };
  }
}

// ——— The writer ———

export interface PmtilesOptions {
  minZoom: number;
  maxZoom: number;
  /** [west, south, east, north], degrees (CRS84). */
  bounds: [number, number, number, number];
  /** [lon, lat, zoom]. */
  center: [number, number, number];
  /** The archive's JSON metadata (for MVT: vector_layers, name, …). */
  metadata: object;
}

export interface PmtilesResult {
  path: string;
  /** Bytes of the archive. */
  size: number;
  /** Tiles addressed (empty tiles are not written and not counted). */
  tiles: number;
  /** Distinct tile contents stored. */
  uniqueTiles: number;
  /** Directory entries of tiles (a run of identical tiles is one). */
  tileEntries: number;
  /** Leaf directories (0: every entry is in the root). */
  leafDirectories: number;
  /** SHA-256 of the archive, hex. */
  sha256: string;
}

/** Degrees as the header's signed 32-bit integers of 1e-7 degree. */
function e7(v: number): number {
  return Math.round(v * 1e7);
}

/**
 * Writes one PMTiles v3 archive of gzipped MVT tiles to `path`. addTile in ascending tile id
 * (orderByTileId), then finish(); abort() instead leaves nothing behind.
 */
export class PmtilesWriter {
  readonly path: string;
  private readonly opts: PmtilesOptions;
  private readonly tmpPrefix: string;
  private readonly dataPath: string;
  private readonly entries = new Entries();
  /** SHA-256 (base64) of each distinct content → its offset in the tile data. */
  private readonly contents = new Map<string, number>();
  private file: Promise<FileHandle>;
  /** Writes to the temporary file, chained so they land in call order. */
  private writing: Promise<unknown>;
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private dataLength = 0;
  private lastTileId = -1;
  private addressed = 0;
  private state: 'open' | 'finishing' | 'closed' = 'open';

  constructor(path: string, opts: PmtilesOptions) {
    const { minZoom, maxZoom, bounds, center } = opts;
    checkZxy(minZoom, 0, 0);
    checkZxy(maxZoom, 0, 0);
    if (minZoom > maxZoom) throw new RangeError(`minZoom ${minZoom} is above maxZoom ${maxZoom}`);
    const [w, s, e, n] = bounds;
    if (!(w >= -180 && e <= 180 && s >= -90 && n <= 90 && w <= e && s <= n)) throw new RangeError(`bounds ${bounds.join(',')} are not [west, south, east, north] in degrees`);
    if (!(center[0] >= -180 && center[0] <= 180 && center[1] >= -90 && center[1] <= 90 && Number.isInteger(center[2]) && center[2] >= 0 && center[2] <= 255)) {
      throw new RangeError(`center ${center.join(',')} is not [lon, lat, zoom]`);
    }
    this.path = path;
    this.opts = opts;
    this.tmpPrefix = `${path}.${process.pid}.${++writers}`;
    this.dataPath = `${this.tmpPrefix}.tiles.tmp`;
    this.file = open(this.dataPath, 'w');
    this.writing = this.file;
    // A failure to open surfaces on the next addTile or finish, not as an unhandled rejection.
    this.file.catch(() => {});
  }

  /**
   * Adds tile z/x/y (gzipped MVT). Tile ids must ascend strictly from call to call; a tile out of
   * order, outside minZoom..maxZoom or not gzip is refused (the writer stays usable). An empty
   * tile is not written.
   */
  async addTile(z: number, x: number, y: number, gzippedMvt: Buffer): Promise<void> {
    if (this.state !== 'open') throw new Error(`the archive ${this.path} is already finished`);
    const id = zxyToTileId(z, x, y);
    if (z < this.opts.minZoom || z > this.opts.maxZoom) throw new RangeError(`tile ${z}/${x}/${y} is outside zooms ${this.opts.minZoom}..${this.opts.maxZoom}`);
    if (id <= this.lastTileId) {
      const [lz, lx, ly] = tileIdToZxy(this.lastTileId);
      throw new RangeError(`tile ${z}/${x}/${y} (id ${id}) comes after ${lz}/${lx}/${ly} (id ${this.lastTileId}): tiles go in ascending tile id`);
    }
    if (gzippedMvt.length === 0) {
      this.lastTileId = id;
      return;
    }
    if (gzippedMvt.length < 18 || gzippedMvt[0] !== 0x1f || gzippedMvt[1] !== 0x8b) throw new RangeError(`tile ${z}/${x}/${y} is not gzip`);
    this.lastTileId = id;
    this.addressed++;

    const key = createHash('sha256').update(gzippedMvt).digest('base64');
    let offset = this.contents.get(key);
    if (offset === undefined) {
      offset = this.dataLength;
      this.contents.set(key, offset);
      this.dataLength += gzippedMvt.length;
      this.chunks.push(gzippedMvt);
      this.chunkBytes += gzippedMvt.length;
    }
    const e = this.entries;
    const last = e.count - 1;
    if (last >= 0 && e.offset[last] === offset && e.tileId[last] + e.runLength[last] === id) e.runLength[last]++;
    else e.push(id, offset, gzippedMvt.length, 1);

    if (this.chunkBytes >= FLUSH_BYTES) await this.flush();
  }

  private flush(): Promise<unknown> {
    if (this.chunks.length) {
      const chunks = this.chunks;
      this.chunks = [];
      this.chunkBytes = 0;
      this.writing = this.writing.then(async () => {
        const fh = await this.file;
        await fh.writev(chunks);
      });
    }
    return this.writing;
  }

  /** Lays out the directories and writes the archive to `path` (atomically: temporary + rename). */
  async finish(): Promise<PmtilesResult> {
    if (this.state !== 'open') throw new Error(`the archive ${this.path} is already finished`);
    this.state = 'finishing';
    const partPath = `${this.tmpPrefix}.part`;
    let out: FileHandle | undefined;
    try {
      await this.flush();
      const data = await this.file;
      await data.close();

      const { root, leaves, leavesLength } = buildDirectories(this.entries);
      const metadata = gzipSync(Buffer.from(JSON.stringify(this.opts.metadata), 'utf8'));
      const rootOffset = HEADER_BYTES;
      const metadataOffset = rootOffset + root.length;
      const leavesOffset = metadataOffset + metadata.length;
      const dataOffset = leavesOffset + leavesLength;

      const h = Buffer.alloc(HEADER_BYTES);
      h.write('PMTiles', 0, 'latin1');
      h.writeUInt8(3, 7);
      const u64 = (pos: number, v: number) => h.writeBigUInt64LE(BigInt(v), pos);
      u64(8, rootOffset);
      u64(16, root.length);
      u64(24, metadataOffset);
      u64(32, metadata.length);
      u64(40, leavesOffset);
      u64(48, leavesLength);
      u64(56, dataOffset);
      u64(64, this.dataLength);
      u64(72, this.addressed);
      u64(80, this.entries.count);
      u64(88, this.contents.size);
      h.writeUInt8(1, 96); // clustered: tile data in tile-id order, duplicates point back
      h.writeUInt8(COMPRESSION_GZIP, 97); // internal compression
      h.writeUInt8(COMPRESSION_GZIP, 98); // tile compression
      h.writeUInt8(TILE_TYPE_MVT, 99);
      h.writeUInt8(this.opts.minZoom, 100);
      h.writeUInt8(this.opts.maxZoom, 101);
      const [w, s, e, n] = this.opts.bounds;
      h.writeInt32LE(e7(w), 102);
      h.writeInt32LE(e7(s), 106);
      h.writeInt32LE(e7(e), 110);
      h.writeInt32LE(e7(n), 114);
      h.writeUInt8(this.opts.center[2], 118);
      h.writeInt32LE(e7(this.opts.center[0]), 119);
      h.writeInt32LE(e7(this.opts.center[1]), 123);

      const hash = createHash('sha256');
      out = await open(partPath, 'w');
      const head = [h, root, metadata, ...leaves];
      for (const b of head) hash.update(b);
      await out.writev(head);
      const src = await open(this.dataPath, 'r');
      try {
        const buf = Buffer.allocUnsafe(4 << 20);
        for (;;) {
          const { bytesRead } = await src.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          const chunk = buf.subarray(0, bytesRead);
          hash.update(chunk);
          await out.write(chunk);
        }
      } finally {
        await src.close();
      }
      await out.datasync();
      await out.close();
      out = undefined;
      await rename(partPath, this.path);
      await rm(this.dataPath, { force: true });
      this.state = 'closed';
      return {
        path: this.path,
        size: dataOffset + this.dataLength,
        tiles: this.addressed,
        uniqueTiles: this.contents.size,
        tileEntries: this.entries.count,
        leafDirectories: leaves.length,
        sha256: hash.digest('hex'),
      };
    } catch (err) {
      await out?.close().catch(() => {});
      await rm(partPath, { force: true });
      await this.abort();
      throw err;
    }
  }

  /** Gives up: closes and removes the temporary file; `path` is left as it was. */
  async abort(): Promise<void> {
    this.state = 'closed';
    this.chunks = [];
    await this.writing.catch(() => {});
    await this.file.then((fh) => fh.close()).catch(() => {});
    await rm(this.dataPath, { force: true });
  }
}
