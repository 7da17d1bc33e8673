// Start-up check: the registry and the database must agree, table by table and column by
// column. Any mismatch is named, and the server refuses to run.
import type { Knex } from 'knex';
import { LAYER_SCHEMA } from '../platform/sql';
import { type Registry, RESERVED_COLUMNS, sqlType } from './registry';

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
}

/** Lists every difference between the registry and the database (empty when they agree). */
export async function registryMismatches(knex: Knex, registry: Registry): Promise<string[]> {
  const problems: string[] = [];
  const cols = (
    await knex.raw<{ rows: ColumnRow[] }>(
      'SELECT table_name, column_name, data_type, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = ?',
      [LAYER_SCHEMA],
    )
  ).rows;
  const geoms = (
    await knex.raw<{ rows: { f_table_name: string; type: string; srid: number }[] }>(
      'SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema = ? AND f_geometry_column = ?',
      [LAYER_SCHEMA, 'geom'],
    )
  ).rows;
  const gist = new Set(
    (
      await knex.raw<{ rows: { tablename: string }[] }>(
        "SELECT tablename FROM pg_indexes WHERE schemaname = ? AND indexdef ILIKE '%USING gist (geom)%'",
        [LAYER_SCHEMA],
      )
    ).rows.map((r) => r.tablename),
  );
  const byTable = new Map<string, Map<string, ColumnRow>>();
  for (const c of cols) {
    if (!byTable.has(c.table_name)) byTable.set(c.table_name, new Map());
    byTable.get(c.table_name)!.set(c.column_name, c);
  }
  for (const layer of registry.layers) {
    const table = byTable.get(layer.id);
    if (!table) {
      problems.push(`layer '${layer.id}': table ${LAYER_SCHEMA}.${layer.id} is missing (add a migration)`);
      continue;
    }
    for (const a of layer.attributes) {
      const c = table.get(a.name);
      if (!c) problems.push(`layer '${layer.id}': attribute '${a.name}' has no column`);
      else if (c.data_type !== sqlType[a.type]) problems.push(`layer '${layer.id}': column '${a.name}' is ${c.data_type}, registry says ${a.type} (${sqlType[a.type]})`);
      // A derived layer is a view: PostgreSQL reports every view column as nullable.
      else if (a.required && c.is_nullable === 'YES' && !layer.derived) problems.push(`layer '${layer.id}': column '${a.name}' is nullable but the registry requires it`);
    }
    for (const name of table.keys()) {
      if (!RESERVED_COLUMNS.includes(name) && !layer.attributes.some((a) => a.name === name)) {
        problems.push(`layer '${layer.id}': column '${name}' is not in the registry`);
      }
    }
    if (!table.has('code')) problems.push(`layer '${layer.id}': column 'code' is missing`);
    const g = geoms.find((r) => r.f_table_name === layer.id);
    if (!g) problems.push(`layer '${layer.id}': geometry column 'geom' is missing`);
    else {
      if (g.type.toUpperCase() !== layer.geometry.toUpperCase()) problems.push(`layer '${layer.id}': geometry is ${g.type}, registry says ${layer.geometry}`);
      if (g.srid !== 4490) problems.push(`layer '${layer.id}': geometry SRID is ${g.srid}, expected 4490 (CGCS2000)`);
    }
    if (!gist.has(layer.id) && !layer.derived) problems.push(`layer '${layer.id}': no GiST index on geom`);
    if (layer.geometry === 'MultiPolygon' && !table.has('area_m2')) problems.push(`layer '${layer.id}': column 'area_m2' is missing`);
  }
  for (const t of byTable.keys()) {
    if (!registry.byId.has(t)) problems.push(`table ${LAYER_SCHEMA}.${t} has no entry in layers/registry/`);
  }
  return problems;
}
