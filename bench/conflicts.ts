// `npm run bench:conflicts`: conflict detection on the large data set (≥ 50,000 features in each
// plan layer) against the naive overlay, in the same database and the same run.
//
//   naive: per rule, one statement — JOIN ON ST_Intersects, ST_Intersection per pair, ST_Union of
//          the pieces so that overlapping pieces are not counted twice (without it the totals
//          differ wherever features of one layer overlap), ellipsoidal area of the union;
//   full:  the service's full run of every rule (districts, overlaps, slivers, stable ids, the
//          ledger), with the source index already built (a first run also builds it: reported);
//   incremental: 1 % of the urban plan edited (every 100th block moved 3 m east), then the
//          service's incremental run; the edit is undone and caught up again afterwards. After the
//          first, a full run must find the same pieces (ids, results, geometries) and change nothing.
// Each of naive and full runs BENCH_ROUNDS times (default 3), alternating, then the incremental
// (edit, run, undo, run) as many times; medians are reported.
// The totals per rule must agree (patches + slivers = naive union) within 1e-6.
// Prints the figures and writes bench/out/conflicts.json.
import fs from 'node:fs';
import path from 'node:path';
import { ConflictEngine } from '../server/conflicts/detect';
import { loadRules } from '../server/conflicts/rules';
import { loadDemo } from '../server/demo/load';
import { loadRegistry } from '../server/layers/registry';
import { loadConfig, PROJECT_ROOT } from '../server/platform/config';
import { migrate, openDatabase } from '../server/platform/db';
import { layerTable } from '../server/platform/sql';

