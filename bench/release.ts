// `npm run bench:release` (issue 12, item 8): building a release and its archive (成果包) on the
// large data set against GDAL's vector-tile writer, and the public tile throughput of a release
// against the working layers' cached tiles. A benchmark, not a test: it prints a table and writes
// bench/out/release.json (the README's "Release build and tiles" holds a run's figures).
//
//   1. the large data set in onemap_bench (made once, as bench/tiles.ts makes it, or by
//      `npm run demo:large`; reused by later runs);
//   2. a release of every delivered layer at its current revision: prepared by a plan editor of
//      planning, published by a reviewer of planning (four eyes; the bench's own accounts), each
//      step timed (preparing is the pinning: one transaction that copies the pinned content);
//   3. its archive with buildArchive: the tiles step (every tile over the city, zooms
//      BENCH_MINZOOM..BENCH_MAXZOOM, BENCH_CONCURRENCY at a time, into the PMTiles file and
//      release_tiles) timed on its own, then the GeoPackage and the storing; BENCH_GPKG=0 runs the
//      tiles step only (buildTiles);
//   4. the peer in the same run: GDAL's MVT writer (`ogr2ogr -f MBTiles`) reading the same layers
//      from plan.<layer> (the release pinned their current revisions: the same content, checked),
//      same zooms, options set to keep features (below); run at PostgreSQL's niceness, which
//      does our side's work;
//   5. features kept at the max zoom, per layer: the distinct feature ids in our tiles (the MVT id
//      is the release fid) and in GDAL's (its FID, the working table's fid, mapped to the release
//      fid by code and geometry); our top zoom keeps every feature (tiles/mvt.ts tileParams);
//   6. the server as its own process (cache 1 GiB): wrk (bench/release.lua) over a fixed tile list
//      of release tiles (/releases/{n}/tiles/z/x/y.mvt, every layer in one), and tile for tile, one
//      layer each, of release tiles (/releases/{n}/tiles/{layer}/z/x/y.mvt, anonymous) against
//      working tiles (/tiles/{layer}/z/x/y.mvt, with a bearer token) for the layers the viewer
//      shows by default and for every pinned layer, all caches warm; BENCH_ROUNDS rounds of
//      BENCH_SECONDS each, alternating.
//
// Earlier releases this benchmark made (prepared by bench.preparer) are removed from onemap_bench
// first, with its triggers off in that one transaction: the bench database's own housekeeping,
// so that runs do not pile up copies of the large set. Nothing else is ever deleted.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { VectorTile } from '@mapbox/vector-tile';
import Sqlite from 'better-sqlite3';
import type { Knex } from 'knex';
import { PbfReader as Pbf } from 'pbf';
import { PMTiles, type RangeResponse, type Source } from 'pmtiles';
import { type Account, createAccount, issueCredential, type Role } from '../server/accounts/accounts';
import { loadRules } from '../server/conflicts/rules';
import { loadDemo } from '../server/demo/load';
import { loadRegistry } from '../server/layers/registry';
import { loadConfig, PROJECT_ROOT } from '../server/platform/config';
import { type ConnectionSettings, migrate, openDatabase } from '../server/platform/db';
import { layerTable } from '../server/platform/sql';
import { type ArchiveParts, archiveFiles, buildArchive, buildTiles, readFile, tilesCovering } from '../server/releases/archive';
import { renderReleaseTileLayers } from '../server/releases/mvt';
import { Releases, type StoredRelease } from '../server/releases/store';
import { releaseStyle } from '../server/releases/style';
import { BUFFER, EXTENT, tileParams } from '../server/tiles/mvt';
import { startService, tileAddresses } from './service';

const env = process.env;
const MINZOOM = Number(env.BENCH_MINZOOM ?? 8);
const MAXZOOM = Number(env.BENCH_MAXZOOM ?? 14);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 4);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const GPKG = env.BENCH_GPKG !== '0';
/** BENCH_DB: another database of the embedded cluster with data already in it (a quick trial of the bench itself). */
const DB = env.BENCH_DB ?? 'onemap_bench';
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');
const PREPARER = 'bench.preparer';
const PUBLISHER = 'bench.publisher';
const ADMIN = 'bench.admin';
/**
 * GDAL's MVT options, chosen to keep features: tiles of any size and feature count (its defaults,
 * 500 kB and 200,000 features, make it drop or coarsen features in the z8–z10 tiles of 300,000
 * parcels); simplification 2 tile units, ours (a quarter pixel of 512 px tiles = 2 of 4096 units,
 * at every zoom, the max zoom too); the same extent and buffer as ours.
 */
