// Conflict detection in PostGIS: every rule of layers/conflict-rules.json overlaid in set-based
// SQL, one run in ONE transaction (readers see the previous results until it commits, and a
// failed run leaves nothing), runs serialised so that any number of service instances can ask
// for one.
//
// A piece is the intersection of one feature of side a with one feature of side b within one
// district. Its id is stable: md5(rule, content key of a, content key of b, district), where a
// content key is md5(class code, geometry on a 1 mm grid); the same conflict keeps its id (and so
// its ledger case) as long as both source features are unchanged, whatever their fids.
//
// A run, top to bottom (each step its own module):
//   the record and the locks ............................................ run.ts
//   the plan: what changed since the last run, full or incremental, which rules ... plan.ts
//   the districts as a partition, rebuilt when they change ............... districts.ts
//   the sources: content keys and overlap pairs, from the write log or compared whole ... sources.ts
//   the overlay: pairs, districts, overlaps, slivers (steps 1-4) ......... overlay.ts
//   the ledger: cases opened, closed as resolved by data, reopened (step 5) ... ledger-sync.ts
//   the totals per rule ................................................ totals.ts
// A full run writes only the pieces whose result differs from what is stored, so re-running over
// unchanged data changes nothing; every step of an incremental run touches only the changed
// features, their overlap neighbours and the pieces made from them. A full run right after an
// incremental one finds the same pieces, ids and geometries.
import type { Knex } from 'knex';
import type { Layer, Registry } from '../layers/registry';
import { log } from '../platform/log';
import { buildDistricts, districtsMissing } from './districts';
import { syncLedger, retireRules, type LedgerMoves } from './ledger-sync';
import { computeRules } from './overlay';
import { mirrorRules, planRun, settle } from './plan';
import type { RuleSet } from './rules';
import { recordFailure, recordInterrupted, startRun, takeTurn, type RunRequest } from './run';
import type { RuleStats, RunResult } from './schemas';
import { recoverSources, followWrites, syncSources } from './sources';
import { NO_SUMS, ruleTotals, type Moved } from './totals';

export type { RunRequest } from './run';

export class ConflictEngine {
  constructor(
    private readonly knex: Knex,
    readonly registry: Registry,
    readonly rules: RuleSet,
  ) {}

  private get districts(): Layer {
    const d = this.registry.byId.get('districts');
    if (!d) throw new Error("conflict detection needs the 'districts' layer in the registry");
    return d;
  }

  /** True once a run has succeeded (incremental catch-up needs a base). */
  async hasBase(): Promise<boolean> {
    const r = await this.knex('conflict_state').first('layer_id');
    return r !== undefined;
  }

  /** One run: recorded, planned, done in one transaction; a failure is recorded with PostgreSQL's message and thrown. */
  async run(req: RunRequest): Promise<RunResult> {
    const started = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
    const { id, release } = await startRun(this.knex, req, this.rules.rules.map((r) => r.id));
    try {
      const fresh = await followWrites(this.knex, this.rules.layers.map((l) => l.id));
      const result = await this.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL statement_timeout = 0');
        await takeTurn(trx);
        await recordInterrupted(trx, id);
        return this.work(trx, id, req, fresh);
      });
      result.duration_ms = ms();
      await this.knex('conflict_runs').where({ id }).update({ duration_ms: result.duration_ms });
      log.info({ run: id, mode: result.mode, status: result.status, ms: Math.round(result.duration_ms), changed: result.changedLayers, totals: result.totals }, 'conflicts: run finished');
      return result;
    } catch (err) {
      await recordFailure(this.knex, id, err, ms());
      log.error({ err, run: id }, 'conflicts: run failed');
      throw err;
    } finally {
      await release();
    }
  }

  /** The run's work inside its transaction. */
  private async work(trx: Knex.Transaction, runId: number, req: RunRequest, fresh: Set<string>): Promise<RunResult> {
    const plan = await planRun(trx, this.rules, this.districts, req.mode, fresh);
    await mirrorRules(trx, this.rules);
    await trx('conflict_runs').where({ id: runId }).update({ mode: plan.mode, layers: JSON.stringify(plan.layers) });

    if (plan.districtsChanged || (await districtsMissing(trx))) await buildDistricts(trx, this.districts);

    await trx.raw('CREATE TEMP TABLE cf_changed (layer_id text, fid bigint, change text, key uuid) ON COMMIT DROP');
    await trx.raw('CREATE TEMP TABLE cf_partner (layer_id text, fid bigint) ON COMMIT DROP');
    for (const s of plan.sources) await syncSources(trx, s.layer, s.compare);
    if (!plan.first && plan.districtsChanged) await recoverSources(trx, this.rules.layers);
    await trx.raw('CREATE INDEX ON cf_changed (layer_id, change, fid)');
    await trx.raw('CREATE INDEX ON cf_partner (layer_id, fid)');
    await trx.raw('ANALYZE cf_changed');
    await trx.raw('ANALYZE cf_partner');

    // What removed and rewritten pieces held (for the ledger), and which pieces the run touched.
    await trx.raw('CREATE TEMP TABLE cf_old (id uuid PRIMARY KEY, geom geometry, area_m2 double precision, a_fid bigint, b_fid bigint) ON COMMIT DROP');
    await trx.raw('CREATE TEMP TABLE cf_touched (rule_id text, id uuid, PRIMARY KEY (rule_id, id)) ON COMMIT DROP');
    const moves: Record<string, LedgerMoves> = Object.fromEntries(plan.idle.map((r) => [r.id, { opened: 0, closed: 0, reopened: 0, recomputed: 'none' }]));
    let moved: Moved | null = null;
    if (plan.work.length) {
      moved = await computeRules(trx, plan.work, runId, plan.small);
      Object.assign(moves, await syncLedger(trx, plan.work, runId));
    }
    await retireRules(trx, this.rules, runId);
    await settle(trx, plan, this.rules, runId);

    // The totals: moved from the previous run's when only rules around the changes were recomputed.
    const aroundOnly = plan.mode === 'incremental' && moved !== null && plan.work.every((w) => !w.whole);
    const sums = await ruleTotals(trx, runId, this.rules.rules, aroundOnly ? moved : null);
    const stats: Record<string, RuleStats> = {};
    for (const rule of this.rules.rules) stats[rule.id] = { ...(sums.get(rule.id) ?? NO_SUMS), ...moves[rule.id] };
    const sum = (k: Exclude<keyof RuleStats, 'recomputed'>) => Object.values(stats).reduce((s, r) => s + r[k], 0);
    const totals = {
      patches: sum('patches'),
      area_m2: sum('area_m2'),
      sliver_parts: sum('sliver_parts'),
      sliver_area_m2: sum('sliver_area_m2'),
      opened: sum('opened'),
      closed: sum('closed'),
      reopened: sum('reopened'),
    };
    // The published layer changed (tile caches, ETags): announced last, see conflicts_bump.
    if (plan.mode === 'full' || (await trx.raw('SELECT EXISTS (SELECT 1 FROM cf_touched) AS t')).rows[0].t) await trx.raw('SELECT conflicts_bump()');
    await trx('conflict_runs')
      .where({ id: runId })
      .update({ status: 'succeeded', finished_at: trx.fn.now(), stats: JSON.stringify({ changedLayers: plan.changed, totals, rules: stats }) });
    return { id: runId, mode: plan.mode, status: 'succeeded', duration_ms: 0, changedLayers: plan.changed, rules: stats, totals, layers: plan.layers };
  }
}
