// `npm run conflicts -- [--full] [--json]`: runs the conflict rules against the configured database
// (incremental by default: only what changed since the last run) and prints the totals per rule.
import { parseArgs } from 'node:util';
import { loadRegistry } from '../layers/registry';
import { loadConfig } from '../platform/config';
import { migrate, openDatabase } from '../platform/db';
import { log } from '../platform/log';
import { ConflictEngine } from './detect';
import { loadRules } from './rules';

const { values } = parseArgs({ options: { full: { type: 'boolean' }, json: { type: 'boolean' }, user: { type: 'string' } } });
if (!process.env.LOG_LEVEL) log.level = 'warn';

const registry = loadRegistry();
const rules = loadRules(registry);
const db = await openDatabase(loadConfig());
try {
  await migrate(db.knex);
  const engine = new ConflictEngine(db.knex, registry, rules);
  const r = await engine.run({ mode: values.full ? 'full' : 'incremental', requestedBy: values.user ?? 'cli', trigger: { via: 'cli' } });
  if (values.json) console.log(JSON.stringify(r, null, 2));
  else {
    const ha = (m2: number) => (m2 / 10_000).toFixed(2);
    console.log(`run ${r.id} (${r.mode}) ${r.status} in ${(r.duration_ms / 1000).toFixed(2)} s; changed layers: ${r.changedLayers.join(', ') || 'none'}`);
    for (const [id, s] of Object.entries(r.rules)) {
      console.log(`  ${id.padEnd(44)} ${String(s.patches).padStart(6)} patches ${ha(s.area_m2).padStart(10)} ha   slivers ${String(s.sliver_parts).padStart(5)} (${ha(s.sliver_area_m2)} ha)   +${s.opened} −${s.closed} ↺${s.reopened}  [${s.recomputed}]`);
    }
    console.log(`  ${'total'.padEnd(44)} ${String(r.totals.patches).padStart(6)} patches ${ha(r.totals.area_m2).padStart(10)} ha`);
  }
} finally {
  await db.close();
}
