// `npm run bench:tiles`: vector-tile throughput and latency through the service against the same
// tile statements run directly in PostGIS by pgbench (the physical limit on this machine), on the
// large data set (≥ 300,000 status parcels, ≥ 50,000 features per plan layer).
//
//   1. a bench database with the large data set (made once, reused by later runs);
//   2. a fixed list of tiles, z8–z16, over the central city, the mining districts and two counties;
//   3. pgbench runs exactly the server's tile SQL for those tiles (4 clients, BENCH_SECONDS);
//   4. the server, started as its own process with the tile cache off, gets the same tiles from
//      autocannon (4 connections); then with the cache on and warm (32 connections).
// Prints throughput, p50/p95 latency and the ratio, and writes bench/out/tiles.json.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadDemo } from '../server/demo/load';
import { loadRegistry } from '../server/layers/registry';
import { loadConfig, PROJECT_ROOT } from '../server/platform/config';
import { migrate, openDatabase } from '../server/platform/db';
import { findPgBin } from '../server/platform/embedded-pg';
import { tileContaining, tileParams, tileSql } from '../server/tiles/mvt';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const DB = 'onemap_bench';
const LAYERS = ['landuse_status', 'landuse_plan', 'urban_plan'];
const CENTRES: [string, number, number][] = [
  ['central city', 113.3, 40.08],
  ['mining area', 113.15, 40.02],
  ['Yanggao', 113.75, 40.36],
  ['Lingqiu', 114.23, 39.44],
];
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');

const tileOf = tileContaining;

/** The fixed tile list: for each centre and zoom 8–16 its tile and, from z12, the 8 around it. */
function tileList(): { layer: string; z: number; x: number; y: number }[] {
  const tiles = [];
  for (const layer of LAYERS)
    for (const [, lon, lat] of CENTRES)
      for (let z = 8; z <= 16; z++) {
        const [x, y] = tileOf(lon, lat, z);
        const r = z >= 12 ? 1 : 0;
        for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) tiles.push({ layer, z, x: x + dx, y: y + dy });
      }
  return tiles;
}

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

/** pgbench over one script per tile: the server's statement with that tile's values inlined. */
function runPgbench(config: ReturnType<typeof loadConfig>, tiles: ReturnType<typeof tileList>) {
  const dir = path.join(OUT, 'pgbench');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const registry = loadRegistry();
  const files = tiles.map((t, i) => {
    const values: Record<string, number> = tileParams(t.z, t.x, t.y);
    const sql = tileSql(registry.byId.get(t.layer)!).replace(/:(\w+)/g, (m, k) => (k in values ? String(values[k]) : m)).replace(/\s+/g, ' ').trim();
    const f = path.join(dir, `t${i}.sql`);
    fs.writeFileSync(f, `${sql};\n`);
    return f;
  });
  const conn = config.DATABASE_URL ? [config.DATABASE_URL.replace(/\/[^/]*$/, `/${DB}`)] : ['-h', path.join(config.ONEMAP_DATA_DIR, 'run'), '-p', String(config.ONEMAP_PG_PORT), '-U', 'postgres', DB];
  const bin = config.DATABASE_URL ? 'pgbench' : path.join(findPgBin(), 'pgbench');
  const logPrefix = path.join(dir, 'log');
  const args = ['-n', '-c', '4', '-j', '2', '-T', String(SECONDS), '-l', '--log-prefix', logPrefix, ...files.flatMap((f) => ['-f', `${f}@1`])];
  const out = execFileSync(process.getuid?.() === 0 && !config.DATABASE_URL ? 'runuser' : bin, process.getuid?.() === 0 && !config.DATABASE_URL ? ['-u', 'postgres', '--', bin, ...args, ...conn] : [...args, ...conn], {
    encoding: 'utf8',
    cwd: dir,
    maxBuffer: 1 << 26,
  });
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

async function startServer(env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const port = 3900 + Math.floor(Math.random() * 90);
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ONEMAP_DB_NAME: DB, ONEMAP_DEMO: 'false', LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))),
  };
}

async function runAutocannon(url: string, paths: string[], connections: number) {
  const lat: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: SECONDS,
        headers: { 'accept-encoding': 'gzip' },
        requests: paths.map((p) => ({ method: 'GET' as const, path: p })),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => lat.push(ms));
  });
  if (result.non2xx) throw new Error(`${result.non2xx} non-2xx responses`);
  lat.sort((a, b) => a - b);
  return { rps: result.requests.total / (result.duration || SECONDS), p50: pct(lat, 50), p95: pct(lat, 95), requests: result.requests.total };
}

const { config, counts, close } = await ensureBenchData();
const tiles = tileList();
const paths = tiles.map((t) => `/tiles/${t.layer}/${t.z}/${t.x}/${t.y}.mvt`);
console.log(`bench: ${tiles.length} tiles (z8–z16, layers ${LAYERS.join(', ')}), ${SECONDS} s per run; features: ${JSON.stringify(counts)}`);

const direct = runPgbench(config, tiles);
console.log('direct (pgbench)   ', direct);

const uncachedServer = await startServer({ ONEMAP_TILE_CACHE_MB: '0' });
await runAutocannon(uncachedServer.url, paths, 4).catch(() => undefined); // warm PostgreSQL's buffers the same way pgbench found them
const uncached = await runAutocannon(uncachedServer.url, paths, 4);
await uncachedServer.stop();
console.log('server, uncached   ', uncached);

const cachedServer = await startServer({ ONEMAP_TILE_CACHE_MB: '512' });
for (const p of paths) await fetch(cachedServer.url + p, { headers: { 'accept-encoding': 'gzip' } });
const cached = await runAutocannon(cachedServer.url, paths, 32);
await cachedServer.stop();
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
