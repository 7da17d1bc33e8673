// Step 5 of a run: the ledger follows the patches (SQL in sql/ledger-sync.sql). New patch ids
// open a case (待协调), vanished ones close theirs as resolved by data (with the layer revision that
// did it, keeping the last geometry, area and source features), ids that come back reopen theirs.
// For a rule recomputed whole every case and patch of the rule is checked (the ledger is made
// consistent, whatever happened to it), for an incremental one only the pieces this run touched.
// A rule no longer in the rules file is retired: its patches go, its open cases close.
import type { Knex } from 'knex';
import type { Planned } from './plan';
import type { RuleSet } from './rules';
import { statements } from './statements';
import type { Recomputed } from './vocabulary';

const SQL = statements('ledger-sync', ['reopen', 'open', 'close', 'retire'] as const);

/** What a run did to the ledger of one rule. */
export interface LedgerMoves {
  opened: number;
  closed: number;
  reopened: number;
  recomputed: Recomputed;
}

type Counts = { rule_id: string; n: string }[];

/** Opens, closes and reopens the cases of the rules recomputed; returns the moves per rule. */
export async function syncLedger(trx: Knex.Transaction, work: Planned[], runId: number): Promise<Record<string, LedgerMoves>> {
  const scope = { whole: work.filter((w) => w.whole).map((w) => w.rule.id), incr: work.filter((w) => !w.whole).map((w) => w.rule.id), run: runId };
  const resolvedBy = work.filter((w) => w.by);
  const closed = await closeVanished(trx, {
    ...scope,
    resolved_rules: resolvedBy.map((w) => w.rule.id),
    resolved_layers: resolvedBy.map((w) => w.by!.layer),
    resolved_revisions: resolvedBy.map((w) => w.by!.revision),
    note: null,
  });
  const reopened = (await trx.raw<{ rows: Counts }>(SQL.reopen, scope)).rows;
  const opened = (await trx.raw<{ rows: Counts }>(SQL.open, scope)).rows;
  const count = (rows: Counts, id: string) => Number(rows.find((r) => r.rule_id === id)?.n ?? 0);
  return Object.fromEntries(
    work.map((w) => [w.rule.id, { opened: count(opened, w.rule.id), closed: count(closed, w.rule.id), reopened: count(reopened, w.rule.id), recomputed: w.whole ? 'full' : 'incremental' }]),
  );
}

/** Rules no longer in the file: their patches go, their open cases close (no revision to point at), and they are forgotten as applied. */
export async function retireRules(trx: Knex.Transaction, rules: RuleSet, runId: number): Promise<void> {
  const { rows } = await trx.raw<{ rows: { id: string }[] }>('SELECT id FROM conflict_rules WHERE active AND NOT (id = ANY(?))', [rules.rules.map((r) => r.id)]);
  for (const { id } of rows) {
    await trx.raw(SQL.retire, { rule: id });
    await closeVanished(trx, { whole: [id], incr: [], run: runId, resolved_rules: [], resolved_layers: [], resolved_revisions: [], note: 'the rule was removed from layers/conflict-rules.json' });
    // If the rule comes back, it is recomputed whole.
    await trx('conflict_rules').where({ id }).update({ active: false, applied_run: null });
  }
}

/** Closes the open cases whose patch is gone (see sql/ledger-sync.sql, close); the count per rule. */
async function closeVanished(trx: Knex.Transaction, b: Record<string, string[] | number[] | number | string | null>): Promise<Counts> {
  return (await trx.raw<{ rows: Counts }>(SQL.close, b)).rows;
}
