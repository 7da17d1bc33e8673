// `npm run layers:migration [-- --dry-run]`: after a registry change (a new layer file in
// layers/registry/, or an attribute added, retyped, made required or dropped), writes the knex
// migration that brings the database's layer tables to the registry (migration.ts) into
// migrations/, named by the time and the layers it touches, and prints what it does. The database
// (embedded, or DATABASE_URL) is first brought to the latest migration. Nothing is written when they
// already agree, or when a change cannot be made by a statement (it says which and what to do
// instead, and exits 1). The service applies the migration at its next start.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadRegistry } from './registry';
import { layerMigration, migrationName, migrationSource } from './migration';
import { loadConfig, PROJECT_ROOT } from '../platform/config';
import { migrate, openDatabase } from '../platform/db';
import { log } from '../platform/log';

const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean' } } });
if (!process.env.LOG_LEVEL) log.level = 'warn';

const registry = loadRegistry();
const db = await openDatabase(loadConfig());
try {
  await migrate(db.knex);
  const m = await layerMigration(db.knex, registry);
  if (m.refused.length) {
    console.error(`layers:migration: no migration written; these changes of the registry cannot be made as they are:\n${m.refused.map((r) => `  - ${r}`).join('\n')}`);
    process.exitCode = 1;
  } else if (!m.up.length) {
    console.log('layers:migration: the registry and the database agree; no migration is needed');
  } else {
    const when = new Date();
    const dir = path.join(PROJECT_ROOT, 'migrations');
    const file = path.join(dir, migrationName(m, when, fs.readdirSync(dir)));
    const what = m.changes.map((c) => `  - ${c}`).join('\n');
    if (values['dry-run']) console.log(`layers:migration: would write ${path.relative(PROJECT_ROOT, file)}:\n${what}\n\n${migrationSource(m, when)}`);
    else {
      fs.writeFileSync(file, migrationSource(m, when));
      console.log(`layers:migration: wrote ${path.relative(PROJECT_ROOT, file)}:\n${what}\nReview it and commit it with the registry change; the service applies it at its next start (or: npm run db:migrate).`);
    }
  }
} finally {
  await db.close();
}
