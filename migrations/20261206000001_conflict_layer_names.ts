// The conflicts layer (plan.conflicts) carries each patch's severity and its rule's English name
// beside the Chinese one (issue 15), so that a client reading the features (OGC API, tiles, exports)
// has them without the rule list: the view gains two columns at its end (CREATE OR REPLACE keeps the
// others). The registry entry layers/registry/conflicts.json names them.
import type { Knex } from 'knex';

const COLUMNS = `c.fid,
       r.severity AS code,
       p.id::text AS patch_id,
       p.rule_id,
       r.zh AS rule_zh,
       r.kind,
       c.status,
       c.decision,
       COALESCE(c.district, '区外') AS district,
       p.adcode,
       p.a_layer,
       p.a_fid::integer AS a_fid,
       p.a_code,
       p.b_layer,
       p.b_fid::integer AS b_fid,
       p.b_code,
       round(p.thinness::numeric, 4)::double precision AS thinness,
       p.geom,
       p.area_m2,
       c.updated_at`;
const FROM = `
  FROM conflict_pieces p
  JOIN conflict_cases c ON c.id = p.id
  JOIN conflict_rules r ON r.id = p.rule_id
 WHERE p.geom IS NOT NULL`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE OR REPLACE VIEW plan.conflicts AS SELECT ${COLUMNS}, r.severity, r.en AS rule_en ${FROM}`);
}

export async function down(knex: Knex): Promise<void> {
  // A view cannot drop columns in place: made again as it was.
  await knex.raw('DROP VIEW plan.conflicts');
  await knex.raw(`CREATE VIEW plan.conflicts AS SELECT ${COLUMNS} ${FROM}`);
}
