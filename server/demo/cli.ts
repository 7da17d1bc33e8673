// `npx tsx server/demo/cli.ts [--large] [--seed N] [--replace]`: loads the Datong demo data set
// into the configured database (migrating it first). Refuses non-empty layer tables unless
// --replace, which empties them in the same transaction as the load.
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config';
import { migrate, openDatabase } from '../platform/db';
import { loadRules } from '../conflicts/rules';
import { loadRegistry } from '../layers/registry';
import { loadDemoApplications } from './applications';
import { loadDemo } from './load';

const { values } = parseArgs({
  options: {
    large: { type: 'boolean', default: false },
    seed: { type: 'string' },
    replace: { type: 'boolean', default: false },
  },
  strict: true,
});
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !(Number.isInteger(seed) && seed >= 1)) {
  console.error(`--seed should be a positive integer, got ${JSON.stringify(values.seed)}`);
  process.exit(2);
}

const db = await openDatabase(loadConfig());
try {
  await migrate(db.knex);
  const started = performance.now();
  const counts = await loadDemo(db.knex, { scale: values.large ? 'large' : 'demo', seed, replace: values.replace });
  if (!values.large) {
    const registry = loadRegistry();
    counts.applications = await loadDemoApplications(db.knex, registry, loadRules(registry));
  }
  const seconds = (performance.now() - started) / 1000;
  for (const [layer, n] of Object.entries(counts)) console.log(`${layer.padEnd(20)} ${String(n).padStart(8)}`);
  console.log(`loaded ${values.large ? 'large' : 'demo'} data in ${seconds.toFixed(1)} s`);
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await db.close();
}