const GDAL_MVT = { MAX_SIZE: 2_000_000_000, MAX_FEATURES: 2_000_000_000, SIMPLIFICATION: 2, SIMPLIFICATION_MAX_ZOOM: 2, EXTENT, BUFFER };

if (!(MINZOOM >= 0 && MAXZOOM >= MINZOOM && MAXZOOM <= 16)) throw new Error(`BENCH_MINZOOM..BENCH_MAXZOOM should be within 0..16, got ${MINZOOM}..${MAXZOOM}`);
const s = (ms: number) => Math.round(ms) / 1000;
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const log = (...a: unknown[]) => console.log('bench:', ...a);

// --- 1. the data -------------------------------------------------------------------------------

async function benchDatabase() {
  // Large tiles and the copy of 700,000 features outlast the service's 20 s statement timeout.
  const config = loadConfig({ ...env, LOG_LEVEL: 'warn', ONEMAP_STATEMENT_TIMEOUT_MS: '600000' });
  const db = await openDatabase(config, { database: DB });
  await migrate(db.knex);
  const count = async (table: string) => Number((await db.knex.raw(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const n = await count('plan.landuse_status');
  if (n < 300_000 && DB === 'onemap_bench') {
    log(`loading the large data set into ${DB} (once; later runs reuse it) …`);
    const t = Date.now();
    const counts = await loadDemo(db.knex, { scale: 'large', replace: n > 0 });
    await db.knex.raw('ANALYZE');
    log(`loaded in ${((Date.now() - t) / 1000).toFixed(0)} s:`, counts);
  } else {
    const { rows } = await db.knex.raw(`SELECT count(*) AS n FROM pg_stat_user_tables WHERE schemaname = 'plan' AND last_analyze IS NULL AND last_autoanalyze IS NULL`);
    if (Number(rows[0].n) > 0) await db.knex.raw('ANALYZE');
  }
  return { config, db };
}

/** An account of the bench database's own (made once, with a random password nobody knows). */
async function benchAccount(knex: Knex, name: string, department: string | null, roles: Role[]): Promise<Account> {
  const row = await knex('accounts').where({ name }).first('id', 'name', 'display_name', 'department', 'roles');
  if (row) return row;
  return createAccount(knex, { name, display_name: `基准测试 ${name}`, department, roles, password: randomBytes(24).toString('base64url') });
}

/** Removes the releases earlier runs made (see the header). */
async function removeBenchReleases(knex: Knex): Promise<number[]> {
  const { rows } = await knex.raw<{ rows: { number: number }[] }>('SELECT number FROM releases WHERE prepared_by = ? ORDER BY number', [PREPARER]);
  const numbers = rows.map((r) => r.number);
  if (!numbers.length) return numbers;
  await knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica'); // triggers (the immutability ones) off
    await trx.raw('SELECT lo_unlink(data) FROM release_files WHERE release = ANY (?::int[])', [numbers]);
    for (const t of ['release_tiles', 'release_files', 'release_conflicts', 'release_features', 'release_layers']) {
      await trx.raw(`DELETE FROM ${t} WHERE release = ANY (?::int[])`, [numbers]);
    }
    await trx.raw('UPDATE releases SET superseded_by = NULL WHERE superseded_by = ANY (?::int[])', [numbers]);
    await trx.raw('DELETE FROM releases WHERE number = ANY (?::int[])', [numbers]);
  });
  await knex.raw('VACUUM ANALYZE release_features, release_layers, release_tiles, release_conflicts, release_files, releases');
  return numbers;
}

// --- 4. GDAL -----------------------------------------------------------------------------------

function pgConnString(c: ConnectionSettings): string {
  if (typeof c === 'string') return `PG:${c}`;
  return `PG:dbname=${c.database} host=${c.host} port=${c.port} user=${c.user}`;
}

/** Runs a command; resolves with its stderr, rejects on a non-zero exit. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`${cmd} exited ${code}: ${err.slice(-4000)}`))));
  });
}

async function runGdal(connection: ConnectionSettings, layers: string[], out: string) {
  const conf = Object.fromEntries(layers.map((id) => [`plan.${id}`, { target_name: id, minzoom: MINZOOM, maxzoom: MAXZOOM }]));
  const dsco = { MINZOOM, MAXZOOM, ...GDAL_MVT, CONF: JSON.stringify(conf) };
  const args = ['-preserve_fid', '-f', 'MBTiles', out, pgConnString(connection), ...layers.map((id) => `plan.${id}`), ...Object.entries(dsco).flatMap(([k, v]) => ['-dsco', `${k}=${v}`])];
  // The same niceness as PostgreSQL's backends, which do our side's work (the bench itself runs niced).
  const nice = os.getPriority();
  const [cmd, argv] = nice > 0 && process.getuid?.() === 0 ? ['nice', ['-n', String(-nice), 'ogr2ogr', ...args]] : ['ogr2ogr', args];
  const command = `ogr2ogr ${args.map((a) => (/[\s"{}]/.test(a) ? `'${a}'` : a)).join(' ')}`;
  const started = Date.now();
  const stderr = await run(cmd as string, argv as string[], { env: { ...env, CPL_TMPDIR: path.dirname(out) } });
  const ms = Date.now() - started;
  const warnings = stderr.split('\n').filter((l) => l.trim());
  return { ms, command, warnings, options: dsco };
}

// --- 5. features kept --------------------------------------------------------------------------

/** A pmtiles Source over a file on disk. */
class FileSource implements Source {
  constructor(
    private readonly fd: number,
    private readonly key: string,
  ) {}
  getKey = () => this.key;
  async getBytes(offset: number, length: number): Promise<RangeResponse> {
    const b = Buffer.alloc(length);
    const n = fs.readSync(this.fd, b, 0, length, offset);
    return { data: b.buffer.slice(b.byteOffset, b.byteOffset + n) as ArrayBuffer };
  }
}

type IdSets = Map<string, Set<number>>;

function idsOf(tile: Uint8Array, into: IdSets, rename = (l: string) => l) {
  const vt = new VectorTile(new Pbf(tile));
  for (const [name, layer] of Object.entries(vt.layers)) {
    const id = rename(name);
    let set = into.get(id);
    if (!set) into.set(id, (set = new Set()));
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      if (f.id !== undefined) set.add(f.id);
    }
  }
}

