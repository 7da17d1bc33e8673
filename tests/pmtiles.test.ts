// The PMTiles v3 writer of the release archive (server/releases/pmtiles.ts), read back two ways:
// with the `pmtiles` reader the viewer uses (header, tiles, metadata), and with a parser of the
// spec's layout written here (sections, directories, entries, run lengths, clustered offsets), so
// a writer and a reader that shared a mistake would still be caught. No database.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PMTiles, tileIdToZxy as readerTileIdToZxy, zxyToTileId as readerZxyToTileId, type Header, type RangeResponse, type Source } from 'pmtiles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_BYTES, orderByTileId, PmtilesWriter, ROOT_LIMIT_BYTES, tileIdToZxy, zxyToTileId, type PmtilesOptions } from '../server/releases/pmtiles';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'onemap-pmtiles-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The reader's Source over a file read whole (archives here are small). */
class BufferSource implements Source {
  constructor(
    private readonly buf: Buffer,
    private readonly key: string,
  ) {}
  getKey(): string {
    return this.key;
  }
  async getBytes(offset: number, length: number): Promise<RangeResponse> {
    const slice = this.buf.subarray(offset, offset + length);
    return { data: slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.length) as ArrayBuffer };
  }
}

/**
 * The reader over an archive. `zlib`: decompress with node:zlib instead of the reader's default
 * (the DecompressionStream the browser uses, ~0.3 ms a tile here: 9 s for the 30,000 tiles).
 */
function reader(path: string, decompress: 'default' | 'zlib' = 'zlib'): PMTiles {
  const zlib = async (buf: ArrayBuffer, compression: number): Promise<ArrayBuffer> => {
    if (compression !== 2) throw new Error(`compression ${compression}: the writer writes gzip only`);
    const out = gunzipSync(buf);
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.length) as ArrayBuffer;
  };
  return new PMTiles(new BufferSource(readFileSync(path), path), undefined, decompress === 'zlib' ? zlib : undefined);
}

// ——— The spec's layout, parsed independently of the reader ———

interface Entry {
  tileId: number;
  offset: number;
  length: number;
  runLength: number;
  /** The offset as serialised: 0 (contiguous with the previous entry) or offset + 1. */
  offsetCode: number;
}

function readVarints(buf: Buffer): () => number {
  let pos = 0;
  return () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new Error('directory ends inside a varint');
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  };
}

/** A directory per the spec: count, tile id deltas, run lengths, lengths, offsets (0 = contiguous, else +1). */
function parseDirectory(gz: Buffer): Entry[] {
  const raw = gunzipSync(gz);
  const next = readVarints(raw);
  const n = next();
  const entries: Entry[] = [];
  let id = 0;
  for (let i = 0; i < n; i++) {
    id += next();
    entries.push({ tileId: id, offset: 0, length: 0, runLength: 0, offsetCode: 0 });
  }
  for (const e of entries) e.runLength = next();
  for (const e of entries) e.length = next();
  entries.forEach((e, i) => {
    const v = next();
    e.offsetCode = v;
    if (v === 0 && i === 0) throw new Error('first entry with offset 0 (contiguous with nothing)');
    e.offset = v === 0 ? entries[i - 1].offset + entries[i - 1].length : v - 1;
  });
  expect(raw.length, 'bytes after the offsets column').toBe(countVarintBytes(raw, 1 + 4 * n));
  return entries;
}

function countVarintBytes(buf: Buffer, varints: number): number {
  let pos = 0;
  for (let i = 0; i < varints; i++) while (buf[pos++] >= 0x80);
  return pos;
}

interface Layout {
  magic: string;
  version: number;
  u64: (pos: number) => number;
  root: Entry[];
  /** Leaf directories as they sit in the root (entries with run length 0), parsed. */
  leaves: { pointer: Entry; entries: Entry[] }[];
  /** Every tile entry, root and leaves, in directory order. */
  tiles: Entry[];
  rootLength: number;
  leafOffset: number;
  leafLength: number;
  metadataOffset: number;
  metadataLength: number;
  dataOffset: number;
  dataLength: number;
  raw: Buffer;
}

