// `npm run bench:import`: importing the large land-use status layer (≥ 300,000 polygons) as a
// department delivers it, a zipped Shapefile in EPSG:4547 with GBK attributes, through the project's
// import CLI, against GDAL's own loader (`ogr2ogr -f PostgreSQL`, PG_USE_COPY=YES) on the same file,
// the same machine and in the same run.
//
//   1. ogr2ogr writes plan.landuse_status of the bench database (`onemap_bench`, the large data set,
//      made by `npm run bench:tiles` or `npm run demo:large`) to bench/out/landuse_status-4547-gbk.shp.zip
//      (EPSG:4547, -lco ENCODING=CP936);
//   2. a scratch database (`onemap_bench_import`, migrated and empty) gets it through
//      `node --import tsx server/imports/cli.ts <file> --layer landuse_status --repair --json`
//      as a child process under /usr/bin/time -v (wall time, peak RSS, the process's own CPU), and
//      the machine's busy CPU time over the run from /proc/stat (the client plus PostgreSQL's
//      backends, parallel workers and background processes: nothing else runs meanwhile); before it,
//      the same with --dry-run (read and check only, nothing written), to show what writing costs;
//   3. ogr2ogr loads the same zip into the same database (table ogr_landuse_status, EPSG:4490), timed
//      the same way;
//   3b. the same guarantees by hand, as a GIS engineer gets them (issue 16): ogr2ogr (COPY) into a
//      staging table, then one transaction of SQL that repairs the invalid geometries (ST_MakeValid,
//      polygons kept, made multi), fills a table shaped like the layer's (its validity CHECK and its
//      generated ellipsoidal area), builds its GiST and class indexes and drops the staging table;
//      timed end to end (both steps);
//   4. all must hold the same number of features and the same total ellipsoidal area (1e-6 relative);
//   5. for the record of where the time goes, the writes alone: the imported rows copied with one
//      INSERT … SELECT into an empty table made LIKE plan.landuse_status INCLUDING ALL (its CHECK
//      ST_IsValid, generated ellipsoidal area, GiST and B-tree indexes), and its snapshot rows into
//      one made LIKE revision_features (its four indexes): what any import into this schema pays.
// Before each measured run the machine settles (a CHECKPOINT, no autovacuum worker, idle cores), so
// that no run pays for the writing of the one before.
// Prints a table and writes bench/out/import.json with the goals (no slower than ogr2ogr; peak RSS of
// the import under 512 MB) and whether they were met. The scratch database is dropped at the end.
import { spawn } from 'node:child_process';
import type { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../server/platform/config';
import { migrate, openDatabase, type ConnectionSettings } from '../server/platform/db';
import { log } from '../server/platform/log';

const DB = 'onemap_bench';
const SCRATCH = 'onemap_bench_import';
const LAYER = 'landuse_status';
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');
const ZIP = path.join(OUT, `${LAYER}-4547-gbk.shp.zip`);
const RSS_GOAL_MB = 512;
const TIME = '/usr/bin/time';

interface Run {
  seconds: number;
  peak_rss_mb: number;
  /** CPU seconds (user + system) of the measured process itself. */
  cpu_s: number;
  /** Busy CPU seconds of the whole machine over the run (all cores: the process, PostgreSQL, everything else). */
  machine_cpu_s: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** GDAL's connection string for a database of the cluster (or of DATABASE_URL). */
function pgDsn(connection: ConnectionSettings, database: string): string {
  if (typeof connection === 'string') {
    const url = new URL(connection);
    url.pathname = `/${database}`;
    return `PG:${url.toString()}`;
  }
  return `PG:host=${connection.host} port=${connection.port} dbname=${database} user=${connection.user}`;
}

/** Busy CPU seconds of the machine so far (all cores), from /proc/stat; NaN where there is none. */
function machineBusySeconds(): number {
  try {
    const [, ...f] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = f.map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** Runs a command to its end, measuring wall time, peak RSS (GNU time's "Maximum resident set size", else VmHWM sampled from /proc) and CPU. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const useTime = fs.existsSync(TIME);
  const timeFile = path.join(os.tmpdir(), `bench-import-time-${process.pid}-${Date.now()}.txt`);
  const [bin, argv] = useTime ? [TIME, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const busyBefore = machineBusySeconds();
    const child = spawn(bin, argv, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let hwmKb = 0;
    const sampler = useTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
          } catch {
            /* gone */
          }
        }, 50);
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const machineCpu = machineBusySeconds() - busyBefore;
      if (sampler) clearInterval(sampler);
      let rssKb = hwmKb;
      let cpu = NaN;
      if (useTime) {
        const t = fs.existsSync(timeFile) ? fs.readFileSync(timeFile, 'utf8') : '';
        fs.rmSync(timeFile, { force: true });
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(t);
        if (!m) return reject(new Error(`${TIME} -v gave no peak RSS for ${cmd}:\n${t}`));
        rssKb = Number(m[1]);
        const status = /Exit status: (\d+)/.exec(t);
        if (status) code = Number(status[1]);
        const user = /User time \(seconds\): ([\d.]+)/.exec(t);
        const system = /System time \(seconds\): ([\d.]+)/.exec(t);
        if (user && system) cpu = Number(user[1]) + Number(system[1]);
      }
      resolve({ seconds, peak_rss_mb: rssKb / 1024, cpu_s: cpu, machine_cpu_s: machineCpu, exitCode: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/**
 * Lets the machine settle before a measured run, so that no run pays for the one before: a
 * CHECKPOINT (the previous run's dirty pages written now, not during the next run; skipped where
 * the role may not), no autovacuum worker busy with the tables just written, and the cores idle
 * (under 0.3 busy on average over a second; at most 60 s of waiting, then it says so).
 */
async function settle(knex: Knex) {
  await knex.raw('CHECKPOINT').catch(() => undefined);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await knex.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'");
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = machineBusySeconds() - before;
    if ((rows[0].n === 0 && busy < 0.3) || Number.isNaN(busy)) return;
    if (Date.now() > deadline) {
      console.warn(`bench: the machine did not settle (${busy.toFixed(2)} cores busy, ${rows[0].n} autovacuum workers); measuring anyway`);
      return;
    }
  }
}

function ogr2ogr(args: string[]) {
  return measure('ogr2ogr', args, { ...process.env, PG_USE_COPY: 'YES' });
}

function mustSucceed(what: string, r: Run) {
  if (r.exitCode !== 0) throw new Error(`${what} failed (exit ${r.exitCode}):\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
}

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
if (!process.env.LOG_LEVEL) log.level = 'warn'; // the cluster's and migrations' info lines would only interleave with the figures
const bench = await openDatabase(config, { database: DB });
const sourceCount = Number((await bench.knex(`plan.${LAYER}`).count<{ count: string }[]>('*'))[0].count);
if (sourceCount < 300_000) throw new Error(`${DB}.plan.${LAYER} has ${sourceCount} features; load the large data set first (npm run demo:large or npm run bench:tiles)`);
// The scratch database: dropped if a previous run left it, made again (openDatabase creates it), migrated, empty.
await bench.knex.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`);
const scratch = await openDatabase(config, { database: SCRATCH });
await migrate(scratch.knex);
const before = Number((await scratch.knex(`plan.${LAYER}`).count<{ count: string }[]>('*'))[0].count);
if (before !== 0) throw new Error(`${SCRATCH}.plan.${LAYER} should be empty after migrating, has ${before}`);
await scratch.knex.raw('DROP TABLE IF EXISTS public.ogr_landuse_status');

let summary: Record<string, unknown>;
try {
  // 1. The delivery: EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E), GBK attributes, zipped.
  fs.mkdirSync(OUT, { recursive: true });
  fs.rmSync(ZIP, { force: true });
  console.log(`bench: writing ${path.relative(PROJECT_ROOT, ZIP)} (${sourceCount} parcels, EPSG:4547, GBK) …`);
  const exported = await ogr2ogr([
    '-f', 'ESRI Shapefile', ZIP, pgDsn(bench.connection, DB),
    '-sql', `SELECT code, parcel_no, owner, geom FROM plan.${LAYER} ORDER BY fid`,
    '-nln', LAYER,
    '-nlt', 'MULTIPOLYGON',
    '-s_srs', 'EPSG:4490',
    '-t_srs', 'EPSG:4547',
    '-lco', 'ENCODING=CP936',
  ]);
  mustSucceed('ogr2ogr export', exported);
  const zipBytes = fs.statSync(ZIP).size;
  console.log(`bench: written in ${exported.seconds.toFixed(1)} s, ${(zipBytes / 1e6).toFixed(1)} MB`);

  // 2. The project's import, as its CLI runs it: first a dry run (read and check only), then the import.
  const cli = (...extra: string[]) =>
    measure(process.execPath, ['--import', 'tsx', 'server/imports/cli.ts', ZIP, '--layer', LAYER, '--repair', '--json', ...extra], {
      ...process.env,
      ONEMAP_DB_NAME: SCRATCH,
      LOG_LEVEL: 'warn',
    });
  console.log('bench: checking with server/imports/cli.ts --dry-run …');
  await settle(scratch.knex);
  const dry = await cli('--dry-run');
  mustSucceed('import CLI --dry-run', dry);
  console.log(`bench: checked in ${dry.seconds.toFixed(1)} s, peak RSS ${dry.peak_rss_mb.toFixed(0)} MB`);
  console.log('bench: importing with server/imports/cli.ts …');
  await settle(scratch.knex);
  const imported = await cli();
  mustSucceed('import CLI', imported);
  const report = JSON.parse(imported.stdout) as {
    ok: boolean;
    featureCount: number;
    encoding: { name: string; method: string };
    crs: { epsg: number | null };
    repairedCount: number;
    elapsed_ms: number;
    revision?: { featureCount: number; area_m2: number | null };
  };
  if (!report.ok || !report.revision) throw new Error(`the import was refused: ${imported.stdout.slice(0, 4000)}`);
  console.log(`bench: imported in ${imported.seconds.toFixed(1)} s, peak RSS ${imported.peak_rss_mb.toFixed(0)} MB (encoding ${report.encoding.name}, EPSG:${report.crs.epsg}, ${report.repairedCount} repaired)`);

  // 3. GDAL's loader on the same file.
  console.log('bench: loading the same file with ogr2ogr -f PostgreSQL (PG_USE_COPY=YES) …');
  await settle(scratch.knex);
  const ogr = await ogr2ogr([
    '-f', 'PostgreSQL', pgDsn(scratch.connection, SCRATCH), `/vsizip/${ZIP}`,
    '-nln', 'ogr_landuse_status',
    '-nlt', 'PROMOTE_TO_MULTI', // the Shapefile mixes Polygon and MultiPolygon records
    '-lco', 'GEOMETRY_NAME=geom',
    '-t_srs', 'EPSG:4490',
    '--config', 'PG_USE_COPY', 'YES',
  ]);
  mustSucceed('ogr2ogr load', ogr);
  console.log(`bench: loaded in ${ogr.seconds.toFixed(1)} s, peak RSS ${ogr.peak_rss_mb.toFixed(0)} MB`);

  // 3b. The equivalent workflow: ogr2ogr into staging, then the SQL a GIS engineer writes for the same guarantees.
  console.log('bench: the same by hand: ogr2ogr into a staging table, then repair, area, indexes and the swap in one transaction …');
  await scratch.knex.raw('DROP TABLE IF EXISTS public.eq_staging, public.eq_landuse_status');
  await settle(scratch.knex);
  const staged = await ogr2ogr([
    '-f', 'PostgreSQL', pgDsn(scratch.connection, SCRATCH), `/vsizip/${ZIP}`,
    '-nln', 'eq_staging',
    '-nlt', 'PROMOTE_TO_MULTI',
    '-lco', 'GEOMETRY_NAME=geom',
    '-lco', 'SPATIAL_INDEX=NONE', // a staging table: the index is built on the final one
    '-t_srs', 'EPSG:4490',
    '--config', 'PG_USE_COPY', 'YES',
  ]);
  mustSucceed('ogr2ogr into staging', staged);
  const sqlStarted = performance.now();
  const sqlBusy = machineBusySeconds();
  const repaired = await scratch.knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL statement_timeout = 0');
    // Shaped like the layer table: its CHECK (ST_IsValid) and its generated ellipsoidal area, not yet its indexes.
    await trx.raw(`CREATE TABLE public.eq_landuse_status (LIKE plan.${LAYER} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY)`);
    const r = await trx.raw(`
      INSERT INTO public.eq_landuse_status (code, parcel_no, owner, geom)
      SELECT code, parcel_no, owner,
             CASE WHEN ST_IsValid(geom) THEN geom ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) END
        FROM public.eq_staging`);
    await trx.raw('CREATE INDEX ON public.eq_landuse_status USING gist (geom)');
    await trx.raw('CREATE INDEX ON public.eq_landuse_status (code)');
    await trx.raw('ANALYZE public.eq_landuse_status');
    // The finished table is the reloaded layer (a reload in place swaps it in by a rename, which
    // costs nothing); the staging table goes in the same transaction.
    await trx.raw('DROP TABLE public.eq_staging');
    return Number(r.rowCount);
  });
  const sqlSeconds = (performance.now() - sqlStarted) / 1000;
  const sqlMachine = machineBusySeconds() - sqlBusy;
  const byHand = { seconds: staged.seconds + sqlSeconds, ogr2ogr_s: staged.seconds, sql_s: sqlSeconds, peak_rss_mb: staged.peak_rss_mb, cpu_s: staged.cpu_s, machine_cpu_s: staged.machine_cpu_s + sqlMachine, rows: repaired };
  console.log(`bench: by hand in ${byHand.seconds.toFixed(1)} s (ogr2ogr ${staged.seconds.toFixed(1)} s + SQL ${sqlSeconds.toFixed(1)} s)`);

  // 4. All hold the same features: count and total ellipsoidal area.
  const totals = async (table: string) => {
    const r = await scratch.knex.raw(`SELECT count(*)::bigint AS n, sum(ST_Area(geom::geography)) AS area FROM ${table}`);
    return { features: Number(r.rows[0].n), area_m2: Number(r.rows[0].area) };
  };
  const mine = await totals(`plan.${LAYER}`);
  const theirs = await totals('public.ogr_landuse_status');
  const handmade = await totals('public.eq_landuse_status');
  const source = await (async () => {
    const r = await bench.knex.raw(`SELECT sum(ST_Area(geom::geography)) AS area FROM plan.${LAYER}`);
    return { features: sourceCount, area_m2: Number(r.rows[0].area) };
  })();
  const areaRel = Math.abs(mine.area_m2 - theirs.area_m2) / theirs.area_m2;
  const handRel = Math.abs(mine.area_m2 - handmade.area_m2) / handmade.area_m2;
  const same = mine.features === theirs.features && areaRel <= 1e-6 && mine.features === handmade.features && handRel <= 1e-6;
  if (!same) console.error(`bench: the loads differ: import ${JSON.stringify(mine)}, ogr2ogr ${JSON.stringify(theirs)} (area rel. ${areaRel.toExponential(2)}), by hand ${JSON.stringify(handmade)} (${handRel.toExponential(2)})`);

  // 5. The writes alone, timed in PostgreSQL's own session (no client work), on tables shaped like the two the import writes.
  await scratch.knex.raw('DROP TABLE IF EXISTS bench_live, bench_snapshot');
  await scratch.knex.raw(`CREATE TABLE bench_live (LIKE plan.${LAYER} INCLUDING ALL)`);
  await scratch.knex.raw('CREATE TABLE bench_snapshot (LIKE revision_features INCLUDING ALL)');
  await settle(scratch.knex);
  const floor = await scratch.knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL statement_timeout = 0');
    const timed = async (sql: string) => {
      const t0 = performance.now();
      await trx.raw(sql);
      return Number(((performance.now() - t0) / 1000).toFixed(2));
    };
    return {
      live_insert_s: await timed(`INSERT INTO bench_live (code, parcel_no, owner, geom) SELECT code, parcel_no, owner, geom FROM plan.${LAYER} ORDER BY fid`),
      snapshot_insert_s: await timed(
        `INSERT INTO bench_snapshot (layer_id, revision_from, hash, code, attrs, geom, area_m2) SELECT layer_id, revision_from, hash, code, attrs, geom, area_m2 FROM revision_features WHERE layer_id = '${LAYER}' ORDER BY id`,
      ),
    };
  });
  await scratch.knex.raw('DROP TABLE bench_live, bench_snapshot');
  console.log(`bench: the writes alone: ${floor.live_insert_s} s into a table like plan.${LAYER}, ${floor.snapshot_insert_s} s into one like revision_features`);

  const ratio = imported.seconds / ogr.seconds;
  const handRatio = imported.seconds / byHand.seconds;
  const pick = (r: Pick<Run, 'seconds' | 'peak_rss_mb' | 'cpu_s' | 'machine_cpu_s'>) => ({
    seconds: Number(r.seconds.toFixed(2)),
    peak_rss_mb: Number(r.peak_rss_mb.toFixed(1)),
    cpu_s: Number(r.cpu_s.toFixed(2)),
    machine_cpu_s: Number(r.machine_cpu_s.toFixed(2)),
  });
  summary = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    file: { path: path.relative(PROJECT_ROOT, ZIP), bytes: zipBytes, crs: 'EPSG:4547', encoding: 'GBK (CP936)', features: sourceCount, export_seconds: Number(exported.seconds.toFixed(2)) },
    dry_run: pick(dry),
    import: { ...pick(imported), reported_elapsed_s: Number((report.elapsed_ms / 1000).toFixed(2)), encoding: report.encoding, repaired: report.repairedCount, ...mine },
    ogr2ogr: { ...pick(ogr), ...theirs },
    by_hand: { ...pick(byHand), ogr2ogr_s: Number(byHand.ogr2ogr_s.toFixed(2)), sql_s: Number(byHand.sql_s.toFixed(2)), ...handmade, area_relative_difference: handRel },
    source_area_m2: source.area_m2,
    area_relative_difference: areaRel,
    ratio_import_to_ogr2ogr: Number(ratio.toFixed(3)),
    ratio_import_to_by_hand: Number(handRatio.toFixed(3)),
    writes_alone: floor,
    goals: { ratio_to_by_hand_at_most: 1, peak_rss_mb_below: RSS_GOAL_MB, same_features: true },
    met: { speed: handRatio <= 1, speed_against_bare_ogr2ogr: ratio <= 1, memory: imported.peak_rss_mb < RSS_GOAL_MB, same_features: same },
  };
  fs.writeFileSync(path.join(OUT, 'import.json'), JSON.stringify(summary, null, 2));
  const f1 = (x: number) => x.toFixed(1);
  const fa = (x: number) => Math.round(x).toLocaleString('en');
  const met = summary.met as Record<string, boolean>;
  console.log(`
| load of ${sourceCount.toLocaleString('en')} parcels (${(zipBytes / 1e6).toFixed(0)} MB zip) | wall s | peak RSS MB | CPU s (process) | CPU s (machine) | features | area m² |
|---|---|---|---|---|---|---|
| project import (CLI, --repair) | ${f1(imported.seconds)} | ${f1(imported.peak_rss_mb)} | ${f1(imported.cpu_s)} | ${f1(imported.machine_cpu_s)} | ${mine.features} | ${fa(mine.area_m2)} |
| by hand: ogr2ogr into staging + repair, area, indexes in one transaction | ${f1(byHand.seconds)} (${f1(byHand.ogr2ogr_s)} + ${f1(byHand.sql_s)}) | ${f1(byHand.peak_rss_mb)} | ${f1(byHand.cpu_s)} | ${f1(byHand.machine_cpu_s)} | ${handmade.features} | ${fa(handmade.area_m2)} |
| bare ogr2ogr -f PostgreSQL (PG_USE_COPY=YES), no checks | ${f1(ogr.seconds)} | ${f1(ogr.peak_rss_mb)} | ${f1(ogr.cpu_s)} | ${f1(ogr.machine_cpu_s)} | ${theirs.features} | ${fa(theirs.area_m2)} |
| project check only (CLI, --repair --dry-run) | ${f1(dry.seconds)} | ${f1(dry.peak_rss_mb)} | ${f1(dry.cpu_s)} | ${f1(dry.machine_cpu_s)} | | |

import / by hand = ${handRatio.toFixed(2)} (goal ≤ 1: ${met.speed ? 'met' : 'NOT met'}); import / bare ogr2ogr = ${ratio.toFixed(2)}; peak RSS ${f1(imported.peak_rss_mb)} MB (goal < ${RSS_GOAL_MB}: ${met.memory ? 'met' : 'NOT met'}); same features and area (rel. ${areaRel.toExponential(1)}, by hand ${handRel.toExponential(1)}): ${same ? 'yes' : 'NO'}
the writes alone (one INSERT … SELECT of the imported rows, in PostgreSQL): ${floor.live_insert_s} s into a table like plan.${LAYER}, ${floor.snapshot_insert_s} s into one like revision_features`);
} finally {
  await scratch.knex.destroy();
  await bench.knex.raw(`DROP DATABASE IF EXISTS ${SCRATCH} WITH (FORCE)`).catch((err) => console.error(`bench: could not drop ${SCRATCH}: ${(err as Error).message}`));
  await bench.close();
}