/** The distinct feature ids per layer in our PMTiles at zoom z. */
async function pmtilesIds(file: string, z: number) {
  const fd = fs.openSync(file, 'r');
  try {
    const pm = new PMTiles(new FileSource(fd, file));
    const h = await pm.getHeader();
    const ids: IdSets = new Map();
    let tiles = 0;
    for (const t of tilesCovering([h.minLon, h.minLat, h.maxLon, h.maxLat], z)) {
      const got = await pm.getZxy(t.z, t.x, t.y);
      if (!got || !got.data.byteLength) continue;
      tiles++;
      idsOf(new Uint8Array(got.data), ids);
    }
    return { ids, tiles, header: h };
  } finally {
    fs.closeSync(fd);
  }
}

/** The distinct feature ids per layer in GDAL's MBTiles at zoom z (gzip tiles, TMS rows). */
function mbtilesIds(file: string, z: number) {
  const db = new Sqlite(file, { readonly: true });
  try {
    const ids: IdSets = new Map();
    let tiles = 0;
    for (const row of db.prepare('SELECT tile_data FROM tiles WHERE zoom_level = ?').iterate(z) as Iterable<{ tile_data: Buffer }>) {
      tiles++;
      idsOf(zlib.unzipSync(row.tile_data), ids);
    }
    const perZoom = db.prepare('SELECT zoom_level AS z, count(*) AS n, sum(length(tile_data)) AS bytes FROM tiles GROUP BY zoom_level ORDER BY zoom_level').all() as { z: number; n: number; bytes: number }[];
    const metadata = Object.fromEntries((db.prepare('SELECT name, value FROM metadata').all() as { name: string; value: string }[]).map((r) => [r.name, r.value]));
    return { ids, tiles, perZoom, metadata };
  } finally {
    db.close();
  }
}