function parseArchive(path: string): Layout {
  const raw = readFileSync(path);
  const u64 = (pos: number) => Number(raw.readBigUInt64LE(pos));
  const rootOffset = u64(8);
  const rootLength = u64(16);
  const leafOffset = u64(40);
  const leafLength = u64(48);
  const root = parseDirectory(raw.subarray(rootOffset, rootOffset + rootLength));
  const leaves: Layout['leaves'] = [];
  const tiles: Entry[] = [];
  for (const e of root) {
    if (e.runLength > 0) {
      tiles.push(e);
      continue;
    }
    const entries = parseDirectory(raw.subarray(leafOffset + e.offset, leafOffset + e.offset + e.length));
    if (entries.some((l) => l.runLength === 0)) throw new Error('a leaf of leaves (the writer makes one level)');
    leaves.push({ pointer: e, entries });
    tiles.push(...entries);
  }
  return {
    magic: raw.subarray(0, 7).toString('latin1'),
    version: raw[7],
    u64,
    root,
    leaves,
    tiles,
    rootLength,
    leafOffset,
    leafLength,
    metadataOffset: u64(24),
    metadataLength: u64(32),
    dataOffset: u64(56),
    dataLength: u64(64),
    raw,
  };
}

// ——— Fixtures ———

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stand-in for an MVT: the writer never looks inside a tile, only at its (gzip) bytes. */
function payload(label: string, extra = 0): Buffer {
  return Buffer.concat([Buffer.from(`tile ${label};`), Buffer.alloc(extra, label.length % 251)]);
}

