// The archive of a release (成果包) and the faults a release survives, against real PostGIS and
// GDAL: the zip holds a PMTiles archive (read back with the pmtiles reader; its tiles are the served
// tiles), a GeoPackage with every layer in EPSG:4490 and in the CGCS2000 GK zone 38 (ogrinfo: the
// release's feature counts; a vertex in the zone against cs2cs), the style and a manifest whose
// SHA-256s are the files'; a process killed while it prepares or publishes a release leaves the old
// state, never half a release.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VectorTile } from '@mapbox/vector-tile';
import { unzipSync } from 'fflate';
import { PbfReader as Pbf } from 'pbf';
import { PMTiles, type RangeResponse, type Source } from 'pmtiles';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../server/conflicts/rules';
import { loadRegistry } from '../server/layers/registry';
import { type ArchiveParts, buildTiles, tilesCovering } from '../server/releases/archive';
import { renderReleaseTileLayers } from '../server/releases/mvt';
import { Releases } from '../server/releases/store';
import { as } from './helpers/auth';
import { holdLock, killWhenBlocked, spawnScript } from './helpers/children';
import { publishRelease, releaseCall } from './helpers/releases';
import { useFileDatabase, useFileServer } from './helpers/setup';

const db = useFileDatabase({ demo: true });
const srv = useFileServer(db, { ONEMAP_ARCHIVE_MINZOOM: '8', ONEMAP_ARCHIVE_MAXZOOM: '10' });
const { knex } = db;