const DB = 'onemap_bench';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const registry = loadRegistry();
const rules = loadRules(registry);
const db = await openDatabase(config, { database: DB });
const knex = db.knex;
try {
  await migrate(knex);
  const n = Number((await knex('plan.landuse_status').count<{ count: string }[]>('*'))[0].count);
  if (n < 300_000) {
    console.log(`bench: loading the large data set into ${DB} (once; later runs reuse it) …`);
    await loadDemo(knex, { scale: 'large', replace: n > 0 });
    await knex.raw('ANALYZE');
  }
  const sizes: Record<string, number> = {};
  for (const l of rules.layers) sizes[l.id] = Number((await knex(`plan.${l.id}`).count<{ count: string }[]>('*'))[0].count);
  console.log('bench: features per layer', sizes);

  const engine = new ConflictEngine(knex, registry, rules);
  let cold: number | null = null;
  if (!(await engine.hasBase())) {
    const t = process.hrtime.bigint();
    await engine.run({ mode: 'full', requestedBy: 'bench', trigger: { via: 'bench', first: true } });
    cold = ms(t);
    console.log(`bench: first run (builds the source index) ${(cold / 1000).toFixed(2)} s`);
  }

  // The naive overlay, one statement per rule, timeout off (the service's is per request).
  const naive = async () => {
    const totals: Record<string, number> = {};
    const t = process.hrtime.bigint();
    await knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL statement_timeout = 0');
      for (const r of rules.rules) {
        const { rows } = await trx.raw<{ rows: { area: number | null }[] }>(
          `SELECT ST_Area(ST_Union(ST_Intersection(a.geom, b.geom))::geography, true) AS area
             FROM ${layerTable(r.a.layer.id)} a JOIN ${layerTable(r.b.layer.id)} b ON ST_Intersects(a.geom, b.geom)
            WHERE a.code = ANY(?) AND b.code = ANY(?)`,
          [r.a.codes, r.b.codes],
        );
        totals[r.id] = rows[0].area ?? 0;
      }
    });
    return { ms: ms(t), totals };
  };
  const full = async () => {
    const t = process.hrtime.bigint();
    const r = await engine.run({ mode: 'full', requestedBy: 'bench', trigger: { via: 'bench' } });
    return { ms: ms(t), result: r };
  };

  const naiveMs: number[] = [];
  const fullMs: number[] = [];
  let naiveTotals: Record<string, number> = {};
  let fullResult: Awaited<ReturnType<typeof full>>['result'] | undefined;
  for (let i = 0; i < ROUNDS; i++) {
    const a = await naive();
    naiveMs.push(a.ms);
    naiveTotals = a.totals;
    const b = await full();
    fullMs.push(b.ms);
    fullResult = b.result;
    console.log(`bench: round ${i + 1}: naive ${(a.ms / 1000).toFixed(2)} s, full run ${(b.ms / 1000).toFixed(2)} s`);
  }
  let worst = 0;
  for (const r of rules.rules) {
    const ours = fullResult!.rules[r.id].area_m2 + fullResult!.rules[r.id].sliver_area_m2;
    const ref = naiveTotals[r.id];
    const e = ref === 0 ? Math.abs(ours) : Math.abs(ours - ref) / ref;
    worst = Math.max(worst, e);
    if (e > 1e-6) throw new Error(`totals disagree for ${r.id}: service ${ours} m², naive ${ref} m² (${e.toExponential(2)})`);
  }

  // 1 % of the urban plan edited, then the incremental run; the edit undone, caught up again. As
  // many rounds as the others, medians reported.
  const incMsAll: number[] = [];
  const undoMsAll: number[] = [];
  let edited = 0;
  let inc: Awaited<ReturnType<typeof engine.run>> | undefined;
  let undo: Awaited<ReturnType<typeof engine.run>> | undefined;
  for (let i = 0; i < ROUNDS; i++) {
    edited = Number((await knex.raw('UPDATE plan.urban_plan SET geom = ST_Translate(geom, 0.000035, 0) WHERE fid % 100 = 0')).rowCount);
    let t = process.hrtime.bigint();
    inc = await engine.run({ mode: 'incremental', requestedBy: 'bench', trigger: { via: 'bench', edited } });
    incMsAll.push(ms(t));
    if (i === 0) {
      // The incremental result must be the full run's: a full run right after it changes nothing.
      const sig = async () =>
        (await knex.raw<{ rows: { s: string }[] }>(`SELECT md5(string_agg(id::text || COALESCE(hash::text, '') || COALESCE(ST_AsEWKB(geom)::text, ''), ',' ORDER BY id)) AS s FROM conflict_pieces`)).rows[0].s;
      const before = await sig();
      const check = await engine.run({ mode: 'full', requestedBy: 'bench', trigger: { via: 'bench', check: true } });
      if ((await sig()) !== before || check.totals.opened + check.totals.closed + check.totals.reopened > 0) {
        throw new Error('the incremental run gave another result than a full run');
      }
    }
    await knex.raw('UPDATE plan.urban_plan SET geom = ST_Translate(geom, -0.000035, 0) WHERE fid % 100 = 0');
    t = process.hrtime.bigint();
    undo = await engine.run({ mode: 'incremental', requestedBy: 'bench', trigger: { via: 'bench', undo: true } });
    undoMsAll.push(ms(t));
    console.log(`bench: round ${i + 1}: incremental ${incMsAll[i].toFixed(0)} ms, undo ${undoMsAll[i].toFixed(0)} ms`);
  }
  const incMs = median(incMsAll);
  const undoMs = median(undoMsAll);

  const out = {
    at: new Date().toISOString(),
    features: sizes,
    rules: rules.rules.length,
    patches: fullResult!.totals.patches,
    area_ha: fullResult!.totals.area_m2 / 10_000,
    sliver_parts: fullResult!.totals.sliver_parts,
    worst_total_difference: worst,
    naive_ms: median(naiveMs),
    full_ms: median(fullMs),
    full_vs_naive: median(naiveMs) / median(fullMs),
    first_run_ms: cold,
    incremental: { edited_features: edited, layer: 'urban_plan', ms: incMs, closed: inc!.totals.closed, opened: inc!.totals.opened + inc!.totals.reopened, undo_ms: undoMs, undo_opened: undo!.totals.opened + undo!.totals.reopened },
    full_vs_incremental: median(fullMs) / incMs,
    rounds: { naive_ms: naiveMs, full_ms: fullMs, incremental_ms: incMsAll, undo_ms: undoMsAll },
  };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'conflicts.json'), JSON.stringify(out, null, 2));
  console.log(`
conflict detection, ${rules.rules.length} rules, ${out.patches} patches (${out.area_ha.toFixed(0)} ha), ${out.sliver_parts} slivers dropped
  naive overlay (ST_Intersects join, ST_Intersection, ST_Union)  ${(out.naive_ms / 1000).toFixed(2)} s
  full run                                                       ${(out.full_ms / 1000).toFixed(2)} s   → ${out.full_vs_naive.toFixed(2)}× faster (goal ≥ 3×)
  incremental run after editing ${edited} urban-plan blocks (1 %)     ${(incMs / 1000).toFixed(3)} s   → ${out.full_vs_incremental.toFixed(1)}× faster than full (goal ≥ 20×)
  totals agree within ${worst.toExponential(1)} (goal 1e-6)${cold !== null ? `; first run with the source index build ${(cold / 1000).toFixed(2)} s` : ''}`);
} finally {
  await db.close();
}