/** The slippy tiles over a lon/lat box at zoom z. */
function tilesOver(z: number, [w, s, e, n]: [number, number, number, number]): { z: number; x: number; y: number }[] {
  const tx = (lon: number) => Math.floor(((lon + 180) / 360) * 2 ** z);
  const ty = (lat: number) => {
    const r = (lat * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
  };
  const out: { z: number; x: number; y: number }[] = [];
  for (let x = tx(w); x <= tx(e); x++) for (let y = ty(n); y <= ty(s); y++) out.push({ z, x, y });
  return out;
}

const DATONG: [number, number, number, number] = [112.9, 39.8, 113.6, 40.3];
const OPTS: PmtilesOptions = {
  minZoom: 8,
  maxZoom: 12,
  bounds: DATONG,
  center: [113.3, 40.08, 10],
  metadata: {
    name: '大同市国土空间规划一张图 成果 1',
    vector_layers: [{ id: 'landuse_plan', fields: { code: 'String' }, minzoom: 8, maxzoom: 12 }],
    onemap: { release: 1, layers: [{ id: 'landuse_plan', title: '国土空间规划用地', classes: [{ code: '0701', zh: '城镇住宅用地', color: '#f7e39c' }] }] },
  },
};

async function write(name: string, tiles: { z: number; x: number; y: number; data: Buffer }[], opts: PmtilesOptions = OPTS) {
  const path = join(dir, name);
  const w = new PmtilesWriter(path, opts);
  for (const t of tiles) await w.addTile(t.z, t.x, t.y, t.data);
  return w.finish();
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

// ——— Tests ———

describe('Hilbert tile ids', () => {
  it('match the values of the spec and of the reference reader', () => {
    // The PMTiles reference implementation's tests: z0 is 0, z1 runs 0/0, 0/1, 1/1, 1/0, z2 starts at 5.
    expect(zxyToTileId(0, 0, 0)).toBe(0);
    expect([zxyToTileId(1, 0, 0), zxyToTileId(1, 0, 1), zxyToTileId(1, 1, 1), zxyToTileId(1, 1, 0)]).toEqual([1, 2, 3, 4]);
    expect(zxyToTileId(2, 0, 0)).toBe(5);
    // Each zoom starts after the (4^z − 1)/3 tiles below it and its curve ends at x = 2^z − 1, y = 0.
    expect(zxyToTileId(2, 3, 0)).toBe(20);
    expect(zxyToTileId(3, 0, 0)).toBe(21);
    expect(zxyToTileId(12, 0, 0)).toBe((4 ** 12 - 1) / 3);
    expect(zxyToTileId(26, 2 ** 26 - 1, 0)).toBe((4 ** 27 - 1) / 3 - 1);
    expect(tileIdToZxy(0)).toEqual([0, 0, 0]);
    expect([1, 2, 3, 4, 5].map(tileIdToZxy)).toEqual([
      [1, 0, 0],
      [1, 0, 1],
      [1, 1, 1],
      [1, 1, 0],
      [2, 0, 0],
    ]);
  });

  it('agree with the pmtiles reader and invert each other, every tile of z0–z8 and random tiles to z26', () => {
    let mismatches = 0;
    for (let z = 0; z <= 8; z++) {
      for (let x = 0; x < 2 ** z; x++) {
        for (let y = 0; y < 2 ** z; y++) {
          const id = zxyToTileId(z, x, y);
          const back = tileIdToZxy(id);
          if (id !== readerZxyToTileId(z, x, y) || back[0] !== z || back[1] !== x || back[2] !== y) mismatches++;
        }
      }
    }
    const rnd = random(26);
    for (let i = 0; i < 20_000; i++) {
      const z = 9 + Math.floor(rnd() * 18);
      const x = Math.floor(rnd() * 2 ** z);
      const y = Math.floor(rnd() * 2 ** z);
      const id = zxyToTileId(z, x, y);
      if (id !== readerZxyToTileId(z, x, y)) mismatches++;
      if (tileIdToZxy(id).join('/') !== `${z}/${x}/${y}` || readerTileIdToZxy(id).join('/') !== `${z}/${x}/${y}`) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('refuse tiles outside their zoom and zooms beyond 26', () => {
    expect(() => zxyToTileId(1, 2, 0)).toThrow(/outside zoom 1/);
    expect(() => zxyToTileId(3, 0, -1)).toThrow(/outside zoom 3/);
    expect(() => zxyToTileId(2, 0.5, 0)).toThrow(/outside zoom 2/);
    expect(() => zxyToTileId(27, 0, 0)).toThrow(/zoom 27/);
    expect(() => tileIdToZxy(-1)).toThrow(/tile id -1/);
    expect(() => tileIdToZxy((4 ** 27 - 1) / 3)).toThrow(/beyond zoom 26/);
  });

  it('orderByTileId sorts a z/x/y list into ascending tile id, leaving the list as it was', () => {
    const tiles = [8, 9, 10].flatMap((z) => tilesOver(z, DATONG)).map((t, i) => ({ ...t, i }));
    const shuffled = [...tiles].sort((a, b) => ((a.i * 7919) % 101) - ((b.i * 7919) % 101));
    const before = shuffled.map((t) => t.i);
    const ordered = orderByTileId(shuffled);
    expect(shuffled.map((t) => t.i)).toEqual(before);
    const ids = ordered.map((t) => zxyToTileId(t.z, t.x, t.y));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
    expect(ordered.map((t) => t.i).sort((a, b) => a - b)).toEqual(tiles.map((t) => t.i));
    // A z8 tile comes before every z9 tile: zooms are not interleaved.
    expect(ordered.findIndex((t) => t.z === 9)).toBe(ordered.filter((t) => t.z === 8).length);
  });
});

describe('PmtilesWriter', () => {
  it('writes an archive the pmtiles reader opens: header, every tile, metadata, sha256', async () => {
    const coords = orderByTileId([8, 9, 10, 11, 12].flatMap((z) => tilesOver(z, DATONG)));
    const tiles = coords.map((t, i) => ({ ...t, plain: payload(`${t.z}/${t.x}/${t.y}`, i % 50) }));
    const input = tiles.map((t) => ({ ...t, data: gzipSync(t.plain) }));
    // An empty tile (no feature) is not written.
    const empty = tilesOver(12, [113.7, 40.4, 113.7, 40.4])[0];
    const all = orderByTileId([...input, { ...empty, plain: Buffer.alloc(0), data: Buffer.alloc(0) }]);
    const result = await write('basic.pmtiles', all);

    const file = readFileSync(result.path);
    expect(result).toMatchObject({ path: join(dir, 'basic.pmtiles'), size: file.length, tiles: tiles.length, uniqueTiles: tiles.length, tileEntries: tiles.length, leafDirectories: 0 });
    expect(result.sha256).toBe(sha256(file));

    const p = reader(result.path, 'default');
    const h: Header = await p.getHeader();
    expect(h).toMatchObject({
      specVersion: 3,
      rootDirectoryOffset: HEADER_BYTES,
      clustered: true,
      internalCompression: 2,
      tileCompression: 2,
      tileType: 1,
      minZoom: 8,
      maxZoom: 12,
      minLon: 112.9,
      minLat: 39.8,
      maxLon: 113.6,
      maxLat: 40.3,
      centerLon: 113.3,
      centerLat: 40.08,
      centerZoom: 10,
      numAddressedTiles: tiles.length,
      numTileEntries: tiles.length,
      numTileContents: tiles.length,
      leafDirectoryLength: 0,
      tileDataLength: input.reduce((n, t) => n + t.data.length, 0),
    });
    expect(h.tileDataOffset + h.tileDataLength!).toBe(file.length);

    let wrong = 0;
    for (const t of tiles) {
      const got = await p.getZxy(t.z, t.x, t.y);
      if (!got || !Buffer.from(got.data).equals(t.plain)) wrong++;
    }
    expect(wrong).toBe(0);
    expect(await p.getZxy(empty.z, empty.x, empty.y)).toBeUndefined();
    expect(await p.getZxy(7, 105, 48)).toBeUndefined(); // below minZoom
    expect(await p.getMetadata()).toEqual(OPTS.metadata);

    // The stored bytes are the gzip the writer was given, at the entries' offsets.
    const layout = parseArchive(result.path);
    const byId = new Map(input.map((t) => [zxyToTileId(t.z, t.x, t.y), t.data]));
    expect(layout.tiles.map((e) => e.tileId)).toEqual([...byId.keys()]);
    expect(layout.tiles.filter((e) => !layout.raw.subarray(layout.dataOffset + e.offset, layout.dataOffset + e.offset + e.length).equals(byId.get(e.tileId)!)).length).toBe(0);
    expect(JSON.parse(gunzipSync(layout.raw.subarray(layout.metadataOffset, layout.metadataOffset + layout.metadataLength)).toString('utf8'))).toEqual(OPTS.metadata);
  });

  it('lays the sections out as the spec orders them, tile data clustered (contiguous, in tile-id order)', async () => {
    const tiles = orderByTileId([8, 9, 10].flatMap((z) => tilesOver(z, DATONG))).map((t, i) => ({ ...t, data: gzipSync(payload(`${i}`, i)) }));
    const result = await write('layout.pmtiles', tiles);
    const l = parseArchive(result.path);
    expect(l.magic).toBe('PMTiles');
    expect(l.version).toBe(3);
    expect(l.raw.length).toBe(HEADER_BYTES + l.rootLength + l.metadataLength + l.leafLength + l.dataLength);
    expect(l.metadataOffset).toBe(HEADER_BYTES + l.rootLength);
    expect(l.leafOffset).toBe(l.metadataOffset + l.metadataLength);
    expect(l.dataOffset).toBe(l.leafOffset + l.leafLength);
    expect(l.raw[96]).toBe(1); // clustered
    // No duplicates here: each tile follows the previous one in the data section.
    let expected = 0;
    const gaps = l.tiles.filter((e) => {
      const gap = e.offset !== expected;
      expected = e.offset + e.length;
      return gap;
    });
    expect(gaps).toEqual([]);
    expect(expected).toBe(l.dataLength);
    // Serialised, a contiguous offset is 0: only the first entry spells its offset (0 + 1).
    expect(l.tiles.map((e) => e.offsetCode)).toEqual(l.tiles.map((_, i) => (i === 0 ? 1 : 0)));
    // The directory's ids ascend strictly.
    expect(l.tiles.every((e, i) => i === 0 || e.tileId > l.tiles[i - 1].tileId)).toBe(true);
  });

  it('stores identical tiles once (the entries share an offset); the archive is smaller by the copies', async () => {
    const coords = orderByTileId([10, 11, 12].flatMap((z) => tilesOver(z, DATONG)));
    // Every third tile is the same "fully inside one polygon" tile; the neighbours between them
    // keep the copies from being consecutive (no run length here).
    const same = gzipSync(payload('inside one polygon', 300));
    const distinct = coords.map((t, i) => ({ ...t, data: gzipSync(payload(`${i}`, 300)) }));
    const deduped = coords.map((t, i) => ({ ...t, data: i % 3 === 0 ? same : distinct[i].data }));
    const copies = coords.filter((_, i) => i % 3 === 0).length;

    const a = await write('distinct.pmtiles', distinct);
    const b = await write('dedup.pmtiles', deduped);
    expect(b.tiles).toBe(coords.length);
    expect(b.tileEntries).toBe(coords.length);
    expect(b.uniqueTiles).toBe(coords.length - copies + 1);
    const la = parseArchive(a.path);
    const lb = parseArchive(b.path);
    const distinctBytes = (i: number) => distinct[i].data.length;
    const expectedData = coords.reduce((n, _, i) => n + (i % 3 === 0 ? 0 : distinctBytes(i)), 0) + same.length;
    expect(lb.dataLength).toBe(expectedData);
    expect(la.dataLength - lb.dataLength).toBe(coords.reduce((n, _, i) => n + (i % 3 === 0 ? distinctBytes(i) : 0), 0) - same.length);
    expect(lb.u64(88)).toBe(coords.length - copies + 1); // numTileContents
    const sameOffsets = new Set(lb.tiles.filter((_, i) => i % 3 === 0).map((e) => e.offset));
    expect([...sameOffsets]).toEqual([0]); // tile 0 is the first copy, written first
    // Clustered with deduplication: an offset either continues the data or points back.
    let end = 0;
    const forward = lb.tiles.filter((e) => {
      if (e.offset === end) {
        end += e.length;
        return false;
      }
      return e.offset > end;
    });
    expect(forward).toEqual([]);
    const p = reader(b.path);
    let wrong = 0;
    for (const [i, t] of deduped.entries()) {
      const got = await p.getZxy(t.z, t.x, t.y);
      if (!got || !Buffer.from(got.data).equals(gunzipSync(deduped[i].data))) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('makes a run of consecutive identical tiles one entry with its run length', async () => {
    // z12 tiles over the city in tile-id order; ids 100–149 of them (consecutive ids) one content,
    // then a different one, then the first content again at a later id (dedup, not the same run).
    const z12 = orderByTileId(tilesOver(12, DATONG));
    const start = zxyToTileId(z12[0].z, z12[0].x, z12[0].y);
    const ids = Array.from({ length: 200 }, (_, i) => start + i);
    const fill = gzipSync(payload('fill', 40));
    const data = (i: number) => (i >= 100 && i < 150 ? fill : i === 180 ? fill : gzipSync(payload(`${i}`, 40)));
    const tiles = ids.map((id, i) => {
      const [z, x, y] = tileIdToZxy(id);
      return { z, x, y, data: data(i) };
    });
    const result = await write('runs.pmtiles', tiles);
    const l = parseArchive(result.path);
    expect(result.tiles).toBe(200);
    expect(result.tileEntries).toBe(200 - 49);
    expect(result.uniqueTiles).toBe(200 - 51 + 1); // 51 tiles of one content
    expect(l.u64(72)).toBe(200); // addressed
    expect(l.u64(80)).toBe(151); // entries
    const run = l.tiles.find((e) => e.tileId === start + 100)!;
    expect(run.runLength).toBe(50);
    expect(l.tiles.filter((e) => e.runLength !== 1)).toEqual([run]);
    expect(l.tiles.find((e) => e.tileId === start + 180)!.offset).toBe(run.offset);
    const p = reader(result.path);
    for (const i of [99, 100, 125, 149, 150, 180]) {
      const [z, x, y] = tileIdToZxy(ids[i]);
      expect(Buffer.from((await p.getZxy(z, x, y))!.data).equals(gunzipSync(data(i))), `tile #${i}`).toBe(true);
    }
  });

  it('moves the entries to leaf directories when the root would not fit in 16 KiB: 30,000 tiles', async () => {
    // Ids with gaps and tiles of varied length: a directory that gzip cannot shrink below 16 KiB.
    const rnd = random(30_000);
    const tiles: { z: number; x: number; y: number; plain: Buffer; data: Buffer }[] = [];
    let id = zxyToTileId(14, 0, 0);
    for (let i = 0; i < 30_000; i++) {
      id += 1 + Math.floor(rnd() * 60);
      const [z, x, y] = tileIdToZxy(id);
      const plain = payload(`${i}`, Math.floor(rnd() * 200));
      tiles.push({ z, x, y, plain, data: gzipSync(plain, { level: 1 }) });
    }
    const opts = { ...OPTS, minZoom: 14, maxZoom: 14, center: [113.3, 40.08, 14] as [number, number, number] };
    const result = await write('leaves.pmtiles', tiles, opts);
    const l = parseArchive(result.path);
    expect(result.leafDirectories).toBeGreaterThan(1);
    expect(l.leaves.length).toBe(result.leafDirectories);
    expect(HEADER_BYTES + l.rootLength).toBeLessThan(ROOT_LIMIT_BYTES);
    expect(l.leafLength).toBeGreaterThan(0);
    expect(l.root.every((e) => e.runLength === 0)).toBe(true);
    // Each root entry names its leaf's first tile; leaves cover the tiles in order, once each.
    expect(l.leaves.every((leaf) => leaf.pointer.tileId === leaf.entries[0].tileId)).toBe(true);
    expect(l.tiles.length).toBe(30_000);
    expect(l.tiles.every((e, i) => i === 0 || e.tileId > l.tiles[i - 1].tileId)).toBe(true);
    // The leaves sit end to end in the leaf section.
    expect(l.leaves.reduce((off, leaf) => (leaf.pointer.offset === off ? off + leaf.pointer.length : -1), 0)).toBe(l.leafLength);

    const p = reader(result.path);
    expect((await p.getHeader()).numTileEntries).toBe(30_000);
    let wrong = 0;
    for (const t of tiles) {
      const got = await p.getZxy(t.z, t.x, t.y);
      if (!got || !Buffer.from(got.data).equals(t.plain)) wrong++;
    }
    expect(wrong).toBe(0);
    // A tile in a gap between two ids is not there.
    const gap = tiles.findIndex((t, i) => i > 0 && zxyToTileId(t.z, t.x, t.y) - zxyToTileId(tiles[i - 1].z, tiles[i - 1].x, tiles[i - 1].y) > 1);
    const [gz, gx, gy] = tileIdToZxy(zxyToTileId(tiles[gap].z, tiles[gap].x, tiles[gap].y) - 1);
    expect(await p.getZxy(gz, gx, gy)).toBeUndefined();
  });

  it('refuses a tile out of tile-id order, a repeated tile, a zoom outside the archive and bytes that are not gzip, and stays usable', async () => {
    const path = join(dir, 'refusals.pmtiles');
    const w = new PmtilesWriter(path, OPTS);
    const t = (s: string) => gzipSync(payload(s));
    await w.addTile(10, 842, 386, t('10'));
    await expect(w.addTile(9, 421, 193, t('lower zoom after a higher one'))).rejects.toThrow(/ascending tile id/);
    await expect(w.addTile(10, 842, 386, t('the same tile again'))).rejects.toThrow(/ascending tile id/);
    await expect(w.addTile(7, 105, 48, t('z7'))).rejects.toThrow(/outside zooms 8\.\.12/);
    await expect(w.addTile(13, 0, 0, t('z13'))).rejects.toThrow(/outside zooms 8\.\.12/);
    await expect(w.addTile(11, 1684, 773, payload('plain MVT, not gzip'))).rejects.toThrow(/not gzip/);
    await expect(w.addTile(11, 1684, 4096, t('off the grid'))).rejects.toThrow(/outside zoom 11/);
    await w.addTile(11, 1684, 773, t('11'));
    const result = await w.finish();
    expect(result.tiles).toBe(2);
    const p = reader(path);
    expect(Buffer.from((await p.getZxy(10, 842, 386))!.data).toString()).toBe('tile 10;');
    expect(Buffer.from((await p.getZxy(11, 1684, 773))!.data).toString()).toBe('tile 11;');
    expect(await p.getZxy(9, 421, 193)).toBeUndefined();
    await expect(w.addTile(12, 3368, 1546, t('12'))).rejects.toThrow(/already finished/);
    await expect(w.finish()).rejects.toThrow(/already finished/);
    expect(() => new PmtilesWriter(join(dir, 'x.pmtiles'), { ...OPTS, minZoom: 13 })).toThrow(/minZoom 13 is above maxZoom 12/);
    expect(() => new PmtilesWriter(join(dir, 'x.pmtiles'), { ...OPTS, bounds: [113.6, 39.8, 112.9, 40.3] })).toThrow(/bounds/);
  });

  it('leaves no file behind until finish, and nothing at all after abort; the same input gives the same bytes', async () => {
    const tiles = orderByTileId(tilesOver(10, DATONG)).map((t, i) => ({ ...t, data: gzipSync(payload(`${i}`)) }));
    const before = new Set(readdirSync(dir));
    const path = join(dir, 'atomic.pmtiles');
    writeFileSync(path, 'the previous archive');
    const w = new PmtilesWriter(path, OPTS);
    for (const t of tiles) await w.addTile(t.z, t.x, t.y, t.data);
    expect(readFileSync(path, 'utf8')).toBe('the previous archive');
    await w.abort();
    expect(readFileSync(path, 'utf8')).toBe('the previous archive');
    expect(readdirSync(dir).filter((f) => !before.has(f))).toEqual(['atomic.pmtiles']);

    const r1 = await write('atomic.pmtiles', tiles);
    const r2 = await write('again.pmtiles', tiles);
    expect(readdirSync(dir).filter((f) => !before.has(f)).sort()).toEqual(['again.pmtiles', 'atomic.pmtiles']);
    expect(r1.sha256).toBe(r2.sha256);
    expect(existsSync(path)).toBe(true);
    expect((await reader(path).getHeader()).numAddressedTiles).toBe(tiles.length);
  });

  it('writes a readable archive of no tiles (a release whose layers are empty)', async () => {
    const result = await write('empty.pmtiles', [{ z: 8, x: 210, y: 96, data: Buffer.alloc(0) }]);
    expect(result).toMatchObject({ tiles: 0, uniqueTiles: 0, tileEntries: 0 });
    const p = reader(result.path);
    expect((await p.getHeader()).numAddressedTiles).toBe(0);
    expect(await p.getZxy(8, 210, 96)).toBeUndefined();
    expect(await p.getMetadata()).toEqual(OPTS.metadata);
  });
});
