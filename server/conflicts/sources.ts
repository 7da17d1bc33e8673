// The source features of a run, and the write log that says which of them changed.
//
// conflict_sources keeps, per feature of a layer some rule reads, its content key (the class code
// and the geometry on a 1 mm grid: conflict_content_key in migrations/functions/conflicts.sql) and
// the district that wholly contains it; conflict_source_overlaps the pairs of features of one
// layer whose interiors overlap (rare: plans tile the land). A run brings both up to the layers'
// content, and records what changed in cf_changed ('gone' and 'new' fids) and the overlap
// partners of those in cf_partner, for the overlay. SQL in sql/sources.sql.
//
// What changed is read from the write log (conflict_dirty: the fids the plan tables' triggers
// logged since the last run) or, when the log cannot say, found by comparing every feature's
// content key with the stored one.
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { log } from '../platform/log';
import { layerTable } from '../platform/sql';
import { districtOfT } from './districts';
import { takeTurn } from './run';
import { statements } from './statements';

const SQL = statements('sources', [
  'compare_keys', 'compare_gone', 'compare_new', 'log_gone', 'log_new', 'twins', 'partners', 'forget_overlaps', 'find_overlaps', 'overlaps_by_relate',
  'overlaps_by_overlay', 'recover',
] as const);

/**
 * Makes the write log follow exactly the layers the rules read (conflict_logged_layers, read by
 * the triggers' function) and returns those it did not follow until now: their earlier writes
 * were not logged, so the run compares them whole. In a short transaction of its own, before the
 * run's: a write committed while the run works must already be logged, for the next run.
 */
export async function followWrites(knex: Knex, layerIds: string[]): Promise<Set<string>> {
  return knex.transaction(async (trx) => {
    await takeTurn(trx);
    await trx('conflict_logged_layers').whereNotIn('layer_id', layerIds).delete();
    const added = await trx('conflict_logged_layers')
      .insert(layerIds.map((layer_id) => ({ layer_id })))
      .onConflict('layer_id')
      .ignore()
      .returning<{ layer_id: string }[]>('layer_id');
    return new Set(added.map((r) => r.layer_id));
  });
}

/**
 * Brings conflict_sources of one layer up to its content: compared whole (`compare`), or from the
 * write log (every fid written since the last run leaves and, if still there, comes back with its
 * current content). Then the overlap pairs of what left and what came.
 */
export async function syncSources(trx: Knex.Transaction, layer: Layer, compare: boolean): Promise<void> {
  const at = { layer: layer.id, table: trx.raw(layerTable(layer.id)), district_of_t: districtOfT(trx) };
  if (compare) {
    await trx.raw(SQL.compare_keys, at);
    await trx.raw('CREATE UNIQUE INDEX ON cf_cur (fid)');
    await trx.raw(SQL.compare_gone, at);
    await trx.raw(SQL.compare_new, at);
    await trx.raw('DROP TABLE cf_cur');
  } else {
    await trx.raw(SQL.log_gone, at);
    await trx.raw(SQL.log_new, at);
  }
  await trx.raw(SQL.twins, at);
  // The partners of features that left are remembered (their pieces may have been trimmed by the
  // ones that left), then the pairs of new features are found, and their partners.
  await trx.raw(SQL.partners, { ...at, change: 'gone' });
  await trx.raw(SQL.forget_overlaps, at);
  try {
    await trx.transaction((sp) => sp.raw(SQL.find_overlaps, { ...at, overlaps: sp.raw(SQL.overlaps_by_relate) }));
  } catch (err) {
    log.warn({ layer: layer.id, err: (err as Error).message.split(' - ').pop() }, 'conflicts: ST_Relate failed; finding overlaps by overlay');
    await trx.raw(SQL.find_overlaps, { ...at, overlaps: trx.raw(SQL.overlaps_by_overlay) });
  }
  await trx.raw(SQL.partners, { ...at, change: 'new' });
}

/** After the districts changed: every source's district is found again. */
export async function recoverSources(trx: Knex.Transaction, layers: Layer[]): Promise<void> {
  for (const l of layers) await trx.raw(SQL.recover, { layer: l.id, table: trx.raw(layerTable(l.id)), district_of_t: districtOfT(trx) });
}
