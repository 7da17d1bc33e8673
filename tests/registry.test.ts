import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../server/layers/registry';
import { registryMismatches } from '../server/layers/schema-check';
import { useFileDatabase } from './helpers/setup';

const LAYERS = path.resolve(__dirname, '../layers');

/** A copy of layers/ in a temp folder, with one registry file changed. */
function registryWith(file: string, change: (entry: any) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  fs.cpSync(LAYERS, dir, { recursive: true });
  const p = path.join(dir, 'registry', file);
  const entry = JSON.parse(fs.readFileSync(p, 'utf8'));
  change(entry);
  fs.writeFileSync(p, JSON.stringify(entry));
  return dir;
}

describe('layer registry', () => {
  it('loads the five plans, the base, status, subsidence, PV and approval layers', () => {
    const r = loadRegistry();
    const groups = new Set(r.layers.map((l) => l.group));
    for (const g of ['base', 'econ', 'landuse', 'urban', 'env', 'industry', 'status', 'energy', 'approval']) expect(groups.has(g), g).toBe(true);
    for (const id of ['districts', 'roads', 'rivers', 'central_city', 'landuse_status', 'subsidence', 'pv_sites', 'approved_projects']) expect(r.byId.has(id), id).toBe(true);
    for (const l of r.layers) expect(r.departments.some((d) => d.id === l.department)).toBe(true);
  });

  it('reports every problem of a bad entry with its file and key path', () => {
    const dir = registryWith('roads.json', (e) => {
      e.geometry = 'Polygon';
      e.classification.classes[0].color = 'orange';
      e.department = 'nobody';
    });
    expect(() => loadRegistry(dir)).toThrow(/registry\/roads\.json: geometry:[\s\S]*registry\/roads\.json: classification\.classes\.0\.color:/);
  });

  it('refuses a layer whose department or group does not exist', () => {
    const dir = registryWith('rivers.json', (e) => (e.department = 'nobody'));
    expect(() => loadRegistry(dir)).toThrow(/registry\/rivers\.json: department: 'nobody' is not in departments\.json/);
  });

  it('refuses an attribute that reuses a reserved column name or an unsafe identifier', () => {
    expect(() => loadRegistry(registryWith('rivers.json', (e) => e.attributes.push({ name: 'geom', type: 'text', zh: '几何', en: 'g' })))).toThrow(/'geom' is reserved/);
    expect(() => loadRegistry(registryWith('rivers.json', (e) => e.attributes.push({ name: 'x"; drop', type: 'text', zh: 'x', en: 'x' })))).toThrow(/attributes\.1\.name/);
  });

  it('refuses duplicate class codes', () => {
    expect(() => loadRegistry(registryWith('rivers.json', (e) => e.classification.classes.push({ ...e.classification.classes[0] })))).toThrow(/'main' appears twice/);
  });
});

describe('registry against the database', () => {
  const db = useFileDatabase();

  it('agrees with the migrated schema', async () => {
    expect(await registryMismatches(db.knex, loadRegistry())).toEqual([]);
  });

  it('names a registry attribute without a column, a column type that differs and a table without an entry', async () => {
    const dir = registryWith('rivers.json', (e) => e.attributes.push({ name: 'basin', type: 'text', zh: '流域', en: 'Basin' }));
    const dir2 = registryWith('pv_sites.json', (e) => (e.attributes.find((a: any) => a.name === 'capacity_mw').type = 'integer'));
    fs.copyFileSync(path.join(dir, 'registry', 'rivers.json'), path.join(dir2, 'registry', 'rivers.json'));
    fs.rmSync(path.join(dir2, 'registry', 'roads.json'));
    const problems = await registryMismatches(db.knex, loadRegistry(dir2));
    expect(problems).toContain("layer 'rivers': attribute 'basin' has no column");
    expect(problems).toContain("layer 'pv_sites': column 'capacity_mw' is double precision, registry says integer (integer)");
    expect(problems).toContain('table plan.roads has no entry in layers/registry/');
  });
});