/** A pmtiles Source over a Buffer. */
class BufferSource implements Source {
  constructor(private readonly buf: Buffer) {}
  getKey = () => 'buffer';
  async getBytes(offset: number, length: number): Promise<RangeResponse> {
    const b = this.buf.subarray(offset, offset + length);
    return { data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
  }
}

let release: { number: number; layers: { layerId: string; featureCount: number }[] };
let files: Record<string, Uint8Array>;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the archive (成果包)', () => {
  it('planning staff build it once; anonymous visitors download it as one zip', async () => {
    release = await publishRelease(srv.baseUrl, knex, { title: '成果包测试' });
    const anon = await releaseCall(srv.baseUrl, knex, null, 'POST', `/api/releases/${release.number}/archive`);
    expect(anon.status).toBe(401);
    const built = await releaseCall(srv.baseUrl, knex, 'planning.reviewer', 'POST', `/api/releases/${release.number}/archive`);
    expect(built.status, JSON.stringify(built.body)).toBe(201);
    expect(built.body.files.map((f: { name: string }) => f.name).sort()).toEqual(['manifest.json', `release-${release.number}.gpkg`, `release-${release.number}.pmtiles`, 'style.json']);
    const again = await releaseCall(srv.baseUrl, knex, 'planning.reviewer', 'POST', `/api/releases/${release.number}/archive`);
    expect([again.status, again.body.built]).toEqual([200, false]);
    expect(again.body.files).toEqual(built.body.files);

    const res = await fetch(`${srv.baseUrl}/api/releases/${release.number}/archive`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('cache-control')).toContain('immutable');
    files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(files)[0]).toBe('manifest.json');
  }, 300_000);

  it('the manifest: the release, its pins with counts and areas, and the SHA-256 and size of every file', async () => {
    const manifest = JSON.parse(Buffer.from(files['manifest.json']).toString('utf8'));
    expect(manifest.release).toMatchObject({ number: release.number, status: 'published', reviewNumber: `晋S(2015)00${release.number}号` });
    expect(manifest.layers.map((l: { layerId: string; featureCount: number }) => [l.layerId, l.featureCount])).toEqual(release.layers.map((l) => [l.layerId, l.featureCount]));
    for (const f of manifest.files) {
      expect(files[f.name], f.name).toBeDefined();
      expect([f.name, sha(files[f.name]), files[f.name].length]).toEqual([f.name, f.sha256, f.size]);
    }
    const { rows } = await knex.raw('SELECT name, sha256 FROM release_files WHERE release = ? ORDER BY name', [release.number]);
    expect(rows.find((r: { name: string }) => r.name === 'manifest.json').sha256).toBe(sha(files['manifest.json']));
  });

  it('the PMTiles archive: zooms 8–10 over the city, every tile below the top the one the release serves, the legend and style in its metadata', async () => {
    const pm = new PMTiles(new BufferSource(Buffer.from(files[`release-${release.number}.pmtiles`])));
    const header = await pm.getHeader();
    expect([header.minZoom, header.maxZoom, header.tileType, header.clustered]).toEqual([8, 10, 1, true]);
    const meta = (await pm.getMetadata()) as { vector_layers: { id: string }[]; onemap: { release: { number: number; reviewNumber: string }; layers: { id: string; classification: { classes: { zh: string }[] } }[]; style: { sources: Record<string, { url: string }> } } };
    expect(meta.vector_layers.map((l) => l.id)).toEqual(release.layers.map((l) => l.layerId));
    expect(meta.onemap.release.number).toBe(release.number);
    expect(meta.onemap.layers.find((l) => l.id === 'landuse_plan')!.classification.classes.map((c) => c.zh)).toContain('基本农田保护区');
    expect(meta.onemap.style.sources.release.url).toBe(`pmtiles://release-${release.number}.pmtiles`);
    const bounds = [header.minLon, header.minLat, header.maxLon, header.maxLat];
    const served = async (t: { z: number; x: number; y: number }) =>
      Buffer.from(await (await fetch(`${srv.baseUrl}/releases/${release.number}/tiles/${t.z}/${t.x}/${t.y}.mvt`, { headers: { 'Accept-Encoding': 'identity' } })).arrayBuffer());
    // Below the top zoom every tile over the city is in the archive, byte for byte the served one (release_tiles holds it, pre-built).
    let layersSeen = new Set<string>();
    let checked = 0;
    for (const t of tilesCovering(bounds, 9)) {
      const got = await pm.getZxy(t.z, t.x, t.y);
      const { rows } = await knex.raw('SELECT tile FROM release_tiles WHERE release = ? AND z = ? AND x = ? AND y = ?', [release.number, t.z, t.x, t.y]);
      if (!got) {
        expect(rows.length === 0 || rows[0].tile.length === 0, `${t.z}/${t.x}/${t.y}`).toBe(true);
        expect((await served(t)).length, `${t.z}/${t.x}/${t.y}`).toBe(0);
        continue;
      }
      expect(rows, `${t.z}/${t.x}/${t.y}`).toHaveLength(1);
      const vt = new VectorTile(new Pbf(new Uint8Array(got.data)));
      for (const id of Object.keys(vt.layers)) layersSeen.add(id);
      expect(Buffer.from(got.data).equals(await served(t)), `${t.z}/${t.x}/${t.y}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    for (const id of ['districts', 'landuse_plan', 'landuse_status', 'eco_redline']) expect(layersSeen.has(id), id).toBe(true);
    // The top zoom (10, below the service's 16) keeps every feature, since a viewer over-zooms it:
    // every pinned feature of every layer is in some z10 tile, a superset of the served z10 tiles,
    // which leave specks out; those tiles are the archive's own, not kept in release_tiles.
    const top = tilesCovering(bounds, 10);
    const { rows: kept } = await knex.raw('SELECT count(*)::int AS n FROM release_tiles WHERE release = ? AND z = 10', [release.number]);
    expect(kept[0].n).toBe(0);
    const ids = (into: Map<string, Set<number>>, raw: Uint8Array) => {
      const vt = new VectorTile(new Pbf(raw));
      for (const [id, l] of Object.entries(vt.layers)) {
        if (!into.has(id)) into.set(id, new Set());
        for (let i = 0; i < l.length; i++) into.get(id)!.add(Number(l.feature(i).id));
      }
    };
    const archived = new Map<string, Set<number>>();
    const online = new Map<string, Set<number>>();
    for (const t of top) {
      const got = await pm.getZxy(t.z, t.x, t.y);
      if (got) ids(archived, new Uint8Array(got.data));
      ids(online, await served(t));
    }
    for (const l of release.layers) expect([l.layerId, archived.get(l.layerId)?.size ?? 0]).toEqual([l.layerId, l.featureCount]);
    for (const [id, set] of online) for (const fid of set) expect(archived.get(id)!.has(fid), `${id} ${fid}`).toBe(true);
    expect(online.get('landuse_status')!.size).toBeLessThan(archived.get('landuse_status')!.size);
  });

  it('the tiles step renders a tile only for the layers that reach its parent, none under an empty one, and changes no byte', async () => {
    const stored = await new Releases(knex, loadRegistry(), loadRules(loadRegistry())).read(release.number, undefined);
    const asked: { z: number; x: number; y: number; layers: boolean[] }[] = [];
    const parts: ArchiveParts = {
      renderTile: (z, x, y, o) => (asked.push({ z, x, y, layers: o.layers }), renderReleaseTileLayers(knex, stored, z, x, y, o)),
      style: (source) => ({ version: 8, sources: { release: source }, layers: [] }),
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-tiles-step-'));
    try {
      const built = await buildTiles(knex, stored, parts, { minZoom: 9, maxZoom: 12, concurrency: 2 }, path.join(dir, 't.pmtiles'));
      const box = [9, 10, 11, 12].reduce((a, z) => a + tilesCovering(built.bounds, z).length, 0);
      expect(built.rendered).toBe(asked.length);
      expect(built.rendered + built.skipped).toBe(box);
      expect(built.skipped).toBeGreaterThan(0);
      const at12 = new Set(asked.filter((t) => t.z === 12).map((t) => `${t.x}/${t.y}`));
      // Tiles left out are empty; tiles asked for part of the layers are the whole tile, byte for byte.
      const left = tilesCovering(built.bounds, 12).filter((t) => !at12.has(`${t.x}/${t.y}`));
      expect(left.length).toBeGreaterThan(0);
      for (const t of left.filter((_, i) => i % Math.ceil(left.length / 40) === 0)) expect((await renderReleaseTileLayers(knex, stored, t.z, t.x, t.y, { maxZoom: 12 })).tile.length, `${t.z}/${t.x}/${t.y}`).toBe(0);
      const partial = asked.filter((t) => t.z === 12 && t.layers.some((b) => !b));
      expect(partial.length).toBeGreaterThan(0);
      for (const t of partial.filter((_, i) => i % Math.ceil(partial.length / 40) === 0)) {
        const mine = await renderReleaseTileLayers(knex, stored, t.z, t.x, t.y, { layers: t.layers, maxZoom: 12 });
        const all = await renderReleaseTileLayers(knex, stored, t.z, t.x, t.y, { maxZoom: 12 });
        expect(mine.tile.equals(all.tile), `${t.z}/${t.x}/${t.y}`).toBe(true);
        all.reaches.forEach((r, i) => r && expect(t.layers[i], `${t.z}/${t.x}/${t.y} layer ${i}`).toBe(true));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('the GeoPackage: every layer in EPSG:4490 with the release’s counts, and a GK zone 38 copy that agrees with cs2cs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-archive-'));
    const gpkg = path.join(dir, 'r.gpkg');
    fs.writeFileSync(gpkg, files[`release-${release.number}.gpkg`]);
    for (const l of release.layers) {
      const info = execFileSync('ogrinfo', ['-ro', '-so', gpkg, l.layerId], { encoding: 'utf8' });
      expect(info, l.layerId).toContain(`Feature Count: ${l.featureCount}`);
      expect(info).toMatch(/CGCS2000|4490/);
    }
    // One vertex of a district in both, reprojected by PROJ's cs2cs: within 1 mm.
    const lonlat = execFileSync('ogrinfo', ['-ro', '-q', gpkg, '-sql', 'SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) AS x, ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) AS y FROM districts ORDER BY fid LIMIT 1'], { encoding: 'utf8' });
    const gk = execFileSync('ogrinfo', ['-ro', '-q', gpkg, '-sql', 'SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) AS x, ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) AS y FROM districts_4547 ORDER BY fid LIMIT 1'], { encoding: 'utf8' });
    const num = (s: string, k: string) => Number(new RegExp(`${k} \\(Real\\) = ([-\\d.]+)`).exec(s)![1]);
    const out = execFileSync('cs2cs', ['-f', '%.4f', 'EPSG:4490', 'EPSG:4547'], { input: `${num(lonlat, 'y')} ${num(lonlat, 'x')}\n`, encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    // EPSG:4547 is northing, easting in cs2cs's order; the GeoPackage stores x = easting.
    expect(Math.abs(out[1] - num(gk, 'x'))).toBeLessThan(0.001);
    expect(Math.abs(out[0] - num(gk, 'y'))).toBeLessThan(0.001);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one file of the archive with HTTP ranges (what a PMTiles reader over HTTP asks for)', async () => {
    const name = `release-${release.number}.pmtiles`;
    const r = await fetch(`${srv.baseUrl}/api/releases/${release.number}/archive/${name}`, { headers: { Range: 'bytes=0-126' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 0-126/${files[name].length}`);
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(files[name].subarray(0, 127)))).toBe(true);
    const bad = await fetch(`${srv.baseUrl}/api/releases/${release.number}/archive/${name}`, { headers: { Range: `bytes=${files[name].length + 10}-` } });
    expect(bad.status).toBe(416);
    const none = await releaseCall(srv.baseUrl, knex, null, 'GET', `/api/releases/${release.number}/archive/nope.txt`);
    expect([none.status, none.body.code]).toEqual([404, 'not_found']);
  });

  it('a draft’s archive is staff-only; an unbuilt one starts building and answers 409 archive_building', async () => {
    const draft = await releaseCall(srv.baseUrl, knex, 'planning.editor', 'POST', '/api/releases', { title: '草稿', layers: [{ layerId: 'districts' }] });
    const anon = await releaseCall(srv.baseUrl, knex, null, 'GET', `/api/releases/${draft.body.number}/archive`);
    expect([anon.status, anon.body.code]).toEqual([404, 'unknown_release']);
    const staff = await fetch(`${srv.baseUrl}/api/releases/${draft.body.number}/archive`, { headers: await as(knex, 'planning.editor') });
    expect(staff.status).toBe(409);
    expect((await staff.json()).code).toBe('archive_building');
    // It finishes on its own.
    await expect.poll(async () => (await knex.raw('SELECT count(*)::int AS n FROM release_files WHERE release = ?', [draft.body.number])).rows[0].n, { timeout: 120_000, interval: 1000 }).toBe(4);
  }, 150_000);
});