/** The working fid → release fid of a layer, pairing features by class code and geometry (bytes). */
async function fidMap(knex: Knex, release: number, layerId: string): Promise<{ map: Map<number, number>; ambiguous: number }> {
  const { rows } = await knex.raw<{ rows: { w: number; r: number }[] }>(
    `SELECT t.fid::float8 AS w, f.fid::float8 AS r
       FROM ${layerTable(layerId)} t
       JOIN release_features f ON f.release = ? AND f.layer_id = ? AND f.code = t.code AND md5(ST_AsEWKB(f.geom)) = md5(ST_AsEWKB(t.geom))`,
    [release, layerId],
  );
  const map = new Map<number, number>();
  let ambiguous = 0;
  for (const r of rows) {
    if (map.has(r.w)) ambiguous++;
    map.set(r.w, r.r);
  }
  return { map, ambiguous };
}

// --- 6. throughput -----------------------------------------------------------------------------

/** The service on the large set. Demo mode: the large set is the demo generator's and has its accounts, which a production start refuses; the data is there, so nothing is loaded. */
const startServer = (extra: Record<string, string>) => startService({ ...env, ONEMAP_DB_NAME: DB, ONEMAP_DEMO: 'true', ...extra }, { upWithinS: 60 });

function runWrk(url: string, paths: string[], token?: string) {
  const list = path.join(OUT, 'release-paths.txt');
  fs.writeFileSync(list, paths.join('\n') + '\n');
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', path.join(PROJECT_ROOT, 'bench', 'release.lua'), url], {
    encoding: 'utf8',
    env: { ...env, TILE_LIST: list, TILE_TOKEN: token ?? '' },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  if (r.errors) throw new Error(`wrk: ${r.errors} errors (non-2xx, timeouts or socket errors)\n${out}`);
  const secs = r.duration_us / 1e6;
  return { rps: r.requests / secs, p50: r.p50_us / 1000, p95: r.p95_us / 1000, requests: r.requests, mb_per_s: r.bytes / 1e6 / secs };
}

async function warm(url: string, paths: string[], headers: Record<string, string>) {
  for (const p of paths) {
    const res = await fetch(url + p, { headers: { 'accept-encoding': 'gzip', ...headers } });
    await res.arrayBuffer();
    if (res.status !== 200 && res.status !== 204) throw new Error(`${p}: ${res.status}`);
  }
}

const median = (xs: number[]) => {
  const a = [...xs].sort((p, q) => p - q);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};

// --- the run -----------------------------------------------------------------------------------

