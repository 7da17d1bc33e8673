// A run's totals per rule: patches (pieces with a geometry), their area (m²), and the slivers
// dropped (polygons, m²). A run that recomputed rules only around the changes takes the previous
// run's totals plus what its changes added and removed (reading every piece costs 15-30 ms on the
// large data set); any other run sums the stored pieces.
import type { Knex } from 'knex';
import type { Rule } from './rules';

export interface Sums {
  patches: number;
  area_m2: number;
  sliver_parts: number;
  sliver_area_m2: number;
}

/** Sums per rule as SQL gives them (counts as text, sums null over no rows). */
export interface SumRow {
  rule_id: string;
  patches: string;
  area_m2: number | null;
  sliver_parts: string | null;
  sliver_area_m2: number | null;
}

export const NO_SUMS: Sums = { patches: 0, area_m2: 0, sliver_parts: 0, sliver_area_m2: 0 };

const toSums = (r: SumRow): Sums => ({ patches: Number(r.patches), area_m2: r.area_m2 ?? 0, sliver_parts: Number(r.sliver_parts ?? 0), sliver_area_m2: r.sliver_area_m2 ?? 0 });
const plus = (a: Sums, b: Sums, sign = 1): Sums => ({
  patches: a.patches + sign * b.patches,
  area_m2: a.area_m2 + sign * b.area_m2,
  sliver_parts: a.sliver_parts + sign * b.sliver_parts,
  sliver_area_m2: a.sliver_area_m2 + sign * b.sliver_area_m2,
});

/** What pieces held before a run changed them, and after, per rule (incremental rules only). */
export class Moved {
  readonly before = new Map<string, Sums>();
  readonly after = new Map<string, Sums>();

  /** Adds rows of sums to one side. */
  add(side: 'before' | 'after', rows: SumRow[]): void {
    const into = this[side];
    for (const row of rows) into.set(row.rule_id, plus(into.get(row.rule_id) ?? NO_SUMS, toSums(row)));
  }
}

/**
 * The totals per rule after a run: the previous successful run's moved by `moved` when it has
 * them for every rule, else (or without `moved`) the sums of the stored pieces.
 */
export async function ruleTotals(trx: Knex.Transaction, runId: number, rules: Rule[], moved: Moved | null): Promise<Map<string, Sums>> {
  if (moved) {
    const { rows } = await trx.raw<{ rows: { rules: Record<string, Partial<Sums>> | null }[] }>(
      `SELECT stats->'rules' AS rules FROM conflict_runs WHERE status = 'succeeded' AND id <> ? ORDER BY id DESC LIMIT 1`,
      [runId],
    );
    const prev = rows[0]?.rules;
    const known = (r: Partial<Sums> | undefined): r is Sums => r !== undefined && [r.patches, r.area_m2, r.sliver_parts, r.sliver_area_m2].every((v) => typeof v === 'number');
    if (prev && rules.every((rule) => known(prev[rule.id]))) {
      return new Map(rules.map((rule) => [rule.id, plus(plus(prev[rule.id] as Sums, moved.after.get(rule.id) ?? NO_SUMS), moved.before.get(rule.id) ?? NO_SUMS, -1)]));
    }
  }
  const { rows } = await trx.raw<{ rows: SumRow[] }>(
    `SELECT rule_id, count(*) FILTER (WHERE geom IS NOT NULL) AS patches, sum(area_m2) AS area_m2, sum(sliver_parts) AS sliver_parts, sum(sliver_area_m2) AS sliver_area_m2
       FROM conflict_pieces GROUP BY rule_id`,
  );
  return new Map(rows.map((r) => [r.rule_id, toSums(r)]));
}