describe('a process killed while it prepares or publishes leaves the old state', () => {
  /** Runs the child with the audit lock held (audit_append is each step's last statement), kills it while it waits there. */
  async function killedWhileWriting(args: string[]) {
    const lock = await holdLock(knex, `SELECT pg_advisory_xact_lock(hashtext('onemap:audit'))`);
    const child = spawnScript('tests/helpers/release-child.ts', [db.name, ...args]);
    // Its transaction has written everything but the audit entry and waits for the lock; killed
    // then, its backend finds the client gone and rolls back (helpers/children.ts).
    const { query } = await killWhenBlocked(knex, child, lock);
    expect(query).toContain('audit_append');
  }
  const state = async () =>
    (await knex.raw(`SELECT (SELECT json_agg(json_build_object('n', number, 's', status) ORDER BY number) FROM releases) AS r,
      (SELECT count(*)::int FROM release_features) AS f, (SELECT count(*)::int FROM release_layers) AS l, (SELECT count(*)::int FROM audit_log) AS a`)).rows[0];

  it('preparing: no release, no pinned feature, and the next release gets the next number', async () => {
    const before = await state();
    await killedWhileWriting(['prepare']);
    expect(await state()).toEqual(before);
    const next = await releaseCall(srv.baseUrl, knex, 'planning.editor', 'POST', '/api/releases', { title: '之后', layers: [{ layerId: 'roads' }] });
    expect(next.body.number).toBe(Math.max(0, ...(before.r ?? []).map((x: { n: number }) => x.n)) + 1);
  }, 120_000);

  it('publishing: the draft stays a draft, the current release stays current', async () => {
    const draft = await releaseCall(srv.baseUrl, knex, 'planning.editor', 'POST', '/api/releases', { title: '待发布', layers: [{ layerId: 'rivers' }] });
    const current = (await releaseCall(srv.baseUrl, knex, null, 'GET', '/api/releases')).body.current;
    const before = await state();
    await killedWhileWriting(['publish', String(draft.body.number)]);
    expect(await state()).toEqual(before);
    const list = await releaseCall(srv.baseUrl, knex, null, 'GET', '/api/releases');
    expect(list.body.current).toBe(current);
    expect(before.r.find((x: { n: number }) => x.n === draft.body.number).s).toBe('draft');
  }, 120_000);
});
