// `npm run bench:demo`: how long the Datong demo data set takes to load (server/demo: generate every
// layer, publish it as revision 1, the demo accounts, the first full conflict run), as `npm start`
// does into an empty database and every test file with a database of its own does.
// Each of BENCH_ROUNDS rounds (default 3) loads the demo into a fresh, migrated database (seed 2015),
// timing loadDemo alone, then drops it; the median, fastest and slowest are reported.
// Goal: under 15 s on two cores (the test suite asserted under 60 s before this measurement moved here).
// Prints the figures and writes bench/out/demo.json.
import fs from 'node:fs';
import path from 'node:path';
import { loadDemo } from '../server/demo/load';
import { PROJECT_ROOT } from '../server/platform/config';
import type { Database } from '../server/platform/db';
import { log } from '../server/platform/log';
import { dropTestDatabase, freshName, openTestDatabase } from '../tests/helpers/db';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GOAL_S = 15;
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!process.env.LOG_LEVEL) log.level = 'warn'; // the cluster's and migrations' info lines would only interleave with the figures
const seconds: number[] = [];
let counts: Record<string, number> = {};
// The first round's database handle stops the embedded cluster at the end if this process started
// it; each round's pool closes before its database is dropped, the cluster staying up meanwhile.
let first: Database | undefined;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const name = freshName('onemap_bench_demo');
    const db = await openTestDatabase(name);
    first ??= db;
    try {
      const started = process.hrtime.bigint();
      counts = await loadDemo(db.knex, { scale: 'demo', seed: 2015 });
      seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
      console.log(`bench: round ${round}/${ROUNDS}: demo loaded in ${seconds.at(-1)!.toFixed(2)} s`);
    } finally {
      await db.knex.destroy();
      await dropTestDatabase(name);
    }
  }
} finally {
  await first?.close();
}

const summary = {
  rounds: ROUNDS,
  seconds: seconds.map((s) => Number(s.toFixed(3))),
  median_s: Number(median(seconds).toFixed(3)),
  fastest_s: Number(Math.min(...seconds).toFixed(3)),
  slowest_s: Number(Math.max(...seconds).toFixed(3)),
  features: Object.values(counts).reduce((a, b) => a + b, 0),
  goal: { median_s_below: GOAL_S },
  met: median(seconds) < GOAL_S,
};
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'demo.json'), JSON.stringify(summary, null, 2));
console.log(`
| demo load (${summary.features.toLocaleString('en')} features, ${ROUNDS} rounds) | median s | fastest s | slowest s |
|---|---|---|---|
| loadDemo into a fresh database | ${summary.median_s.toFixed(2)} | ${summary.fastest_s.toFixed(2)} | ${summary.slowest_s.toFixed(2)} |

goal: median under ${GOAL_S} s on two cores: ${summary.met ? 'met' : 'NOT met'}`);
