// `npm run bench:tiles`: vector-tile throughput and latency through the service against the same
// tile statements run directly in PostGIS by pgbench (the physical limit on this machine), on the
// large data set (≥ 300,000 status parcels, ≥ 50,000 features per plan layer).
//
//   1. a bench database with the large data set (made once, reused by later runs);
//   2. a fixed list of tiles, z8–z16, over the central city, the mining districts and two counties;
//   3. pgbench runs exactly the server's tile SQL for those tiles (4 clients, BENCH_SECONDS);
//   4. the server, started as its own process with the tile cache off, gets the same tiles from
//      wrk (4 connections, bench/tiles.lua draws them at random); then with the cache on and warm
//      (32 connections). A short pgbench run first warms PostgreSQL's buffers for both sides.
// Prints throughput, p50/p95 latency and the ratio, and writes bench/out/tiles.json.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadDemo } from '../server/demo/load';
import { loadRegistry } from '../server/layers/registry';
import { loadConfig, PROJECT_ROOT } from '../server/platform/config';
import { migrate, openDatabase } from '../server/platform/db';
import { findPgBin } from '../server/platform/embedded-pg';
import { renderTile, tileParams, tileSql, tileStatement } from '../server/tiles/mvt';
import { startService, tileAddresses } from './service';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const DB = 'onemap_bench';
const LAYERS = ['landuse_status', 'landuse_plan', 'urban_plan'];
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');

/** The fixed tile list: bench/service.ts's addresses for each layer. */
const tileList = (): { layer: string; z: number; x: number; y: number }[] => LAYERS.flatMap((layer) => tileAddresses().map((a) => ({ layer, ...a })));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function ensureBenchData() {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const db = await openDatabase(config, { database: DB });
  await migrate(db.knex);
  const n = Number((await db.knex('plan.landuse_status').count<{ count: string }[]>('*'))[0].count);
  if (n < 300_000) {
    console.log(`bench: loading the large data set into ${DB} (once; later runs reuse it) …`);
    const t = Date.now();
    const counts = await loadDemo(db.knex, { scale: 'large', replace: n > 0 });
    await db.knex.raw('ANALYZE');
    console.log(`bench: loaded in ${((Date.now() - t) / 1000).toFixed(0)} s:`, counts);
  }
  const counts: Record<string, number> = {};
  for (const l of LAYERS) counts[l] = Number((await db.knex(`plan.${l}`).count<{ count: string }[]>('*'))[0].count);
  await db.knex.destroy(); // leave the cluster running for pgbench and the server
  return { config, counts, close: () => db.close() };
}

/**
 * pgbench over one script per layer (pgbench takes at most 128 scripts): each transaction picks a
 * tile of the fixed list at random, reads its z/x/y and tolerances from a table (\gset, a few µs)
 * and runs the server's statement for that layer with them. Both sides get the same tile mix.
 */
async function runPgbench(config: ReturnType<typeof loadConfig>, tiles: ReturnType<typeof tileList>, seconds = SECONDS) {
  const dir = path.join(OUT, 'pgbench');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777); // pgbench runs as the cluster owner and writes its logs here
  const registry = loadRegistry();
  const db = await openDatabase(config, { database: DB });
  await db.knex.raw('DROP TABLE IF EXISTS bench_tiles');
  await db.knex.raw('CREATE TABLE bench_tiles (layer text, i integer, z integer, x integer, y integer, tolerance float8, min_area_m2 float8, PRIMARY KEY (layer, i))');
  const files: string[] = [];
  for (const layer of LAYERS) {
    const list = tiles.filter((t) => t.layer === layer);
    await db.knex('bench_tiles').insert(list.map((t, i) => ({ layer, i: i + 1, ...tileParams(t.z, t.x, t.y) })));
    const f = path.join(dir, `${layer}.sql`);
    fs.writeFileSync(
      f,
      [
        `\\set i random(1, ${list.length})`,
        `SELECT z, x, y, tolerance, min_area_m2 FROM bench_tiles WHERE layer = '${layer}' AND i = :i \\gset`,
        `${tileSql(registry.byId.get(layer)!).replace(/\s+/g, ' ').trim()};`,
        '',
      ].join('\n'),
    );
    files.push(f);
  }
  await db.knex.destroy();
  const conn = config.DATABASE_URL ? [config.DATABASE_URL.replace(/\/[^/]*$/, `/${DB}`)] : ['-h', path.join(config.ONEMAP_DATA_DIR, 'run'), '-p', String(config.ONEMAP_PG_PORT), '-U', 'postgres', DB];
  const bin = config.DATABASE_URL ? 'pgbench' : path.join(findPgBin(), 'pgbench');
  const asOwner = process.getuid?.() === 0 && !config.DATABASE_URL;
  const logPrefix = path.join(dir, 'log');
  const args = ['-n', '-c', '4', '-j', '2', '-T', String(seconds), '--random-seed=2015', '-l', '--log-prefix', logPrefix, ...files.flatMap((f) => ['-f', f]), ...conn];
  const out = execFileSync(asOwner ? 'runuser' : bin, asOwner ? ['-u', 'postgres', '--', bin, ...args] : args, { encoding: 'utf8', cwd: dir, maxBuffer: 1 << 26 });
  const tps = Number(/tps = ([\d.]+)/.exec(out)![1]);
  const lat: number[] = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.startsWith('log'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const cols = line.split(' ');
      if (cols.length > 3) lat.push(Number(cols[2]) / 1000); // µs → ms
    }
  }
  lat.sort((a, b) => a - b);
  return { rps: tps, p50: pct(lat, 50), p95: pct(lat, 95), requests: lat.length };
}

