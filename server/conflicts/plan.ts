// The plan of a run: where the layers stand now and where they stood when the last run ended,
// and so what this run does.
//   - The layers that changed: their data version moved since the last run, or the write log has
//     rows of them (a write may commit between the two readings).
//   - Full or incremental: a full run is asked for, or there is no previous run to build on, or
//     the districts changed (every piece may move to another district); otherwise incremental.
//   - Per source layer, whether it is brought up to date from the write log or compared whole:
//     whole in a full run (it is the way back to a known state, whatever happened), for a layer new
//     to the rules or to the log, or truncated (the log cannot say what went).
//   - Per rule: recomputed whole (a full run, or a rule whose definition is new or changed),
//     around the changes (one of its layers changed), or not at all.
// The write log as the run sees it is copied into cf_dirty: exactly those rows are consumed at
// the end (settle), whatever is logged meanwhile.
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import type { Rule, RuleSet } from './rules';
import type { RunMode } from './vocabulary';

/** Up to this many rows in the write log, an incremental run's plans are index-driven nested loops. */
const SMALL_CHANGE = 20_000;

export interface LayerState {
  version: number;
  revision: number;
}

/** A rule a run recomputes: whole, or around the changes; the layer revision that resolves what vanishes. */
export interface Planned {
  rule: Rule;
  whole: boolean;
  by: { layer: string; revision: number } | null;
}

export interface Plan {
  mode: RunMode;
  /** Every layer the run reads (the rules' and the districts) and where it stands. */
  layers: Record<string, LayerState>;
  /** Those whose content changed since the previous run (all of them for a first run). */
  changed: string[];
  /** No run succeeded before. */
  first: boolean;
  districtsChanged: boolean;
  /** The source layers to bring up to date, and how. */
  sources: { layer: Layer; compare: boolean }[];
  work: Planned[];
  /** The rules this run leaves as they are. */
  idle: Rule[];
  /** Few enough logged writes for index-driven statements (see overlay.ts). */
  small: boolean;
}

/** Plans the run; `fresh` are the layers the write log has only just begun to follow. */
export async function planRun(trx: Knex.Transaction, rules: RuleSet, districts: Layer, requested: RunMode, fresh: Set<string>): Promise<Plan> {
  const tracked = [...rules.layers.map((l) => l.id), districts.id];
  const { rows: now } = await trx.raw<{ rows: { layer_id: string; version: string; revision: number | null; logged: boolean }[] }>(
    `SELECT l.id AS layer_id, COALESCE(v.version, 0) AS version,
            (SELECT max(revision) FROM layer_revisions r WHERE r.layer_id = l.id) AS revision,
            EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = l.id || '_dirty_ins') AND EXISTS (SELECT 1 FROM conflict_logged_layers g WHERE g.layer_id = l.id) AS logged
       FROM unnest(?::text[]) AS l(id) LEFT JOIN layer_versions v ON v.layer_id = l.id`,
    [tracked],
  );
  const layers = Object.fromEntries(now.map((r) => [r.layer_id, { version: Number(r.version), revision: r.revision ?? 0 }]));
  // Layers whose writes were logged since the last run (not those the log has only just begun to follow).
  const logged = new Set(now.filter((r) => r.logged && !fresh.has(r.layer_id)).map((r) => r.layer_id));
  const state = new Map((await trx('conflict_state').select<{ layer_id: string; version: string }[]>('layer_id', 'version')).map((r) => [r.layer_id, Number(r.version)]));

  await trx.raw('CREATE TEMP TABLE cf_dirty ON COMMIT DROP AS SELECT id, layer_id, fid, op FROM conflict_dirty');
  await trx.raw('CREATE INDEX ON cf_dirty (layer_id, fid)');
  const { rows: dirty } = await trx.raw<{ rows: { layer_id: string; n: string; truncated: boolean }[] }>(
    `SELECT layer_id, count(*) AS n, bool_or(op = 'T') AS truncated FROM cf_dirty GROUP BY layer_id`,
  );
  const changed = tracked.filter((id) => state.get(id) !== layers[id].version || dirty.some((d) => d.layer_id === id));

  // The rules as applied last time: a new or changed definition is recomputed in full.
  const { rows: applied } = await trx.raw<{ rows: { id: string; definition_hash: string; applied_run: number | null }[] }>(
    'SELECT id, definition_hash, applied_run FROM conflict_rules',
  );
  const appliedHash = new Map(applied.filter((r) => r.applied_run !== null).map((r) => [r.id, r.definition_hash]));

  const first = state.size === 0;
  const districtsChanged = first || changed.includes(districts.id);
  const full = requested === 'full' || districtsChanged;
  const truncated = new Set(dirty.filter((d) => d.truncated).map((d) => d.layer_id));
  const sources = rules.layers
    .filter((l) => full || changed.includes(l.id))
    .map((layer) => ({ layer, compare: full || !state.has(layer.id) || !logged.has(layer.id) || truncated.has(layer.id) }));

  const work: Planned[] = [];
  const idle: Rule[] = [];
  for (const rule of rules.rules) {
    const whole = full || appliedHash.get(rule.id) !== rule.hash;
    const aChanged = changed.includes(rule.a.layer.id);
    const bChanged = changed.includes(rule.b.layer.id);
    if (!whole && !aChanged && !bChanged) {
      idle.push(rule);
      continue;
    }
    // The layer whose new content resolved a vanished patch (a's if both changed).
    const by = aChanged ? rule.a.layer.id : bChanged ? rule.b.layer.id : null;
    work.push({ rule, whole, by: by ? { layer: by, revision: layers[by].revision } : null });
  }
  const loggedRows = dirty.reduce((n, d) => n + Number(d.n), 0);
  return { mode: full ? 'full' : 'incremental', layers, changed, first, districtsChanged, sources, work, idle, small: loggedRows <= SMALL_CHANGE };
}

/** conflict_rules mirrors the rules file (what the published view, the ledger and the next plan read). */
export async function mirrorRules(trx: Knex.Transaction, rules: RuleSet): Promise<void> {
  const rows = rules.rules.map((r) => ({
    id: r.id,
    zh: r.zh,
    en: r.en,
    kind: r.kind,
    severity: r.severity,
    departments: r.departments,
    a_layer: r.a.layer.id,
    a_codes: r.a.codes,
    b_layer: r.b.layer.id,
    b_codes: r.b.codes,
    min_area_m2: r.min_area_m2,
    min_thinness: r.min_thinness,
    definition_hash: r.hash,
    active: true,
  }));
  await trx('conflict_rules').insert(rows).onConflict('id').merge(Object.keys(rows[0]).filter((k) => k !== 'id'));
}

/** What the next plan starts from: the write log this run saw is consumed, the layers' versions and the rules recorded as applied. */
export async function settle(trx: Knex.Transaction, plan: Plan, rules: RuleSet, runId: number): Promise<void> {
  await trx.raw('DELETE FROM conflict_dirty WHERE id = ANY(ARRAY(SELECT id FROM cf_dirty))');
  await trx('conflict_state')
    .insert(Object.entries(plan.layers).map(([id, l]) => ({ layer_id: id, version: l.version, revision: l.revision, run_id: runId })))
    .onConflict('layer_id')
    .merge();
  await trx('conflict_rules').whereIn('id', rules.rules.map((r) => r.id)).update({ applied_run: runId });
}
