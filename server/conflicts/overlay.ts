// Steps 1-4 of a run, for all the rules it recomputes at once (SQL in sql/overlay.sql): one
// overlay statement per rule recomputed whole (each runs in parallel workers), those of the rules
// recomputed around the changes as one; then every later step as one statement over all of them,
// each rule's parameters in the temporary table cf_rules.
//   1. pairs: a && b, then the overlay with its measures;
//   2. districts: a pair not wholly in one district is cut by district (or kept as outside);
//   3. overlaps: two pieces of a rule can only overlap if their a features overlap (or are one)
//      and their b features overlap (or are one); such pairs are few (sources.ts keeps them), and
//      the later piece (by id) loses what the earlier one covers: no area is counted twice;
//   4. slivers: each polygon smaller than the rule's min_area_m2 or thinner than its min_thinness
//      is dropped and counted.
// A rule recomputed whole has every pair computed, and its stored pieces change only where the
// result differs (a full run over unchanged data writes nothing); one recomputed around the
// changes loses the pieces of features that left, gains those of new features, and the pieces
// around them (overlap neighbours) are trimmed again. Every piece written or removed is noted in
// cf_touched, and what a removed or rewritten piece was in cf_old (for the ledger).
import type { Knex } from 'knex';
import { layerTable } from '../platform/sql';
import type { Planned } from './plan';
import { Moved, type SumRow } from './totals';
import { statements } from './statements';
import { OUTSIDE } from './vocabulary';

const SQL = statements('overlay', [
  'rules_table', 'drop_gone', 'pairs', 'every_pair', 'new_a', 'new_b_only', 'cut_by_district', 'dedupe', 'store_new', 'seeds', 'seeds_around', 'whole_pairs',
  'seed_pairs', 'all_seeds', 'new_seeds', 'more_seeds', 'candidates', 'raw', 'valid', 'trim', 'final', 'write_whole_gone', 'write_whole_new', 'write_incremental',
] as const);

/**
 * Recomputes the planned rules; `small` (a few thousand logged rows at most) lets an incremental
 * run drive every statement from the changes into the stored tables' indexes. Returns what the
 * pieces of incremental rules held before and after (the run's totals follow from them).
 */
