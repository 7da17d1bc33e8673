// `npm start`: configuration → registry → database (embedded unless DATABASE_URL) → migrations →
// registry check → demo data when empty → clean-up after killed processes (recovery.ts) → HTTP.
// SIGINT/SIGTERM stop the server and the cluster.
import type { Server } from 'node:http';
import { createApp } from './app';
import type { Knex } from 'knex';
import { refuseDemoAccounts } from './accounts/demo';
import { loadRules } from './conflicts/rules';
import { loadDemoApplications } from './demo/applications';
import { loadDemoRelease } from './demo/release';
import { loadDemo } from './demo/load';
import { registryMismatches } from './layers/schema-check';
import { loadRegistry } from './layers/registry';
import { loadConfig } from './platform/config';
import { migrate, openDatabase } from './platform/db';
import { log } from './platform/log';
import { createHttpServer } from './platform/security';
import { recoverFromKilledProcesses } from './recovery';

async function main() {
  const config = loadConfig();
  const registry = loadRegistry();
  const db = await openDatabase(config);
  let server: Server | undefined;
  let closeApp: (() => Promise<void>) | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections?.();
    await closeApp?.();
    await db.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    await migrate(db.knex);
    const problems = await registryMismatches(db.knex, registry);
    if (problems.length) throw new Error(`the layer registry does not match the database:\n  ${problems.join('\n  ')}`);
    if (config.ONEMAP_DEMO) await loadDemoIfEmpty(db.knex);
    else await refuseDemoAccounts(db.knex);
    // What a killed process left (a run marked running, staged import rows, temporary files).
    await recoverFromKilledProcesses(db.knex);
    const { app, close } = await createApp(config, db, registry);
    closeApp = close;
    // The HTTP server with its header size limit and slow-client timeouts (platform/security.ts).
    server = createHttpServer(app, config).listen(config.PORT, config.HOST, () => {
      const addr = server!.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
      log.info({ url: `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/`, postgis: db.postgisVersion, layers: registry.layers.length }, 'one map service ready');
    });
    server.on('error', (err) => {
      log.fatal({ err }, 'HTTP server failed');
      void stop('error');
    });
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'start-up failed');
    await db.close();
    process.exit(1);
  }
}

/** Loads the Datong demo data set when no layer has any revision yet (a new, empty database). */
async function loadDemoIfEmpty(knex: Knex) {
  const any = await knex('layer_revisions').first('layer_id');
  if (any) return;
  const started = Date.now();
  const counts = await loadDemo(knex, { scale: 'demo' });
  const registry = loadRegistry();
  counts.applications = await loadDemoApplications(knex, registry, loadRules(registry));
  // Last: the release pins the layers as the demo leaves them (the approved application's project too).
  counts.releases = await loadDemoRelease(knex, registry, loadRules(registry));
  log.info({ counts, ms: Date.now() - started }, 'demo data loaded into the empty database');
}

main().catch((err) => {
  log.fatal({ err: (err as Error).message }, 'start-up failed');
  process.exit(1);
});
