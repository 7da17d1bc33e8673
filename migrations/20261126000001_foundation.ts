// Foundation: PostGIS, the schema that holds one table per registry layer, and the per-layer
// revision counter that tile caches and ETags are keyed to.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS postgis');
  await knex.raw('CREATE SCHEMA IF NOT EXISTS plan');
  await knex.schema.createTable('layer_revisions', (t) => {
    t.text('layer_id').notNullable();
    t.integer('revision').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('reason').notNullable();
    t.integer('feature_count').notNullable();
    t.double('area_m2');
    t.primary(['layer_id', 'revision']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('layer_revisions');
  await knex.raw('DROP SCHEMA IF EXISTS plan CASCADE');
}
