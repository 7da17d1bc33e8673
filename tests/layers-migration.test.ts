// `npm run layers:migration` (server/layers/migration.ts): a registry change — a new layer file, an
// attribute added, retyped, made required or dropped — becomes the migration that brings the
// database to it, on a database of the file's own with a copy of the registry; run, the start-up
// check finds nothing left and the new layer takes a revision like any other; run back, the
// database is as before. What no statement can do is refused, naming it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerMigration, migrationName, migrationSource } from '../server/layers/migration';
import { loadRegistry } from '../server/layers/registry';
import { registryMismatches } from '../server/layers/schema-check';
import { commitRevision } from '../server/revisions/commit';
import { PROJECT_ROOT } from '../server/platform/config';
import { testConfig } from './helpers/db';
import { useFileDatabase } from './helpers/setup';

const db = useFileDatabase();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-registry-'));
  fs.cpSync(path.join(PROJECT_ROOT, 'layers'), path.join(dir, 'layers'), { recursive: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Edits a registry file of the copy. */
const edit = (id: string, change: (l: any) => void) => {
  const file = path.join(dir, 'layers', 'registry', `${id}.json`);
  const l = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(l);
  fs.writeFileSync(file, JSON.stringify(l, null, 2));
};
/** Writes a migration's source where a test can import it, and imports it. */
async function written(m: Awaited<ReturnType<typeof layerMigration>>): Promise<{ up(k: unknown): Promise<void>; down(k: unknown): Promise<void>; name: string; source: string }> {
  const when = new Date('2026-12-04T10:00:00Z');
  const name = migrationName(m, when);
  const source = migrationSource(m, when);
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return { ...(await import(pathToFileURL(file).href)), name, source };
}

const FLOOD = {
  id: 'flood_risk',
  group: 'urban',
  title: { zh: '洪涝风险控制线', en: 'Flood risk control line' },
  department: 'planning',
  period: { from: 2021, to: 2035 },
  standard: '国土空间规划 洪涝风险控制线',
  geometry: 'MultiPolygon',
  attributes: [
    { name: 'name', type: 'text', zh: '名称', en: 'Name', required: true },
    { name: 'approval_no', type: 'text', zh: '批复文号', en: 'Approval number' },
    { name: 'approved_on', type: 'date', zh: '批复日期', en: 'Approved on' },
  ],
  classification: { standard: '洪涝风险控制线', classes: [{ code: 'flood', zh: '洪涝风险控制区', en: 'Flood risk control area', color: '#3f7fbf' }] },
  style: { kind: 'outline', outline: '#3f7fbf' },
};

describe('a registry change becomes its migration', () => {
  it('a new layer and changed attributes: the statements, run, leave no difference; the new layer takes a revision; run back, as before', async () => {
    const before = loadRegistry(path.join(dir, 'layers'));
    expect(await registryMismatches(db.knex, before)).toEqual([]);
    expect((await layerMigration(db.knex, before)).up).toEqual([]);

    fs.writeFileSync(path.join(dir, 'layers', 'registry', 'flood_risk.json'), JSON.stringify(FLOOD, null, 2));
    edit('landuse_status', (l) => {
      l.attributes.push({ name: 'survey_year', type: 'integer', zh: '调查年度', en: 'Survey year' });
      l.attributes = l.attributes.filter((a: any) => a.name !== 'owner');
    });
    edit('urban_plan', (l) => {
      l.attributes.find((a: any) => a.name === 'far').required = true; // an empty table: it may be
    });
    const after = loadRegistry(path.join(dir, 'layers'));
    const problems = await registryMismatches(db.knex, after);
    expect(problems).toEqual(
      expect.arrayContaining([
        "layer 'flood_risk': table plan.flood_risk is missing (add a migration)",
        "layer 'landuse_status': attribute 'survey_year' has no column",
        "layer 'landuse_status': column 'owner' is not in the registry",
        "layer 'urban_plan': column 'far' is nullable but the registry requires it",
      ]),
    );

    const m = await layerMigration(db.knex, after);
    expect(m.refused).toEqual([]);
    expect(m.layers).toEqual(['flood_risk', 'landuse_status', 'urban_plan']);
    expect([...m.changes].sort()).toEqual([
      'landuse_status: column owner dropped (no longer in the registry; its values stay in the layer\'s revision history)',
      'landuse_status: new attribute survey_year (integer)',
      'new layer flood_risk (洪涝风险控制线): MultiPolygon, 3 attributes',
      'urban_plan: attribute far required',
    ]);
    const mod = await written(m);
    expect(mod.name).toBe('20261204100000_layers_flood_risk_landuse_status_urban_plan.ts');
    expect(mod.name).toMatch(/^\d+_\w+\.ts$/); // what the service's migration source takes
    // After the last migration there, when that one sorts later than the clock (migrations run in name order).
    expect(migrationName(m, new Date('2026-12-04T10:00:00Z'), ['20261126000001_foundation.ts', '20261206000001_conflict_layer_names.ts', 'functions'])).toBe(
      '20261206000002_layers_flood_risk_landuse_status_urban_plan.ts',
    );
    expect(mod.source).toContain('//   - new layer flood_risk');

    await mod.up(db.knex);
    expect(await registryMismatches(db.knex, after)).toEqual([]);
    expect((await layerMigration(db.knex, after)).up).toEqual([]);
    // The new layer is a layer like the others: a revision, its area by PostgreSQL, its version bumped.
    const flood = after.byId.get('flood_risk')!;
    const v0 = Number((await db.knex('layer_versions').where({ layer_id: flood.id }).first('version')).version);
    const square = { type: 'Polygon', coordinates: [[[113.28, 40.06], [113.32, 40.06], [113.32, 40.09], [113.28, 40.09], [113.28, 40.06]]] };
    const r = await commitRevision(db.knex, flood, [{ type: 'Feature', properties: { code: 'flood', name: '御河洪涝风险控制区', approved_on: '2023-06-30' }, geometry: square }], { kind: 'import', createdBy: 'test', reason: 'first delivery' });
    expect(r).toMatchObject({ revision: 1, featureCount: 1 });
    const row = await db.knex.raw(`SELECT name, approved_on::text AS d, area_m2, ST_Area(geom::geography, true) AS ref FROM plan.flood_risk`);
    expect(row.rows[0]).toMatchObject({ name: '御河洪涝风险控制区', d: '2023-06-30' });
    expect(row.rows[0].area_m2).toBeCloseTo(row.rows[0].ref, 6);
    expect(Number((await db.knex('layer_versions').where({ layer_id: flood.id }).first('version')).version)).toBeGreaterThan(v0);

    await mod.down(db.knex);
    expect(await registryMismatches(db.knex, before)).toEqual([]);
  });

  it('refuses what no statement can do, naming it, and writes nothing', async () => {
    const base = loadRegistry(path.join(PROJECT_ROOT, 'layers'));
    await commitRevision(
      db.knex,
      base.byId.get('roads')!,
      [{ type: 'Feature', properties: { code: 'urban_arterial', name: '魏都大道', ref: 'G109x' }, geometry: { type: 'LineString', coordinates: [[113.28, 40.07], [113.31, 40.08]] } }],
      { kind: 'import', createdBy: 'test', reason: 'a feature' },
    );
    fs.rmSync(path.join(dir, 'layers'), { recursive: true });
    fs.cpSync(path.join(PROJECT_ROOT, 'layers'), path.join(dir, 'layers'), { recursive: true });
    edit('roads', (l) => {
      l.attributes.push({ name: 'lanes', type: 'integer', zh: '车道数', en: 'Lanes', required: true });
      l.attributes.find((a: any) => a.name === 'ref').type = 'integer';
    });
    edit('rivers', (l) => {
      l.geometry = 'MultiPolygon';
    });
    const m = await layerMigration(db.knex, loadRegistry(path.join(dir, 'layers')));
    expect([...m.refused].sort()).toEqual([
      'rivers: the geometry is MULTILINESTRING in the database and MultiPolygon in the registry; a new layer id (and an import) is the way to change it',
      "roads: 'ref' is text and not all its values are integer (invalid input syntax for type integer: \"G109x\"): correct them (an import), then change the type",
      "roads: the new attribute 'lanes' is required, and the layer has 1 features without it: add it optional, deliver the values (an import), then make it required",
    ]);
  });

  it('npm run layers:migration: on a database that agrees with the registry, says so and writes nothing', async () => {
    const migrations = fs.readdirSync(path.join(PROJECT_ROOT, 'migrations'));
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'server/layers/cli.ts', '--dry-run'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ONEMAP_DB_NAME: db.name, ONEMAP_DATA_DIR: testConfig().ONEMAP_DATA_DIR, LOG_LEVEL: 'warn' },
    });
    expect(stdout).toContain('the registry and the database agree; no migration is needed');
    expect(fs.readdirSync(path.join(PROJECT_ROOT, 'migrations'))).toEqual(migrations);
  });
});
