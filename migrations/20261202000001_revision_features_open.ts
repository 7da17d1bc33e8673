// The snapshot store's partial index on the open rows' content hashes goes: nothing looks a row up
// by its hash (a commit reads all of a layer's open rows with their hashes, which the
// (layer_id, revision_to) index serves), and keeping a B-tree of random 128-bit keys was the
// dearest part of writing a revision: of the 2.4 s that 324,867 snapshot rows took to insert on
// the benchmark machine, ~1.3 s (bench/import.ts, "the writes alone").
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS revision_features_open');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS revision_features_open ON revision_features (layer_id, hash) WHERE revision_to IS NULL');
}
