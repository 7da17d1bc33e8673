// Conflict detection, for incremental runs that take time proportional to the change:
//   conflict_sources_key     the source index looked up by content key: an incremental run asks,
//                            for the features that changed, whether another feature of the layer
//                            has the content one of them had (an identical feature made the same
//                            pieces, kept once, under the one that left); without this index that
//                            question read the whole layer's keys (~10 ms on 60,000 features);
//   conflict_pieces_trimmed  the few pieces that an earlier piece of their rule trims (50 of 38,000
//                            on the large data set): an incremental run re-trims those near a change.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('SET LOCAL statement_timeout = 0');
  await knex.raw('CREATE INDEX IF NOT EXISTS conflict_sources_key ON conflict_sources (layer_id, key)');
  await knex.raw('CREATE INDEX IF NOT EXISTS conflict_pieces_trimmed ON conflict_pieces (rule_id) WHERE trimmed');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS conflict_pieces_trimmed');
  await knex.raw('DROP INDEX IF EXISTS conflict_sources_key');
}
