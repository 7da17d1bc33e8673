// The service as `npm start` runs it: its own process, its own embedded cluster in a temp folder.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedCluster } from '../server/platform/embedded-pg';

const ROOT = path.resolve(__dirname, '..');
const PG_PORT = 54388;
let dataDir: string;

/** Runs server/main.ts; resolves with its output once it is ready (or has exited). */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ONEMAP_DATA_DIR: dataDir, ONEMAP_PG_PORT: String(PG_PORT), ONEMAP_DEMO: 'false', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string | undefined>((resolve) => {
    const poll = setInterval(() => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearInterval(poll);
        resolve(m[1]);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(poll);
      resolve(undefined);
    });
  });
  return { child, ready, exited, output: () => out };
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-main-'));
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('the service process', () => {
  it('starts its embedded cluster, serves, and on SIGTERM stops the server and the cluster cleanly', async () => {
    if (process.env.DATABASE_URL) return;
    const main = startMain({});
    const url = await main.ready;
    expect(url, main.output()).toBeDefined();
    const health = await (await fetch(`${url}healthz`)).json();
    expect(health.database).toBe('reachable');
    main.child.kill('SIGTERM');
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
    expect(await main.ready).toBeUndefined();
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain("layer 'rivers': column 'basin' is not in the registry");
  });

  it('refuses to start on an invalid setting, naming it', async () => {
    const main = startMain({ ONEMAP_TILE_CACHE_MB: 'lots' });
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain('ONEMAP_TILE_CACHE_MB');
  });
});
