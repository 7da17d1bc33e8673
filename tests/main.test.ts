// The service as `npm start` runs it: its own process, its own embedded cluster in a temp folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedCluster } from '../server/platform/embedded-pg';
import { startService } from './helpers/children';

const PG_PORT = 54388;
let dataDir: string;

/** Runs server/main.ts on the file's own cluster (helpers/children.ts). */
const startMain = (env: Record<string, string>) => startService({ ONEMAP_DATA_DIR: dataDir, ONEMAP_PG_PORT: String(PG_PORT), ONEMAP_DEMO: 'false', ...env });

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-main-'));
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('the service process', () => {
  it('starts its embedded cluster, serves, and on SIGTERM stops the server and the cluster cleanly', async () => {
    if (process.env.DATABASE_URL) return;
    const main = startMain({});
    const url = await main.url();
    const health = await (await fetch(`${url}/healthz`)).json();
    expect(health.database).toBe('reachable');
    main.process.kill('SIGTERM');
    expect(await main.exited).toBe(0);
    expect(main.output()).toContain('embedded database: stopped');
    const pgdata = fs.readdirSync(dataDir).find((d) => /^pg\d+$/.test(d))!;
    expect(fs.existsSync(path.join(dataDir, pgdata, 'postmaster.pid'))).toBe(false);
  });

  it('refuses to run when the database does not match the registry, naming the mismatch', async () => {
    if (process.env.DATABASE_URL) return;
    const cluster = await startEmbeddedCluster({ dataDir, port: PG_PORT, database: 'onemap' });
    const c = new pg.Client(cluster.connection);
    await c.connect();
    await c.query('ALTER TABLE plan.rivers ADD COLUMN basin text');
    await c.end();
    await cluster.stop();
    const main = startMain({});
    await expect(main.url()).rejects.toThrow(/exited \(1\) before it was ready/);
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain("layer 'rivers': column 'basin' is not in the registry");
  });

  it('refuses to start on an invalid setting, naming it', async () => {
    const main = startMain({ ONEMAP_TILE_CACHE_MB: 'lots' });
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain('ONEMAP_TILE_CACHE_MB');
  });
});