const startServer = (env: Record<string, string>) => startService({ ONEMAP_DB_NAME: DB, ONEMAP_DEMO: 'false', ...env }, { upWithinS: 30 });

/** Before timing anything: the server's tiles (decompressed) are byte for byte PostGIS's own. */
async function checkSameTiles(url: string, tiles: ReturnType<typeof tileList>) {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const db = await openDatabase(config, { database: DB });
  const registry = loadRegistry();
  try {
    for (const t of tiles.filter((_, i) => i % 29 === 0)) {
      const direct = await renderTile(db.knex, tileStatement(registry.byId.get(t.layer)!), t.z, t.x, t.y);
      const served = Buffer.from(await (await fetch(`${url}/tiles/${t.layer}/${t.z}/${t.x}/${t.y}.mvt`)).arrayBuffer());
      if (!served.equals(direct)) throw new Error(`tile ${t.layer}/${t.z}/${t.x}/${t.y}: the server's bytes differ from PostGIS's`);
    }
  } finally {
    await db.knex.destroy();
  }
}

/** wrk (C, one thread: the other core stays with the server and PostgreSQL) over the tile list. */
function runWrk(url: string, paths: string[], connections: number) {
  const list = path.join(OUT, 'tile-paths.txt');
  fs.writeFileSync(list, paths.join('\n') + '\n');
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${SECONDS}s`, '-s', path.join(PROJECT_ROOT, 'bench', 'tiles.lua'), url], {
    encoding: 'utf8',
    env: { ...process.env, TILE_LIST: list },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  if (r.errors) throw new Error(`wrk: ${r.errors} errors (non-2xx, timeouts or socket errors)\n${out}`);
  return { rps: r.requests / (r.duration_us / 1e6), p50: r.p50_us / 1000, p95: r.p95_us / 1000, requests: r.requests, mb_per_s: r.bytes / 1e6 / (r.duration_us / 1e6) };
}

const { config, counts, close } = await ensureBenchData();
const tiles = tileList();
const paths = tiles.map((t) => `/tiles/${t.layer}/${t.z}/${t.x}/${t.y}.mvt`);
console.log(`bench: ${tiles.length} tiles (z8–z16, layers ${LAYERS.join(', ')}), ${SECONDS} s per run; features: ${JSON.stringify(counts)}`);

await runPgbench(config, tiles, 5); // warm-up, not counted
const direct = await runPgbench(config, tiles);
console.log('direct (pgbench)   ', direct);

const uncachedServer = await startServer({ ONEMAP_TILE_CACHE_MB: '0' });
const uncached = await (async () => {
  try {
    await checkSameTiles(uncachedServer.url, tiles);
    return runWrk(uncachedServer.url, paths, 4);
  } finally {
    await uncachedServer.stop();
  }
})();
console.log('server, uncached   ', uncached);

const cachedServer = await startServer({ ONEMAP_TILE_CACHE_MB: '512' });
const cached = await (async () => {
  try {
    for (const p of paths) await fetch(cachedServer.url + p, { headers: { 'accept-encoding': 'gzip' } });
    return runWrk(cachedServer.url, paths, 32);
  } finally {
    await cachedServer.stop();
  }
})();
console.log('server, cached     ', cached);

const ratio = uncached.rps / direct.rps;
const summary = {
  date: new Date().toISOString(),
  machine: `${(await import('node:os')).cpus().length} cores`,
  seconds: SECONDS,
  tiles: tiles.length,
  features: counts,
  direct,
  uncached,
  cached,
  ratio_uncached_to_direct: Number(ratio.toFixed(3)),
  goals: { ratio_at_least: 0.85, cached_rps_at_least: 4000 },
  met: { ratio: ratio >= 0.85, cached: cached.rps >= 4000 },
};
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'tiles.json'), JSON.stringify(summary, null, 2));
const f = (x: number) => x.toFixed(1);
console.log(`
| run | requests/s | p50 ms | p95 ms |
|---|---|---|---|
| PostGIS direct (pgbench, 4 clients) | ${f(direct.rps)} | ${f(direct.p50)} | ${f(direct.p95)} |
| server, cache off (4 connections) | ${f(uncached.rps)} | ${f(uncached.p50)} | ${f(uncached.p95)} |
| server, cache warm (32 connections) | ${f(cached.rps)} | ${f(cached.p50)} | ${f(cached.p95)} |

uncached / direct = ${ratio.toFixed(3)} (goal ≥ 0.85: ${summary.met.ratio ? 'met' : 'NOT met'}); cached ${f(cached.rps)} req/s (goal ≥ 4000: ${summary.met.cached ? 'met' : 'NOT met'})`);
await close();