const started = Date.now();
const loads: Record<string, number[]> = { start: load() };
const uptimes: Record<string, string> = { start: uptime() };
const { db } = await benchDatabase();
const { knex } = db;
const registry = loadRegistry();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-bench-release-'));
fs.mkdirSync(OUT, { recursive: true });
try {
  // 2. prepare and publish
  const removed = await removeBenchReleases(knex);
  if (removed.length) log(`removed the releases of earlier runs: ${removed.join(', ')}`);
  const preparer = await benchAccount(knex, PREPARER, 'planning', ['plan_editor']);
  const publisher = await benchAccount(knex, PUBLISHER, 'planning', ['reviewer']);
  const admin = await benchAccount(knex, ADMIN, null, ['admin']);
  const releases = new Releases(knex, registry, loadRules(registry));
  let t = Date.now();
  const { number, skipped } = await releases.prepare(preparer, { title: `基准测试成果 ${new Date().toISOString().slice(0, 10)}`, notes: 'bench/release.ts', approvalNumber: '同政函〔2026〕1号' });
  const prepareMs = Date.now() - t;
  t = Date.now();
  await releases.publish(publisher, number, { reviewNumber: `晋S(2026)${String(number).padStart(3, '0')}号` });
  const publishMs = Date.now() - t;
  const release: StoredRelease = await releases.read(number, publisher);
  const features = Object.fromEntries(release.layers.map((l) => [l.layer_id, l.feature_count]));
  const totalFeatures = release.layers.reduce((a, l) => a + l.feature_count, 0);
  log(`release ${number}: ${release.layers.length} layers, ${totalFeatures} features; prepared in ${s(prepareMs)} s, published in ${s(publishMs)} s${skipped.length ? `; skipped ${skipped.map((x) => x.layerId).join(', ')}` : ''}`);
  // plan.<layer> holds what the release pinned (GDAL reads it there).
  for (const l of release.layers) {
    const n = Number((await knex.raw(`SELECT count(*) AS n FROM ${layerTable(l.layer_id)}`)).rows[0].n);
    if (n !== l.feature_count) throw new Error(`${l.layer_id}: the working table has ${n} features, the release pinned ${l.feature_count}: not the same content for GDAL`);
  }
  loads.prepared = load();

  // 3. our archive
  const parts: ArchiveParts = {
    renderTile: (z, x, y, o) => renderReleaseTileLayers(knex, release, z, x, y, o),
    style: (source) => ({ ...releaseStyle(release, registry, 'http://localhost:3000'), sources: { release: source } }),
  };
  const archiveOpts = { minZoom: MINZOOM, maxZoom: MAXZOOM, concurrency: CONCURRENCY, extraCrs: [4547], gdal: { connection: db.connection, statementTimeoutMs: 600_000 } };
  const ourFile = path.join(tmp, `release-${number}.pmtiles`);
  log(`building the archive, z${MINZOOM}–${MAXZOOM}, ${CONCURRENCY} tiles at a time${GPKG ? ' (and the GeoPackage: BENCH_GPKG=0 leaves it out)' : ' (tiles only)'} …`);
  uptimes.ours = uptime();
  let ours: { tilesMs: number; gpkgMs: number | null; storeMs: number | null; totalMs: number; addressed: number; unique: number; rendered: number; skipped: number; bytes: number; files?: { name: string; size: number }[] };
  if (GPKG) {
    const built = await buildArchive(knex, release, parts, archiveOpts);
    // The PMTiles file as stored, for the feature count.
    const stored = (await archiveFiles(knex, number)).find((f) => f.name.endsWith('.pmtiles'))!;
    const fd = fs.openSync(ourFile, 'w');
    for await (const chunk of readFile(knex, stored)) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    ours = { tilesMs: built.tiles.ms, gpkgMs: built.gpkgMs, storeMs: built.storeMs, totalMs: built.ms, addressed: built.tiles.addressed, unique: built.tiles.unique, rendered: built.tiles.rendered, skipped: built.tiles.skipped, bytes: stored.size, files: built.files.map((f) => ({ name: f.name, size: f.size })) };
  } else {
    const built = await buildTiles(knex, release, parts, archiveOpts, ourFile);
    ours = { tilesMs: built.ms, gpkgMs: null, storeMs: null, totalMs: built.ms, addressed: built.pm.tiles, unique: built.pm.uniqueTiles, rendered: built.rendered, skipped: built.skipped, bytes: fs.statSync(ourFile).size };
  }
  loads.ours = load();
  log(`ours: tiles in ${s(ours.tilesMs)} s (${ours.rendered} rendered, ${ours.skipped} skipped under empty parents; ${ours.addressed} tiles, ${ours.unique} unique, ${(ours.bytes / 1e6).toFixed(1)} MB)${ours.gpkgMs !== null ? `, GeoPackage in ${s(ours.gpkgMs)} s, stored in ${s(ours.storeMs!)} s, archive in ${s(ours.totalMs)} s` : ''}`);

  // 4. GDAL
  const gdalFile = path.join(tmp, 'gdal.mbtiles');
  log('GDAL: ogr2ogr -f MBTiles …');
  uptimes.gdal = uptime();
  const gdal = await runGdal(db.connection, release.layers.map((l) => l.layer_id), gdalFile);
  loads.gdal = load();
  const gdalBytes = fs.statSync(gdalFile).size;
  const ratio = gdal.ms / ours.tilesMs;
  log(`GDAL: ${s(gdal.ms)} s (${(gdalBytes / 1e6).toFixed(1)} MB); GDAL / ours = ${ratio.toFixed(2)}${gdal.warnings.length ? `; ${gdal.warnings.length} lines on stderr` : ''}`);
  for (const w of [...new Set(gdal.warnings)].slice(0, 10)) log(`  GDAL: ${w}`);

  // 5. features kept at the max zoom
  const ourIds = await pmtilesIds(ourFile, MAXZOOM);
  const theirs = mbtilesIds(gdalFile, MAXZOOM);
  const speck = tileParams(MAXZOOM, 0, 0, MAXZOOM).min_area_m2; // 0: the top zoom keeps every feature
  const kept = [];
  for (const l of release.layers) {
    const id = l.layer_id;
    const { map, ambiguous } = await fidMap(knex, number, id);
    const ourSet = ourIds.ids.get(id) ?? new Set<number>();
    const gdalRaw = theirs.ids.get(id) ?? new Set<number>();
    const gdalSet = new Set<number>();
    let unmapped = 0;
    for (const w of gdalRaw) {
      const r = map.get(w);
      if (r === undefined) unmapped++;
      else gdalSet.add(r);
    }
    const missing = [...gdalSet].filter((r) => !ourSet.has(r));
    const extra = [...ourSet].filter((r) => !gdalSet.has(r)).length;
    let missingArea: { max_m2: number | null; below_speck: number } | null = null;
    if (missing.length) {
      const { rows } = await knex.raw(
        'SELECT max(area_m2) AS max_m2, count(*) FILTER (WHERE area_m2 < ?)::int AS below_speck FROM release_features WHERE release = ? AND layer_id = ? AND fid = ANY (?::bigint[])',
        [speck, number, id, missing],
      );
      missingArea = { max_m2: rows[0].max_m2 === null ? null : Number(Number(rows[0].max_m2).toFixed(1)), below_speck: rows[0].below_speck };
    }
    kept.push({ layer: id, features: l.feature_count, ours: ourSet.size, gdal: gdalRaw.size, gdalUnmapped: unmapped, ambiguousPairs: ambiguous, missingInOurs: missing.length, missingArea, extraInOurs: extra });
  }
  const fewer = kept.filter((k) => k.missingInOurs > 0);
  loads.features = load();

  // 6. throughput through the server
  const token = (await issueCredential(knex, admin.id, 'token', { label: 'bench/release.ts', ttlMs: 6 * 3600_000 })).token;
  const server = await startServer({ ONEMAP_TILE_CACHE_MB: '1024', ONEMAP_STATEMENT_TIMEOUT_MS: '600000' });
  const auth = { authorization: `Bearer ${token}` };
  const addresses = tileAddresses();
  // The working side two ways: the layers the viewer shows by default (what it asks for one view),
  // and every layer the release pins (the release tile's content), one layer per request either way.
  const viewLayers = registry.delivered.filter((l) => l.style.visible !== false).map((l) => l.id);
  const allLayers = release.layers.map((l) => l.layer_id);
  type Wrk = ReturnType<typeof runWrk>;
  let throughput;
  try {
    const releasePaths = addresses.map((a) => `/releases/${number}/tiles/${a.z}/${a.x}/${a.y}.mvt`);
    const releaseLayerPaths = (layers: string[]) => layers.flatMap((id) => addresses.map((a) => `/releases/${number}/tiles/${id}/${a.z}/${a.x}/${a.y}.mvt`));
    const workingPaths = async (layers: string[]) => {
      const out: string[] = [];
      for (const id of layers) {
        const tj = (await (await fetch(`${server.url}/tiles/${id}.json`, { headers: auth })).json()) as { tiles: string[] };
        const v = new URL(tj.tiles[0].replace(/\{[xyz]\}/g, '0')).searchParams.get('v');
        for (const a of addresses) out.push(`/tiles/${id}/${a.z}/${a.x}/${a.y}.mvt${v ? `?v=${v}` : ''}`);
      }
      return out;
    };
    const viewPaths = await workingPaths(viewLayers);
    const allPaths = await workingPaths(allLayers);
    const releaseViewPaths = releaseLayerPaths(viewLayers);
    const releaseAllPaths = releaseLayerPaths(allLayers);
    log(`throughput: ${releasePaths.length} release tiles (every layer in one); per layer, release and working tiles alike: ${viewPaths.length} (${viewLayers.length} layers the viewer shows by default) and ${allPaths.length} (all ${allLayers.length} layers); warming the caches …`);
    await warm(server.url, releasePaths, {});
    await warm(server.url, releaseAllPaths, {});
    await warm(server.url, allPaths, auth);
    uptimes.throughput = uptime();
    const rounds: { release: Wrk; releaseView: Wrk; view: Wrk; releaseAll: Wrk; all: Wrk }[] = [];
    const f = (w: Wrk) => `${w.rps.toFixed(0)} req/s (p50 ${w.p50.toFixed(1)} ms, p95 ${w.p95.toFixed(1)} ms)`;
    for (let i = 0; i < ROUNDS; i++) {
      const r = {
        release: runWrk(server.url, releasePaths),
        releaseView: runWrk(server.url, releaseViewPaths),
        view: runWrk(server.url, viewPaths, token),
        releaseAll: runWrk(server.url, releaseAllPaths),
        all: runWrk(server.url, allPaths, token),
      };
      rounds.push(r);
      log(`round ${i + 1}: release, every layer in one ${f(r.release)}; default view: release ${f(r.releaseView)}, working ${f(r.view)}; all layers: release ${f(r.releaseAll)}, working ${f(r.all)}`);
    }
    const med = (side: keyof (typeof rounds)[number]) => ({
      rps: median(rounds.map((r) => r[side].rps)),
      p50: median(rounds.map((r) => r[side].p50)),
      p95: median(rounds.map((r) => r[side].p95)),
      mb_per_s: median(rounds.map((r) => r[side].mb_per_s)),
    });
    throughput = { connections: CONNECTIONS, seconds: SECONDS, tiles: addresses.length, viewLayers, allLayers, rounds, release: med('release'), releaseView: med('releaseView'), view: med('view'), releaseAll: med('releaseAll'), all: med('all') };
  } finally {
    await new Promise((r) => setTimeout(r, 2000)); // the requests wrk left in flight finish
    await server.stop();
  }
  loads.end = load();
  uptimes.end = uptime();

  const views = { release: throughput.release.rps, view: throughput.view.rps / viewLayers.length, all: throughput.all.rps / allLayers.length };
  const summary = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    command: `nice -n ${os.getPriority()} npm run bench:release`,
    env: { BENCH_MINZOOM: MINZOOM, BENCH_MAXZOOM: MAXZOOM, BENCH_CONCURRENCY: CONCURRENCY, BENCH_GPKG: GPKG ? 1 : 0, BENCH_SECONDS: SECONDS, BENCH_ROUNDS: ROUNDS },
    load: loads,
    uptime: uptimes,
    release: { number, layers: release.layers.length, features: totalFeatures, perLayer: features, prepare_s: s(prepareMs), publish_s: s(publishMs) },
    ours: { tiles_s: s(ours.tilesMs), gpkg_s: ours.gpkgMs === null ? null : s(ours.gpkgMs), store_s: ours.storeMs === null ? null : s(ours.storeMs), archive_s: s(ours.totalMs), tiles: ours.addressed, unique: ours.unique, rendered: ours.rendered, skipped: ours.skipped, pmtiles_mb: Number((ours.bytes / 1e6).toFixed(1)), files: ours.files },
    gdal: { s: s(gdal.ms), mbtiles_mb: Number((gdalBytes / 1e6).toFixed(1)), tiles: theirs.perZoom.reduce((a, z) => a + z.n, 0), perZoom: theirs.perZoom, command: gdal.command, options: gdal.options, warnings: gdal.warnings.slice(0, 50), warningLines: gdal.warnings.length },
    ratio_gdal_to_ours: Number(ratio.toFixed(2)),
    features: { zoom: MAXZOOM, speck_m2: Number(speck.toFixed(1)), ourTiles: ourIds.tiles, gdalTiles: theirs.tiles, layers: kept, layersWithFewerInOurs: fewer.map((k) => k.layer) },
    throughput: { ...throughput, views_per_s: views },
    goals: { ratio_at_least: 2, no_feature_missing: true, release_rps_at_least_working: true, release_views_at_least_working: true },
    met: { ratio: ratio >= 2, features: fewer.length === 0, throughput: throughput.releaseView.rps >= throughput.view.rps && throughput.releaseAll.rps >= throughput.all.rps, perView: views.release >= Math.max(views.view, views.all) },
    total_s: s(Date.now() - started),
  };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'release.json'), JSON.stringify(summary, null, 2));
  fs.writeFileSync(path.join(OUT, `release-z${MINZOOM}-${MAXZOOM}.json`), JSON.stringify(summary, null, 2));
  const f1 = (x: number) => x.toFixed(1);
  console.log(`
Release ${number}: ${release.layers.length} layers, ${totalFeatures} features; zooms ${MINZOOM}–${MAXZOOM}; load ${uptimes.start.replace(/.*load average: /, '')} (start) → ${uptimes.end.replace(/.*load average: /, '')} (end)

| step | seconds |
|---|---|
| prepare (pinning: the copy in one transaction) | ${f1(prepareMs / 1000)} |
| publish | ${f1(publishMs / 1000)} |
| archive tiles, ours (${ours.rendered} rendered, ${ours.skipped} under empty parents skipped; ${ours.addressed} tiles, ${CONCURRENCY} at a time → PMTiles + release_tiles) | ${f1(ours.tilesMs / 1000)} |
${ours.gpkgMs !== null ? `| GeoPackage (EPSG:4490 + 4547) | ${f1(ours.gpkgMs / 1000)} |\n| storing the files | ${f1(ours.storeMs! / 1000)} |\n| whole archive | ${f1(ours.totalMs / 1000)} |\n` : ''}| GDAL ogr2ogr -f MBTiles (same layers and zooms) | ${f1(gdal.ms / 1000)} |

GDAL / ours (tiles) = ${ratio.toFixed(2)} (goal ≥ 2: ${summary.met.ratio ? 'met' : 'NOT met'})

Features at z${MAXZOOM}, the top zoom (distinct ids; speck filter ${speck.toFixed(1)} m²: the top zoom keeps every feature):
| layer | features | ours | GDAL | GDAL's missing in ours |
|---|---|---|---|---|
${kept.map((k) => `| ${k.layer} | ${k.features} | ${k.ours} | ${k.gdal} | ${k.missingInOurs}${k.missingArea ? ` (largest ${k.missingArea.max_m2} m², ${k.missingArea.below_speck} below the speck filter)` : ''} |`).join('\n')}
${fewer.length ? `Layers where ours has fewer: ${fewer.map((k) => k.layer).join(', ')}` : 'No feature GDAL keeps is missing in ours.'}

| tiles (server, cache warm, ${CONNECTIONS} connections, median of ${ROUNDS} × ${SECONDS} s) | requests/s | p50 ms | p95 ms | MB/s | map views/s |
|---|---|---|---|---|---|
| release tiles (${allLayers.length} layers in one, anonymous) | ${f1(throughput.release.rps)} | ${f1(throughput.release.p50)} | ${f1(throughput.release.p95)} | ${f1(throughput.release.mb_per_s)} | ${f1(views.release)} |
| release tiles, the viewer's default view (${viewLayers.length} layers, one each, anonymous) | ${f1(throughput.releaseView.rps)} | ${f1(throughput.releaseView.p50)} | ${f1(throughput.releaseView.p95)} | ${f1(throughput.releaseView.mb_per_s)} | |
| release tiles, all ${allLayers.length} layers (one each, anonymous) | ${f1(throughput.releaseAll.rps)} | ${f1(throughput.releaseAll.p50)} | ${f1(throughput.releaseAll.p95)} | ${f1(throughput.releaseAll.mb_per_s)} | |
| working tiles, the viewer's default view (${viewLayers.length} layers, one each, bearer token) | ${f1(throughput.view.rps)} | ${f1(throughput.view.p50)} | ${f1(throughput.view.p95)} | ${f1(throughput.view.mb_per_s)} | ${f1(views.view)} |
| working tiles, all ${allLayers.length} layers (one each, bearer token) | ${f1(throughput.all.rps)} | ${f1(throughput.all.p50)} | ${f1(throughput.all.p95)} | ${f1(throughput.all.mb_per_s)} | ${f1(views.all)} |
release ≥ working requests/s, tile for tile (one layer each): ${summary.met.throughput ? 'met' : 'NOT met'}; the release's every-layer tile per map view: ${summary.met.perView ? 'met' : 'NOT met'}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
  await db.close();
}
