// Districts (step 2 of a run): the 2015 districts made a partition (each minus those before it by
// division code), kept whole (conflict_districts) and in small parts (conflict_district_parts),
// so that every patch lies in exactly one district, or outside them all; rebuilt when the
// districts layer changes. SQL in sql/districts.sql.
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { layerTable } from '../platform/sql';
import { statements } from './statements';

const SQL = statements('districts', ['partition', 'parts', 'district_of_t'] as const);

/** Partition parts are cut to at most this many vertices (fast CoveredBy tests and overlays). */
const PART_VERTICES = 128;

/** An SQL fragment: the district (adcode) that wholly contains `t.geom`, or NULL. */
export const districtOfT = (knex: Knex) => knex.raw(SQL.district_of_t);

/** Rebuilds the partition from the districts layer. */
export async function buildDistricts(trx: Knex.Transaction, districts: Layer): Promise<void> {
  await trx.raw('TRUNCATE conflict_districts, conflict_district_parts RESTART IDENTITY');
  await trx.raw(SQL.partition, { table: trx.raw(layerTable(districts.id)) });
  await trx.raw(SQL.parts, { vertices: PART_VERTICES });
  await trx.raw('ANALYZE conflict_districts');
  await trx.raw('ANALYZE conflict_district_parts');
}

/** Whether the partition was never built (a database whose first run failed, or a test that emptied it). */
export async function districtsMissing(trx: Knex.Transaction): Promise<boolean> {
  return !(await trx('conflict_district_parts').first('part'));
}