export async function computeRules(trx: Knex.Transaction, work: Planned[], runId: number, small: boolean): Promise<Moved> {
  const moved = new Moved();
  const whole = work.filter((w) => w.whole);
  const incremental = whole.length < work.length;
  await trx.raw(SQL.rules_table);
  await trx('cf_rules').insert(
    work.map((w) => ({
      rule_id: w.rule.id,
      a_layer: w.rule.a.layer.id,
      b_layer: w.rule.b.layer.id,
      min_area: w.rule.min_area_m2,
      min_thin: w.rule.min_thinness,
      whole: w.whole,
      resolved_layer: w.by?.layer ?? null,
      resolved_revision: w.by?.revision ?? null,
    })),
  );
  await trx.raw('ANALYZE cf_rules');
  // An incremental run's statements are small: starting parallel workers would cost more than they
  // save. For a small change set every statement is driven from a few hundred or thousand rows
  // into the indexes of the stored tables; the planner, misled by temporary tables it knows little
  // about, would otherwise hash whole stored tables (each join ~10-30 ms on the large data set).
  if (!whole.length) {
    await trx.raw('SET LOCAL max_parallel_workers_per_gather = 0');
    if (small) {
      await trx.raw('SET LOCAL enable_hashjoin = off');
      await trx.raw('SET LOCAL enable_mergejoin = off');
    }
  }
  if (incremental) moved.add('before', (await trx.raw<{ rows: SumRow[] }>(SQL.drop_gone)).rows);

  // 1. pairs, one statement per rule recomputed whole; those around the changes as one.
  const pairs = (w: Planned, scope: Knex.Raw) =>
    trx.raw(SQL.pairs, {
      rule: w.rule.id,
      a_table: trx.raw(layerTable(w.rule.a.layer.id)),
      b_table: trx.raw(layerTable(w.rule.b.layer.id)),
      a_layer: w.rule.a.layer.id,
      b_layer: w.rule.b.layer.id,
      a_codes: w.rule.a.codes,
      b_codes: w.rule.b.codes,
      scope,
    });
  const parts: Knex.Raw[] = [];
  for (const [i, w] of whole.entries()) {
    await trx.raw(`CREATE TEMP TABLE cf_p${i} ON COMMIT DROP AS ?`, [pairs(w, trx.raw(SQL.every_pair))]);
    parts.push(trx.raw(`SELECT * FROM cf_p${i} WHERE n > 0`));
  }
  const around = work
    .filter((w) => !w.whole)
    .flatMap((w) => {
      const layers = { a_layer: w.rule.a.layer.id, b_layer: w.rule.b.layer.id };
      return [pairs(w, trx.raw(SQL.new_a, layers)), pairs(w, trx.raw(SQL.new_b_only, layers))];
    });
  if (around.length) parts.push(trx.raw(`SELECT * FROM (${around.map(() => '?').join(' UNION ALL ')}) x WHERE n > 0`, around));
  await trx.raw(`CREATE TEMP TABLE cf_p ON COMMIT DROP AS ${parts.map(() => '?').join(' UNION ALL ')}`, parts);
  if (whole.length) await trx.raw(`DROP TABLE ${whole.map((_, i) => `cf_p${i}`).join(', ')}`);

  // 2. districts.
  await trx.raw(SQL.cut_by_district, { outside: OUTSIDE });
  await trx.raw('DELETE FROM cf_p WHERE adcode IS NULL');
  await trx.raw(SQL.dedupe);
  await trx.raw('CREATE UNIQUE INDEX ON cf_p (id)');
  await trx.raw('CREATE INDEX ON cf_p (rule_id, b_fid)');
  await trx.raw('CREATE INDEX ON cf_p (rule_id, a_fid)');
  await trx.raw('ANALYZE cf_p (rule_id, id, adcode, a_fid, b_fid)'); // not the geometry: its statistics are costly and unused

  // 3. overlaps: the seeds (pieces whose trimming is computed again), their candidate pairs, the
  //    geometries concerned, made valid, and the trimmed pieces.
  await trx.raw(SQL.store_new, { run: runId });
  await trx.raw(SQL.seeds);
  if (incremental) await trx.raw(SQL.seeds_around);
  await trx.raw('CREATE INDEX ON cf_seed (id)');
  const seedPairs = (seeds: string) => trx.raw(SQL.seed_pairs, { seeds: trx.raw(seeds) });
  if (incremental) {
    await trx.raw(SQL.more_seeds, { pairs: seedPairs(SQL.new_seeds) });
    await trx.raw('ANALYZE cf_seed');
  }
  const candidates = [...(whole.length ? [trx.raw(SQL.whole_pairs)] : []), ...(incremental ? [seedPairs(SQL.all_seeds)] : [])];
  await trx.raw(SQL.candidates, { pairs: trx.raw(candidates.map(() => '?').join(' UNION '), candidates) });
  await trx.raw('ANALYZE cf_cand');
  await trx.raw(SQL.raw);
  await trx.raw('CREATE UNIQUE INDEX ON cf_raw (id)');
  await trx.raw(SQL.valid);
  await trx.raw('CREATE UNIQUE INDEX ON cf_valid (id)');
  await trx.raw(SQL.trim);
  await trx.raw('CREATE UNIQUE INDEX ON cf_trim (id)');

  // 4. polygons and slivers, then the writes.
  await trx.raw(SQL.final);
  await trx.raw('CREATE UNIQUE INDEX ON cf_final (id)');
  await trx.raw(SQL.write_whole_gone);
  await trx.raw(SQL.write_whole_new, { run: runId });
  if (incremental) {
    const { rows } = await trx.raw<{ rows: (SumRow & { k: 'before' | 'after' })[] }>(SQL.write_incremental, { run: runId });
    moved.add('before', rows.filter((r) => r.k === 'before'));
    moved.add('after', rows.filter((r) => r.k === 'after'));
  }
  await trx.raw('DROP TABLE cf_p, cf_seed, cf_cand, cf_raw, cf_valid, cf_trim, cf_final');
  return moved;
}
